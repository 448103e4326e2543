"""A load test that can refute the simulator: run Locust, compare, calibrate, judge.

- `run`: Locust in a subprocess against a local deployment (or a real endpoint), and what it
  measured.
- `verdict`: the two-sided band of one metric around the paired prediction (the seed whose
  arrivals were sent): the other seeds' spread and one stated allowance.
- `compare`: the measurement against the simulator's prediction, metric by metric, and the
  SLO judged on the measurement's own upper bounds.
- `calibrate`: the prediction again with the replica start and request times the deployment
  really showed.
- `judge`: seeds to simulate, calibrate or not, the verdict and its exit code.
- `timeline`: per-second frames and the plot of measured against predicted.
"""
