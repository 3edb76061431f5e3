"""Connector types by name, discovered from the modules of ``ragaas.sources.connectors``.

A connector module registers itself by defining ``CONNECTOR_TYPE = ConnectorType(...)``; adding a
type means adding one module, nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

from ragaas.sources import connectors
from ragaas.sources.connectors.base import BuildContext, ConnectorType

__all__ = ["CONNECTOR_TYPES", "BuildContext", "ConnectorType"]


def _discover() -> dict[str, ConnectorType]:
    found: dict[str, ConnectorType] = {}
    for module_info in sorted(pkgutil.iter_modules(connectors.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{connectors.__name__}.{module_info.name}")
        connector_type = getattr(module, "CONNECTOR_TYPE", None)
        if isinstance(connector_type, ConnectorType):
            if connector_type.name in found:
                raise RuntimeError(f"two connector modules register {connector_type.name!r}")
            found[connector_type.name] = connector_type
    return found


CONNECTOR_TYPES: dict[str, ConnectorType] = _discover()
