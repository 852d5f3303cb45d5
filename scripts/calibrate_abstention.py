"""Fit the abstention model (index/answering/abstention.py) on questions the archive can and cannot answer.

Data (all from the answer evaluations in scripts/evaluation/answers.py):
  answerable   = SQuAD dev questions on the SQuAD archive + MultiHop-RAG answerable questions on its archive
  unanswerable = SQuAD questions on the MultiHop-RAG archive + MultiHop-RAG questions on the SQuAD archive
                 + MultiHop-RAG's null queries + the near misses of scripts/evaluation/near_miss.py (the answer
                 deleted from the archive, an entity swapped, a year moved past the archive's end)

Method: questions are split by scripts/evaluation/splits.py. On the abstention split (questions the quote
model was not fitted on, so its verdicts are as confident as on new questions) a logistic regression
over the abstention signals is fitted (Newton's method, classes weighted to equal total weight,
L2 penalty 1e-3); the threshold on its probability is the highest that abstains on at most
MAX_FALSE_ABSTAIN of each answerable set (SQuAD, MultiHop-RAG) of the split. The held-out split reports the resulting decision.
``--write`` stores the fitted model in index/answering/abstention.json with its ``about`` block (datasets'
checksums, sample sizes, embedder, commit); without it the constants are only printed.

    .venv/bin/python scripts/calibrate_abstention.py --limit 1500 [--records /tmp/records.json] [--write]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.answering import abstention  # noqa: E402
from index.answering.abstention import AbstentionSignals  # noqa: E402
from index.answering.verifier import Verifier  # noqa: E402
from index.embedding.base import DEFAULT_KIND, KINDS  # noqa: E402
from index.embedding.factory import load_embedder  # noqa: E402
from scripts import provenance  # noqa: E402
from scripts.evaluation.answers import (  # noqa: E402
    NEAR_MISS_POPULATIONS,
    MemoEncoder,
    Record,
    metrics_from_records,
    run_answer_evals,
)
from scripts.evaluation.splits import split_of  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
FEATURES = abstention.FEATURES
# Answerable (1) and unanswerable (0) populations: cross-archive questions, MultiHop-RAG's null queries and the near
# misses of scripts.evaluation.near_miss (the topic covered, the fact not).
LABELS = {
    "squad": 1,
    "multihop": 1,
    "squad_on_multihop": 0,
    "multihop_on_squad": 0,
    "multihop_null": 0,
    **dict.fromkeys(NEAR_MISS_POPULATIONS, 0),
}
L2 = 1e-3


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = L2, iterations: int = 50) -> tuple[np.ndarray, float]:
    """Class-balanced, L2-penalised logistic regression by Newton's method: (coefficients, intercept)."""
    n, d = x.shape
    weights = np.where(y == 1, 0.5 / max(1, y.sum()), 0.5 / max(1, n - y.sum()))
    xb = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    penalty = np.diag([l2] * d + [0.0])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-xb @ beta))
        gradient = xb.T @ (weights * (p - y)) + penalty @ beta
        hessian = (xb * (weights * p * (1 - p))[:, None]).T @ xb + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return beta[:d], float(beta[d])


def features(records: list[Record]) -> np.ndarray:
    return np.array([[getattr(r.signals, f) for f in FEATURES] for r in records])


