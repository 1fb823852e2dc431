"""A job specification built in Python, reading like the JSON it writes
(src/daemon/spec.h)::

    Sweep(name="depth", base={"model": {"width": 16}},
          grid={"model.unit_depth": [1, 2, 4]}, seeds=5)

is ``{"name": "depth", "base": {...}, "grid": {...}, "seeds": 5}``. The
daemon validates every value; the builder checks only the shape, with the
same :class:`~resweep.errors.SpecError` (code, key path, sentence).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Union

from .errors import SpecError

__all__ = ["Sweep", "SpecLike", "spec_dict"]

#: What :meth:`Client.submit` takes: a Sweep, a dict, a path to a JSON
#: file, or JSON text (a str that starts with "{").
SpecLike = Union["Sweep", Mapping[str, Any], str, Path]


def _invalid(field: str, message: str) -> SpecError:
    return SpecError("invalid_spec", field, message)


def _check_axes(kind: str, axes: Optional[Mapping[str, Sequence[Any]]]) -> None:
    if axes is None:
        return
    if not isinstance(axes, Mapping):
        raise _invalid(kind, "must be an object of key paths to lists")
    for key, values in axes.items():
        if not isinstance(key, str) or not key:
            raise _invalid(kind, f"key {key!r} is not a dotted key path")
        if isinstance(values, (str, bytes)) or not isinstance(
                values, Sequence):
            raise _invalid(f"{kind}.{key}", "must be a list of values")


class Sweep:
    """A job specification: ``base`` run configuration and the axes that
    vary it (``grid``: cartesian product; ``zip``: lists taken together;
    ``random``: draws), times ``seeds`` (a count or a list)."""

    def __init__(self, base: Optional[Mapping[str, Any]] = None, *,
                 grid: Optional[Mapping[str, Sequence[Any]]] = None,
                 zip: Optional[Mapping[str, Sequence[Any]]] = None,
                 random: Optional[Mapping[str, Any]] = None,
                 seeds: Union[int, Sequence[int], None] = None,
                 name: Optional[str] = None,
                 priority: Optional[int] = None,
                 max_attempts: Optional[int] = None) -> None:
        if base is not None and not isinstance(base, Mapping):
            raise _invalid("base", "must be an object (a run configuration)")
        _check_axes("grid", grid)
        _check_axes("zip", zip)
        if seeds is not None and not isinstance(seeds, int) and (
                isinstance(seeds, (str, bytes)) or
                not isinstance(seeds, Sequence)):
            raise _invalid("seeds", "must be a count or a list of seeds")
        self.base = copy.deepcopy(dict(base or {}))
        self.grid = {k: list(v) for k, v in (grid or {}).items()}
        self.zip = {k: list(v) for k, v in (zip or {}).items()}
        self.random = copy.deepcopy(dict(random)) if random else None
        self.seeds = seeds if isinstance(seeds, int) or seeds is None \
            else list(seeds)
        self.name = name
        self.priority = priority
        self.max_attempts = max_attempts

    def to_dict(self) -> Dict[str, Any]:
        """The specification as the daemon reads it (absent parts left
        out)."""
        out: Dict[str, Any] = {}
        for key in ("name", "priority", "max_attempts"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["base"] = copy.deepcopy(self.base)
        for key in ("grid", "zip", "random"):
            if getattr(self, key):
                out[key] = copy.deepcopy(getattr(self, key))
        if self.seeds is not None:
            out["seeds"] = self.seeds
        return out

    def to_json(self, indent: Optional[int] = 2) -> str:
        """The specification as JSON text, for `resweep submit FILE`."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def save(self, path: Union[str, Path]) -> Path:
        """Writes to_json() into path; returns it."""
        p = Path(path)
        p.write_text(self.to_json() + "\n")
        return p

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> "Sweep":
        """A Sweep of a specification dict (unknown members refused)."""
        known = {"base", "grid", "zip", "random", "seeds", "name",
                 "priority", "max_attempts"}
        for key in spec:
            if key not in known:
                raise _invalid(str(key), "unknown member; expected one of " +
                               ", ".join(sorted(known)))
        return cls(**dict(spec))

    def __repr__(self) -> str:
        return f"Sweep({self.to_json(indent=None)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sweep) and self.to_dict() == other.to_dict()


def spec_dict(spec: SpecLike) -> Dict[str, Any]:
    """Any SpecLike as a dict. A str that starts with "{" is JSON text;
    another str, or a Path, names a JSON file."""
    if isinstance(spec, Sweep):
        return spec.to_dict()
    if isinstance(spec, Mapping):
        return dict(spec)
    if isinstance(spec, str) and spec.lstrip().startswith("{"):
        return _parse(spec, "spec")
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        try:
            text = path.read_text()
        except OSError as e:
            raise SpecError("bad_file", str(path), e.strerror or str(e)) \
                from None
        return _parse(text, str(path))
    raise TypeError(f"spec: expected a Sweep, dict, path or JSON text, "
                    f"got {type(spec).__name__}")


def _parse(text: str, where: str) -> Dict[str, Any]:
    try:
        obj = json.loads(text)
    except ValueError as e:
        line = getattr(e, "lineno", 0)
        col = getattr(e, "colno", 0)
        raise SpecError("bad_json", where,
                        f"{line}:{col}: not valid JSON") from None
    if not isinstance(obj, dict):
        raise SpecError("bad_json", where,
                        "a job specification is a JSON object")
    return obj
