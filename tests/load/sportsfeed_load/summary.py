"""The run's summary: printed at the end, and written as JSON beside Locust's CSV reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .accounting import reconcile
from .latency import describe, encoded
from .run import LoadRun


def build_summary(run: LoadRun, generator_saturated: bool = False) -> dict[str, Any]:
    """``generator_saturated``: Locust warned that its process used over 90% of a core."""
    sends = run.sends
    deliveries = reconcile(run.views, sends.accepted_per_game)
    drain = run.drain_result
    seconds = run.sending_seconds or 1.0
    return {
        "run": run.run_id,
        "settings": run.settings.public(),
        "sending_seconds": round(run.sending_seconds, 3),
        "drain": None if drain is None else {
            "seconds": drain.seconds, "complete": drain.complete,
            "requests_in_flight_left": drain.in_flight_left, "updates_behind_left": drain.behind_left,
        },
        "providers": {
            "batches": sends.batches,
            "sent": sends.sent,
            "accepted": sends.accepted,
            "refused": dict(sends.refused),
            "accepted_per_second": round(sends.accepted / seconds, 1),
            "games_with_updates": len(sends.accepted_per_game),
        },
        "analysts": {
            "count": deliveries.analysts,
            "connects": run.connects,
            "disconnects": run.disconnects,
            "expected": deliveries.expected,
            "delivered": deliveries.delivered,
            "delivered_per_second": round(deliveries.delivered / seconds, 1),
            "gaps": deliveries.gaps,
            "duplicates": deliveries.duplicates,
            "conflated": deliveries.conflated,
            "never_offered": deliveries.never_offered,
            "missing": deliveries.missing,
            "lost": deliveries.lost,
            "beyond_accepted": deliveries.beyond_accepted,
            "unexpected_games": deliveries.unexpected,
            "live_frames": run.live_frames,
            "replayed_frames": run.replayed_frames,
            "other_frames": deliveries.other_frames,
        },
        "load_generator": {
            "cpu_percent": round(100 * run.sending_cpu_seconds / seconds, 1),  # of one core: it runs one thread
            "saturated": generator_saturated,
        },
        "latency": {
            "end_to_end": describe(run.latency.end_to_end),
            "hops": {hop: describe(histogram) for hop, histogram in run.latency.hops.items()},  # pipeline order
            "end_to_end_hdr": encoded(run.latency.end_to_end),
        },
    }


def problems(summary: dict[str, Any]) -> list[str]:
    """What makes the run a failure: anything an analyst should have had and did not, or had twice."""
    analysts = summary["analysts"]
    # delivered + conflated == expected follows from these three being 0.
    return [f"{analysts[name]:,} {name}" for name in ("lost", "duplicates", "beyond_accepted") if analysts[name]]


def render(summary: dict[str, Any]) -> str:
    providers, analysts, latency = summary["providers"], summary["analysts"], summary["latency"]
    drain = summary["drain"] or {}
    refused = ", ".join(f"{status}: {n:,}" for status, n in sorted(providers["refused"].items())) or "none"
    lines = [
        f"sportsfeed load test, run {summary['run']}: {summary['sending_seconds']:.1f} s sending, "
        f"{drain.get('seconds', 0):.1f} s draining ({'complete' if drain.get('complete') else 'INCOMPLETE'})",
        f"  providers  sent {providers['sent']:,} updates in {providers['batches']:,} batches; "
        f"accepted {providers['accepted']:,} ({providers['accepted_per_second']:,.1f}/s); refused {refused}",
        f"  analysts   {analysts['count']} analysts: expected {analysts['expected']:,}, "
        f"delivered {analysts['delivered']:,} ({analysts['delivered_per_second']:,.1f}/s), "
        f"gaps {analysts['gaps']:,}, duplicates {analysts['duplicates']:,}, conflated {analysts['conflated']:,}, "
        f"lost {analysts['lost']:,}",
    ]
    if analysts["other_frames"]:
        other = ", ".join(f"{kind}: {n:,}" for kind, n in sorted(analysts["other_frames"].items()))
        lines.append(f"  analysts   other frames: {other}")
    for name, described in (("end to end", latency["end_to_end"]), *latency["hops"].items()):
        if described.get("count"):
            lines.append(
                f"  latency    {name:<20} n={described['count']:,}  p50 {described['p50_ms']:.1f} ms  "
                f"p95 {described['p95_ms']:.1f} ms  p99 {described['p99_ms']:.1f} ms  "
                f"max {described['max_ms']:.1f} ms"
            )
    generator = summary["load_generator"]
    lines.append(f"  locust     its process used {generator['cpu_percent']:.0f}% of a core while sending"
                 + (" (saturated: the latencies include its own queueing)" if generator["saturated"] else ""))
    found = problems(summary)
    lines.append(f"  verdict    {'FAILED: ' + '; '.join(found) if found else 'every accepted update accounted for'}")
    return "\n".join(lines)


def summary_path(csv_prefix: str | None, explicit: str | None) -> Path | None:
    """``--summary-file`` when given, else beside the CSV reports (``<prefix>_summary.json``)."""
    if explicit:
        return Path(explicit)
    if csv_prefix:
        return Path(f"{csv_prefix}_summary.json")
    return None


def write_summary(summary: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n")
