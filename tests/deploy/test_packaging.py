"""The container image installs the project with `pip install .`: runtime dependencies only.

A module-level import of a package that only the dev extra brings (or that pyproject does not list
at all) works in the development virtualenv and breaks `ragaas` in the image, where nothing can be
fetched later. No Docker engine is needed to see that: every module-level import in src/ragaas
must come from a runtime dependency or from what those depend on in turn.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "ragaas"


def runtime_distributions() -> set[str]:
    """pyproject's [project.dependencies] and, through installed metadata, their dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pending = [Requirement(spec) for spec in project["dependencies"]]
    seen: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        key = name + "".join(f"[{e}]" for e in sorted(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for spec in requires:
            child = Requirement(spec)
            if child.marker is None:
                pending.append(child)
                continue
            wanted = ["", *sorted(requirement.extras)]
            if any(child.marker.evaluate({"extra": extra}) for extra in wanted):
                pending.append(child)
    return {key for key in seen if "[" not in key}


def module_level_imports(path: Path) -> set[str]:
    """Modules imported when the module loads (not lazily inside functions)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def providers_of(module: str, by_top_level: dict[str, list[str]]) -> set[str]:
    """Distributions that can provide ``module``; a namespace package (opentelemetry, google)
    is shared by many, so those are narrowed to the ones holding the module's own files."""
    candidates = by_top_level.get(module.split(".")[0], [module.split(".")[0]])
    if len(candidates) > 1:
        parts = module.split(".")
        for depth in range(len(parts), 1, -1):
            prefix = "/".join(parts[:depth])
            holding = [
                dist
                for dist in candidates
                if any(
                    str(f).startswith((prefix + "/", prefix + ".py"))
                    for f in metadata.files(dist) or []
                )
            ]
            if holding:
                candidates = holding
                break
    return {canonicalize_name(dist) for dist in candidates}


def test_module_level_imports_come_from_runtime_dependencies() -> None:
    runtime = runtime_distributions()
    providers = metadata.packages_distributions()
    stray: dict[str, set[str]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        for name in module_level_imports(path):
            if name.split(".")[0] in sys.stdlib_module_names | {"ragaas", "__future__"}:
                continue
            dists = providers_of(name, providers)
            if not dists & runtime:
                stray.setdefault(" or ".join(sorted(dists)), set()).add(
                    str(path.relative_to(SOURCE.parent))
                )

    found = "; ".join(f"{name}: {sorted(paths)}" for name, paths in sorted(stray.items()))
    assert stray == {}, (
        f"imported at module level but not a runtime dependency in pyproject.toml: {found}"
    )
