"""Benchmarks (not tests): `./run bench [ingest|router]`. Figures are ratios measured side by side."""
