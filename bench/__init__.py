"""Benchmarks that print figures: ``python -m bench [NAME ...] [options]``.

Each ``bench/bench_<name>.py`` module has a ``main(argv)``; see ``bench/__main__.py``.
"""
