"""Benchmark data generator and benchmark script (issue 8, "Scale, reliability"). Not part of the test suite."""
