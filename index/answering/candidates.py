"""The sentences considered as quotes for a question, and the features the quote models read.

The sentences of the top passages are narrowed to the ``MAX_CANDIDATES`` that share the most
(rarity-weighted) words with the question, plus a few from each article whose outlet the
question names. Each is then described by the features in ``FEATURES`` — similarity to the
whole question and to its best-matching clause, word overlap, the rank and score of its
passage, its length and place in the article, whether it holds a number or a new name when the
question asks for one. The quote models (``index.answering.ranker``) were fitted on exactly these
values: changing how any of them is computed means re-fitting (``scripts/fit_quote_model.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

import numpy as np

from index.models import Hit
from index.question import Question, as_question, content_terms
from index.retrieval.lexical import tokenize
from index.text.chunking import Span, split_sentences

FEATURES = (
    "similarity",  # cosine of question and sentence
    "overlap",  # rarity-weighted share of the question's content words in the sentence
    "retrieval",  # 1.0 for a sentence of the top hit, falling by 0.1 per rank
    "hit_score",  # its passage's retrieval score over the top hit's
    "named",  # 1.0 when the question names the article's outlet
    "length",  # log of the sentence's length in characters
    "position",  # sentence index in the article, capped at 20, over 20
    "neighbour",  # best similarity of an adjacent candidate sentence
    "number_asked",  # the question asks how many / when / ... and the sentence holds a digit
    "name_asked",  # the question asks who / where / which, times the share of new capitalised words
    "clause_similarity",  # best cosine with one clause of the question
    "clause_overlap",  # best share of one clause's content words in the sentence
    "clause_gap",  # best (clause similarity - that clause's best similarity among the candidates)
    "similarity_gap",  # similarity - best similarity among the candidates
    "question_terms",  # log(1 + number of the question's content words)
    "coverage",  # share of the question's content words found anywhere in the top passages
    "names",  # share of the question's names and numbers ("Super Bowl 50") found there
    "top_score",  # the top passage's retrieval score
)
MAX_HITS = 10  # retrieved passages whose sentences are considered
RANK_SCALE = 10  # the retrieval signal falls by 1 / RANK_SCALE per rank: 1.0 for the top hit, 0.1 for the tenth
MAX_CANDIDATES = 40  # sentences embedded and scored per question, picked by word overlap and rank
NAMED_CANDIDATES = 4  # extra sentences embedded per outlet the question names
POSITION_CAP = 20

_CAPITALISED = re.compile(r"\b[A-Z][a-z]+")
_DIGIT = re.compile(r"\d")


class QueryEncoder(Protocol):
    """What quote selection needs of the embedding model: normalised vectors."""

    def encode_query(self, text: str) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceSpan(NamedTuple):
    """A sentence of an article body, ``body[start:end]``, and the rank of the best hit that holds it (0 = top)."""

    article_id: str
    start: int
    end: int
    rank: int


class Support(NamedTuple):
    """How much of the question the top passages mention (see ``passage_support``)."""

    coverage: float  # share of its content words
    names: float  # share of its names and numbers


@dataclass(frozen=True)
class Candidates:
    """The sentences considered for one question and their features (rows in ``FEATURES`` order)."""

    spans: tuple[SentenceSpan, ...]
    sentences: Mapping[str, list[Span]]  # the sentences of every article with a hit, for growing quotes
    similarity: np.ndarray
    overlap: np.ndarray
    features: np.ndarray


def passage_support(question: str | Question, hits: Sequence[Hit]) -> Support:
    """How much of the question the top passages mention: the share of its content words, and of its names."""
    question = as_question(question)
    terms = set(question.terms)
    found: set[str] = set()
    for hit in hits[:MAX_HITS]:
        found.update(tokenize(hit.title + " " + hit.text))
    coverage = len(terms & found) / len(terms) if terms else 0.0
    names = question.names
    passages = " ".join(" ".join((hit.title + " " + hit.text).split()) for hit in hits[:MAX_HITS]).lower()
    named = sum(1 for name in names if name in passages) / len(names) if names else 1.0
    return Support(coverage, named)


def named_articles(question: str | Question, hits: Sequence[Hit]) -> dict[str, int]:
    """Articles whose outlet the question names ("the TechCrunch article ..."): id -> where the name appears.

    An outlet is matched by its full name or the part before a `` | `` or `` - `` tagline
    ("Cnbc | World Business News Leader" is named by "CNBC"); when the question also gives a
    publication day ("published on October 1, 2023"), only that outlet's articles of that day count.
    """
    question = as_question(question)
    first_hit: dict[str, Hit] = {}
    for hit in hits:
        first_hit.setdefault(hit.article_id, hit)
    found: dict[str, int] = {}
    for article_id, hit in first_hit.items():
        if not hit.source:
            continue
        names = {hit.source, re.split(r"\s+[|-]\s+", hit.source)[0]}
        positions = [
            m.start()
            for name in names
            if len(name) > 2
            for m in re.finditer(rf"\b{re.escape(name)}\b", question.query, re.IGNORECASE)
            if m.group()[0].isupper()  # "The Age", not "the age"
        ]
        if positions:
            found[article_id] = min(positions)
    days = {day.isoformat() for day in question.days}
    dated_sources = {first_hit[a].source for a in found if _day_of(first_hit[a]) in days}
    return {a: p for a, p in found.items() if first_hit[a].source not in dated_sources or _day_of(first_hit[a]) in days}


def candidate_features(
    question: str | Question,
    hits: Sequence[Hit],
    bodies: Mapping[str, str],
    *,
    embedder: QueryEncoder,
    support: Support | None = None,
    named: Mapping[str, int] | None = None,
) -> Candidates:
    """The candidate sentences of the top hits' passages and the features the quote model reads.

    ``support`` (``passage_support``) and ``named`` (``named_articles``) are computed when not given.
    """
    question = as_question(question)
    hits = hits[:MAX_HITS]
    sentences = article_sentences(hits, bodies)
    spans = _candidate_spans(hits, sentences)
    if not spans:
        empty = np.zeros(0)
        return Candidates((), sentences, empty, empty, np.zeros((0, len(FEATURES))))
    named = named_articles(question, hits) if named is None else named
    support = passage_support(question, hits) if support is None else support
    terms = question.terms
    sentence_terms = [set(tokenize(bodies[s.article_id][s.start : s.end])) for s in spans]
    term_weights = _rarity_weights(terms, sentence_terms)
    total = sum(term_weights.values()) or 1.0
    overlaps = [sum(w for t, w in term_weights.items() if t in st) / total for st in sentence_terms]

    # Embed only the most promising sentences: by overlap, then retrieval rank; and a few of each named outlet.
    ranked = sorted(range(len(spans)), key=lambda i: (-overlaps[i], spans[i].rank, spans[i].start))
    order = ranked[:MAX_CANDIDATES]
    for position in sorted(set(named.values())):
        group = [i for i in ranked if named.get(spans[i].article_id) == position]
        order += [i for i in group[:NAMED_CANDIDATES] if i not in order]
    chosen = [spans[i] for i in order]
    texts = [bodies[s.article_id][s.start : s.end] for s in chosen]

    clauses = list(question.clauses)
    q_vec = np.asarray(embedder.encode_query(question.query), dtype=np.float32)
    # The clauses go along with the sentences in one batch (all-MiniLM-L6-v2 embeds queries and passages alike).
    vectors = np.asarray(embedder.encode_passages([*texts, *clauses]), dtype=np.float32)
    s_vecs, c_vecs = vectors[: len(texts)], vectors[len(texts) :]
    sims = s_vecs @ q_vec
    overlap = np.array([overlaps[i] for i in order])
    clause_sets = [set(content_terms(c)) for c in clauses] or [set(terms)]
    clause_sims = (s_vecs @ c_vecs.T) if clauses else sims[:, None]
    clause_overlaps = np.array(
        [[len(ct & sentence_terms[i]) / len(ct) if ct else 0.0 for ct in clause_sets] for i in order]
    )

    top_score = hits[0].score or 1.0
    index_of = {(a, sp.start): k for a, spans_ in sentences.items() for k, sp in enumerate(spans_)}
    sim_of = {(s.article_id, s.start): float(sim) for s, sim in zip(chosen, sims, strict=True)}
    rows = []
    for n, (article_id, start, end, rank) in enumerate(chosen):
        k = index_of[(article_id, start)]
        article = sentences[article_id]
        neighbours = [article[j].start for j in (k - 1, k + 1) if 0 <= j < len(article)]
        new_names = sum(1 for w in _CAPITALISED.findall(texts[n]) if w.lower() not in question.capitalised)
        rows.append(
            (
                float(sims[n]),
                float(overlap[n]),
                1.0 - rank / RANK_SCALE,
                hits[rank].score / top_score,
                1.0 if article_id in named else 0.0,
                math.log(max(1, end - start)),
                min(k, POSITION_CAP) / POSITION_CAP,
                max((sim_of.get((article_id, j), 0.0) for j in neighbours), default=0.0),
                1.0 if question.asks_number and _DIGIT.search(texts[n]) else 0.0,
                min(new_names, 5) / 5 if question.asks_name else 0.0,
                float(clause_sims[n].max()),
                float(clause_overlaps[n].max()),
                float((clause_sims[n] - clause_sims.max(axis=0)).max()),
                float(sims[n] - sims.max()),
                math.log1p(len(terms)),
                support.coverage,
                support.names,
                hits[0].score,
            )
        )
    return Candidates(tuple(chosen), sentences, sims.astype(float), overlap, np.array(rows, dtype=np.float64))


def article_sentences(hits: Sequence[Hit], bodies: Mapping[str, str]) -> dict[str, list[Span]]:
    """Sentence spans of every hit's article body that ``bodies`` knows."""
    return {h.article_id: split_sentences(bodies[h.article_id]) for h in hits if h.article_id in bodies}


