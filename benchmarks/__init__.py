"""The benchmarks: printed tables, one command each, run from the repository root as
``python -m benchmarks.<name>`` (docs/benchmarks.md lists them)."""
