"""How every benchmark reports: one table of medians, measured rows beside their baselines."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence

from .ingest import Measurement


def machine() -> dict:
    """What the figures depend on most, for the JSON results."""
    return {"cpus": os.cpu_count()}


def median(rows: list[Measurement]) -> Measurement:
    """The round with the median rate (rounds are interleaved, so machine noise hits all alike)."""
    return sorted(rows, key=lambda row: row.rate)[len(rows) // 2]


def print_table(title: str, measured: Measurement, baselines: list[Measurement]) -> None:
    print(f"\n{title}")
    print(f"  {'':<40}{'items':>10}{'seconds':>9}{'per second':>12}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for row in [*baselines, measured]:
        p50 = f"{row.p50_ms:.1f}" if row.p50_ms is not None else "-"
        p99 = f"{row.p99_ms:.1f}" if row.p99_ms is not None else "-"
        print(f"  {row.name:<40}{row.updates:>10,}{row.seconds:>9.1f}{row.rate:>12,.0f}{p50:>9}{p99:>9}{row.errors:>8}")
    for baseline in baselines:
        print(f"  ratio {measured.name} / {baseline.name}: {measured.rate / baseline.rate:.2f}")


def aligned_columns(headers: Sequence[str], rows: Sequence[Sequence[str]], left_aligned: Collection[str] = ()) -> list[str]:
    """The header, a rule and each row, every column as wide as its widest cell: numbers right-aligned,
    so their digits line up; the columns named in ``left_aligned`` (text) left-aligned."""
    table = [tuple(headers), *(tuple(row) for row in rows)]
    widths = [max(len(row[column]) for row in table) for column in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) if header in left_aligned else cell.rjust(width)
                  for header, cell, width in zip(headers, row, widths, strict=True)).rstrip()
        for row in table
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines
