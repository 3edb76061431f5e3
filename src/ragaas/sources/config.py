"""A source's config as stored (secrets sealed), as used (secrets open), and as shown (masked)."""

from __future__ import annotations

import types
import uuid
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError

from ragaas.errors import Unprocessable
from ragaas.sources.crypto import Keyring, is_sealed
from ragaas.sources.registry import CONNECTOR_TYPES, ConnectorType

MASK = "********"


def connector_type(name: str) -> ConnectorType:
    try:
        return CONNECTOR_TYPES[name]
    except KeyError:
        known = ", ".join(sorted(CONNECTOR_TYPES))
        raise Unprocessable(f"unknown data source type {name!r}; known types: {known}") from None


def secret_fields(model: type[BaseModel]) -> set[str]:
    """Fields typed SecretStr (or SecretStr | None): sealed at rest, masked in output."""
    return {name for name, f in model.model_fields.items() if _is_secret(f.annotation)}


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_is_secret(a) for a in get_args(annotation))
    return False


def validate(type_name: str, raw: dict[str, Any], previous: BaseModel | None = None) -> BaseModel:
    """Check ``raw`` against the type's model; a masked secret sent back keeps the previous one."""
    model = connector_type(type_name).config_model
    raw = dict(raw)
    if previous is not None:
        for name in secret_fields(model):
            if raw.get(name) == MASK:
                raw[name] = getattr(previous, name)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise Unprocessable(f"invalid {type_name} config: {problems}") from None


def seal(config: BaseModel, keyring: Keyring, organization_id: uuid.UUID) -> dict[str, Any]:
    """The config for the database: secrets sealed with the keyring's current key."""
    stored = config.model_dump(mode="json")
    for name in secret_fields(type(config)):
        value = getattr(config, name)
        stored[name] = (
            None if value is None else keyring.seal(value.get_secret_value(), organization_id)
        )
    return stored


def open_(
    type_name: str, stored: dict[str, Any], keyring: Keyring, organization_id: uuid.UUID
) -> BaseModel:
    """The config as a connector uses it, secrets opened."""
    model = connector_type(type_name).config_model
    plain = {k: keyring.open(v, organization_id) if is_sealed(v) else v for k, v in stored.items()}
    return model.model_validate(plain)


def masked(type_name: str, stored: dict[str, Any]) -> dict[str, Any]:
    """The config as the API shows it."""
    model = CONNECTOR_TYPES[type_name].config_model if type_name in CONNECTOR_TYPES else None
    names = secret_fields(model) if model else set()
    return {
        k: (MASK if (k in names or is_sealed(v)) and v is not None else v)
        for k, v in stored.items()
    }


def reseal(stored: dict[str, Any], keyring: Keyring, organization_id: uuid.UUID) -> int:
    """Re-seal, in place, every secret not sealed with the current key; returns how many."""
    count = 0
    for name, value in stored.items():
        if is_sealed(value) and keyring.key_id_of(value) != keyring.current:
            stored[name] = keyring.seal(keyring.open(value, organization_id), organization_id)
            count += 1
    return count
