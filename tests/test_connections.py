"""Connections: encrypted at rest, resolved in the right order, broken when a grant is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner

from pipeline import config, secret_box
from pipeline.cli import main
from pipeline.connections import add_connection, resolve_connections, stored_connections
from pipeline.connectors import CONNECTORS
from pipeline.connectors.base import Credentials
from pipeline.connectors.http import CredentialsError
from pipeline.sandbox.server import SANDBOX_TOKENS, SandboxServer
from pipeline.warehouse import db

SECRET = "EAAB-super-secret-token-0123456789"


@pytest.fixture
def environment(
    warehouse_url: str, monkeypatch: pytest.MonkeyPatch, warehouse: psycopg.Connection
) -> Iterator[str]:
    """The CLI pointed at the test database with a known encryption key; connections table emptied."""
    monkeypatch.setenv("DATABASE_URL", warehouse_url)
    monkeypatch.setenv(secret_box.KEY_ENV, secret_box.new_key())
    for cached in (config.settings, db.database_url, secret_box.fernet):
        cached.cache_clear()
    warehouse.execute("delete from app.platform_connections")
    yield warehouse_url
    for cached in (config.settings, db.database_url, secret_box.fernet):
        cached.cache_clear()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


def test_credentials_are_encrypted_at_rest(environment: str, warehouse: psycopg.Connection) -> None:
    add_connection(environment, "meta", "main", Credentials(access_token=SECRET), account_ids=["123"])
    stored = warehouse.execute(
        "select credentials_encrypted, row_to_json(c)::text from app.platform_connections c"
    ).fetchone()
    assert SECRET.encode() not in bytes(stored[0])
    assert SECRET not in stored[1]
    [connection] = stored_connections(environment)
    assert connection.credentials.access_token == SECRET
    assert SECRET not in repr(connection)


def test_a_wrong_key_fails_with_a_clear_message(environment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    add_connection(environment, "meta", "main", Credentials(access_token=SECRET))
    monkeypatch.setenv(secret_box.KEY_ENV, secret_box.new_key())
    secret_box.fernet.cache_clear()
    with pytest.raises(secret_box.SecretKeyError, match="cannot be decrypted"):
        stored_connections(environment)


def test_stored_connections_win_and_broken_ones_fail_loudly(
    environment: str, warehouse: psycopg.Connection
) -> None:
    assert resolve_connections("meta", url=environment)[0].origin == "sandbox"
    add_connection(environment, "meta", "main", Credentials(access_token=SECRET))
    assert [c.origin for c in resolve_connections("meta", url=environment)] == ["stored"]
    warehouse.execute(
        "update app.platform_connections set status = 'broken', status_reason = 'invalid_grant'"
    )
    with pytest.raises(CredentialsError, match="invalid_grant"):
        resolve_connections("meta", url=environment)


def test_cli_add_list_test_remove(
    environment: str, sandbox: SandboxServer, warehouse: psycopg.Connection
) -> None:
    runner = CliRunner()
    good = json.dumps({"access_token": SANDBOX_TOKENS["meta"]})
    added = runner.invoke(
        main,
        ["connections", "add", "meta", "--name", "sbx", "--base-url", sandbox.base_url("meta"), "--stdin"],
        input=good,
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(main, ["connections", "list"])
    assert "sbx" in listed.output and SANDBOX_TOKENS["meta"] not in listed.output
    connection_id = warehouse.execute("select connection_id from app.platform_connections").fetchone()[0]

    tested = runner.invoke(main, ["connections", "test", str(connection_id)])
    assert tested.exit_code == 0, tested.output
    assert "2 account(s)" in tested.output

    bad = runner.invoke(
        main,
        ["connections", "add", "meta", "--name", "sbx", "--base-url", sandbox.base_url("meta"), "--stdin"],
        input=json.dumps({"access_token": SECRET}),
    )
    assert bad.exit_code == 0
    failed = runner.invoke(main, ["connections", "test", str(connection_id)])
    assert failed.exit_code != 0
    assert "Reconnect" in failed.output and SECRET not in failed.output
    status, reason = warehouse.execute(
        "select status, status_reason from app.platform_connections"
    ).fetchone()
    assert status == "broken" and "Meta" in reason and SECRET not in reason

    removed = runner.invoke(main, ["connections", "remove", str(connection_id)])
    assert removed.exit_code == 0
    assert warehouse.execute("select count(*) from app.platform_connections").fetchone()[0] == 0


def test_generated_key_is_private(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv(secret_box.KEY_ENV, raising=False)
    monkeypatch.setenv("ADSIGNAL_DATA_DIR", str(tmp_path))
    config.settings.cache_clear()
    secret_box.fernet.cache_clear()
    try:
        token = secret_box.encrypt_json({"access_token": SECRET})
        key_file = tmp_path / "secret.key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert secret_box.decrypt_json(token) == {"access_token": SECRET}
    finally:
        config.settings.cache_clear()
        secret_box.fernet.cache_clear()


def test_production_without_a_key_refuses_to_invent_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://example/prod")
    monkeypatch.delenv(secret_box.KEY_ENV, raising=False)
    config.settings.cache_clear()
    secret_box.fernet.cache_clear()
    try:
        with pytest.raises(secret_box.SecretKeyError, match="new-key"):
            secret_box.encrypt_json({})
    finally:
        config.settings.cache_clear()
        secret_box.fernet.cache_clear()


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ('{"access_token": ', "Error: stdin is not valid JSON (Expecting value at line 1, column 18)"),
        ("[1, 2]", "Error: stdin must be a JSON object of credentials, not a JSON list"),
        ('{"acces_token": "x"}', "Error: unknown credential field(s) acces_token; known: access_token,"),
        ('{"access_token": "x", "expires_at": "soon"}', "Error: credentials: Invalid isoformat string"),
    ],
)
def test_bad_credentials_on_stdin_are_one_line_exit_2(environment: str, stdin: str, message: str) -> None:
    result = CliRunner().invoke(main, ["connections", "add", "meta", "--stdin"], input=stdin)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # handled, no traceback
    [line] = result.output.splitlines()
    assert line.startswith(message)


@pytest.mark.parametrize("command", [["add", "meta", "--stdin"], ["list"]])
def test_a_malformed_secret_key_is_one_line_exit_2(
    environment: str, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    add_connection(environment, "meta", "main", Credentials(access_token=SECRET))
    monkeypatch.setenv(secret_box.KEY_ENV, "not-a-fernet-key")
    secret_box.fernet.cache_clear()
    result = CliRunner().invoke(main, ["connections", *command], input=json.dumps({"access_token": SECRET}))
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        "Error: ADSIGNAL_SECRET_KEY is not a valid Fernet key (32 urlsafe-base64 bytes)"
    ]


def test_a_changed_secret_key_is_one_line_exit_2(environment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    add_connection(environment, "meta", "main", Credentials(access_token=SECRET))
    monkeypatch.setenv(secret_box.KEY_ENV, secret_box.new_key())
    secret_box.fernet.cache_clear()
    result = CliRunner().invoke(main, ["connections", "list"])
    assert result.exit_code == 2, result.output
    [line] = result.output.splitlines()
    assert line.startswith(
        "Error: stored credentials cannot be decrypted with the current ADSIGNAL_SECRET_KEY"
    )
    assert SECRET not in result.output


def test_list_with_nothing_stored_says_the_sandbox_is_in_use(
    environment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for platform in CONNECTORS:
        for name in ("ACCESS_TOKEN", "REFRESH_TOKEN"):
            monkeypatch.delenv(f"{platform.upper()}_{name}", raising=False)
    result = CliRunner().invoke(main, ["connections", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "No stored connections."
    assert lines[1].startswith("Every platform syncs from the built-in sandbox")
    assert lines[2].startswith("Add a real connection: adsignal connections add <platform>")

    # A platform with credentials in the environment is not said to be on the sandbox.
    monkeypatch.setenv("META_ACCESS_TOKEN", SECRET)
    result = CliRunner().invoke(main, ["connections", "list"])
    assert result.exit_code == 0, result.output
    assert "meta sync with credentials from environment variables" in result.output
    assert "meta" not in result.output.splitlines()[1] and SECRET not in result.output
