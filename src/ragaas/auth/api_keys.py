"""API key format: ``rg_<prefix>_<secret>``; only a SHA-256 of the whole key is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "rg_"


@dataclass(frozen=True)
class NewKey:
    plaintext: str
    prefix: str
    key_hash: str


def generate_key() -> NewKey:
    """A fresh random key; the plaintext is shown once and never stored."""
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(plaintext, prefix, hash_key(plaintext))


def hash_key(plaintext: str) -> str:
    """SHA-256 is enough: keys carry 256 random bits, unlike passwords."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def split_prefix(plaintext: str) -> str | None:
    """The lookup prefix of a key, or None if it is not shaped like one of ours."""
    if not plaintext.startswith(KEY_PREFIX):
        return None
    prefix, sep, rest = plaintext[len(KEY_PREFIX) :].partition("_")
    return prefix if sep and rest else None


def matches(plaintext: str, key_hash: str) -> bool:
    """Constant-time comparison of a presented key with a stored hash."""
    return hmac.compare_digest(hash_key(plaintext), key_hash)
