"""Benchmarks of the engine on public datasets, callable from `archivist eval`."""
