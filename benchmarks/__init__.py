"""Benchmarks that drive a real HRD Shield server on loopback; see README.md."""
