"""How long `ask` takes, warm, on the bundled demo archive: the engine only, no Discord.

    .venv/bin/python scripts/bench_ask.py [--home DIR] [--questions 60] [--rounds 2] [--no-sentence-vectors]

Builds the demo archive (data/) in a temp folder through the real engine (or reuses --home), warms the
engine with one question, then asks each question once per round: MultiHop-RAG questions whose evidence
articles are all in the demo slice, plus short questions of the kind people type. Prints the re-index,
then p50/p95/max of `Engine.ask` next to `Engine.search` (retrieval alone, the baseline measured in the
same run) and their ratio, so the figure travels between machines of different speed. The re-index stores
every sentence's vector, so an answer embeds only its question; with --no-sentence-vectors (on a new
home) the first round embeds every candidate sentence and later rounds find them in the engine's memory,
as a follow-up in a thread does.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from index.engine import Engine
from index.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
SHORT = [
    "What did we write about NATO's article 5?",
    "Why is TikTok under fire over privacy?",
    "Who won the 1998 FIFA World Cup?",
    "What happened to Sam Bankman-Fried?",
    "Why did OpenAI fire Sam Altman?",
    "What is the latest on interest rates?",
    "and what did Google say?",
    "How many bonus bets do new customers get?",
]


def demo_questions(limit: int) -> list[str]:
    urls = {a["url"] for a in json.loads((ROOT / "data" / "multihop_rag_slice.json").read_text(encoding="utf-8"))}
    queries = json.loads((DATASETS / "multihop_rag" / "queries_train.json").read_text(encoding="utf-8"))
    covered = [q["query"] for q in queries if q["evidence_list"] and all(e["url"] in urls for e in q["evidence_list"])]
    random.Random(0).shuffle(covered)
    return SHORT + covered[: max(0, limit - len(SHORT))]


def percentiles(seconds: list[float]) -> tuple[float, float, float]:
    ms = np.asarray(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), float(ms.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="archive folder (default: a new temp folder)")
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-sentence-vectors", action="store_true", help="index without ARCHIVIST_SENTENCE_VECTORS")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="archivist-ask-"))
    engine = Engine(Settings.load(home=home, sentence_vectors=not args.no_sentence_vectors))
    engine.ingest([ROOT / "data"])
    report = engine.reindex()
    print(
        f"re-index: {report.embedded} passages and {report.sentences_embedded} sentences embedded "
        f"in {report.seconds:.1f} s"
    )
    questions = demo_questions(args.questions)
    engine.ask(questions[0])  # load the model, the index and the quote model
    asked: list[list[float]] = []
    searched, abstained = [], 0
    for _ in range(args.rounds):
        asked.append([])
        for question in questions:
            started = time.perf_counter()
            engine.search(question)
            searched.append(time.perf_counter() - started)
            started = time.perf_counter()
            abstained += engine.ask(question).abstained
            asked[-1].append(time.perf_counter() - started)
    engine.close()
    search_p = percentiles(searched)
    print(f"demo archive: {home}; {len(questions)} questions x {args.rounds} rounds, {abstained} abstentions")
    print("| call | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    print(f"| `Engine.search` (baseline, all rounds) | {search_p[0]:.1f} | {search_p[1]:.1f} | {search_p[2]:.1f} |")
    for n, timings in enumerate(asked, start=1):
        p = percentiles(timings)
        label = "first round" if n == 1 else f"round {n}, sentence vectors in memory"
        print(f"| `Engine.ask`, {label} | {p[0]:.1f} | {p[1]:.1f} | {p[2]:.1f} |")
    print(f"first-round ask / search at p95: {percentiles(asked[0])[1] / search_p[1]:.1f}x")


if __name__ == "__main__":
    main()
