"""Secrets at rest: AES-256-GCM with a keyring, so keys can rotate.

A sealed value is the string ``enc:v1:<key id>:<base64url(nonce || ciphertext+tag)>``. The newest
key (first in the ring) seals; any key in the ring opens, so after adding a key and re-sealing
(``ragaas admin rotate-key``) the old one can be retired. The organisation id is bound as associated
data: a sealed value copied into another tenant's row does not open.
"""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ragaas.settings import Settings

PREFIX = "enc:v1:"


class SecretError(Exception):
    """A sealed value cannot be opened (unknown key id, tampered, or wrong organisation)."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]  # key id -> 32-byte key; the first one seals
    current: str

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """``kid:base64key[,kid:base64key...]``, newest first."""
        keys: dict[str, bytes] = {}
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            kid, sep, encoded = part.partition(":")
            if not sep or not kid:
                raise ValueError("each secret key is written 'key-id:base64-key'")
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            if len(key) != 32:
                raise ValueError(f"secret key {kid!r} must be 32 bytes (AES-256)")
            keys[kid] = key
        if not keys:
            raise ValueError("no secret key given")
        return cls(keys, next(iter(keys)))

    def seal(self, plaintext: str, organization_id: uuid.UUID) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(
            nonce, plaintext.encode(), organization_id.bytes
        )
        payload = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}{self.current}:{payload}"

    def open(self, value: str, organization_id: uuid.UUID) -> str:
        if not is_sealed(value):
            raise SecretError("the value is not sealed")
        kid, _, payload = value.removeprefix(PREFIX).partition(":")
        if kid not in self.keys:
            raise SecretError(f"no key {kid!r} in the keyring (was it retired too early?)")
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        try:
            plain = AESGCM(self.keys[kid]).decrypt(raw[:12], raw[12:], organization_id.bytes)
        except InvalidTag as exc:
            raise SecretError(
                "the sealed value does not open: tampered or another tenant's"
            ) from exc
        return plain.decode()

    def key_id_of(self, value: str) -> str:
        return value.removeprefix(PREFIX).partition(":")[0]


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def new_key_spec(kid: str) -> str:
    """A fresh key in the keyring's notation."""
    return f"{kid}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip('=')}"


def keyring_from(settings: Settings) -> Keyring:
    """The configured keyring, or one generated once and kept in data_dir (embedded default)."""
    spec = settings.secret_keys.get_secret_value() if settings.secret_keys else None
    path = key_file(settings.data_dir)
    # The file's mtime is part of the cache key: a running server sees a key added by rotate-key.
    version = path.stat().st_mtime_ns if spec is None and path.exists() else 0
    return _keyring(spec, settings.data_dir, version)


@lru_cache(maxsize=8)
def _keyring(spec: str | None, data_dir: Path, version: int) -> Keyring:
    if spec is not None:
        return Keyring.parse(spec)
    path = key_file(data_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new_key_spec("k1"))
        path.chmod(0o600)
    return Keyring.parse(path.read_text())


def key_file(data_dir: Path) -> Path:
    return data_dir / "secrets.key"


def add_key_to_file(data_dir: Path) -> str:
    """Put a new key first in data_dir's keyring file (older keys stay, to open old values)."""
    path = key_file(data_dir)
    existing = Keyring.parse(path.read_text()) if path.exists() else None
    kid = f"k{len(existing.keys) + 1}" if existing else "k1"
    while existing and kid in existing.keys:
        kid += "x"
    old = path.read_text().strip() if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(",".join(p for p in (new_key_spec(kid), old) if p))
    path.chmod(0o600)
    _keyring.cache_clear()
    return kid
