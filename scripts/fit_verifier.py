"""Fit the answer verifier (index/answering/verifier.npz): a cross-encoder made of MiniLM and low-rank adapters.

Data: the ``quotes`` split (index/evaluation/splits.py) of SQuAD dev questions asked of the SQuAD
archive and MultiHop-RAG answerable questions asked of theirs, each retrieved by the engine's
hybrid retriever, with their candidate sentences ordered by the shipped quote ranker
(``index.answering.ranker``). Pairs (question, sentence):

- positive: up to 2 of the top 8 sentences that hold the gold (as ``archivist eval answers`` counts),
  or, when none does, the gold article's sentence holding the SQuAD answer / the first evidence fact;
- negative: the 3 best-ranked of the top 8 that do not hold it (the hard ones), and the top 2
  sentences of each question asked of the other archive (where nothing answers).

SQuAD questions are two seeded samples of ``--squad-questions`` (one asked of each archive), of which
the ``quotes`` split is kept; MultiHop-RAG's answerable questions of that split are asked of both.

Model: the bundled all-MiniLM-L6-v2 frozen, rank-``--rank`` LoRA adapters (scale 2) on the query,
key, value and output projections of attention and both feed-forward projections of every layer,
mean pooling and a linear head; binary cross-entropy, AdamW, batches of similar length.
Each of ``--passes`` passes over the pairs starts from the adapter the pass before it stored (fp16),
with a fresh optimizer, linear warm-up and decay, half the learning rate of the pass before and its
own batch order. One pass is 710 steps of 32 pairs, about 22 min on two cores; the shipped adapter
had two (a single pass left the loss falling and the verdicts less separated). ``--write`` also writes the
adapter's ``about`` block (datasets' checksums, sample sizes, commit) to ``verifier.about.json`` beside it.

    .venv/bin/python scripts/fit_verifier.py [--rows /tmp/verifier-rows.pkl] [--passes 2] [--write]
"""

from __future__ import annotations

import argparse
import json
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

from index.answering import candidates, ranker, verifier  # noqa: E402
from index.answering.compose import parse_date  # noqa: E402
from index.embedding.base import DEFAULT_KIND, MODEL_NAME, go_offline, model_dir  # noqa: E402
from index.text.chunking import split_sentences  # noqa: E402
from scripts import provenance  # noqa: E402
from scripts.evaluation import answers as ev  # noqa: E402
from scripts.evaluation.retrievers import build_hybrid  # noqa: E402
from scripts.evaluation.splits import split_of  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
TOP = 8  # candidates per question, by the quote ranker
SCALE = 2.0
ADAPTED = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")  # fmt: skip


def candidate_rows(args) -> list[tuple]:
    """(kind, group, question, texts of the top candidates, their gold labels, a gold sentence if none holds it)."""
    from index.embedding.factory import load_embedder

    embedder = load_embedder(DEFAULT_KIND, args.cache)
    memo = ev.MemoEncoder(embedder)
    memo_file = ev.MemoEncoder.cache_file(args.cache, embedder.name)
    memo.load(memo_file)
    squad_articles, squad_questions = ev.load_squad(args.squad)
    mh_articles, mh_questions = ev.load_multihop(args.multihop)
    now = max(d for a in mh_articles if (d := parse_date(a.published_at)) is not None) + timedelta(days=1)
    answerable = [q for q in mh_questions if q.question_type != "null_query"]
    retrievers = {id(a): build_hybrid(a, embedder, cache_dir=args.cache) for a in (squad_articles, mh_articles)}
    models = ranker.quote_models()
    plan = [  # two seeded samples of SQuAD, so its questions asked of either archive differ
        ("squad", random.Random(0).sample(squad_questions, args.squad_questions), squad_articles),
        ("squad_on_multihop", random.Random(1).sample(squad_questions, args.squad_questions), mh_articles),
        ("multihop", answerable, mh_articles),
        ("multihop_on_squad", answerable, squad_articles),
    ]
    rows = []
    for kind, questions, articles in plan:
        bodies = {a.id: a.body for a in articles}
        started = time.perf_counter()
        questions = [q for q in questions if split_of(q.group) == "quotes"]
        for q in questions:
            hits = retrievers[id(articles)].search(q.question, k=ev.ANSWER_HITS, now=now)
            cands = candidates.candidate_features(q.question, hits, bodies, embedder=memo)
            if not cands.spans:
                continue
            top = np.argsort(-models.ranker.margin(cands.features), kind="stable")[:TOP]
            spans = [cands.spans[i] for i in top]
            texts = [bodies[a][s:e] for a, s, e, _ in spans]
            own = "_on_" not in kind
            squad = isinstance(q, ev.SquadQuestion)
            labels = [
                own and (not squad or a == q.article_id) and ev.holds_gold(q, t)
                for (a, _, _, _), t in zip(spans, texts, strict=True)
            ]
            gold = None
            if own and not any(labels):
                gold = _gold_sentence(q, bodies) if squad else q.facts[0]
            rows.append((kind, q.group, q.question, texts, labels, gold))
        print(f"{kind}: {len(questions)} questions in {time.perf_counter() - started:.0f}s", flush=True)
    memo.save(memo_file)
    return rows


