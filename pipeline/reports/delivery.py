"""Sending a run's files to its ``webhook`` and ``email`` destinations, at most once per content.

Secrets stay in the environment: a definition names the variables (``url_env``, ``secret_env``,
``smtp_env``), read when the run delivers. A missing or unusable variable is a failed delivery whose
error names the variable, never its value. Records (``app.report_instances.deliveries``) carry the
target as ``webhook (https://host)`` / ``email (a@b.c via smtp://host:port)``, never a path, token,
user or password; errors are scrubbed of the literal secrets too.

Webhooks go through the notifications sender (``pipeline.notifications.delivery.deliver``: retries,
backoff, ``Retry-After``, HMAC signature headers) with ``X-Adsignal-Event: report``. Email is sent with
``smtplib``, retried on connection problems and 4xx replies with the same :class:`RetryPolicy`.

Never twice: a destination whose previous record for the period is ``sent`` (or ``already_sent``) with
the same label, key and ``content_sha256`` is not sent again (``already_sent``). The fingerprint covers
the definition and the numbers (every table section as CSV), not the rendered bytes, because the
HTML / PDF carry the generation time: a retry an hour later is the same report, new data is not.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import smtplib
import ssl
import time
import uuid
from base64 import b64encode
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import httpx

from pipeline.config import utc_now
from pipeline.notifications import delivery as http_delivery
from pipeline.notifications.config import Destination as HttpDestination
from pipeline.notifications.config import NotificationConfigError, checked_url
from pipeline.reports.content import ReportContent
from pipeline.reports.definition import Destination, Period, ReportDefinition
from pipeline.reports.render import csv_tables, render_csv

PAYLOAD_SCHEMA = "adsignal.report"
PAYLOAD_VERSION = 1
DONE = ("sent", "already_sent")
# Stable across runs: the same report, period, destination and content get the same delivery id, so a
# receiver that keeps ids drops a duplicate even if one got through (X-Adsignal-Delivery / Message-ID).
_DELIVERY_NAMESPACE = uuid.UUID("6f1c2d4e-8a51-4c1b-9a55-3c2f7d0e9b11")
MIME_TYPES = {".pdf": ("application", "pdf"), ".csv": ("text", "csv"), ".html": ("text", "html")}


@dataclass(frozen=True)
class DeliveryOptions:
    """How destinations are reached; tests shorten the policy and point ``environ`` at their servers."""

    policy: http_delivery.RetryPolicy = field(default_factory=http_delivery.RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    environ: Mapping[str, str] | None = None  # os.environ when None
    http_client: httpx.Client | None = None
    smtp_timeout: float = 30.0


@dataclass(frozen=True)
class Package:
    """One run's files and what identifies their content."""

    definition: ReportDefinition
    period: Period
    generated_at: datetime
    files: Mapping[str, bytes]
    content_sha256: str


def content_fingerprint(content: ReportContent) -> str:
    """sha256 of the definition and every table section's numbers (not the generation time)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(content.definition.model_dump(mode="json"), sort_keys=True).encode())
    digest.update(f"|{content.period.label}|{content.currency}|".encode())
    for table in csv_tables(content):
        digest.update(table.filename.encode() + b"\0" + render_csv(table, content.currency).encode() + b"\0")
    return digest.hexdigest()


class _Unusable(Exception):
    """A destination's variables are missing or invalid; the message names variables only."""


def _env(options: DeliveryOptions) -> Mapping[str, str]:
    return os.environ if options.environ is None else options.environ


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise _Unusable(f"environment variable {name} is not set")
    return value


def _record(label: str, key: str, package: Package, **fields: Any) -> dict[str, Any]:
    return {
        "destination": label,
        "key": key,
        "content_sha256": package.content_sha256,
        **fields,
        "finished_at": utc_now().isoformat(),
    }


def _already_sent(
    previous: Sequence[Mapping[str, Any]], label: str, key: str, package: Package
) -> dict[str, Any] | None:
    """The ``already_sent`` record when this destination got this content before (never twice)."""
    for record in previous:
        if (
            record.get("status") in DONE
            and record.get("destination") == label
            and record.get("key") == key
            and record.get("content_sha256") == package.content_sha256
        ):
            return _record(
                label,
                key,
                package,
                status="already_sent",
                attempts=0,
                status_code=None,
                error=None,
                sent_at=record.get("sent_at"),
            )
    return None


