"""Answer evaluations: quote fidelity, answer-in-quote on SQuAD, evidence in quotes on MultiHop-RAG, abstention.

Four question sets are asked of two archives built from the datasets:

- SQuAD dev questions of the SQuAD archive (answerable): is a gold answer inside the shown
  quotes, inside the first quote, and how often does the engine abstain;
- SQuAD questions of the MultiHop-RAG archive (unanswerable): how often it abstains;
- MultiHop-RAG questions of the SQuAD archive (unanswerable): how often it abstains;
- MultiHop-RAG answerable questions of its own archive: does a gold evidence fact overlap a shown
  quote (white-space-insensitive containment either way); null queries are reported apart.

Every quote of every answer is checked against the stored body and its article's metadata.
The retriever is pluggable (``RetrieverFactory``); ``default_retriever_factory`` uses the
engine's hybrid retriever. Sentence vectors are memoised per text within a run
(``MemoEncoder``); latency is measured separately, on fresh questions, without the memo.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from index.answering import abstention
from index.answering.candidates import QueryEncoder
from index.answering.compose import conclude, deliberate, parse_date
from index.answering.sentence_cache import SentenceVectorCache, text_key
from index.answering.verifier import SentenceVerifier
from index.models import Answer, Article, Filters, Hit
from index.retrieval.lexical import LexicalIndex
from index.text.chunking import chunk_body
from scripts.evaluation.near_miss import Mask, later, names_in, swapped, without_sentences
from scripts.evaluation.retrievers import Encoder, Retriever, build_hybrid
from scripts.evaluation.splits import SPLITS, split_of

logger = logging.getLogger(__name__)

RetrieverFactory = Callable[[Sequence[Article]], Retriever]
ANSWER_HITS = 10
LATENCY_QUESTIONS = 40
NEAR_MISS_POPULATIONS = ("squad_deleted", "multihop_deleted", "squad_swapped", "multihop_swapped", "multihop_later")


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    article_id: str

    @property
    def group(self) -> str:
        return f"squad:{self.article_id}"


@dataclass(frozen=True)
class MultiHopQuestion:
    id: str
    question: str
    question_type: str
    facts: tuple[str, ...]
    evidence_urls: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return f"multihop:{self.evidence_urls[0] if self.evidence_urls else self.id}"


@dataclass(frozen=True)
class Record:
    """One question asked of one archive: what the engine would quote and what it decided."""

    population: str  # squad, squad_on_multihop, multihop, multihop_on_squad, multihop_null
    question_id: str
    group: str  # the question's split group (scripts.evaluation.splits)
    signals: abstention.AbstentionSignals
    abstained: bool
    in_quotes: bool  # gold answer / evidence inside the quotes it would show (whether or not it abstained)
    in_first: bool
    quotes: int
    fidelity_errors: int


@dataclass(frozen=True)
class AnswerMetrics:
    retriever: str
    squad_questions: int
    squad_answer_in_quotes: float
    squad_answer_in_first_quote: float
    squad_abstain: float
    squad_on_multihop_questions: int
    squad_on_multihop_abstain: float
    multihop_on_squad_questions: int
    multihop_on_squad_abstain: float
    multihop_questions: int
    multihop_evidence_in_quotes: float
    multihop_abstain: float
    multihop_null_questions: int
    multihop_null_abstain: float
    near_miss_abstain: dict[str, dict]  # per near-miss population (scripts.evaluation.near_miss): questions, abstained
    quotes_checked: int
    fidelity_errors: int
    latency_ms_p50: float
    latency_ms_p95: float
    records: tuple[Record, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "records"}


class MemoEncoder(SentenceVectorCache):
    """The sentence-vector cache without a bound, remembering queries too, so repeated texts are embedded once.

    ``save``/``load`` keep the vectors in a file between runs (keyed by a hash of the text).
    """

    def __init__(self, inner: QueryEncoder) -> None:
        super().__init__(inner, max_items=None)
        self._queries: dict[str, np.ndarray] = {}

    def encode_query(self, text: str) -> np.ndarray:
        key = text_key(text)
        if key not in self._queries:
            self._queries[key] = np.asarray(self.inner.encode_query(text), dtype=np.float32)
        return self._queries[key]

    @staticmethod
    def cache_file(cache_dir: Path, embedder_name: str) -> Path:
        """Where ``save`` keeps one embedder's sentence vectors in ``cache_dir``."""
        return Path(cache_dir) / f"sentences-{re.sub(r'[^A-Za-z0-9_.-]+', '-', embedder_name)}.npz"

    def save(self, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._vectors)
        matrix = np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, 384), dtype=np.float32)
        np.savez(path, keys=np.array(keys, dtype="S40"), vectors=matrix)

    def load(self, path: Path) -> None:
        if Path(path).exists():
            with np.load(path) as data:
                self._vectors.update(zip((k.decode() for k in data["keys"]), data["vectors"], strict=True))


