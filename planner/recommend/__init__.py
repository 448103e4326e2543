"""Recommended autoscale settings: from the closed forms first, then checked by simulation.

- `closed_form`: the documented sizing formula, the queueing view and min/max/target with
  reasons, in well under a second.
- `spike`: the spike scenario a recommendation is checked against.
- `evaluate`: one candidate's simulation over common seeds, and its verdict.
- `search`: the cheapest settings that meet the SLO, and the proof that they are minimal.
- `insights`: why the 503s happened, from a simulation's timeline.

Only the closed form is imported here, so `planner recommend --rps 20` stays fast; import
the search from `planner.recommend.search`.
"""

from __future__ import annotations

from planner.recommend.closed_form import Recommendation, closed_form_recommendation

__all__ = ["Recommendation", "closed_form_recommendation"]