def _delivery_id(package: Package, key: str) -> str:
    d = package.definition
    return str(
        uuid.uuid5(
            _DELIVERY_NAMESPACE, f"{d.tenant}/{d.name}/{package.period.label}/{key}/{package.content_sha256}"
        )
    )


def deliver(
    destination: Destination,
    package: Package,
    previous: Sequence[Mapping[str, Any]] = (),
    options: DeliveryOptions | None = None,
) -> dict[str, Any]:
    """Send ``package`` to a webhook or email ``destination``; the delivery record (never raises for
    delivery problems)."""
    options = options or DeliveryOptions()
    send = {"webhook": _webhook, "email": _email}[destination.type]
    return send(destination, package, previous, options)


# --- webhook ---------------------------------------------------------------------------------------


def webhook_payload(package: Package) -> dict[str, Any]:
    """The JSON body: what the report is, and every file inline as base64 with its sha256."""
    d = package.definition
    return {
        "schema": PAYLOAD_SCHEMA,
        "schema_version": PAYLOAD_VERSION,
        "tenant": d.tenant,
        "report": d.name,
        "title": d.display_title,
        "period": {"start": package.period.start.isoformat(), "end": package.period.end.isoformat()},
        "generated_at": package.generated_at.isoformat(),
        "content_sha256": package.content_sha256,
        "files": [
            {
                "name": name,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "content_base64": b64encode(data).decode("ascii"),
            }
            for name, data in package.files.items()
        ],
    }


def _webhook(
    destination: Destination,
    package: Package,
    previous: Sequence[Mapping[str, Any]],
    options: DeliveryOptions,
) -> dict[str, Any]:
    assert destination.url_env is not None
    key = f"webhook:{destination.url_env}"
    env = _env(options)
    try:
        url = checked_url(_required(env, destination.url_env), destination.url_env)
        secret = _required(env, destination.secret_env) if destination.secret_env else None
    except (_Unusable, NotificationConfigError) as exc:
        label = f"webhook (${destination.url_env})"
        return _record(label, key, package, status="failed", attempts=0, status_code=None, error=str(exc))
    target = HttpDestination("webhook", url, secret)
    label = str(target)  # "webhook (https://host)": the notifications' redacted form
    done = _already_sent(previous, label, key, package)
    if done is not None:
        return done
    result = http_delivery.deliver(
        target,
        webhook_payload(package),
        delivery_id=_delivery_id(package, key),
        client=options.http_client,
        policy=options.policy,
        sleep=options.sleep,
        event="report",
    )
    extra = {"sent_at": utc_now().isoformat()} if result.sent else {}
    return _record(
        label,
        key,
        package,
        status=result.status,
        attempts=result.attempts,
        status_code=result.status_code,
        error=result.error,
        **extra,
    )


# --- email -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpServer:
    """An ``smtp://user:pass@host:port?starttls=1&from=a@b.c`` URL, parsed. ``password`` is a secret."""

    ssl: bool
    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    sender: str = "adsignal@localhost"

    @property
    def target(self) -> str:
        return f"{'smtps' if self.ssl else 'smtp'}://{self.host}:{self.port}"


