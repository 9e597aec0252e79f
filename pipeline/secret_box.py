"""Encryption at rest for connection credentials (Fernet: AES-128-CBC with an HMAC-SHA256 tag).

The key comes from ``ADSIGNAL_SECRET_KEY`` (a urlsafe-base64 32-byte Fernet key, e.g. from
``adsignal connections new-key``). With the embedded database and no key set, one is generated once
into the git-ignored data directory (mode 0600), so a fresh clone works; against a configured
``DATABASE_URL`` a missing key is an error rather than a key nobody will find again.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from pipeline.config import settings

KEY_ENV = "ADSIGNAL_SECRET_KEY"


class SecretKeyError(RuntimeError):
    pass


def _key_file() -> Path:
    return settings().data_dir / "secret.key"


@cache
def fernet() -> Fernet:
    key = os.environ.get(KEY_ENV)
    if not key:
        if settings().database_url:
            raise SecretKeyError(
                f"{KEY_ENV} is not set: connection credentials are encrypted with it. Generate one with"
                " `adsignal connections new-key` and keep it with your other secrets."
            )
        path = _key_file()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
        key = path.read_text().strip()
    try:
        return Fernet(key)
    except ValueError as exc:
        raise SecretKeyError(f"{KEY_ENV} is not a valid Fernet key (32 urlsafe-base64 bytes)") from exc


def encrypt_json(value: dict[str, Any]) -> bytes:
    return fernet().encrypt(json.dumps(value).encode())


def decrypt_json(token: bytes) -> dict[str, Any]:
    try:
        return json.loads(fernet().decrypt(bytes(token)))
    except InvalidToken:
        raise SecretKeyError(
            f"stored credentials cannot be decrypted with the current {KEY_ENV}: was the key changed?"
        ) from None


def new_key() -> str:
    return Fernet.generate_key().decode()