def _gold_sentence(question, bodies) -> str | None:
    body = bodies[question.article_id]
    return next(
        (body[s.start : s.end] for s in split_sentences(body) if ev.holds_gold(question, body[s.start : s.end])), None
    )


def training_pairs(rows) -> list[tuple[str, str, float]]:
    pairs = []
    for kind, _, question, texts, labels, gold in rows:
        if "_on_" in kind:
            pairs += [(question, t, 0.0) for t in texts[:2]]
            continue
        positives = [t for t, held in zip(texts, labels, strict=True) if held][:2] + ([gold] if gold else [])
        negatives = [t for t, held in zip(texts, labels, strict=True) if not held][:3]
        pairs += [(question, t, 1.0) for t in positives] + [(question, t, 0.0) for t in negatives]
    return pairs


def build_model(rank: int):
    import torch
    from transformers import AutoModel

    class LoRA(torch.nn.Module):
        def __init__(self, base: torch.nn.Linear) -> None:
            super().__init__()
            self.base = base
            self.a = torch.nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
            self.b = torch.nn.Parameter(torch.zeros(base.out_features, rank))

        def forward(self, x):
            return self.base(x) + SCALE * (x @ self.a.T @ self.b.T)

    class CrossEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(model_dir()))
            for p in self.bert.parameters():
                p.requires_grad = False
            self.adapters = {}
            for n, layer in enumerate(self.bert.encoder.layer):
                for path in ADAPTED:
                    *parents, leaf = path.split(".")
                    owner = layer
                    for part in parents:
                        owner = getattr(owner, part)
                    lora = LoRA(getattr(owner, leaf))
                    setattr(owner, leaf, lora)
                    self.adapters[f"encoder.layer.{n}.{path}.weight"] = lora
            self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)

        def forward(self, ids, mask, types):
            hidden = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            m = mask.unsqueeze(-1).float()
            return self.head((hidden * m).sum(1) / m.sum(1)).squeeze(-1)

    return CrossEncoder()


