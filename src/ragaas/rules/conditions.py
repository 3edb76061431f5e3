"""Rule conditions: CEL expressions (cel-python), compiled once and evaluated over a context.

The context a condition sees is documented in docs/rules.md; it is plain JSON (strings, numbers,
booleans, lists, maps), converted to CEL values here.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError


class ConditionError(Exception):
    """A condition does not parse, fails to evaluate, or is not a boolean; the message says why."""


@lru_cache(maxsize=1024)
def compile_condition(expression: str) -> Any:
    """The runnable program for ``expression``; ConditionError with the parser's message."""
    environment = celpy.Environment()
    try:
        return environment.program(environment.compile(expression))
    except CELParseError as exc:
        raise ConditionError(" ".join(str(exc).split())) from None
    except Exception as exc:  # lark raises assorted errors on malformed input
        raise ConditionError(f"cannot compile: {exc}") from None


def evaluate(expression: str, context: dict[str, Any]) -> bool:
    """Whether the condition holds for ``context``."""
    program = compile_condition(expression)
    activation = {name: json_to_cel(value) for name, value in context.items()}
    try:
        result = program.evaluate(activation)
    except CELEvalError as exc:
        raise ConditionError(_eval_message(exc)) from None
    except Exception as exc:  # cel-python surfaces some type errors as plain Python errors
        raise ConditionError(f"evaluation failed: {exc}") from None
    if isinstance(result, CELEvalError):
        raise ConditionError(_eval_message(result))
    if not isinstance(result, celpy.celtypes.BoolType | bool):
        raise ConditionError(f"the condition gives {type(result).__name__}, not a boolean")
    return bool(result)


def _eval_message(exc: CELEvalError) -> str:
    args = exc.args
    return str(args[0]) if args else "evaluation failed"
