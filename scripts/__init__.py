"""Development tools beside the product: benchmarks, evaluations and model fitting (not part of the installed package)."""
