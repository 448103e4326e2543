"""How often is the load-test verdict wrong? k load tests each of a right and three wrong models.

    python benchmarks/verdict_errors.py            # k = 2: 8 load tests, ~5 min
    python benchmarks/verdict_errors.py -k 10      # tighter rates, ~25 min

Each repetition i sends the arrivals of seed i to the local deployment (router and replica
processes on 127.0.0.1 running the example sleep score) and judges the measurement with
`planner.loadtest.judge.judge`, as `planner loadtest` does:

- right: the scenario as the deployment really is (0.1 s requests), calibrated (the default);
- faster: the service really answers in 0.07 s, the model says 0.1 s (uncalibrated);
- slower: the service really answers in 0.13 s, the model says 0.1 s (uncalibrated);
- cold start: replicas really take ~8 s to become ready, the model says 1 s, in a spike
  (uncalibrated).

It prints, per model, how many verdicts were wrong: a disagreement with the right model is a
false alarm, an agreement with a wrong model a miss; with a Clopper–Pearson 95 % interval.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.errors import PlannerWarning  # noqa: E402  (after the checkout is on the path)
from planner.loadtest.judge import judge, predict, prediction_seeds  # noqa: E402
from planner.loadtest.run import measure  # noqa: E402
from planner.scenario import load_scenario, with_overrides  # noqa: E402
from planner.stats import clopper_pearson  # noqa: E402

FIXED: dict[str, Any] = {
    "name": "fixed-4",
    "duration_s": 20,
    "warmup_s": 2,
    "seeds": 5,
    "traffic": {"arrivals": "poisson", "rps": 30},
    "service": {"request_time_s": 0.1, "cold_start_s": 1},
    "deployment": {"autoscaler": "none", "replicas": 4, "max_request_wait_s": 0.5},
    "slo": {"max_rate_503": 0.01, "latency_p99_s": 2.0},
}
SPIKE: dict[str, Any] = {
    "name": "cold-start",
    "duration_s": 30,
    "warmup_s": 3,
    "seeds": 5,
    "traffic": {
        "arrivals": "poisson",
        "pattern": [
            {"duration_s": 8, "rps": 4},
            {"duration_s": 14, "rps": 50},
            {"duration_s": 8, "rps": 4},
        ],
    },
    "service": {"request_time_s": 0.1, "cold_start_s": 1},
    "deployment": {
        "autoscaler": "azureml",
        "replicas": 1,
        "min_replicas": 1,
        "max_replicas": 12,
        "target_utilization": 0.7,
        "max_request_wait_s": 0.3,
        "scale_down_delay_s": 60,
    },
    "slo": {"max_rate_503": 0.01, "latency_p99_s": 2.0},
}
# model name -> (scenario, what the deployment really does, wrong model?, calibrate)
MODELS: dict[str, tuple[dict[str, Any], dict[str, Any], bool, bool]] = {
    "right": (FIXED, {}, False, True),
    "faster (0.07 s real, 0.1 s stated)": (FIXED, {"service.request_time_s": 0.07}, True, False),
    "slower (0.13 s real, 0.1 s stated)": (FIXED, {"service.request_time_s": 0.13}, True, False),
    "cold start (~8 s real, 1 s stated)": (SPIKE, {"service.cold_start_s": 7}, True, False),
}


def one(spec: dict[str, Any], real: dict[str, Any], seed: int, calibrate: bool, tmp: Path) -> bool:
    """One load test with the arrivals of `seed`; True when the verdict agrees."""
    file = tmp / f"{spec['name']}.yaml"
    file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        scenario = load_scenario(file)
        service = with_overrides(scenario, real, warn=False).service if real else None
        seeds = prediction_seeds(scenario.seeds, seed=seed)
        predicted = predict(scenario, seeds)
        measured = measure(
            file, scenario, out_dir=tmp / "out", service=service, seed=seed, progress=False
        )
        verdict = judge(scenario, seeds, measured, predicted, calibrate=calibrate)
    return verdict.agrees_with_prediction


def main() -> None:
    """Run k load tests per model and print the wrong verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", type=int, default=2, help="load tests per model (default 2)")
    args = parser.parse_args()
    if args.k < 1:
        parser.error(f"-k must be >= 1: {args.k}")
    print(f"{'model':<38} {'wrong':>6} {'of':>3}  {'rate (95 % CI)':<22} kind")
    with tempfile.TemporaryDirectory(prefix="planner-verdict-") as tmp:
        for name, (spec, real, wrong_model, calibrate) in MODELS.items():
            agreed = [one(spec, real, 100 + i, calibrate, Path(tmp)) for i in range(args.k)]
            wrong = sum(agreed) if wrong_model else args.k - sum(agreed)
            lo, hi = clopper_pearson(wrong, args.k)
            kind = "false agree (miss)" if wrong_model else "false disagree (false alarm)"
            rate = f"{wrong / args.k:.0%} ({lo:.0%}–{hi:.0%})"
            print(f"{name:<38} {wrong:>6} {args.k:>3}  {rate:<22} {kind}", flush=True)


if __name__ == "__main__":
    main()
