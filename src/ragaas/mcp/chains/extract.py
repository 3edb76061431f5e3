"""Extract fields from a document into JSON that is validated against the caller's JSON schema,
with the passage each field came from.

Each field is looked up on its own (its name and description as the query, within the document).
An LLM then fills the whole object; without one, each field takes the best-matching sentence:
a labelled value ("Owner: Ada"), an enum option the passages mention, the first number for
numbers, the sentence itself for strings, and true unless the sentence is negated for booleans.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from jsonschema import SchemaError
from jsonschema.validators import validator_for

from ragaas.errors import Unprocessable
from ragaas.generation.service import citation
from ragaas.mcp.chains.grounding import Grounding, numbered
from ragaas.mcp.chains.text import first_json_object, sentences, terms
from ragaas.mcp.schemas import Extraction, FieldSource
from ragaas.providers.llm.base import ChatMessage
from ragaas.retrieval.schemas import SearchResult

MAX_FIELDS = 30
SNIPPET_CHARS = 300
PROMPT = (
    "Extract the requested fields from the numbered sources. Reply with only a JSON object that "
    'maps each field name to {"value": <the value, matching the JSON schema, or null when the '
    'sources do not say>, "source": <the number of the source it came from>}.'
)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_NEGATION = re.compile(r"\b(?:not|no|never|without|none|cannot|isn't|aren't|doesn't)\b", re.I)


@dataclass(frozen=True)
class Pick:
    source: int  # 1-based position in the grounding's sources
    snippet: str


def fields_of(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The schema's top-level properties; a clear error for an invalid or non-object schema."""
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        raise Unprocessable(f"fields_schema is not a valid JSON schema: {exc.message}") from None
    properties = schema.get("properties")
    if schema.get("type", "object") != "object" or not isinstance(properties, dict):
        raise Unprocessable("fields_schema must be an object schema with 'properties'")
    if not properties or len(properties) > MAX_FIELDS:
        raise Unprocessable(f"fields_schema must have between 1 and {MAX_FIELDS} properties")
    return {name: spec if isinstance(spec, dict) else {} for name, spec in properties.items()}


