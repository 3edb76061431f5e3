"""Personal-data detection: each kind, its validity checks, and what must not be caught."""

from __future__ import annotations

import pytest

from ragaas.rules import pii


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("write to jane.doe+hr@acme.example.com", "email"),
        ("call +44 20 7946 0958 today", "phone"),
        ("call (555) 123-4567", "phone"),
        ("call 020 7946 0958", "phone"),
        ("card 4111 1111 1111 1111", "card"),
        ("card 5500-0000-0000-0004", "card"),
        ("IBAN GB82 WEST 1234 5698 7654 32", "iban"),
        ("IBAN DE89370400440532013000", "iban"),
        ("SSN 123-45-6789", "national_id"),
        ("NINO AB 12 34 56 C", "national_id"),
    ],
)
def test_each_kind_is_found_and_redacted(text: str, kind: str) -> None:
    redacted, count = pii.redact(text)
    assert count == 1
    assert f"[REDACTED:{kind}]" in redacted


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # fails Luhn
        "IBAN GB82 WEST 1234 5698 7654 33",  # fails mod 97
        "order 12345 shipped on 2026-11-25",
        "version 3.11.4, room 101, 25 days of leave",
    ],
)
def test_look_alikes_are_left_alone(text: str) -> None:
    assert pii.redact(text) == (text, 0)


def test_only_the_asked_kinds() -> None:
    text = "mail a@b.example or call +44 20 7946 0958"
    assert pii.redact(text, ["email"]) == ("mail [REDACTED:email] or call +44 20 7946 0958", 1)
    assert pii.find(text)["phone"] == ["+44 20 7946 0958"]
