"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ragaas.errors import Unprocessable

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps login timing uniform.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches; always costs one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# The most common passwords of public breach corpora that a length rule alone would let through
# (compared ignoring case); anything shorter than the minimum length is refused anyway.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678910",
        "password1234",
        "password12345",
        "password123!",
        "passw0rd1234",
        "qwertyuiop12",
        "qwertyuiop123",
        "qwerty123456",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "abcdefghijkl",
        "abc123456789",
        "aaaaaaaaaaaa",
        "111111111111",
        "000000000000",
        "123123123123",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "welcome123!",
        "administrator",
        "admin1234567",
        "changeme1234",
        "correcthorsebatterystaple",
        "correct horse battery staple",
        "trustno1trustno1",
        "football1234",
        "baseball1234",
        "sunshine1234",
        "princess1234",
        "superman1234",
        "starwars1234",
        "dragon123456",
        "monkey123456",
        "master123456",
        "shadow123456",
        "michael12345",
        "jennifer1234",
        "whatever1234",
        "qazwsxedcrfv",
        "zaq12wsxcde3",
        "asdfghjkl123",
        "zxcvbnm12345",
        "p@ssw0rd1234",
        "p@ssword1234",
        "passwordpassword",
        "password",
        "password123",
        "123456789",
        "12345678",
        "qwerty123",
        "iloveyou",
    }
)


def check_password_policy(password: str, email: str, min_length: int) -> None:
    """Raise Unprocessable naming the first rule ``password`` breaks."""
    rule = password_problem(password, email, min_length)
    if rule is not None:
        raise Unprocessable(f"password: {rule}")


def password_problem(password: str, email: str, min_length: int) -> str | None:
    """The first rule ``password`` breaks, or None: minimum length, not the e-mail, not common."""
    if len(password) < min_length:
        return f"must have at least {min_length} characters (password_min_length)"
    folded, address = password.strip().lower(), email.strip().lower()
    if folded in (address, address.partition("@")[0]):
        return "must not be the e-mail address (password_not_email)"
    if folded in COMMON_PASSWORDS or len(set(folded)) <= 2:
        return "is too common or too repetitive (password_common)"
    return None