def validation_errors(values: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Every way ``values`` breaks ``schema``, as '<path>: <message>' lines."""
    validator = validator_for(schema)(schema)
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(object)'}: {error.message}"
        for error in sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path))
    ]


def field_query(name: str, spec: dict[str, Any]) -> str:
    words = re.sub(r"[_\-]+|(?<=[a-z])(?=[A-Z])", " ", name)
    return f"{words} {spec.get('description', '')}".strip()


async def extract(
    g: Grounding, document_id: uuid.UUID, schema: dict[str, Any], per_field: int
) -> Extraction:
    """Per-field retrieval within the document, then extraction and validation."""
    fields = fields_of(schema)
    if not await g.allowed():
        return _blocked(g, (await g.refuse()).query_id)
    found: dict[str, list[SearchResult]] = {}
    for name, spec in fields.items():
        query = field_query(name, spec)
        found[name] = await g.retrieve(query, document_ids=[document_id], top_k=per_field)
    if not await g.checked():
        return _blocked(g, (await g.refuse()).query_id)
    if g.model is not None:
        values, picks, problems = await _with_llm(g, schema)
    else:
        values, picks = _extractive(g.sources, fields, found)
        problems = []
    used = list(dict.fromkeys(p.source for p in picks.values()))
    number = {old: new for new, old in enumerate(used, start=1)}
    citations = [citation(number[old], g.sources[old - 1]) for old in used]
    done = await g.finish(json.dumps(values, ensure_ascii=False), citations)
    if done.blocked:
        return _blocked(g, done.query_id)
    shown = first_json_object(done.answer)  # the after-generation rules may have redacted it
    values = shown if shown is not None else {}
    return Extraction(
        values=values,
        valid=not (errors := problems + validation_errors(values, schema)),
        errors=errors,
        sources={
            name: FieldSource(
                citation=number[pick.source],
                chunk_id=g.sources[pick.source - 1].chunk_id,
                snippet=pick.snippet[:SNIPPET_CHARS],
            )
            for name, pick in picks.items()
            if name in values
        },
        citations=done.citations,
        answerer=g.answerer,
        query_id=done.query_id,
    )


async def _with_llm(
    g: Grounding, schema: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Pick], list[str]]:
    user = (
        f"JSON schema of the fields:\n{json.dumps(schema)}\n\n"
        f"Sources:\n\n{numbered(g.sources)}\n\nJSON:"
    )
    reply = await g.complete([g.system(PROMPT), ChatMessage("user", user)])
    parsed = first_json_object(reply)
    if parsed is None:
        return {}, {}, ["the language model's reply was not a JSON object"]
    values: dict[str, Any] = {}
    picks: dict[str, Pick] = {}
    for name, entry in parsed.items():
        if isinstance(entry, dict):
            value, source = entry.get("value"), entry.get("source")
        else:
            value, source = entry, None
        if value is None:
            continue
        values[name] = value
        if isinstance(source, int) and 1 <= source <= len(g.sources):
            picks[name] = Pick(source, g.sources[source - 1].content)
    return values, picks, []


def _extractive(
    sources: list[SearchResult],
    fields: dict[str, dict[str, Any]],
    found: dict[str, list[SearchResult]],
) -> tuple[dict[str, Any], dict[str, Pick]]:
    position = {s.chunk_id: n for n, s in enumerate(sources, start=1)}
    values: dict[str, Any] = {}
    picks: dict[str, Pick] = {}
    for name, spec in fields.items():
        wanted = set(terms(field_query(name, spec)))
        ranked = sorted(
            (
                (len(wanted & set(terms(sentence))), -rank, position[result.chunk_id], sentence)
                for rank, result in enumerate(found[name])
                for sentence in sentences(result.content)
            ),
            reverse=True,
        )
        for score, _, source, sentence in ranked:
            if score == 0:
                break
            value = coerce(name, spec, sentence)
            if value is not None:
                values[name], picks[name] = value, Pick(source, sentence)
                break
    return values, picks


def coerce(name: str, spec: dict[str, Any], sentence: str) -> Any:
    """The value ``sentence`` gives the field ``name``, typed per ``spec`` (None: no value)."""
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if "enum" in spec:
        return next(
            (
                option
                for option in spec["enum"]
                if isinstance(option, str)
                and re.search(rf"\b{re.escape(option)}\b", sentence, re.IGNORECASE)
            ),
            None,
        )
    if kind in ("integer", "number"):
        match = _NUMBER.search(sentence)
        if match is None:
            return None
        number = float(match.group().replace(",", ""))
        if kind == "number":
            return number
        return int(number) if number.is_integer() else None
    if kind == "boolean":
        return _NEGATION.search(sentence) is None
    if kind in (None, "string"):
        return labelled(name, sentence) or sentence
    if kind == "array" and spec.get("items", {}).get("type", "string") == "string":
        return [labelled(name, sentence) or sentence]
    return None


def labelled(name: str, sentence: str) -> str | None:
    """The value after a label for the field, as in 'Owner: Ada Lovelace' or 'owner is Ada'."""
    label = r"\s+".join(re.escape(w) for w in field_query(name, {}).split())
    match = re.search(rf"\b{label}\b\s*(?::|=|\bis\b|\bare\b|\bwas\b)\s*([^.;\n]+)", sentence, re.I)
    return match.group(1).strip() if match else None


def _blocked(g: Grounding, query_id: uuid.UUID) -> Extraction:
    return Extraction(
        values={},
        valid=False,
        errors=[g.guard.blocked or "a rule refused the extraction"],
        sources={},
        citations=[],
        answerer=g.answerer,
        query_id=query_id,
        blocked=True,
    )