def separation(records: list[Record], probability, shares=(0.03, 0.04, 0.05)) -> dict[float, float]:
    """Share of SQuAD-on-MultiHop-RAG questions abstaining at the thresholds where ``shares`` of SQuAD's abstain."""
    answerable = np.sort([probability(r.signals) for r in records if r.population == "squad"])
    unanswerable = np.array([probability(r.signals) for r in records if r.population == "squad_on_multihop"])
    if not len(answerable) or not len(unanswerable):
        return {}
    return {s: float((unanswerable < answerable[int(s * len(answerable))]).mean()) for s in shares}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=DATASETS / "squad_v1.1_dev" / "dev-v1.1.json")
    parser.add_argument("--multihop", type=Path, default=DATASETS / "multihop_rag")
    parser.add_argument("--limit", type=int, default=None, help="questions sampled per set (default: all)")
    parser.add_argument("--records", type=Path, help="reuse (or save) the evaluation records in this JSON file")
    parser.add_argument("--retriever", choices=("hybrid", "lexical"), default="hybrid")
    parser.add_argument("--embedder", choices=KINDS, default=DEFAULT_KIND)
    parser.add_argument(
        "--cache",
        type=Path,
        default=ROOT / ".archivist" / "eval-cache",
        help="folder for the exported model and passage vectors",
    )
    parser.add_argument("--write", action="store_true", help=f"write the model to {abstention.MODEL_PATH}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    if args.records and args.records.exists():
        records = [
            Record(**{**r, "signals": AbstentionSignals(**r["signals"])}) for r in json.loads(args.records.read_text())
        ]
    else:
        from scripts.evaluation.answers import LexicalRetriever

        embedder = load_embedder(args.embedder, args.cache)
        memo = MemoEncoder(embedder)
        memo_file = MemoEncoder.cache_file(args.cache, embedder.name)
        memo.load(memo_file)
        t0 = time.perf_counter()
        metrics = run_answer_evals(
            args.squad,
            args.multihop,
            embedder=embedder,
            limit=args.limit,
            cache_dir=args.cache,
            retriever_factory=LexicalRetriever if args.retriever == "lexical" else None,
            retriever_name=args.retriever,
            memo=memo,
            split=("abstention", "held-out"),
            verifier=Verifier(args.cache),
        )
        memo.save(memo_file)
        print(f"evaluation ran in {time.perf_counter() - t0:.0f}s; with the current constants, all questions:")
        print(json.dumps(metrics.to_dict(), indent=1))
        records = list(metrics.records)
        if args.records:
            args.records.write_text(json.dumps([asdict(r) for r in records]))

    usable = [r for r in records if r.population in LABELS]
    train = [r for r in usable if split_of(r.group) == "abstention"]
    test = [r for r in usable if split_of(r.group) == "held-out"]
    x, y = features(train), np.array([LABELS[r.population] for r in train], dtype=float)
    coefficients, intercept = fit_logistic(x, y)
    probabilities = 1 / (1 + np.exp(-(x @ coefficients + intercept)))
    # The highest threshold that abstains on at most MAX_FALSE_ABSTAIN of each answerable set.
    populations = np.array([r.population for r in train])
    threshold = min(
        float(np.sort(probabilities[populations == p])[int(abstention.MAX_FALSE_ABSTAIN * (populations == p).sum())])
        for p in ("squad", "multihop")
    )

    def probability(sig: AbstentionSignals) -> float:
        z = intercept + sum(c * getattr(sig, f) for c, f in zip(coefficients, FEATURES, strict=True))
        return 1 / (1 + math.exp(-z))

    def decide(sig: AbstentionSignals) -> bool:
        return probability(sig) >= threshold

    for name, split in (("abstention split (fitted on)", train), ("held-out split", test)):
        m = metrics_from_records(split, retriever="", latency=[], decide=decide).to_dict()
        shown = {k: v for k, v in m.items() if k.endswith(("abstain", "in_quotes", "first_quote", "questions"))}
        print(name, json.dumps(shown))
    curve = ", ".join(f"{s:.0%} -> {u:.3f}" for s, u in separation(test, probability).items())
    print(f"held-out separation (SQuAD abstaining -> SQuAD on MultiHop-RAG abstaining): {curve}")
    model = {
        "coefficients": {f: round(float(c), 4) for f, c in zip(FEATURES, coefficients, strict=True)},
        "intercept": round(intercept, 4),
        "threshold": round(threshold, 4),
    }
    print(json.dumps(model, indent=1))
    if args.write:
        samples = {"questions_per_set": args.limit, "fitting_questions": len(train), "held_out_questions": len(test)}
        about = provenance.about(
            data=(args.squad, args.multihop),
            samples=samples,
            embedder=args.embedder,
            split="abstention",
            retriever=args.retriever,
            max_false_abstain=abstention.MAX_FALSE_ABSTAIN,
            l2=L2,
        )
        abstention.MODEL_PATH.write_text(json.dumps({"about": about, **model}, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {abstention.MODEL_PATH}")


if __name__ == "__main__":
    main()
