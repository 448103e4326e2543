"""A load test that can refute the simulator: run Locust, compare, calibrate, judge.

- `run`: Locust in a subprocess against a local deployment (or a real endpoint), and what it
  measured.
- `compare`: the measurement against the simulator's prediction, metric by metric.
- `calibrate`: the prediction again with the replica start and request times the deployment
  really showed.
- `timeline`: per-second frames and the plot of measured against predicted.
"""
