"""Rendering of the closed-form recommendation (`recommend.closed_form.Recommendation`) as text.

Not a command: `planner recommend` calls `print_table(rec)` for its default table output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.recommend.closed_form import Recommendation

__all__ = ["print_table", "settings_table"]


def settings_table(
    min_replicas: int, max_replicas: int, target_utilization: float, reasons: dict[str, str]
) -> Any:
    """The recommended min/max/target as a rich table: setting, value, why (more rows may follow).

    Shared by the closed-form and the simulation-backed renderings of `planner recommend`.
    """
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("setting", style="bold", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("why")
    table.add_row("min_replicas", str(min_replicas), reasons["min_replicas"])
    table.add_row("max_replicas", str(max_replicas), reasons["max_replicas"])
    table.add_row("target_utilization", f"{target_utilization:g}", reasons["target_utilization"])
    return table


def _prob(p: float) -> str:
    """A probability for people: percent when readable, scientific when tiny."""
    if p == 0:
        return "0"
    return f"{p:.2%}" if p >= 1e-4 else f"{p:.1e}"


def _secs(x: float) -> str:
    return f"{x:.3g} s"


def _key_values(rows: list[tuple[str, str]]) -> Any:
    from rich.table import Table

    grid = Table.grid(padding=(0, 3))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for key, value in rows:
        grid.add_row(f"  {key}", value)
    return grid


def print_table(rec: Recommendation) -> None:
    """Print the closed-form recommendation: formula, queueing view, spike view, settings."""
    from rich.console import Console

    from planner.recommend.closed_form import request_time_shape

    console = Console(highlight=False)
    servers = rec.replicas * rec.max_concurrent
    met = "met" if rec.predicted_rate_503 <= rec.max_rate_503 else "NOT met"
    exact = rec.request_time_scv == 1
    shape = request_time_shape(rec.request_time_scv)
    model = "M/M/c" if exact else "M/G/c, Kingman-scaled M/M/c"
    console.print("[bold]Sizing formula[/bold] (Azure ML docs)")
    console.print(f"  {rec.reasons['replicas'].removeprefix('Azure ML formula: ')}\n")

    console.print(
        f"[bold]Queueing view at {rec.replicas} replicas[/bold] (steady {rec.rps:g} rps; "
        f"{model}, {rec.max_wait_s:g} s wait limit; {shape})"
    )
    approx = "" if exact else "≈ "
    if rec.latency_p99_s is None:
        target = "no latency SLO given"
    else:
        ok = "met" if rec.predicted_latency_p99_s <= rec.latency_p99_s else "NOT met"
        target = f"SLO {_secs(rec.latency_p99_s)}: {ok}"
    queue = [
        ("utilization", f"{approx}{rec.utilization:.1%} of {servers} slots"),
        ("P(wait > 0)", approx + _prob(rec.p_wait)),
        ("wait p99", f"{approx}{_secs(rec.wait_p99_s)} (served requests)"),
        (
            "latency p99",
            f"{approx}{_secs(rec.predicted_latency_p99_s)} (wait + request time; {target})",
        ),
        (
            "503 rate",
            f"{approx}{_prob(rec.predicted_rate_503)} (SLO {_prob(rec.max_rate_503)}: {met})",
        ),
    ]
    console.print(_key_values(queue))

    console.print(
        f"\n[bold]Spike view at {rec.replicas} warm replicas[/bold] "
        "(fluid; new replicas take a cold start to arrive)"
    )
    spike = [
        ("capacity", f"{rec.capacity_rps:.4g} rps"),
        ("absorbs", f"a sudden rise of {rec.spike_absorbed:+.0%} before a queue builds"),
    ]
    if rec.peak_rps > rec.rps:
        first, full = rec.seconds_to_first_503, rec.seconds_to_full
        if first is None or full is None:
            spike.append(
                (
                    f"at {rec.peak_rps:g} rps",
                    "fits the capacity: no queue builds up (steady-state 503s only)",
                )
            )
        else:
            at = f"at {rec.peak_rps:g} rps"
            spike.append((at, f"every slot busy after about {_secs(full)}"))
            wait = f"(queue wait passes {rec.max_wait_s:g} s)"
            spike.append(("", f"first 503s about {_secs(first)} after the step {wait}"))
    console.print(_key_values(spike))

    console.print("\n[bold]Recommended autoscale settings[/bold]")
    console.print(
        settings_table(
            rec.min_replicas, rec.max_replicas, rec.recommended_target_utilization, rec.reasons
        )
    )
    console.print(
        f"Closed forms: Poisson arrivals, {shape}, steady state"
        + ("" if exact else " (an approximation: ≈)")
        + ". Spikes and cold starts are what a simulation checks."
    )
