"""Small text tools for the deterministic (no-LLM) chains: terms, sentences, [n] renumbering."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from ragaas.generation.extractive import split_sentences

_WORD = re.compile(r"[a-z0-9]+")
_CITATION = re.compile(r"\[(\d{1,3})\]")
_MARKUP = re.compile(r"\*\*|__|`|^#+\s*", re.MULTILINE)
# Common function words: they say nothing about what a sentence is about.
_STOP_WORDS = (
    "a an the of and or in on at to for from by with is are was were be been being do does did "
    "what which who whom whose when where why how that this these those it its as not no can "
    "could should would will shall may might must has have had i you he she we they me my our "
    "your their them there then than so if but also about into over under all any each more most "
    "other some such only own same too very just"
)
STOP = frozenset(_STOP_WORDS.split())


def terms(text: str) -> list[str]:
    """Content words, lower-cased, with a crude plural fold ("cells" meets "cell")."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOP and len(w) > 1]
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


def sentences(text: str) -> list[str]:
    """The passage's sentences without Markdown emphasis or heading marks."""
    return [_MARKUP.sub("", s).strip() for s in split_sentences(text)]


def overlap(a: AbstractSet[str], b: AbstractSet[str]) -> float:
    """Jaccard similarity of two term sets."""
    return len(a & b) / len(a | b) if a and b else 0.0


def cited(text: str) -> list[int]:
    """The [n] numbers in ``text``, in order of first use."""
    seen: list[int] = []
    for match in _CITATION.finditer(text):
        n = int(match.group(1))
        if n not in seen:
            seen.append(n)
    return seen


def renumber(text: str, mapping: Mapping[int, int]) -> str:
    """``text`` with each [n] replaced by [mapping[n]] (unknown numbers dropped)."""

    def swap(match: re.Match[str]) -> str:
        n = mapping.get(int(match.group(1)))
        return f"[{n}]" if n is not None else ""

    return _CITATION.sub(swap, text)


def first_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in a model's reply (inside a ```json fence or bare), if any."""
    start = text.find("{")
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(text[start:])
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        return value if isinstance(value, dict) else None
    return None
