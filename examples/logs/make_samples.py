"""Write the sample logs of this folder from a simulation of production.yaml.

    PYTHONPATH=. python examples/logs/make_samples.py

The simulated requests are written the way each source logs them: an Application Insights
`requests` export (ISO timestamps, duration in ms, resultCode, cloud_RoleInstance), the same as
JSON Lines, and the per-request CSV of loadtests/locustfile.py (t_s, lag_s, status,
response_time_s). A 503 is answered by the router, so it has no instance.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from planner.scenario import load_scenario
from planner.simulate import run

HERE = Path(__file__).resolve().parent
START = pd.Timestamp("2026-11-30T09:00:00Z")


def simulated_requests(seed: int = 7) -> pd.DataFrame:
    """production.yaml's requests, in arrival order."""
    scenario = load_scenario(HERE / "production.yaml")
    results = run(scenario, [seed], keep_requests=True)
    assert results.requests is not None
    return results.requests.sort_values("t_arrival_s", kind="stable").reset_index(drop=True)


def appinsights_frame(req: pd.DataFrame) -> pd.DataFrame:
    """The requests as an Application Insights `requests` export."""
    stamps = START + pd.to_timedelta(req["t_arrival_s"], unit="s")
    return pd.DataFrame(
        {
            "timestamp": stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "name": "POST /score",
            "duration": (req["latency_s"] * 1000).round(3),
            "resultCode": req["status"].astype(int),
            "cloud_RoleInstance": [f"my-deployment-{r}" if r >= 0 else "" for r in req["replica"]],
        }
    )


def main() -> None:
    req = simulated_requests()
    ai = appinsights_frame(req)
    ai.to_csv(HERE / "appinsights_requests.csv", index=False)
    with (HERE / "appinsights_requests.jsonl").open("w", encoding="utf-8") as fh:
        for row in ai.head(600).to_dict("records"):
            fh.write(json.dumps(row) + "\n")
    locust = pd.DataFrame(
        {
            "t_s": req["t_arrival_s"].round(6),
            "lag_s": 0.0,
            "status": req["status"].astype(int),
            "response_time_s": req["latency_s"].round(6),
        }
    )
    locust.to_csv(HERE / "locust_requests.csv", index=False)


if __name__ == "__main__":
    main()
