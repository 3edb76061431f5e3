"""The deterministic pieces of the chains: splitting questions, reading model replies, typing
extracted values, renumbering citations, checking URLs."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ragaas.errors import Unprocessable
from ragaas.mcp.chains.compare import parse_points
from ragaas.mcp.chains.extract import coerce, fields_of, validation_errors
from ragaas.mcp.chains.grounding import compact
from ragaas.mcp.chains.multipart import parse_parts, split_question
from ragaas.mcp.chains.summarize import extractive_summary
from ragaas.mcp.chains.text import first_json_object, renumber
from ragaas.mcp.fetch import check_url
from ragaas.retrieval.schemas import SearchResult
from ragaas.security.egress import EgressPolicy


def passage(chunk_id: int, content: str, document_id: uuid.UUID | None = None) -> SearchResult:
    return SearchResult(
        chunk_id=chunk_id,
        document_id=document_id or uuid.uuid4(),
        external_id=None,
        title=f"doc {chunk_id}",
        url=None,
        content=content,
        score=1.0,
        metadata={},
    )


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "How many days of holiday do staff get and where do they park?",
            ["How many days of holiday do staff get", "Where do they park?"],
        ),
        (
            "Who owns the policy? When is it reviewed?",
            ["Who owns the policy?", "When is it reviewed?"],
        ),
        ("1. price of the robot; 2. warranty length", ["Price of the robot", "Warranty length"]),
        ("Do we sell salt and pepper grinders?", ["Do we sell salt and pepper grinders?"]),
        ("Holidays?", ["Holidays?"]),
    ],
)
def test_split_question(question: str, parts: list[str]) -> None:
    assert split_question(question) == parts


def test_parse_parts_strips_numbering_and_caps() -> None:
    reply = "1. Where do staff park?\n- What is the holiday allowance?\n\n(c) Who signs leave?\nok"
    assert parse_parts(reply) == [
        "Where do staff park?",
        "What is the holiday allowance?",
        "Who signs leave?",
    ]
    assert len(parse_parts("\n".join(f"{i}. question number {i}" for i in range(9)))) == 6


def test_parse_points_reads_sections() -> None:
    reply = (
        "Here you go.\n**Similarities:**\n- Both cover staff [1][3]\n"
        "Differences\n* Only A has parking [2]\n1) Only B has keys [4]"
    )
    similarities, differences = parse_points(reply)
    assert [(p.text, p.citations) for p in similarities] == [("Both cover staff", [1, 3])]
    assert [(p.text, p.citations) for p in differences] == [
        ("Only A has parking", [2]),
        ("Only B has keys", [4]),
    ]


@pytest.mark.parametrize(
    ("name", "spec", "sentence", "value"),
    [
        ("holiday_days", {"type": "integer"}, "Staff get 25 days of holiday.", 25),
        ("budget", {"type": "number"}, "The budget is 1,250.50 euros.", 1250.5),
        ("owner", {"type": "string"}, "Owner: Ada Lovelace.", "Ada Lovelace"),
        (
            "review_cycle",
            {"type": "string"},
            "The review cycle is every two years",
            "every two years",
        ),
        ("tier", {"enum": ["gold", "silver"]}, "This is a Silver plan.", "silver"),
        ("remote", {"type": "boolean"}, "Remote work is not allowed.", False),
        ("remote", {"type": ["boolean", "null"]}, "Remote work is allowed.", True),
        ("holiday_days", {"type": "integer"}, "Staff get plenty of holiday.", None),
        ("owner", {"type": "object"}, "Owner: Ada.", None),
    ],
)
def test_coerce(name: str, spec: dict[str, Any], sentence: str, value: object) -> None:
    assert coerce(name, spec, sentence) == value


def test_fields_of_refuses_unusable_schemas() -> None:
    with pytest.raises(Unprocessable, match="not a valid JSON schema"):
        fields_of({"type": 3})
    with pytest.raises(Unprocessable, match="object schema with 'properties'"):
        fields_of({"type": "array"})
    with pytest.raises(Unprocessable, match="between 1 and 30"):
        fields_of({"type": "object", "properties": {}})
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert validation_errors({}, schema) == ["(object): 'n' is a required property"]


def test_compact_renumbers_in_order_of_use() -> None:
    sources = [passage(i, f"passage {i}") for i in (10, 11, 12)]
    cited = compact("Third [3]. First [1]. Third again [3]. Bogus [9].", sources)
    assert cited.text == "Third [1]. First [2]. Third again [1]. Bogus ."
    assert [(c.n, c.chunk_id) for c in cited.citations] == [(1, 12), (2, 10)]
    assert renumber("a [1] b [2]", {2: 1}) == "a  b [1]"


def test_first_json_object() -> None:
    assert first_json_object('Sure:\n```json\n{"a": {"b": 1}}\n```') == {"a": {"b": 1}}
    assert first_json_object('{not json} then {"x": 2}') == {"x": 2}
    assert first_json_object("no braces") is None


def test_extractive_summary_keeps_central_sentences_in_order() -> None:
    doc = uuid.uuid4()
    sources = [
        passage(
            1,
            "Robots are returned within 30 days. Robots must be packed in the original box. "
            "Our office has a nice plant.",
            doc,
        ),
        passage(2, "Returned robots are refunded to the original card within 5 days.", doc),
    ]
    picked = extractive_summary(sources, "refund")
    assert [c.source for c in picked] == [1, 1, 2]
    assert picked[-1].sentence.startswith("Returned robots are refunded")
    assert all("plant" not in c.sentence for c in picked)


async def test_check_url_refuses_schemes_link_local_and_unknown_hosts() -> None:
    with pytest.raises(Unprocessable, match="only http:// and https://"):
        await check_url("file:///etc/passwd")
    with pytest.raises(Unprocessable, match="link-local"):
        await check_url("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(Unprocessable, match="link-local"):
        await check_url("http://[fe80::1]/")
    with pytest.raises(Unprocessable, match="cannot resolve host"):
        await check_url("http://no-such-host.invalid/")
    with pytest.raises(Unprocessable, match="loopback"):  # refused unless allow-listed
        await check_url("http://127.0.0.1:9/")
    await check_url("http://127.0.0.1:9/", EgressPolicy.from_list(["127.0.0.1"]))
