"""Benchmarks: each ``run_<name>_benchmark()`` returns a dict of timings and ratios against a baseline
measured in the same run (never asserted in unit tests). ``python -m interp_core bench NAME --json``
prints one: ``startup``, ``bcos``, ``kmex``, ``pointing``."""