# -- datasets ----------------------------------------------------------------------------


def _article(article_id: str, title: str, body: str, origin: str, **meta) -> Article:
    return Article(
        id=article_id,
        title=title,
        body=body,
        origin=origin,
        content_hash="",
        first_seen="",
        updated_at="",
        **meta,
    )


def load_squad(path: Path) -> tuple[list[Article], list[SquadQuestion]]:
    """One article per SQuAD title, its paragraphs joined by blank lines; one question per SQuAD question."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    articles, questions = [], []
    for i, entry in enumerate(data):
        article_id = f"squad-{i:03d}"
        title = entry["title"].replace("_", " ")
        body = "\n\n".join(p["context"].strip() for p in entry["paragraphs"])
        articles.append(_article(article_id, title, body, str(path), source="Wikipedia"))
        for paragraph in entry["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                questions.append(SquadQuestion(qa["id"], qa["question"], answers, article_id))
    return articles, questions


def load_multihop(folder: Path) -> tuple[list[Article], list[MultiHopQuestion]]:
    """MultiHop-RAG's corpus as articles and its questions with their evidence facts."""
    folder = Path(folder)
    corpus = json.loads((folder / "corpus_train.json").read_text(encoding="utf-8"))
    queries = json.loads((folder / "queries_train.json").read_text(encoding="utf-8"))
    articles = [
        _article(
            f"mh-{i:03d}",
            a["title"],
            a["body"],
            str(folder),
            url=a.get("url"),
            author=a.get("author"),
            source=a.get("source"),
            category=a.get("category"),
            published_at=a.get("published_at"),
        )
        for i, a in enumerate(corpus)
    ]
    questions = [
        MultiHopQuestion(
            f"mh-q{i:04d}",
            q["query"],
            q["question_type"],
            tuple(e["fact"] for e in q["evidence_list"]),
            tuple(e["url"] for e in q["evidence_list"] if e.get("url")),
        )
        for i, q in enumerate(queries)
    ]
    return articles, questions


# -- a stand-in retriever ------------------------------------------------------------------


class LexicalRetriever:
    """BM25 over 256-token chunks (title prepended): a baseline any retriever can be compared with."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self._chunks: list[tuple[Article, int, int]] = []
        texts = []
        for article in articles:
            for chunk in chunk_body(article.body):
                self._chunks.append((article, chunk.start, chunk.end))
                texts.append(f"{article.title}\n{chunk.text}")
        self._index = LexicalIndex.build(texts)

    def search(
        self, query: str, k: int = 10, filters: Filters | None = None, diverse: bool = True, now: datetime | None = None
    ) -> list[Hit]:
        scores = self._index.scores(query)
        hits: list[Hit] = []
        per_article: dict[str, int] = {}
        for i in np.argsort(-scores):
            if len(hits) >= k or scores[i] <= 0:
                break
            article, start, end = self._chunks[i]
            if diverse and per_article.get(article.id, 0) >= 2:
                continue
            per_article[article.id] = per_article.get(article.id, 0) + 1
            hits.append(
                Hit(
                    int(i),
                    article.id,
                    article.title,
                    article.url,
                    article.source,
                    article.author,
                    article.category,
                    article.published_at,
                    article.body[start:end],
                    start,
                    end,
                    float(scores[i]),
                )
            )
        return hits


def default_retriever_factory(embedder: Encoder, cache_dir: Path | None = None) -> RetrieverFactory:
    """The engine's hybrid retriever built in memory over the articles (chunked as the store chunks them).

    ``cache_dir`` keeps the passage vectors between runs.
    """
    return lambda articles: build_hybrid(articles, embedder, cache_dir=cache_dir)


# -- running ----------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def holds_gold(question: SquadQuestion | MultiHopQuestion, text: str) -> bool:
    """Whether ``text`` holds the question's gold: a SQuAD answer inside it (case and white space ignored), or a
    MultiHop-RAG evidence fact overlapping it (white space ignored, containment either way)."""
    if isinstance(question, SquadQuestion):
        normalised = _normalise(text)
        return any(_normalise(a) in normalised for a in question.answers)
    squashed = _squash(text)
    return any(f in squashed or squashed in f for f in map(_squash, question.facts))


def fidelity_errors(answer: Answer, articles: Mapping[str, Article]) -> int:
    """Quotes whose text is not the stored body at their offsets, or whose citation is not their article's."""
    errors = 0
    for quote in answer.quotes:
        article = articles.get(quote.article_id)
        if (
            article is None
            or article.body[quote.start : quote.end] != quote.text
            or not quote.text
            or (quote.title, quote.url, quote.source, quote.author, quote.published_at)
            != (article.title, article.url, article.source, article.author, article.published_at)
        ):
            errors += 1
    return errors


