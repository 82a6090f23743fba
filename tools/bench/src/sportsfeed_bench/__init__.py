"""Benchmarks: each figure printed next to a baseline measured in the same run, on the same servers."""