def _candidate_spans(hits: Sequence[Hit], sentences: Mapping[str, list[Span]]) -> list[SentenceSpan]:
    """Each distinct sentence overlapping a hit's passage, with the rank of the first such hit."""
    seen: set[tuple[str, int]] = set()
    spans: list[SentenceSpan] = []
    for rank, hit in enumerate(hits):
        for sentence in sentences.get(hit.article_id, ()):
            if sentence.end <= hit.start or sentence.start >= hit.end or (hit.article_id, sentence.start) in seen:
                continue
            seen.add((hit.article_id, sentence.start))
            spans.append(SentenceSpan(hit.article_id, sentence.start, sentence.end, rank))
    return spans


def _rarity_weights(terms: Sequence[str], sentence_terms: Sequence[set[str]]) -> dict[str, float]:
    """Weight of each question term: rarer among the candidate sentences counts more (smoothed IDF)."""
    n = len(sentence_terms)
    weights = {}
    for term in terms:
        df = sum(1 for st in sentence_terms if term in st)
        weights[term] = math.log(1.0 + (n + 1) / (df + 1))
    return weights


def _day_of(hit: Hit) -> str | None:
    """The hit's publication day as ``YYYY-MM-DD``, if its date reads as one."""
    if not hit.published_at or len(hit.published_at) < 10:
        return None
    try:
        return datetime.fromisoformat(hit.published_at[:10]).date().isoformat()
    except ValueError:
        return None