def _ask(
    question: str,
    retriever: Retriever,
    bodies: Mapping[str, str],
    embedder: QueryEncoder,
    now: datetime,
    verifier: SentenceVerifier | None,
    mask: Mask | None = None,
):
    hits = retriever.search(question, k=ANSWER_HITS, now=now)
    if mask is not None:
        hits, bodies = mask(hits, bodies)
    deliberation = deliberate(question, hits, bodies, embedder=embedder, verifier=verifier)
    shown = conclude(hits, deliberation, answer=True, now=now)
    decided = abstention.should_answer(deliberation.signals) and not shown.abstained
    return shown, deliberation.signals, decided


def of_split(questions: Sequence[SquadQuestion | MultiHopQuestion], split: str | Sequence[str]) -> list:
    """The questions of a split (``held-out``, ``quotes``, ``abstention``; see ``scripts.evaluation.splits``), of
    several, or ``all`` of them."""
    wanted = {split} if isinstance(split, str) else set(split)
    if unknown := wanted - set(SPLITS):
        raise ValueError(f"unknown split {', '.join(sorted(unknown))!r}; expected one of {', '.join(SPLITS)}")
    return [q for q in questions if "all" in wanted or split_of(q.group) in wanted]


def _sample(items: Sequence, limit: int | None, seed: int) -> list:
    if limit is None or limit >= len(items):
        return list(items)
    return random.Random(seed).sample(list(items), limit)


def evaluate_questions(
    population: str,
    questions: Sequence[SquadQuestion | MultiHopQuestion],
    articles: Sequence[Article],
    retriever: Retriever,
    embedder: QueryEncoder,
    *,
    now: datetime,
    verifier: SentenceVerifier | None = None,
    mask_for: Callable[[SquadQuestion | MultiHopQuestion], Mask] | None = None,
) -> Iterator[Record]:
    """Ask each question of the archive; record signals, the decision and whether the quotes hold the gold.

    ``mask_for`` gives, per question, a change to what was retrieved before quotes are chosen (the near misses of
    ``scripts.evaluation.near_miss``); masked answers are not checked for fidelity, their bodies being altered."""
    by_id = {a.id: a for a in articles}
    bodies = {a.id: a.body for a in articles}
    for q in questions:
        mask = mask_for(q) if mask_for is not None else None
        shown, sig, answered = _ask(q.question, retriever, bodies, embedder, now, verifier, mask)
        texts = [qt.text for qt in shown.quotes]
        own_archive = population in ("squad", "multihop")
        in_first = own_archive and bool(texts) and holds_gold(q, texts[0])
        in_quotes = own_archive and any(holds_gold(q, t) for t in texts)
        errors = 0 if mask is not None else fidelity_errors(shown, by_id)
        yield Record(population, q.id, q.group, sig, not answered, in_quotes, in_first, len(texts), errors)


