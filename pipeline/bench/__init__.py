"""Benchmarks: measure the analytics against simulated ground truth (not part of make test)."""
