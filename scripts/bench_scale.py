"""How the archive (SQLite or PostgreSQL, + FAISS + BM25) scales: build, re-index and serve a synthetic archive of N passages.

    .venv/bin/python scripts/bench_scale.py [--passages 100000] [--queries 200] [--asks 50] [--home DIR] [--keep]
                                            [--postgres]

``--postgres`` keeps the archive's tables in a throwaway PostgreSQL 16 (``tests/postgres.py``, started on a unix
socket with its default durability, fsync on) instead of the home's SQLite file; the server's own memory is not in
the RSS figures, which are the archivist processes'.

The archive is recombined from real sentences of MultiHop-RAG and SQuAD v1.1 dev (never bbc_news, which is kept for
measurement), written as JSONL files and taken through the real ingest, index and search code. Vectors come from a
deterministic stand-in embedder (hash-seeded unit vectors of the model's 384 dimensions), so no figure includes model
time. Each step runs in its own process, timed by wall clock, with its peak RSS (``ru_maxrss`` of that process):

1. ``ingest`` the JSONL files;
2. a full ``index`` (passage vectors, FAISS generation, sentence vectors, and the retriever a search needs);
3. a no-op re-index of the unchanged archive;
4. a fresh process that opens the archive, answers one search (cold start, from process launch), then ``--queries``
   warm searches (p50/p95), then ``--asks`` answers to the first of the same questions through ``Engine.ask`` (the
   real quote models and verifier over the stand-in vectors; p50/p95) and reports its RSS;
5. with ``--postgres``, a second fresh process with an empty home (a second machine on the same database): its cold
   start, which includes copying the generation's search files from the database;
6. ``ingest`` of 1% new articles, then an incremental ``index`` (stub vectors, so nearly no embedding time).

Prints a Markdown table, then the database size by table and the index files on disk.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
ARTICLES_PER_FILE = 2_000
SOURCES = ("The Ledger", "Harbour Times", "Valley Post", "Morning Wire", "North Star")
CATEGORIES = ("politics", "business", "science", "sports", "culture", "technology")
DIM = 384
HNSW_INDEX = " hnsw"  # table_sizes' key for the size of PostgreSQL's HNSW index (a part of the vectors table's)


class StubEmbedder:
    """Hash-seeded unit vectors: the same text always gets the same vector, and no model runs."""

    name = "stub-hash-384"
    dim = DIM
    max_word_pieces = 254

    def encode_passages(self, texts: Sequence[str], *, batch_size: int = 32, progress=None) -> np.ndarray:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self.encode_query(text)
        if progress is not None:
            progress(len(texts), len(texts))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
        vector = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
        return vector / np.linalg.norm(vector)

    def count_word_pieces(self, text: str) -> int:
        return len(text.split())


# -- the synthetic archive ----------------------------------------------------------------------------------------


def real_sentences() -> list[str]:
    """Sentences of the MultiHop-RAG corpus bodies and the SQuAD v1.1 dev contexts, deduplicated, in a fixed order."""
    from index.text.chunking import split_sentences

    texts = [a["body"] for a in json.loads((DATASETS / "multihop_rag" / "corpus_train.json").read_text())]
    squad = json.loads((DATASETS / "squad_v1.1_dev" / "dev-v1.1.json").read_text())
    texts += [p["context"] for article in squad["data"] for p in article["paragraphs"]]
    found = {}
    for text in texts:
        for span in split_sentences(text):
            sentence = " ".join(text[span.start : span.end].split())
            if 40 <= len(sentence) <= 400:
                found[sentence] = None
    return list(found)


def make_article(rng: random.Random, sentences: list[str], number: int) -> dict:
    paragraphs = [" ".join(rng.choices(sentences, k=rng.randint(2, 5))) for _ in range(rng.randint(3, 9))]
    day = rng.randrange(0, 3 * 365)
    return {
        "title": rng.choice(sentences)[:90].rstrip(" ,;.") + f" ({number})",
        "body": "\n\n".join(paragraphs),
        "source": rng.choice(SOURCES),
        "category": rng.choice(CATEGORIES),
        "author": f"Reporter {rng.randrange(300)}",
        "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_640_995_200 + day * 86_400)),
        "url": f"https://synthetic.example/{number}",
    }


def write_archive(folder: Path, passages: int, seed: int) -> int:
    """JSONL files of articles that chunk into about ``passages`` passages; returns the number of articles."""
    from index.text.chunking import chunk_body

    sentences = real_sentences()
    rng = random.Random(seed)
    sample = [make_article(rng, sentences, -1 - i) for i in range(200)]
    per_article = sum(len(chunk_body(a["body"], max_tokens=256, overlap_tokens=32)) for a in sample) / len(sample)
    articles = max(1, round(passages / per_article))
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, articles, ARTICLES_PER_FILE):
        with open(folder / f"part-{start // ARTICLES_PER_FILE:05d}.jsonl", "w", encoding="utf-8") as handle:
            for number in range(start, min(start + ARTICLES_PER_FILE, articles)):
                handle.write(json.dumps(make_article(rng, sentences, number)) + "\n")
    logging.info(
        "%d articles from %d real sentences (%.1f passages each expected)", articles, len(sentences), per_article
    )
    return articles


def write_update(folder: Path, first: int, count: int, seed: int) -> None:
    """``count`` more articles, numbered from ``first``, in one JSONL file: the news of a day or two."""
    sentences = real_sentences()
    rng = random.Random(seed + 1)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "update.jsonl", "w", encoding="utf-8") as handle:
        for number in range(first, first + count):
            handle.write(json.dumps(make_article(rng, sentences, number)) + "\n")


# -- steps, each in its own process --------------------------------------------------------------------------------


def open_engine(home: Path, *, read_only: bool = False):
    from index.engine import Engine
    from index.settings import Settings

    return Engine(Settings.load(home=home), embedder=StubEmbedder(), read_only=read_only)


def step_ingest(home: Path, data: Path, **_: object) -> dict:
    report = open_engine(home).ingest([data])
    return {"added": report.added}


def step_index(home: Path, full: bool = False, **_: object) -> dict:
    report = open_engine(home).reindex(full=full)
    return {"embedded": report.embedded, "sentences": report.sentences_embedded, "vectors": report.total_vectors}


def step_serve(home: Path, queries: Path, launched: float, asks: int = 0, **_: object) -> dict:
    engine = open_engine(home, read_only=True)
    questions = json.loads(queries.read_text())
    first = engine.search(questions[0])
    cold = time.time() - launched
    timings = []
    for question in questions[1:]:
        started = time.perf_counter()
        engine.search(question)
        timings.append(time.perf_counter() - started)
    served = {
        "cold_s": cold,
        "first_hits": len(first),
        "p50_ms": 1000 * float(np.percentile(timings, 50)),
        "p95_ms": 1000 * float(np.percentile(timings, 95)),
        "searches": len(timings),
    }
    if asks:
        # The whole answer path: search, candidate sentences (their stored stub vectors), both quote models, the
        # real verifier and abstention. The first `ask` loads the verifier; the searches above warmed the rest.
        started = time.perf_counter()
        engine.ask(questions[0])
        served["first_ask_s"] = time.perf_counter() - started
        ask_timings = []
        for question in questions[1 : asks + 1]:
            started = time.perf_counter()
            engine.ask(question)
            ask_timings.append(time.perf_counter() - started)
        served |= {
            "ask_p50_ms": 1000 * float(np.percentile(ask_timings, 50)),
            "ask_p95_ms": 1000 * float(np.percentile(ask_timings, 95)),
            "asks": len(ask_timings),
        }
    return served | {"rss_mb": current_rss_mb()}


STEPS: dict[str, Callable[..., dict]] = {"ingest": step_ingest, "index": step_index, "serve": step_serve}


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_step(name: str, timeout: float, **arguments: object) -> dict:
    """Run one step in a fresh interpreter; its result plus wall seconds and peak RSS (MB)."""
    command = [sys.executable, __file__, "--step", name, "--arguments", json.dumps(arguments, default=str)]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=ROOT)
    try:
        output, _ = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise SystemExit(f"step {name} took longer than {timeout:.0f} s; stopped it") from None
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"step {name} failed with exit code {child.returncode}")
    result = json.loads(output.decode().strip().splitlines()[-1])
    result["wall_s"] = wall
    result["peak_rss_mb"] = result.pop("peak_rss_kb") / 1024
    return result


def child_main(name: str, arguments: str) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    values = json.loads(arguments)
    paths = {key: Path(value) if key in ("home", "data", "queries") else value for key, value in values.items()}
    result = STEPS[name](**paths)
    result["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stdout.write(json.dumps(result) + "\n")


# -- sizes --------------------------------------------------------------------------------------------------------


def table_sizes(home: Path) -> dict[str, int]:
    """Bytes each table and its indexes take in the archive database (SQLite's dbstat, PostgreSQL's relation sizes)."""
    from index.store.database import DB_FILENAME

    url = os.environ.get("ARCHIVIST_DATABASE_URL")
    if url:
        import psycopg

        with psycopg.connect(url) as connection:
            rows = connection.execute(
                "SELECT relname, pg_total_relation_size(relid) FROM pg_statio_user_tables"
            ).fetchall()
            search = connection.execute(
                "SELECT COALESCE(SUM(pg_relation_size(indexrelid)), 0) FROM pg_stat_user_indexes "
                "WHERE indexrelname LIKE 'vectors_hnsw%'"
            ).fetchone()[0]
        return {name: size for name, size in rows} | {HNSW_INDEX: int(search)}

    database = home / DB_FILENAME
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d "
            "LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1"
        ).fetchall()
    return {name: size for name, size in rows}


def file_sizes(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_size for path in sorted(folder.iterdir()) if path.is_file()}


def mb(size: float) -> str:
    return f"{size / 1e6:,.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=30_000, help="passages to aim for (default 30,000)")
    parser.add_argument("--queries", type=int, default=200, help="warm searches to time (default 200)")
    parser.add_argument(
        "--asks", type=int, default=50, help="warm answers to time after the searches, the same questions (default 50)"
    )
    parser.add_argument("--home", type=Path, help="archive folder (default: a new temp folder, removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the archive folder")
    parser.add_argument("--postgres", action="store_true", help="keep the tables in a throwaway PostgreSQL server")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--step-timeout", type=float, default=1800, help="seconds any one step may take")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--arguments", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        child_main(args.step, args.arguments)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    work = args.home or Path(tempfile.mkdtemp(prefix="archivist-scale-"))
    home, data = work / "home", work / "data"
    server = None
    if args.postgres:
        sys.path.insert(0, str(ROOT))
        from tests.postgres import PostgresServer

        server = PostgresServer(durable=True).start()
        os.environ["ARCHIVIST_DATABASE_URL"] = server.new_database()  # the steps' processes inherit it
    try:
        articles = write_archive(data, args.passages, args.seed)
        questions = [q["query"] for q in json.loads((DATASETS / "multihop_rag" / "queries_train.json").read_text())]
        queries = work / "queries.json"
        queries.write_text(json.dumps(questions[: args.queries + 1]))
        timeout = args.step_timeout
        ingested = run_step("ingest", timeout, home=home, data=data)
        logging.info("ingest: %s", ingested)
        indexed = run_step("index", timeout, home=home, full=True)
        logging.info("index: %s", indexed)
        noop = run_step("index", timeout, home=home)
        logging.info("no-op index: %s", noop)
        served = run_step("serve", timeout, home=home, queries=queries, launched=time.time(), asks=args.asks)
        logging.info("serve: %s", served)
        second = None
        if server is not None:  # a second machine: an empty home on the same database
            second = run_step("serve", timeout, home=work / "second-home", queries=queries, launched=time.time())
            logging.info("serve from an empty home: %s", second)
        new_articles = max(1, articles // 100)  # 1% new articles, then an incremental re-index
        write_update(work / "update", articles, new_articles, args.seed)
        update = run_step("ingest", timeout, home=home, data=work / "update")
        logging.info("ingest of 1%% new articles: %s", update)
        incremental = run_step("index", timeout, home=home)
        logging.info("incremental index: %s", incremental)
        tables = table_sizes(home)
        files = file_sizes(home / "index")
    finally:
        if server is not None:
            server.stop()
        if not args.keep and not args.home:
            shutil.rmtree(work, ignore_errors=True)

    print(f"{articles:,} articles, {indexed['vectors']:,} passages, {indexed['sentences']:,} sentence vectors\n")
    print("| step | wall s | peak RSS MB |")
    print("|---|---:|---:|")
    print(f"| ingest | {ingested['wall_s']:.1f} | {ingested['peak_rss_mb']:,.0f} |")
    print(f"| full index (stub vectors) | {indexed['wall_s']:.1f} | {indexed['peak_rss_mb']:,.0f} |")
    print(f"| no-op re-index | {noop['wall_s']:.1f} | {noop['peak_rss_mb']:,.0f} |")
    print(f"| cold start to first search result | {served['cold_s']:.1f} | |")
    if second is not None:
        print(f"| cold start to first search result from an empty home (a second machine) | {second['cold_s']:.1f} | |")
    answers = f" and {served['asks']} answers" if served.get("asks") else ""
    print(f"| serving process after {served['searches']} searches{answers} | | {served['peak_rss_mb']:,.0f} |")
    print(f"| ingest of {new_articles:,} new articles (1%) | {update['wall_s']:.1f} | {update['peak_rss_mb']:,.0f} |")
    print(
        f"| incremental re-index ({incremental['embedded']:,} passages, {incremental['sentences']:,} sentences) "
        f"| {incremental['wall_s']:.1f} | {incremental['peak_rss_mb']:,.0f} |"
    )
    print(f"\nwarm search: p50 {served['p50_ms']:.1f} ms, p95 {served['p95_ms']:.1f} ms ({served['searches']} queries)")
    if served.get("asks"):
        print(
            f"warm ask: p50 {served['ask_p50_ms']:.1f} ms, p95 {served['ask_p95_ms']:.1f} ms ({served['asks']} questions; "
            f"{served['ask_p95_ms'] / served['p95_ms']:.1f}x the warm search p95 of the same process); "
            f"first ask {served['first_ask_s']:.1f} s"
        )
    print()
    print("| stored | MB |")
    print("|---|---:|")
    hnsw = tables.pop(HNSW_INDEX, None)
    for name in ("articles", "chunks", "vectors", "sentence_vectors", "search_files"):
        if name in tables:
            print(f"| table {name} | {mb(tables[name])} |")
    if hnsw is not None:
        print(f"| of which the HNSW index of the passage vectors | {mb(hnsw)} |")
    print(f"| whole database | {mb(sum(tables.values()))} |")
    for name, size in files.items():
        if name != "index.lock":
            print(f"| {name} | {mb(size)} |")


if __name__ == "__main__":
    main()