def metrics_from_records(
    records: Sequence[Record], *, retriever: str, latency: Sequence[float], decide=None
) -> AnswerMetrics:
    """Aggregate records; ``decide`` (signals -> answer?) re-decides abstention, e.g. for a new calibration."""

    def abstained(r: Record) -> bool:
        return r.abstained if decide is None else not decide(r.signals)

    def of(population: str) -> list[Record]:
        return [r for r in records if r.population == population]

    def rate(rs, pred) -> float:
        return round(sum(1 for r in rs if pred(r)) / len(rs), 4) if rs else float("nan")

    squad, squad_mh, mh, mh_squad, null = (
        of(p) for p in ("squad", "squad_on_multihop", "multihop", "multihop_on_squad", "multihop_null")
    )
    lat = np.asarray(latency, dtype=float) * 1000 if latency else np.asarray([np.nan])
    return AnswerMetrics(
        retriever=retriever,
        squad_questions=len(squad),
        squad_answer_in_quotes=rate(squad, lambda r: r.in_quotes and not abstained(r)),
        squad_answer_in_first_quote=rate(squad, lambda r: r.in_first and not abstained(r)),
        squad_abstain=rate(squad, abstained),
        squad_on_multihop_questions=len(squad_mh),
        squad_on_multihop_abstain=rate(squad_mh, abstained),
        multihop_on_squad_questions=len(mh_squad),
        multihop_on_squad_abstain=rate(mh_squad, abstained),
        multihop_questions=len(mh),
        multihop_evidence_in_quotes=rate(mh, lambda r: r.in_quotes and not abstained(r)),
        multihop_abstain=rate(mh, abstained),
        multihop_null_questions=len(null),
        multihop_null_abstain=rate(null, abstained),
        near_miss_abstain={
            p: {"questions": len(of(p)), "abstain": rate(of(p), abstained)} for p in NEAR_MISS_POPULATIONS if of(p)
        },
        quotes_checked=sum(r.quotes for r in records),
        fidelity_errors=sum(r.fidelity_errors for r in records),
        latency_ms_p50=round(float(np.percentile(lat, 50)), 1),
        latency_ms_p95=round(float(np.percentile(lat, 95)), 1),
        records=tuple(records),
    )


def measure_latency(
    questions: Sequence[str],
    retriever: Retriever,
    bodies: Mapping[str, str],
    embedder: QueryEncoder,
    now: datetime,
    verifier: SentenceVerifier | None = None,
) -> list[float]:
    """Seconds per answer (retrieval + quotes + decision), one question at a time, after one warm-up."""
    if questions:
        _ask(questions[0], retriever, bodies, embedder, now, verifier)
    timings = []
    for question in questions:
        t0 = time.perf_counter()
        _ask(question, retriever, bodies, embedder, now, verifier)
        timings.append(time.perf_counter() - t0)
    return timings


def _gold_mask(question: SquadQuestion | MultiHopQuestion) -> Mask:
    return without_sentences(lambda sentence: holds_gold(question, sentence))


def near_miss_plan(
    squad_questions: Sequence[SquadQuestion],
    multihop_questions: Sequence[MultiHopQuestion],
    squad_articles: Sequence[Article],
    multihop_articles: Sequence[Article],
    squad_retriever: Retriever,
    multihop_retriever: Retriever,
    limit: int | None,
    seed: int,
    newest: datetime | None,
) -> list[tuple[str, list, Sequence[Article], Retriever]]:
    """The near-miss populations (``scripts.evaluation.near_miss``) made from the answerable questions of a split."""
    rng = random.Random(seed + 13)
    squad_body = {a.id: a.body for a in squad_articles}
    by_url = {a.url: a.body for a in multihop_articles if a.url}
    squad_pool = sorted({n for q in squad_questions for n in names_in(q.question)})
    mh_pool = sorted({n for q in multihop_questions for n in names_in(q.question)})
    squad_swapped = [
        replace(q, question=text)
        for q in _sample(squad_questions, limit, seed + 2)
        if (text := swapped(q.question, squad_body[q.article_id], squad_pool, rng))
    ]
    mh_swapped = [
        replace(q, question=text)
        for q in _sample(multihop_questions, limit, seed + 2)
        if q.evidence_urls
        and (text := swapped(q.question, " ".join(by_url.get(u, "") for u in q.evidence_urls), mh_pool, rng))
    ]
    mh_later = [
        replace(q, question=text)
        for q in multihop_questions
        if newest is not None and (text := later(q.question, newest.year))
    ]
    return [
        ("squad_deleted", _sample(squad_questions, limit, seed + 3), squad_articles, squad_retriever),
        ("multihop_deleted", _sample(multihop_questions, limit, seed + 3), multihop_articles, multihop_retriever),
        ("squad_swapped", squad_swapped, squad_articles, squad_retriever),
        ("multihop_swapped", mh_swapped, multihop_articles, multihop_retriever),
        ("multihop_later", _sample(mh_later, limit, seed + 4), multihop_articles, multihop_retriever),
    ]


