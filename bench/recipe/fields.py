"""Reading one recipe section into a dataclass: unknown fields, wrong types and out-of-range values are errors that
name the field by its dotted path (``stages.dckd.learning_rate: must be > 0, got -1``)."""
from __future__ import annotations

import math
from typing import Any, Iterable

from bench.errors import BenchError


class RecipeError(BenchError, ValueError):
    """A recipe (file or --set override) that cannot run; the message names the file and the field."""


class Section:
    """The fields of one mapping, read and checked one by one; ``done()`` refuses whatever was not read."""

    def __init__(self, data: Any, path: str, known: Iterable[str] | None = None):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise RecipeError(f"{path or 'recipe'}: expected a mapping of fields, got {_show(data)}")
        self.data, self.path, self.read = data, path, set()
        if known is not None:
            self._refuse_unknown(set(known))

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _refuse_unknown(self, known: set[str]) -> None:
        unknown = sorted(set(self.data) - known)
        if unknown:
            raise RecipeError(f"{self.where(unknown[0])}: unknown field; known fields here: {', '.join(sorted(known))}")

    def raw(self, key: str, default: Any = None, required: bool = False) -> Any:
        self.read.add(key)
        if key not in self.data:
            if required:
                raise RecipeError(f"{self.where(key)}: missing (required)")
            return default
        return self.data[key]

    def string(self, key: str, default: str | None = None, *, choices: Iterable[str] | None = None,
               required: bool = False, nullable: bool = False) -> str | None:
        value = self.raw(key, default, required)
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not value.strip():
            raise RecipeError(f"{self.where(key)}: expected a non-empty string, got {_show(value)}")
        if choices is not None and value not in choices:
            raise RecipeError(f"{self.where(key)}: {value!r} is not one of {', '.join(choices)}")
        return value

    def integer(self, key: str, default: int | None = None, *, minimum: int | None = None, nullable: bool = False,
                required: bool = False) -> int | None:
        value = self.raw(key, default, required)
        return check_integer(value, self.where(key), minimum, nullable)

    def number(self, key: str, default: float | None = None, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, nullable: bool = False, required: bool = False) -> float | None:
        value = _number(self.raw(key, default, required))
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise RecipeError(f"{self.where(key)}: expected a finite number, got {_show(value)}")
        if low is not None and (value <= low if low_open else value < low):
            raise RecipeError(f"{self.where(key)}: must be {'>' if low_open else '>='} {low:g}, got {value:g}")
        if high is not None and value > high:
            raise RecipeError(f"{self.where(key)}: must be <= {high:g}, got {value:g}")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise RecipeError(f"{self.where(key)}: expected true or false, got {_show(value)}")
        return value

    def strings(self, key: str, default: list[str] | None = None, *, choices: Iterable[str] | None = None) -> list[str]:
        value = self.raw(key, default if default is not None else [])
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise RecipeError(f"{self.where(key)}: expected a list of names, got {_show(value)}")
        allowed = list(choices) if choices is not None else None
        for v in value:
            if allowed is not None and v not in allowed:
                raise RecipeError(f"{self.where(key)}: {v!r} is not one of {', '.join(allowed)}")
        return list(value)

    def numbers(self, key: str) -> list[float]:
        value = self.raw(key, [])
        if value is None:
            return []
        if not isinstance(value, list):
            raise RecipeError(f"{self.where(key)}: expected a list of numbers, got {_show(value)}")
        out = []
        for i, v in enumerate(value):
            v = _number(v)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise RecipeError(f"{self.where(key)}[{i}]: expected a finite number, got {_show(v)}")
            out.append(float(v))
        return out

    def mapping(self, key: str) -> dict:
        value = self.raw(key, {})
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise RecipeError(f"{self.where(key)}: expected a mapping, got {_show(value)}")
        return dict(value)

    def section(self, key: str, known: Iterable[str] | None = None, required: bool = False) -> "Section":
        return Section(self.raw(key, None, required), self.where(key), known)


def check_integer(value: Any, where: str, minimum: int | None, nullable: bool) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecipeError(f"{where}: expected a whole number{' or null' if nullable else ''}, got {_show(value)}")
    if minimum is not None and value < minimum:
        raise RecipeError(f"{where}: must be >= {minimum}, got {value}" + (" (null means all)" if nullable else ""))
    return value


def _number(value: Any) -> Any:
    """YAML 1.1 reads ``1e-5`` (no dot) as a string; recipes mean a number."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return (text[:60] + "...") if len(text) > 60 else text