def parse_smtp_url(value: str, name: str) -> SmtpServer:
    """Raises ``_Unusable`` naming ``name`` (never showing the value) when the URL is not usable."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise _Unusable(f"{name} is not a valid SMTP URL") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise _Unusable(f"{name} must be an smtp:// or smtps:// URL with a host")
    query = parse_qs(parts.query)
    username = unquote(parts.username) if parts.username else None
    default_sender = username if username and "@" in username else "adsignal@localhost"
    return SmtpServer(
        ssl=parts.scheme == "smtps",
        host=parts.hostname,
        port=port or (465 if parts.scheme == "smtps" else 25),
        username=username,
        password=unquote(parts.password) if parts.password is not None else None,
        starttls=query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes"),
        sender=query.get("from", [default_sender])[0],
    )


def email_message(package: Package, sender: str, to: Sequence[str], message_id: str) -> EmailMessage:
    d = package.definition
    message = EmailMessage()
    message["Subject"] = f"{d.display_title}: {package.period.start} to {package.period.end}"
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Message-ID"] = message_id
    message.set_content(
        f"{d.display_title} for {package.period.start} to {package.period.end} (tenant {d.tenant}),"
        f" generated {package.generated_at:%Y-%m-%d %H:%M} UTC by adsignal.\n\nAttached: "
        + ", ".join(package.files)
        + "\n"
    )
    for name, data in package.files.items():
        maintype, subtype = MIME_TYPES.get(name[name.rfind(".") :], ("application", "octet-stream"))
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def _send_once(server: SmtpServer, message: EmailMessage, timeout: float) -> dict[str, Any]:
    """One SMTP session; the refused recipients (when some, not all, were)."""
    context = ssl.create_default_context()
    client: smtplib.SMTP = (
        smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
        if server.ssl
        else smtplib.SMTP(server.host, server.port, timeout=timeout)
    )
    try:
        if server.starttls:
            client.starttls(context=context)
        if server.username is not None:
            client.login(server.username, server.password or "")
        refused = client.send_message(message)
    finally:
        # The message was handed over (or the error above says why not): a failed QUIT changes nothing.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()
    return dict(refused)


def _email(
    destination: Destination,
    package: Package,
    previous: Sequence[Mapping[str, Any]],
    options: DeliveryOptions,
) -> dict[str, Any]:
    assert destination.smtp_env is not None and destination.to is not None
    key = f"email:{destination.smtp_env}"
    to = ", ".join(destination.to)
    try:
        raw_url = _required(_env(options), destination.smtp_env)
        server = parse_smtp_url(raw_url, destination.smtp_env)
    except _Unusable as exc:
        return _record(
            f"email ({to} via ${destination.smtp_env})",
            key,
            package,
            status="failed",
            attempts=0,
            status_code=None,
            error=str(exc),
        )
    label = f"email ({to} via {server.target})"
    done = _already_sent(previous, label, key, package)
    if done is not None:
        return done
    # The password as given in the URL (percent-encoded) and decoded; the whole URL too.
    secrets = [s for s in (raw_url, server.password, quote(server.password or "", safe="")) if s]
    message_id = make_msgid(idstring=_delivery_id(package, key), domain="adsignal")
    message = email_message(package, server.sender, destination.to, message_id)
    policy = options.policy
    error, code = "not attempted", None
    for attempt in range(1, policy.max_attempts + 1):
        retry = False
        try:
            refused = _send_once(server, message, options.smtp_timeout)
        except smtplib.SMTPRecipientsRefused as exc:
            error, code = f"every recipient refused: {', '.join(sorted(exc.recipients))}", None
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            detail = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            error = f"SMTP {code} ({type(exc).__name__}): {detail[: http_delivery.ERROR_BODY_CHARS]}"
            retry = 400 <= code < 500
        except (smtplib.SMTPException, OSError) as exc:
            # Connection refused / reset, timeouts, TLS failures, server hung up: worth another try.
            error, code, retry = f"{type(exc).__name__}: {exc}", None, True
        else:
            note = f"refused by the server: {', '.join(sorted(refused))}" if refused else None
            return _record(
                label,
                key,
                package,
                status="sent",
                attempts=attempt,
                status_code=250,
                error=note,
                sent_at=utc_now().isoformat(),
            )
        if not retry:
            return _record(
                label,
                key,
                package,
                status="failed",
                attempts=attempt,
                status_code=code,
                error=http_delivery.redact(error, secrets),
            )
        if attempt < policy.max_attempts:
            options.sleep(policy.backoff(attempt))
    error = f"gave up after {policy.max_attempts} attempts; last: {error}"
    return _record(
        label,
        key,
        package,
        status="failed",
        attempts=policy.max_attempts,
        status_code=code,
        error=http_delivery.redact(error, secrets),
    )
