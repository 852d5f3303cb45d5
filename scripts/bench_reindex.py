"""Re-running ingestion and indexing on an unchanged archive: how long it takes and what it embeds.

    .venv/bin/python scripts/bench_reindex.py [--dataset ../shared/datasets/bbc_news/bbc] [--home DIR]

Builds the archive once (timed), then re-ingests and re-indexes it unchanged (timed) through the real
engine, and prints a table. Pass --home to reuse an archive built by an earlier run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from index.engine import Engine
from index.settings import Settings

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATASETS / "bbc_news" / "bbc")
    parser.add_argument("--home", type=Path, help="archive folder (default: a new temp folder)")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="archivist-reindex-"))
    engine = Engine(Settings.load(home=home))
    rows = []
    for label in ("first run", "unchanged re-run"):
        started = time.perf_counter()
        ingest = engine.ingest([args.dataset])
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        report = engine.reindex()
        index_s = time.perf_counter() - started
        rows.append(
            (
                label,
                ingest.added,
                ingest.unchanged,
                ingest_s,
                report.embedded,
                report.sentences_embedded,
                report.total_vectors,
                index_s,
            )
        )
    print(f"archive: {home}")
    print("| run | added | unchanged | ingest s | passages embedded | sentences embedded | vectors | index s |")
    print("|---|---|---|---|---|---|---|---|")
    for label, added, unchanged, ingest_s, embedded, sentences, vectors, index_s in rows:
        print(
            f"| {label} | {added} | {unchanged} | {ingest_s:.1f} | {embedded} | {sentences} | {vectors} | {index_s:.2f} |"
        )


if __name__ == "__main__":
    main()
