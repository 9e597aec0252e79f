"""Report delivery over real transports: a signed webhook to the local receiver, email to a local
aiosmtpd server; retries, never twice on a re-run, and no secret in rows, errors or output."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from pipeline.notifications.delivery import RetryPolicy, verify_signature
from pipeline.reports.definition import ReportDefinition, ReportFileError, parse_reports
from pipeline.reports.delivery import DeliveryOptions
from pipeline.reports.run import ReportRunError, run_report
from tests.notifications.receiver import Receiver
from tests.test_reports import AS_OF, NOW, seed_marts

URL_TOKEN = "tok-9f8e7d6c5b4a"  # in the webhook URL's query, as a service's token would be
SIGNING_SECRET = "whsec-s3cr3t-signing-value"
SMTP_USER = "reports@acme.test"
SMTP_PASSWORD = "smtp-pa55word-xyz"
SECRETS = (URL_TOKEN, SIGNING_SECRET, SMTP_PASSWORD)


@pytest.fixture(scope="module")
def url(database_factory: Callable[[str], str]) -> str:
    url = database_factory("report_delivery")
    with psycopg.connect(url, autocommit=True) as conn:
        seed_marts(conn)
    return url


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@dataclass
class Mailbox:
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    busy: int = 0  # answer this many messages with a temporary 451 first

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.busy:
            self.busy -= 1
            return "451 4.3.0 try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with socket.socket() as probe:  # aiosmtpd's Controller needs a concrete port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=_authenticate, auth_require_tls=False
    )
    controller.start()
    yield mailbox, port
    controller.stop()


FAST = DeliveryOptions(policy=RetryPolicy(max_attempts=3, base_delay=0.0, jitter=0.0), sleep=lambda _: None)


def report(name: str, destinations: str, title: str = "Weekly") -> ReportDefinition:
    (definition,) = parse_reports(
        f"reports:\n  - name: {name}\n    title: {title}\n    period: last_week\n"
        f"    sections: [{{type: kpis}}, {{type: platform_table}}]\n    formats: [pdf, csv]\n"
        f"    destinations: {destinations}\n"
    )
    return definition


def stored_rows(url: str) -> str:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select row_to_json(i)::text from app.report_instances i").fetchall()
    return "\n".join(row[0] for row in rows)


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_webhook_gets_one_signed_post_after_a_retry(
    url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    receiver.clear()
    monkeypatch.setenv("HOOK_URL", f"{receiver.url}/hooks/weekly?token={URL_TOKEN}")
    monkeypatch.setenv("HOOK_SECRET", SIGNING_SECRET)
    receiver.respond(500, "busy")  # then 200
    definition = report("hooked", "[{type: webhook, url_env: HOOK_URL, secret_env: HOOK_SECRET}]")

    run = run_report(url, definition, AS_OF, tmp_path, now=NOW, delivery=FAST)

    first, second = receiver.on("/hooks/weekly")
    assert first.headers["x-adsignal-delivery"] == second.headers["x-adsignal-delivery"]
    assert second.headers["x-adsignal-event"] == "report"
    assert verify_signature(SIGNING_SECRET, second.headers, second.body)
    body = second.json()
    assert (body["schema"], body["schema_version"], body["tenant"], body["report"]) == (
        "adsignal.report",
        1,
        "default",
        "hooked",
    )
    assert body["period"] == {"start": "2026-11-30", "end": "2026-12-06"}
    sent = {f["name"]: f["sha256"] for f in body["files"]}
    assert sent == {f["name"]: f["sha256"] for f in run.instance.files}
    for item in body["files"]:
        assert hashlib.sha256(base64.b64decode(item["content_base64"])).hexdigest() == item["sha256"]
    (delivery,) = run.instance.deliveries
    assert {k: delivery[k] for k in ("destination", "status", "attempts", "status_code", "error")} == {
        "destination": f"webhook ({receiver.url})",
        "status": "sent",
        "attempts": 2,
        "status_code": 200,
        "error": None,
    }
    assert run.instance.status == "succeeded"
    assert_no_secrets(stored_rows(url))


def test_rerun_sends_nothing_twice_retries_the_failed_and_resends_new_content(
    url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    receiver.clear()
    monkeypatch.setenv("GOOD_HOOK", f"{receiver.url}/good?token={URL_TOKEN}")
    monkeypatch.delenv("LATE_HOOK", raising=False)
    destinations = "[{type: webhook, url_env: GOOD_HOOK}, {type: webhook, url_env: LATE_HOOK}]"
    definition = report("twice", destinations)

    with pytest.raises(ReportRunError) as failed:
        run_report(url, definition, AS_OF, tmp_path, now=NOW, delivery=FAST)
    good, late = failed.value.instance.deliveries  # type: ignore[union-attr]
    assert (good["status"], late["status"]) == ("sent", "failed")
    assert late["error"] == "environment variable LATE_HOOK is not set" and late["attempts"] == 0
    assert failed.value.instance.status == "failed"  # type: ignore[union-attr]

    # The retry an hour later (new "generated" time, same numbers): only the failed one is sent.
    monkeypatch.setenv("LATE_HOOK", f"{receiver.url}/late?token={URL_TOKEN}")
    run = run_report(url, definition, AS_OF, tmp_path, now=NOW.replace(hour=8), delivery=FAST)
    assert [d["status"] for d in run.instance.deliveries] == ["already_sent", "sent"]
    assert run.instance.deliveries[0]["sent_at"] == good["sent_at"]
    assert (len(receiver.on("/good")), len(receiver.on("/late"))) == (1, 1)

    # Once more: nothing to send at all.
    run = run_report(url, definition, AS_OF, tmp_path, now=NOW, delivery=FAST)
    assert [d["status"] for d in run.instance.deliveries] == ["already_sent", "already_sent"]
    assert (len(receiver.on("/good")), len(receiver.on("/late"))) == (1, 1)

    # New content (here the title) is a new report: sent again to both.
    run = run_report(
        url, report("twice", destinations, title="Weekly v2"), AS_OF, tmp_path, now=NOW, delivery=FAST
    )
    assert [d["status"] for d in run.instance.deliveries] == ["sent", "sent"]
    assert (len(receiver.on("/good")), len(receiver.on("/late"))) == (2, 2)
    assert_no_secrets(stored_rows(url))


def test_email_arrives_with_the_files_attached_once(
    url: str, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    mailbox, port = smtp
    monkeypatch.setenv("REPORT_SMTP", f"smtp://reports%40acme.test:{SMTP_PASSWORD}@127.0.0.1:{port}")
    definition = report(
        "mailed", "[{type: email, to: [ceo@acme.test, cmo@acme.test], smtp_env: REPORT_SMTP}]"
    )

    run = run_report(url, definition, AS_OF, tmp_path, now=NOW, delivery=FAST)

    (message,) = mailbox.messages
    assert message["To"] == "ceo@acme.test, cmo@acme.test" and message["From"] == SMTP_USER
    assert message["Subject"] == "Weekly: 2026-11-30 to 2026-12-06"
    attachments = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert sorted(attachments) == sorted(f["name"] for f in run.instance.files)
    pdf_sha = next(f["sha256"] for f in run.instance.files if f["name"] == "report.pdf")
    assert hashlib.sha256(attachments["report.pdf"]).hexdigest() == pdf_sha
    (delivery,) = run.instance.deliveries
    assert (delivery["destination"], delivery["status"], delivery["attempts"]) == (
        f"email (ceo@acme.test, cmo@acme.test via smtp://127.0.0.1:{port})",
        "sent",
        1,
    )

    again = run_report(url, definition, AS_OF, tmp_path, now=NOW, delivery=FAST)
    assert [d["status"] for d in again.instance.deliveries] == ["already_sent"]
    assert len(mailbox.messages) == 1
    assert_no_secrets(stored_rows(url))


def test_email_retries_a_temporary_refusal(
    url: str, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    mailbox, port = smtp
    mailbox.busy = 1
    monkeypatch.setenv("REPORT_SMTP", f"smtp://reports%40acme.test:{SMTP_PASSWORD}@127.0.0.1:{port}")
    definition = report("mail-retry", "[{type: email, to: [ceo@acme.test], smtp_env: REPORT_SMTP}]")

    run = run_report(url, definition, AS_OF, tmp_path, now=NOW, delivery=FAST)

    (delivery,) = run.instance.deliveries
    assert (delivery["status"], delivery["attempts"]) == ("sent", 2)
    assert len(mailbox.messages) == 1


def test_secrets_appear_in_no_row_error_or_output(
    url: str,
    receiver: Receiver,
    smtp: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    mailbox, port = smtp
    receiver.clear()
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("BAD_SMTP", f"smtp://reports%40acme.test:wrong-{SMTP_PASSWORD}@127.0.0.1:{port}")
    monkeypatch.setenv("REFUSING_HOOK", f"{receiver.url}/refuse?token={URL_TOKEN}")
    monkeypatch.setenv("HOOK_SECRET", SIGNING_SECRET)
    receiver.respond(400, f"bad token {URL_TOKEN}")  # a receiver echoing the secret back
    definition = report(
        "leaky",
        "[{type: email, to: [a@acme.test], smtp_env: BAD_SMTP},"
        " {type: webhook, url_env: REFUSING_HOOK, secret_env: HOOK_SECRET}]",
    )

    with pytest.raises(ReportRunError) as failed:
        run_report(url, definition, AS_OF, tmp_path, now=NOW, delivery=FAST)

    mail, hook = failed.value.instance.deliveries  # type: ignore[union-attr]
    assert (mail["status"], mail["status_code"], mail["attempts"]) == ("failed", 535, 1)  # no retry on auth
    assert (hook["status"], hook["status_code"], hook["attempts"]) == ("failed", 400, 1)
    assert "[REDACTED]" in hook["error"]
    assert mailbox.messages == []
    out = capsys.readouterr()
    assert_no_secrets(
        str(failed.value),
        json.dumps(failed.value.instance.deliveries),  # type: ignore[union-attr]
        stored_rows(url),
        out.out,
        out.err,
        caplog.text,
    )


def test_missing_variable_names_the_variable(
    url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("NOT_A_URL", f"ftp://host/{URL_TOKEN}")
    monkeypatch.delenv("NO_SMTP", raising=False)
    definition = report(
        "missing",
        "[{type: webhook, url_env: NOT_A_URL}, {type: email, to: [a@acme.test], smtp_env: NO_SMTP}]",
    )
    with pytest.raises(ReportRunError) as failed:
        run_report(url, definition, AS_OF, tmp_path, now=NOW, delivery=FAST)
    assert [(d["destination"], d["error"]) for d in failed.value.instance.deliveries] == [  # type: ignore[union-attr]
        ("webhook ($NOT_A_URL)", "NOT_A_URL must be an http(s) URL with a host"),
        ("email (a@acme.test via $NO_SMTP)", "environment variable NO_SMTP is not set"),
    ]
    assert URL_TOKEN not in str(failed.value)


def test_destination_validation() -> None:
    bad = """
reports:
  - name: r
    period: last_week
    sections: [{type: kpis}]
    destinations:
      - {type: webhook, url_env: "https://hooks.example/T0K3N"}
      - {type: email, to: [not-an-address], smtp_env: SMTP_URL}
      - {type: email, to: [a@b.test]}
      - {type: folder, url_env: HOOK}
      - {type: slack}
"""
    with pytest.raises(ReportFileError) as refused:
        parse_reports(bad)
    text = "\n".join(refused.value.errors)
    assert "T0K3N" not in text
    assert refused.value.errors == [
        "reports[0].destinations[0].url_env: the name of an environment variable (uppercase letters, digits and"
        " '_', like REPORTS_WEBHOOK_URL), not its value",
        "reports[0].destinations[1].to: not an email address: 'not-an-address'",
        "reports[0].destinations[2]: email destinations need smtp_env",
        "reports[0].destinations[3]: url_env: not a field of folder destinations (they take path)",
        "reports[0].destinations[4].type: 'slack' delivery is not built yet; only folder, webhook, email are"
        " (see docs/reports.md)",
    ]
