"""Benchmarks: the pipeline against one scan of the log and against the legacy design (see bench/README.md)."""
