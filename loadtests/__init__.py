"""Locust load tests for planner; importing this package never imports locust.

`locustfile.py` (users) and `shapes.py` (the load shape) import locust and run only inside a
`locust` process, which `planner loadtest` starts as a subprocess. `curve.py` holds their pure
parts (stages of the shape, the arrival schedule) so tests and planner can use them safely.
"""
