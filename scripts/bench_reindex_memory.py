"""Peak memory of the indexer alone: one re-index of a kept ``bench_scale.py`` home, in this process.

    .venv/bin/python scripts/bench_scale.py --passages 20000 --keep --home /tmp/scale
    cp -r /tmp/scale/home /tmp/copy && .venv/bin/python scripts/bench_reindex_memory.py /tmp/copy --full
    .venv/bin/python scripts/bench_reindex_memory.py /tmp/copy            # then a no-op

Runs ``Indexer.reindex`` with the same stand-in embedder as ``bench_scale.py`` (no model time) and without the
retriever refresh that ``archivist index`` does after it, and prints its wall time, the process's peak RSS
(``ru_maxrss``) before and after, and the peak of Python-allocated memory (``tracemalloc``, which counts NumPy arrays
but not FAISS's or SQLite's own allocations). A full re-index rewrites the home's vectors: run it on a copy.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.engine import Engine  # noqa: E402
from index.settings import Settings  # noqa: E402
from scripts.bench_scale import StubEmbedder  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path, help="an archive home made by bench_scale.py --keep (its home/ folder)")
    parser.add_argument("--full", action="store_true", help="re-embed everything (default: a no-op on a current home)")
    parser.add_argument("--trace", action=argparse.BooleanOptionalAction, default=True, help="measure with tracemalloc")
    args = parser.parse_args()
    engine = Engine(Settings.load(home=args.home), embedder=StubEmbedder())
    before = peak_mb()
    if args.trace:
        tracemalloc.start()
    started = time.perf_counter()
    report = engine.indexer.reindex(engine.embedder, full=args.full)
    seconds = time.perf_counter() - started
    traced = f", Python-allocated peak {tracemalloc.get_traced_memory()[1] / 2**20:.1f} MB" if args.trace else ""
    kind = "full" if args.full else "no-op"
    print(f"{kind} re-index: {seconds:.1f} s, peak RSS {peak_mb():.0f} MB (before it {before:.0f} MB){traced}")
    print(
        f"{report.total_vectors} passages, {report.embedded} embedded, {report.sentences_embedded} sentences embedded"
    )
    engine.close()


if __name__ == "__main__":
    main()
