"""QQ plot of a request-time fit: observed quantiles against the chosen distribution's."""

from __future__ import annotations

from typing import Any

import numpy as np

from planner.fit.request_time import RequestTimeFit

__all__ = ["plot_qq"]


def plot_qq(fit: RequestTimeFit, *, ax: Any = None, points: int = 200) -> Any:
    """Observed vs fitted quantiles at `points` probabilities (0.5 % .. 99.5 %), and y = x."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    probs = np.linspace(0.005, 0.995, points)
    observed = np.quantile(fit.samples_s, probs)
    family, fitted = fit.chosen, fit.quantiles(probs)
    if fit.chosen == "empirical" and fit.candidates:
        # The data against themselves is a straight line: show the best rejected family.
        best = min(fit.candidates, key=lambda c: c.ks_distance)
        family = f"{best.family} (rejected, KS {best.ks_distance:.3f})"
        fitted = RequestTimeFit.quantiles_of(best.family, best.spec, fit.samples_s, probs)
    ax.plot(fitted, observed, ".", markersize=3, label="quantiles (0.5 % .. 99.5 %)")
    top = float(max(np.nanmax(observed), np.nanmax(fitted)))
    ax.plot([0, top], [0, top], "-", color="grey", linewidth=1, label="y = x")
    ax.set_xlabel(f"{family} quantile (s)")
    ax.set_ylabel("observed request time (s)")
    ax.set_title(f"Request time: {fit.chosen} fit, mean {fit.mean_s:.3g} s")
    ax.legend(loc="upper left")
    return ax
