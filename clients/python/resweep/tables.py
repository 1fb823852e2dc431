"""Rows as a pandas DataFrame when pandas is installed, else as a list of
dicts. pandas is imported at call time, never at import time, so the client
works (and its tests run) without it."""
from __future__ import annotations

from typing import Any, Dict, List, Sequence

__all__ = ["Rows", "have_pandas", "to_table"]

#: What the tabular methods return: a ``pandas.DataFrame``, or without
#: pandas a ``list`` of ``dict`` (column -> value), one per row.
Rows = Any


def have_pandas() -> bool:
    """Whether pandas can be imported."""
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def to_table(rows: List[Dict[str, Any]], columns: Sequence[str]) -> Rows:
    """rows as a DataFrame with these columns (also when there are no
    rows), or the list itself without pandas."""
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame.from_records(rows, columns=list(columns))
