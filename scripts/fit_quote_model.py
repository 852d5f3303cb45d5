"""Fit the quote models (index/answering/quote_model.json): which candidate sentence answers the question, and whether any does.

Data: SQuAD dev questions asked of the SQuAD archive and MultiHop-RAG answerable questions asked
of theirs, each retrieved by the engine's hybrid retriever (top 10 passages). Every candidate
sentence ``index.answering.candidates.candidate_features`` produces is a row; it is positive when it holds a
gold answer of the question in the gold article (SQuAD) or overlaps a gold evidence fact
(MultiHop-RAG, white-space-insensitive containment either way, as `archivist eval answers` counts).
Each set's questions are also asked of the other archive, where every candidate is negative.

Method: scikit-learn's HistGradientBoostingClassifier on the ``quotes`` split (index/evaluation/splits.py),
every question weighing the same: the *ranker* on the answerable questions only, the *answerability*
model on all of them (an unanswerable question weighing ``--negative-weight``). Their trees are
exported to JSON and checked to give the same margins as scikit-learn; the file's ``about`` block records the
datasets' checksums, sample sizes, embedder and commit (``scripts/provenance.py``). The held-out split reports
how often the ranker's top 1 and top 3 sentences hold the answer, next to the hand-weighted score
it replaced (similarity + 2 x overlap + 0.3 x rank), and how well the answerability model's best
margin alone tells unanswerable questions apart.

    .venv/bin/python scripts/fit_quote_model.py [--rows /tmp/rows.pkl] [--write]
"""

from __future__ import annotations

import argparse
import logging
import math
import pickle
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.answering import candidates  # noqa: E402
from index.answering.compose import parse_date  # noqa: E402
from index.answering.ranker import MODEL_PATH  # noqa: E402
from index.answering.trees import TreeEnsemble, tree_dict  # noqa: E402
from index.embedding.base import DEFAULT_KIND, KINDS  # noqa: E402
from index.embedding.factory import load_embedder  # noqa: E402
from scripts import provenance  # noqa: E402
from scripts.evaluation import answers as ev  # noqa: E402
from scripts.evaluation.retrievers import build_hybrid  # noqa: E402
from scripts.evaluation.splits import split_of  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
PARAMS = {"max_iter": 200, "learning_rate": 0.05, "max_leaf_nodes": 15, "random_state": 0}


def labelled(question, hits, bodies, memo):
    """(features, labels) of one question's candidate sentences."""
    cands = candidates.candidate_features(question.question, hits, bodies, embedder=memo)
    squad = isinstance(question, ev.SquadQuestion)  # a SQuAD answer counts only in its own article
    labels = [
        (not squad or a == question.article_id) and ev.holds_gold(question, bodies[a][s:e])
        for a, s, e, _ in cands.spans
    ]
    return cands.features, np.array(labels, dtype=bool)


def export(model, features) -> dict:
    """The fitted scikit-learn ensemble as ``index.answering.trees`` JSON."""
    trees, depth = [], 0
    for (predictor,) in model._predictors:  # one tree per iteration for a binary classifier
        nodes = predictor.nodes
        leaf = nodes["is_leaf"].astype(bool)
        trees.append(
            {
                "feature": np.where(leaf, -1, nodes["feature_idx"]).tolist(),
                "threshold": [float(t) for t in nodes["num_threshold"]],
                "left": nodes["left"].tolist(),
                "right": nodes["right"].tolist(),
                "value": [float(v) for v in nodes["value"]],
            }
        )
        depth = max(depth, int(nodes["depth"].max()))
    baseline = float(np.ravel(model._baseline_prediction)[0])
    return tree_dict(
        features, baseline, trees, depth=depth, about={"fitted_by": "scripts/fit_quote_model.py", **PARAMS}
    )