def train(pairs, args, lr: float, order_seed: int, start: dict | None = None):
    """One pass over ``pairs``, from the adapter arrays ``start`` (fresh adapters when None)."""
    import torch
    from transformers import AutoTokenizer

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir()))
    model = build_model(args.rank)
    if start is not None:
        with torch.no_grad():
            for name, lora in model.adapters.items():
                lora.a.copy_(torch.from_numpy(start[f"{name}.a"].astype(np.float32)))
                lora.b.copy_(torch.from_numpy(start[f"{name}.b"].astype(np.float32)))
            model.head.weight.copy_(torch.from_numpy(start["head.weight"]).reshape(1, -1))
            model.head.bias.copy_(torch.from_numpy(start["head.bias"]))
    trainable = [p for p in model.parameters() if p.requires_grad]
    print(f"{len(pairs)} pairs ({int(sum(p[2] for p in pairs))} positive), {sum(p.numel() for p in trainable)} weights")
    encoded = [tokenizer(q, s, truncation="longest_first", max_length=verifier.MAX_PAIR_PIECES) for q, s, _ in pairs]
    order = sorted(range(len(pairs)), key=lambda i: len(encoded[i]["input_ids"]))
    batches = [order[i : i + args.batch] for i in range(0, len(order), args.batch)]
    random.Random(order_seed).shuffle(batches)
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.01)
    warmup = 50
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, 1 - s / len(batches))
    )
    model.train()
    started, average = time.perf_counter(), None
    for step, batch in enumerate(batches):
        padded = tokenizer.pad([encoded[i] for i in batch], return_tensors="pt")
        target = torch.tensor([pairs[i][2] for i in batch])
        logits = model(padded["input_ids"], padded["attention_mask"], padded["token_type_ids"])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        average = loss.item() if average is None else 0.98 * average + 0.02 * loss.item()
        if step % 50 == 0 or step == len(batches) - 1:
            print(f"step {step}/{len(batches)} loss {average:.4f} {time.perf_counter() - started:.0f}s", flush=True)
    arrays = {"scale": np.array(SCALE, dtype=np.float32)}
    for name, lora in model.adapters.items():
        arrays[f"{name}.a"] = lora.a.detach().numpy().astype(np.float16)
        arrays[f"{name}.b"] = lora.b.detach().numpy().astype(np.float16)
    arrays["head.weight"] = model.head.weight.detach().numpy().reshape(-1).astype(np.float32)
    arrays["head.bias"] = model.head.bias.detach().numpy().astype(np.float32)
    return arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=DATASETS / "squad_v1.1_dev" / "dev-v1.1.json")
    parser.add_argument("--multihop", type=Path, default=DATASETS / "multihop_rag")
    parser.add_argument("--cache", type=Path, default=ROOT / ".archivist" / "eval-cache")
    parser.add_argument("--squad-questions", type=int, default=4000, help="SQuAD questions sampled (of all splits)")
    parser.add_argument("--pairs", type=int, default=25000, help="training pairs sampled")
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate of the first pass")
    parser.add_argument("--passes", type=int, default=2, help="passes over the pairs")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=Path, help="reuse (or save) the candidate rows in this file")
    parser.add_argument("--out", type=Path, default=verifier.ADAPTER_PATH, help="where --write puts the adapter")
    parser.add_argument("--write", action="store_true", help="write the adapter file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    go_offline()
    if args.rows and args.rows.exists():
        with open(args.rows, "rb") as f:
            rows = pickle.load(f)
    else:
        rows = candidate_rows(args)
        if args.rows:
            with open(args.rows, "wb") as f:
                pickle.dump(rows, f)
    rows = [r for r in rows if split_of(r[1]) == "quotes"]
    pairs = training_pairs(rows)
    random.Random(args.seed).shuffle(pairs)
    arrays = None
    for n in range(args.passes):
        print(f"pass {n + 1} of {args.passes}")
        arrays = train(pairs[: args.pairs], args, lr=args.lr / 2**n, order_seed=args.seed + n, start=arrays)
    if args.write:
        np.savez(args.out, **arrays)
        samples = {
            "questions": len(rows),
            "pairs": min(args.pairs, len(pairs)),
            "squad_questions": args.squad_questions,
        }
        about = provenance.about(
            data=(args.squad, args.multihop),
            samples=samples,
            embedder=f"{MODEL_NAME} (bundled) with rank-{args.rank} LoRA adapters; candidates by {DEFAULT_KIND}",
            split="quotes",
            passes=args.passes,
            lr=args.lr,
            batch=args.batch,
            seed=args.seed,
        )
        sidecar = verifier.about_path(args.out)
        sidecar.write_text(json.dumps({"about": about}, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB) and {sidecar}")


if __name__ == "__main__":
    main()