def run_answer_evals(
    squad_path: Path,
    multihop_dir: Path,
    *,
    embedder: Encoder,
    limit: int | None = None,
    cache_dir: Path | None = None,
    retriever_factory: RetrieverFactory | None = None,
    retriever_name: str | None = None,
    seed: int = 0,
    now: datetime | None = None,
    memo: MemoEncoder | None = None,
    split: str | Sequence[str] = "held-out",
    verifier: SentenceVerifier | None = None,
    near_misses: bool = True,
) -> AnswerMetrics:
    """Run every answer evaluation; ``limit`` samples that many questions per set (seeded), ``None`` = all.

    ``split`` says which questions are asked: ``held-out`` (the default: those no model was fitted on),
    ``quotes``, ``abstention`` (those the two models were fitted on) or ``all`` (see ``scripts.evaluation.splits``).

    The retriever is the engine's hybrid one unless ``retriever_factory`` says otherwise; ``cache_dir``
    keeps its passage vectors between runs. ``verifier`` is the one the engine answers with (``index.answering.verifier``);
    without it, quotes are chosen and abstention decided as when no verifier is loaded. ``now`` defaults to the
    day after the newest MultiHop-RAG
    article, so that time-aware behaviour is judged as on the day the archive was current.
    """
    factory = retriever_factory or default_retriever_factory(embedder, cache_dir)
    name = retriever_name or ("hybrid" if retriever_factory is None else "custom")
    memo = memo or MemoEncoder(embedder)
    squad_articles, squad_questions = load_squad(squad_path)
    mh_articles, mh_questions = load_multihop(multihop_dir)
    newest = max((d for a in mh_articles if (d := parse_date(a.published_at)) is not None), default=None)
    now = now or (newest + timedelta(days=1) if newest else datetime.now(UTC))
    t0 = time.perf_counter()
    squad_retriever = factory(squad_articles)
    mh_retriever = factory(mh_articles)
    logger.info("retrievers built in %.1fs", time.perf_counter() - t0)

    squad_questions = of_split(squad_questions, split)
    mh_questions = of_split(mh_questions, split)
    answerable = [q for q in mh_questions if q.question_type != "null_query"]
    null = [q for q in mh_questions if q.question_type == "null_query"]
    plan = [
        ("squad", _sample(squad_questions, limit, seed), squad_articles, squad_retriever),
        ("squad_on_multihop", _sample(squad_questions, limit, seed + 1), mh_articles, mh_retriever),
        ("multihop", _sample(answerable, limit, seed), mh_articles, mh_retriever),
        ("multihop_on_squad", _sample(answerable, limit, seed + 1), squad_articles, squad_retriever),
        ("multihop_null", _sample(null, limit, seed), mh_articles, mh_retriever),
    ]
    masks: dict[str, Callable] = {}
    if near_misses:
        plan += near_miss_plan(
            squad_questions, answerable, squad_articles, mh_articles, squad_retriever, mh_retriever, limit, seed, newest
        )
        masks = {p: _gold_mask for p in ("squad_deleted", "multihop_deleted")}
    records: list[Record] = []
    for population, questions, articles, retriever in plan:
        t0 = time.perf_counter()
        records.extend(
            evaluate_questions(
                population,
                questions,
                articles,
                retriever,
                memo,
                now=now,
                verifier=verifier,
                mask_for=masks.get(population),
            )
        )
        logger.info("%s: %d questions in %.1fs", population, len(questions), time.perf_counter() - t0)

    rng = random.Random(seed + 7)
    latency_questions = [q.question for q in rng.sample(answerable, min(LATENCY_QUESTIONS, len(answerable)))]
    bodies = {a.id: a.body for a in mh_articles}
    latency = measure_latency(latency_questions, mh_retriever, bodies, embedder, now, verifier)
    return metrics_from_records(records, retriever=name, latency=latency)
