"""The summary: figures a reader can check, a verdict, and JSON beside the CSV reports."""

from __future__ import annotations

import json
from pathlib import Path

from .good_settings import GOOD
from .sportsfeed_load.feed import Quote
from .sportsfeed_load.frames import Trace
from .sportsfeed_load.run import LoadRun
from .sportsfeed_load.summary import (
    build_summary,
    problems,
    render,
    summary_path,
    write_summary,
)


def finished_run(skip_seq: int | None = None) -> LoadRun:
    """Two analysts of one game, three updates accepted; ``skip_seq`` never reaches the first analyst."""
    run = LoadRun(GOOD, run_id="t")
    game = run.games[0]
    quotes = [Quote(game, "load-0", ts, -110, 100) for ts in (1, 2, 3)]
    run.sends.on_sent(quotes)
    run.sends.on_accepted(quotes)
    for index in range(2):
        _, view = run.new_view()
        for seq in (1, 2, 3):
            if not (index == 0 and seq == skip_seq):
                view.on_odds(game, seq)
                run.latency.record(Trace(ingested_at=1000, pushed_at=1010), 1012.0 + seq)
    run.drain(lambda _seconds: None)
    return run


def test_a_clean_run_passes_with_every_figure_consistent() -> None:
    summary = build_summary(finished_run())
    assert problems(summary) == []
    assert (summary["providers"]["sent"], summary["providers"]["accepted"]) == (3, 3)
    analysts = summary["analysts"]
    # 50 games per analyst, only one of them had updates: expected counts accepted updates only.
    assert (analysts["expected"], analysts["delivered"], analysts["gaps"], analysts["lost"]) == (6, 6, 0, 0)
    assert summary["latency"]["end_to_end"]["count"] == 6
    assert "settings" in summary and "provider_key" not in summary["settings"]
    assert "every accepted update accounted for" in render(summary)


def test_a_missed_update_fails_the_run_and_says_so() -> None:
    summary = build_summary(finished_run(skip_seq=2))
    assert summary["analysts"]["gaps"] == 1
    assert problems(summary) == ["1 lost"]
    assert "FAILED: 1 lost" in render(summary)


def test_the_summary_goes_beside_the_csv_reports_unless_told_where(tmp_path: Path) -> None:
    assert summary_path("reports/run", None) == Path("reports/run_summary.json")
    assert summary_path("reports/run", "elsewhere.json") == Path("elsewhere.json")
    assert summary_path(None, None) is None
    target = tmp_path / "deeper" / "run_summary.json"
    write_summary(build_summary(finished_run()), target)
    assert json.loads(target.read_text())["analysts"]["delivered"] == 6


def test_a_saturated_load_generator_is_noted() -> None:
    summary = build_summary(finished_run(), generator_saturated=True)
    assert summary["load_generator"]["saturated"] is True
    assert "saturated: the latencies include its own queueing" in render(summary)
