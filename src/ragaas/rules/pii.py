"""Finding and redacting personal data: e-mail, phone, card (Luhn), IBAN (mod 97), national ids.

Patterns are deliberately conservative where a false positive would mangle ordinary text: a card
number must pass the Luhn check, an IBAN its mod-97 check; national ids are the formats with a fixed
shape (US SSN, UK National Insurance number, French NIR).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

PiiKind = Literal["email", "phone", "card", "iban", "national_id"]
KINDS: tuple[PiiKind, ...] = ("email", "phone", "card", "iban", "national_id")


def _luhn(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return total % 10 == 0


def _iban(candidate: str) -> bool:
    compact = re.sub(r"\s", "", candidate).upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


_NANP = re.compile(r"^\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4}$")


def _phone(candidate: str) -> bool:
    """International (+), trunk-prefixed (0) or North American shapes with 9-15 digits."""
    digits = sum(c.isdigit() for c in candidate)
    if not 9 <= digits <= 15:
        return False
    return candidate[0] in "+(0" or bool(_NANP.match(candidate))


@dataclass(frozen=True)
class Detector:
    kind: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool] = lambda _: True


DETECTORS = (
    Detector("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    Detector(
        "iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"), _iban
    ),
    Detector("card", re.compile(r"\b\d(?:[ -]?\d){12,18}\b"), _luhn),
    Detector(
        "national_id",
        re.compile(
            r"\b(?:\d{3}-\d{2}-\d{4}"  # US SSN
            r"|[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]"  # UK NINO
            r"|[12] ?\d{2} ?(?:0[1-9]|1[0-2]) ?\d{2} ?\d{3} ?\d{3} ?\d{2})\b"  # FR NIR
        ),
    ),
    Detector("phone", re.compile(r"(?<![\w+])(?:\+|\()?\d[\d ().-]{7,}\d\b"), _phone),
)


def find(text: str, kinds: Sequence[str] = KINDS) -> dict[str, list[str]]:
    """Every value of each kind found in ``text`` (a value is claimed by the first kind)."""
    found: dict[str, list[str]] = {kind: [] for kind in kinds}
    for start, end, kind in _spans(text, kinds):
        found[kind].append(text[start:end])
    return found


def redact(text: str, kinds: Sequence[str] = KINDS) -> tuple[str, int]:
    """``text`` with each found value replaced by ``[REDACTED:kind]``; and how many."""
    spans = _spans(text, kinds)
    for start, end, kind in reversed(spans):
        text = f"{text[:start]}[REDACTED:{kind}]{text[end:]}"
    return text, len(spans)


def _spans(text: str, kinds: Sequence[str]) -> list[tuple[int, int, str]]:
    taken: list[tuple[int, int, str]] = []
    for detector in DETECTORS:  # order matters: an IBAN's digits must not be read as a phone
        if detector.kind not in kinds:
            continue
        for match in detector.pattern.finditer(text):
            start, end = match.span()
            if any(s < end and start < e for s, e, _ in taken):
                continue
            if detector.valid(match.group()):
                taken.append((start, end, detector.kind))
    return sorted(taken)
