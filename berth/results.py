"""Results as tidy tables for notebooks and papers: ``load(store)`` and ``summary(store)``.

``load`` gives one row per stored observation (by default the ``results`` view: one row per run,
error model, bit error rate and chip, with the run's settings beside it); ``summary`` gives one row
per (run, error model, p) with the mean RErr over chips, its 95% bootstrap interval (the same
statistic the reports print) and the number of chips. Fractions stay fractions here; printing
turns them into percentages. The store is opened read-only.

    >>> import berth.results
    >>> df = berth.results.summary("runs/berth.sqlite")
    >>> df.pivot_table(index=["label", "bits"], columns="p", values="rerr_mean")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

RUN_AXES = ("sweep", "label", "model", "scheme", "bits", "method", "w_max", "seed", "run_id", "errors")


def load(store: str | Path, table: str = "results", where: Mapping[str, Any] | None = None):
    """The rows of ``table`` (filtered by ``where``: column -> value or list of values) as a
    pandas DataFrame; JSON columns stay Python objects."""
    import pandas as pd

    from berth.core.store import Store

    with Store(store, read_only=True) as s:
        rows = s.query(table, dict(where or {}))
        columns = list(s.columns(table))
    return pd.DataFrame(rows, columns=columns)


def summary(store: str | Path, where: Mapping[str, Any] | None = None, seed: int = 0):
    """Mean RErr over chips with its 95% bootstrap interval, one row per (run, error model, p)."""
    import pandas as pd

    from berth.flows.metrics import summarize

    df = load(store, "results", where)
    if df.empty:
        return pd.DataFrame(columns=[*RUN_AXES, "p", "clean_error", "rerr_mean", "ci_low", "ci_high", "chips"])
    out = []
    for key, group in df.groupby(list(RUN_AXES) + ["p"], sort=True, dropna=False):
        s = summarize(group["rerr"].to_numpy(np.float64), group["chip"].to_numpy(), seed)
        out.append({**dict(zip(RUN_AXES + ("p",), key)), "clean_error": float(group["clean_error"].iloc[0]),
                    "rerr_mean": s.mean, "ci_low": s.ci_low, "ci_high": s.ci_high, "chips": s.n})
    return pd.DataFrame(out)


def write(df, target: str | Path, fmt: str) -> Path | None:
    """Write ``df`` as csv, json (records) or parquet to ``target`` atomically ("-": standard
    output, csv and json only); returns the path written."""
    import io
    import sys

    from berth.core.errors import BerthError, check_choice
    from berth.core.files import atomic_write_bytes

    check_choice("format", fmt, ("csv", "json", "parquet"))
    if fmt == "parquet":
        if str(target) == "-":
            raise BerthError("parquet is binary: give --out a file name, not '-'")
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return atomic_write_bytes(target, buf.getvalue())
    flat = df.map(lambda v: __import__("json").dumps(v) if isinstance(v, (dict, list)) else v)
    text = flat.to_csv(index=False) if fmt == "csv" else flat.to_json(orient="records", indent=1) + "\n"
    if str(target) == "-":
        sys.stdout.write(text)
        return None
    return atomic_write_bytes(target, text.encode("utf-8"))