def fit_ensemble(rows, negative_weight: float):
    """A classifier over the rows' candidates, exported and checked against scikit-learn."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    x = np.vstack([r[2] for r in rows])
    y = np.concatenate([r[3] for r in rows])
    print(f"fitting on {len(rows)} questions, {len(y)} sentences, {int(y.sum())} positive")
    # Every question weighs the same, however many candidates and evidence sentences it has.
    weights = np.concatenate(
        [np.full(len(r[3]), (negative_weight if "_on_" in r[0] else 1.0) / len(r[3])) for r in rows]
    )
    model = HistGradientBoostingClassifier(**PARAMS).fit(x, y, sample_weight=weights * len(rows) / weights.sum())
    data = export(model, candidates.FEATURES)
    ensemble = TreeEnsemble.from_dict(data)
    sample = x[:: max(1, len(x) // 5000)]
    gap = float(np.abs(ensemble.margin(sample) - model.decision_function(sample)).max())
    if not math.isfinite(gap) or gap > 1e-6:
        raise SystemExit(f"exported trees disagree with scikit-learn by {gap}")
    return ensemble, data


def top_k_rates(groups, score) -> tuple[float, float]:
    top1 = top3 = 0
    for x, y in groups:
        order = np.argsort(-score(x), kind="stable")
        top1 += bool(y[order[0]])
        top3 += bool(y[order[:3]].any())
    return top1 / len(groups), top3 / len(groups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=DATASETS / "squad_v1.1_dev" / "dev-v1.1.json")
    parser.add_argument("--multihop", type=Path, default=DATASETS / "multihop_rag")
    parser.add_argument("--squad-questions", type=int, default=6000, help="SQuAD questions sampled (seeded)")
    parser.add_argument("--embedder", choices=KINDS, default=DEFAULT_KIND)
    parser.add_argument("--cache", type=Path, default=ROOT / ".archivist" / "eval-cache")
    parser.add_argument(
        "--candidates", type=int, default=candidates.MAX_CANDIDATES, help="sentences scored per question"
    )
    parser.add_argument(
        "--unanswerable", type=int, default=6000, help="questions per set also asked of the other archive (negatives)"
    )
    parser.add_argument("--negative-weight", type=float, default=2.0, help="weight of an unanswerable question")
    parser.add_argument("--rows", type=Path, help="reuse (or save) the labelled candidate rows in this file")
    parser.add_argument("--write", action="store_true", help=f"write the model to {MODEL_PATH}")
    args = parser.parse_args()
    candidates.MAX_CANDIDATES = args.candidates  # to try another pool size before changing the constant
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    embedder = load_embedder(args.embedder, args.cache)
    memo = ev.MemoEncoder(embedder)
    memo_file = ev.MemoEncoder.cache_file(args.cache, embedder.name)
    memo.load(memo_file)
    squad_articles, squad_questions = ev.load_squad(args.squad)
    mh_articles, mh_questions = ev.load_multihop(args.multihop)
    newest = max(d for a in mh_articles if (d := parse_date(a.published_at)) is not None)
    now = newest + timedelta(days=1)
    answerable = [q for q in mh_questions if q.question_type != "null_query"]
    squad_sample = random.Random(0).sample(squad_questions, min(args.squad_questions, len(squad_questions)))

    rows = []  # (question kind, split group, features, labels)
    if args.rows and args.rows.exists():
        with open(args.rows, "rb") as f:
            rows = pickle.load(f)
    else:
        t0 = time.perf_counter()
        retrievers = {id(a): build_hybrid(a, embedder, cache_dir=args.cache) for a in (squad_articles, mh_articles)}
        plan = [  # (kind, questions, archive): a question asked of the other archive has no answer among its candidates
            ("squad", squad_sample, squad_articles),
            ("multihop", answerable, mh_articles),
            ("squad_on_multihop", squad_sample[: args.unanswerable], mh_articles),
            ("multihop_on_squad", answerable[: args.unanswerable], squad_articles),
        ]
        for kind, questions, articles in plan:
            bodies = {a.id: a.body for a in articles}
            for q in questions:
                if split_of(q.group) == "abstention":
                    continue
                hits = retrievers[id(articles)].search(q.question, k=ev.ANSWER_HITS, now=now)
                x, y = labelled(q, hits, bodies, memo)
                if "_on_" in kind:
                    y = np.zeros_like(y)
                if len(y):
                    rows.append((kind, q.group, x, y))
        memo.save(memo_file)
        print(f"candidates computed in {time.perf_counter() - t0:.0f}s")
        if args.rows:
            with open(args.rows, "wb") as f:
                pickle.dump(rows, f)

    fitting = [r for r in rows if split_of(r[1]) == "quotes"]
    ranker, ranker_data = fit_ensemble([r for r in fitting if "_on_" not in r[0]], args.negative_weight)
    answerability, answerability_data = fit_ensemble(fitting, args.negative_weight)
    samples = {
        "squad_questions": len(squad_sample),
        "multihop_answerable_questions": len(answerable),
        "unanswerable_per_set": args.unanswerable,
        "fitting_questions": len(fitting),
        "fitting_sentences": sum(len(r[3]) for r in fitting),
    }
    about = provenance.about(
        data=(args.squad, args.multihop),
        samples=samples,
        embedder=embedder.name,
        split="quotes",
        candidates=args.candidates,
        negative_weight=args.negative_weight,
    )
    data = {"about": about, "ranker": ranker_data, "answerability": answerability_data}

    names = candidates.FEATURES
    hand = np.zeros(len(names))
    hand[names.index("similarity")], hand[names.index("overlap")], hand[names.index("retrieval")] = 1.0, 2.0, 0.3
    held = [r for r in rows if split_of(r[1]) == "held-out"]
    for kind in ("squad", "multihop"):
        groups = [(r[2], r[3]) for r in held if r[0] == kind]
        reachable = sum(bool(y.any()) for _, y in groups) / len(groups)
        old = top_k_rates(groups, lambda x: x @ hand)
        new = top_k_rates(groups, ranker.margin)
        print(
            f"held-out {kind}: {len(groups)} questions, answer among candidates {reachable:.3f}; top-1 / top-3 "
            f"sentence holds it: hand-weighted {old[0]:.3f} / {old[1]:.3f}, model {new[0]:.3f} / {new[1]:.3f}"
        )
    # The answerability model's best margin alone as an abstention signal: share of unanswerable questions below the margin that 4% of
    # answerable ones fall below.
    best = {k: np.array([answerability.margin(r[2]).max() for r in held if r[0] == k]) for k in {r[0] for r in held}}
    answerable_best = np.concatenate([best[k] for k in ("squad", "multihop") if k in best])
    cut = np.sort(answerable_best)[int(0.04 * len(answerable_best))]
    for kind in ("squad_on_multihop", "multihop_on_squad"):
        if kind in best:
            print(f"held-out {kind}: best margin below the 4%-of-answerable cut for {(best[kind] < cut).mean():.3f}")
    if args.write:
        import json

        MODEL_PATH.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
        trees = len(ranker_data["trees"]) + len(answerability_data["trees"])
        print(f"wrote {MODEL_PATH} ({MODEL_PATH.stat().st_size // 1024} KiB, {trees} trees)")


if __name__ == "__main__":
    main()
