"""Choosing the verbatim sentences that best answer a question from retrieved passages.

Pure apart from the embedder it is handed: hits and article bodies in, quotes out. Every
quote is a span of its article's stored body (``body[start:end] == quote.text``): a
sentence, two or three adjacent sentences of one paragraph, or — for a very long
sentence — the run of its clauses that matches the question, shown with an ellipsis
where text was left out (see ``index.present.display_text``).

The sentences of the top passages are first narrowed to the ``MAX_CANDIDATES`` that share
the most (rarity-weighted) words with the question, plus a few from each article whose
outlet the question names. Each is then described by the features in ``FEATURES`` —
similarity to the whole question and to its best-matching clause, word overlap, the rank
and score of its passage, its length and place in the article, whether it holds a number
or a new name when the question asks for one — and a gradient-boosted tree ensemble
(``quote_model.json``, evaluated by ``index.answering.trees``) turns them into the probability
that the sentence holds the answer; a second ensemble over the same features tells the
abstention decision whether any sentence answers at all (see ``QuoteModels``). Both are
fitted by ``scripts/fit_quote_model.py`` on the ``quotes`` split of SQuAD dev and
MultiHop-RAG questions (``scripts.evaluation.splits``) and measured on the held-out split;
re-fit them when the embedder, the retriever, the chunking or the features change.
When the caller passes a verifier (``index.answering.verifier``, a cross-encoder that reads question
and sentence together), it re-reads the ``VERIFIED_SENTENCES`` best, adds ``VERIFIER_WEIGHT``
times its log-odds to their scores, and its verdicts go on to the abstention decision.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from index.answering.links import text_fragment_link
from index.answering.trees import TreeEnsemble, check_about, model_file_error
from index.answering.verifier import SentenceVerifier
from index.models import Hit, Quote
from index.retrieval.lexical import tokenize
from index.text.chunking import Span, split_sentences

MODEL_PATH = Path(__file__).with_name("quote_model.json")


class QueryEncoder(Protocol):
    """What quote selection needs of the embedding model: normalised vectors."""

    def encode_query(self, text: str) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...


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
# Log-odds added to sentences of an article whose outlet the question names: a reader who asks what "the Sporting
# News article" said expects its words first. Neutral on held-out MultiHop-RAG (top-3 0.821 -> 0.825).
NAMED_BONUS = 1.0
MERGE_PROBABILITY = 0.02  # a neighbour at least this likely to answer is merged into the quote
SHORT_SENTENCE_CHARS = 60  # a best sentence shorter than this takes its neighbour along for context
MAX_QUOTE_CHARS = 420  # merged quotes stay under this length
LONG_SENTENCE_CHARS = 420  # a longer sentence is trimmed to its best clauses
TRIMMED_CHARS = 280  # target length of a trimmed sentence
POSITION_CAP = 20
VERIFIED_SENTENCES = 5  # best-ranked sentences the verifier reads, when there is one
# Share of the verifier's log-odds added to the ranker's, chosen with the first-pass verifier: on held-out questions
# of fit_verifier.py's rows, the top sentence held the answer for 0.709 of SQuAD and 0.732 of MultiHop-RAG questions
# (0.691 / 0.691 without; 0.721 / 0.747 at 1.0, but the top 3 gained most at 0.5: 0.851 -> 0.858 and 0.820 -> 0.836).
# The shipped two-pass verifier at 0.5: top sentence 0.716 / 0.751.
VERIFIER_WEIGHT = 0.5

_CLAUSE_BREAK_IN_QUESTION = re.compile(
    r",\s*|;\s*|\?|\s+(?:and|while|but|whereas|as reported by|according to|as well as)\s+", re.IGNORECASE
)
MIN_CLAUSE_TERMS = 2  # a clause of the question needs this many content words to be matched on its own
_NUMBER_ASKED = re.compile(
    r"\b(?:how (?:many|much|long|old|far|often)|what (?:year|percentage|percent|age)|when)\b", re.I
)
_NAME_ASKED = re.compile(r"\b(?:who|whom|whose|where|which)\b", re.I)
_NAME_WORD = r"(?:[A-Z][\w'’.&-]*\w|\d[\d,.:]*\d|\d)"
_NAME = re.compile(rf"\b{_NAME_WORD}(?:\s+{_NAME_WORD})*")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+")
_DIGIT = re.compile(r"\d")
_CLAUSE_BREAK = re.compile(r"[,;:]\s+|\s+[—–]\s+|\s+-\s+")


@dataclass(frozen=True)
class ScoredSentence:
    article_id: str
    start: int
    end: int
    rank: int  # position of the best hit containing it, 0 = top
    similarity: float
    overlap: float
    probability: float  # the ranker's probability that the sentence is the one that answers
    answerability: float  # the answerability model's log-odds that the sentence answers the question at all
    score: float  # the ranker's log-odds plus any bonus the caller gave the article (and the verifier's share)
    verified: float | None = (
        None  # the verifier's log-odds that it answers (``index.answering.verifier``), if it read it
    )


@dataclass(frozen=True)
class RankedQuote:
    """A chosen quote and the signals of the sentence it was built around (abstention reads them)."""

    quote: Quote
    sentence: ScoredSentence


@dataclass(frozen=True)
class QuoteModels:
    """The two ensembles of ``quote_model.json``, both over ``FEATURES``.

    ``ranker`` orders a question's candidates (fitted on answerable questions only); ``answerability``
    says whether a sentence answers at all (fitted with questions asked of the wrong archive as
    negatives too, so its verdict means the same from question to question; abstention reads it).
    """

    ranker: TreeEnsemble
    answerability: TreeEnsemble


def load_quote_models(path: Path) -> QuoteModels:
    """The two ensembles of a quote model file; ``ModelFileError`` when it is unreadable, lacks its ``about`` block
    or was fitted on other features."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise model_file_error(path, "cannot be read", exc) from exc
    if not isinstance(data, dict):
        raise model_file_error(path, "does not hold quote models")
    check_about(data.get("about"), path)
    missing = [name for name in ("ranker", "answerability") if name not in data]
    if missing:
        raise model_file_error(path, f"lacks the {' and '.join(missing)} model")
    try:
        models = QuoteModels(TreeEnsemble.from_dict(data["ranker"]), TreeEnsemble.from_dict(data["answerability"]))
    except (ValueError, TypeError, KeyError, IndexError) as exc:  # ModelFileError is a ValueError
        raise model_file_error(path, "holds a damaged model", exc) from exc
    if models.ranker.features != FEATURES or models.answerability.features != FEATURES:
        raise model_file_error(path, "was fitted on other features than the code computes")
    return models


@cache
def quote_models() -> QuoteModels:
    """The shipped quote models (``MODEL_PATH``), read once."""
    return load_quote_models(MODEL_PATH)


def content_terms(text: str) -> list[str]:
    """The question's content words as stems, duplicates removed, in order."""
    return list(dict.fromkeys(tokenize(text)))


@dataclass(frozen=True)
class Candidates:
    """The sentences considered for one question and their features (rows in ``FEATURES`` order)."""

    spans: tuple[tuple[str, int, int, int], ...]  # (article id, start, end, rank of its best hit)
    similarity: np.ndarray
    overlap: np.ndarray
    features: np.ndarray


def candidate_features(
    question: str, hits: Sequence[Hit], bodies: Mapping[str, str], *, embedder: QueryEncoder
) -> Candidates:
    """The candidate sentences of the top hits' passages and the features the quote model reads."""
    hits = hits[:MAX_HITS]
    sentences = _article_sentences(hits, bodies)
    return _candidates(question, hits, bodies, sentences, named_articles(question, hits), embedder)


def _candidates(
    question: str,
    hits: Sequence[Hit],
    bodies: Mapping[str, str],
    sentences: Mapping[str, list[Span]],
    named: Mapping[str, int],
    embedder: QueryEncoder,
) -> Candidates:
    spans = _candidate_spans(hits, sentences)
    if not spans:
        empty = np.zeros(0)
        return Candidates((), empty, empty, np.zeros((0, len(FEATURES))))
    terms = content_terms(question)
    sentence_terms = [set(tokenize(bodies[a][s:e])) for a, s, e, _ in spans]
    term_weights = _rarity_weights(terms, sentence_terms)
    total = sum(term_weights.values()) or 1.0
    overlaps = [sum(w for t, w in term_weights.items() if t in st) / total for st in sentence_terms]

    # Embed only the most promising sentences: by overlap, then retrieval rank; and a few of each named outlet.
    ranked = sorted(range(len(spans)), key=lambda i: (-overlaps[i], spans[i][3], spans[i][1]))
    order = ranked[:MAX_CANDIDATES]
    for position in sorted(set(named.values())):
        group = [i for i in ranked if named.get(spans[i][0]) == position]
        order += [i for i in group[:NAMED_CANDIDATES] if i not in order]
    chosen = [spans[i] for i in order]
    texts = [bodies[a][s:e] for a, s, e, _ in chosen]

    clauses = question_clauses(question)
    q_vec = np.asarray(embedder.encode_query(question), dtype=np.float32)
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
    coverage, names = passage_support(question, hits)
    index_of = {(a, sp.start): k for a, spans_ in sentences.items() for k, sp in enumerate(spans_)}
    sim_of = {(a, s): float(sim) for (a, s, _, _), sim in zip(chosen, sims, strict=True)}
    asks_number = bool(_NUMBER_ASKED.search(question))
    asks_name = bool(_NAME_ASKED.search(question))
    capitalised_in_question = {w.lower() for w in _CAPITALISED.findall(question)}
    rows = []
    for n, (article_id, start, end, rank) in enumerate(chosen):
        k = index_of[(article_id, start)]
        article = sentences[article_id]
        neighbours = [article[j].start for j in (k - 1, k + 1) if 0 <= j < len(article)]
        new_names = sum(1 for w in _CAPITALISED.findall(texts[n]) if w.lower() not in capitalised_in_question)
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
                1.0 if asks_number and _DIGIT.search(texts[n]) else 0.0,
                min(new_names, 5) / 5 if asks_name else 0.0,
                float(clause_sims[n].max()),
                float(clause_overlaps[n].max()),
                float((clause_sims[n] - clause_sims.max(axis=0)).max()),
                float(sims[n] - sims.max()),
                math.log1p(len(terms)),
                coverage,
                names,
                hits[0].score,
            )
        )
    return Candidates(tuple(chosen), sims.astype(float), overlap, np.array(rows, dtype=np.float64))


def _score(
    question: str,
    hits: Sequence[Hit],
    bodies: Mapping[str, str],
    sentences: Mapping[str, list[Span]],
    embedder: QueryEncoder,
    article_bonus: Mapping[str, float] | None,
    verifier: SentenceVerifier | None = None,
) -> list[ScoredSentence]:
    """The candidate sentences with both models' verdicts, best first; ``article_bonus`` (e.g. for newer
    articles) and ``NAMED_BONUS`` are added to the ranker's log-odds of every sentence of their article. A
    ``verifier`` reads the ``VERIFIED_SENTENCES`` best with the question and adds its share to their scores."""
    named = named_articles(question, hits)
    candidates = _candidates(question, hits, bodies, sentences, named, embedder)
    if not candidates.spans:
        return []
    models = quote_models()
    margins = models.ranker.margin(candidates.features)
    answerability = models.answerability.margin(candidates.features)
    bonus = dict(article_bonus or {})
    for article_id in named:
        bonus[article_id] = bonus.get(article_id, 0.0) + NAMED_BONUS
    scored = [
        ScoredSentence(
            article_id,
            start,
            end,
            rank,
            float(candidates.similarity[n]),
            float(candidates.overlap[n]),
            float(1.0 / (1.0 + math.exp(-margins[n]))),
            float(answerability[n]),
            float(margins[n]) + bonus.get(article_id, 0.0),
        )
        for n, (article_id, start, end, rank) in enumerate(candidates.spans)
    ]
    scored.sort(key=lambda s: -s.score)
    if verifier is not None:
        top = scored[:VERIFIED_SENTENCES]
        verdicts = verifier.verify(question, [bodies[s.article_id][s.start : s.end] for s in top])
        top = [
            replace(s, verified=float(v), score=s.score + VERIFIER_WEIGHT * float(v))
            for s, v in zip(top, verdicts, strict=True)
        ]
        scored = sorted(top, key=lambda s: -s.score) + scored[VERIFIED_SENTENCES:]
    return scored


def rank_quotes(
    question: str,
    hits: Sequence[Hit],
    bodies: Mapping[str, str],
    *,
    embedder: QueryEncoder,
    max_quotes: int = 3,
    max_articles: int = 3,
    article_bonus: Mapping[str, float] | None = None,
    verifier: SentenceVerifier | None = None,
) -> list[RankedQuote]:
    """The best quotes with the signals behind them, best first (see ``select_quotes``)."""
    hits = hits[:MAX_HITS]
    sentences = _article_sentences(hits, bodies)
    scored = _score(question, hits, bodies, sentences, embedder, article_bonus, verifier)
    by_start = {(s.article_id, s.start): s for s in scored}
    hit_of = {}
    for hit in hits:
        hit_of.setdefault(hit.article_id, hit)
    terms = set(content_terms(question))

    chosen: list[RankedQuote] = []
    taken: dict[str, list[tuple[int, int]]] = {}
    shown: set[str] = set()
    for sentence in scored:
        if len(chosen) >= max_quotes:
            break
        article_id = sentence.article_id
        if article_id not in taken and len(taken) >= max_articles:
            continue
        body = bodies[article_id]
        start, end = _trim(body, *_grow(body, sentences[article_id], sentence, by_start), terms)
        if _overlaps(start, end, taken.get(article_id, ())):  # grown into a quote already shown: the sentence alone
            start, end = _trim(body, sentence.start, sentence.end, terms)
            if _overlaps(start, end, taken.get(article_id, ())):
                continue
        key = " ".join(body[start:end].lower().split())
        if key in shown:  # the same sentence syndicated in another article
            continue
        shown.add(key)
        taken.setdefault(article_id, []).append((start, end))
        chosen.append(RankedQuote(_quote(hit_of[article_id], body, start, end, sentence.score), sentence))
    return chosen


def select_quotes(
    question: str,
    hits: Sequence[Hit],
    bodies: Mapping[str, str],
    *,
    embedder: QueryEncoder,
    max_quotes: int = 3,
    max_articles: int = 3,
    verifier: SentenceVerifier | None = None,
) -> list[Quote]:
    """Up to ``max_quotes`` verbatim quotes from at most ``max_articles`` articles, best answer first.

    ``bodies`` maps article id to the stored body the hits' offsets refer to.
    """
    ranked = rank_quotes(
        question, hits, bodies, embedder=embedder, max_quotes=max_quotes, max_articles=max_articles, verifier=verifier
    )
    return [r.quote for r in ranked]


def question_names(question: str) -> list[str]:
    """The names and numbers a question mentions ("Super Bowl 50", "Broncos"), lower-cased, opening word left out."""
    names = []
    for match in _NAME.finditer(question.strip()):
        words = match.group().split()
        if match.start() == 0:
            words = words[1:]
        if words:
            names.append(" ".join(words).lower())
    return names


def passage_support(question: str, hits: Sequence[Hit]) -> tuple[float, float]:
    """How much of the question the top passages mention: the share of its content words, and of its names."""
    terms = set(content_terms(question))
    found: set[str] = set()
    for hit in hits[:MAX_HITS]:
        found.update(tokenize(hit.title + " " + hit.text))
    coverage = len(terms & found) / len(terms) if terms else 0.0
    names = question_names(question)
    passages = " ".join(" ".join((hit.title + " " + hit.text).split()) for hit in hits[:MAX_HITS]).lower()
    named = sum(1 for name in names if name in passages) / len(names) if names else 1.0
    return coverage, named


def question_clauses(question: str) -> list[str]:
    """The clauses of a many-part question ("Which company, reported by A, was accused of X and Y?"),
    or none for a simple one."""
    parts = [p.strip() for p in _CLAUSE_BREAK_IN_QUESTION.split(question)]
    parts = [p for p in parts if p and len(content_terms(p)) >= MIN_CLAUSE_TERMS]
    return parts if len(parts) > 1 else []


def named_articles(question: str, hits: Sequence[Hit]) -> dict[str, int]:
    """Articles whose outlet the question names ("the TechCrunch article ..."): id -> where the name appears.

    An outlet is matched by its full name or the part before a `` | `` or `` - `` tagline
    ("Cnbc | World Business News Leader" is named by "CNBC"); when the question also gives a
    publication date ("published on October 1, 2023"), only that outlet's articles of that date count.
    """
    lowered = question.lower()
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
            for m in re.finditer(rf"\b{re.escape(name)}\b", question, re.IGNORECASE)
            if m.group()[0].isupper()  # "The Age", not "the age"
        ]
        if positions:
            found[article_id] = min(positions)
    dated_sources = {first_hit[a].source for a in found if _date_named(lowered, first_hit[a])}
    return {
        a: p for a, p in found.items() if first_hit[a].source not in dated_sources or _date_named(lowered, first_hit[a])
    }


def _date_named(lowered_question: str, hit: Hit) -> bool:
    """Whether the question names the hit's publication day ("October 1, 2023")."""
    if not hit.published_at or len(hit.published_at) < 10:
        return False
    try:
        day = datetime.fromisoformat(hit.published_at[:10])
    except ValueError:
        return False
    return f"{day:%B} {day.day}, {day.year}".lower() in lowered_question


def _article_sentences(hits: Sequence[Hit], bodies: Mapping[str, str]) -> dict[str, list[Span]]:
    """Sentence spans of every hit's article body that ``bodies`` knows."""
    return {h.article_id: split_sentences(bodies[h.article_id]) for h in hits if h.article_id in bodies}


def _candidate_spans(hits: Sequence[Hit], sentences: Mapping[str, list[Span]]) -> list[tuple[str, int, int, int]]:
    """(article id, start, end, rank) of each distinct sentence overlapping a hit's passage."""
    seen: set[tuple[str, int]] = set()
    spans: list[tuple[str, int, int, int]] = []
    for rank, hit in enumerate(hits):
        for sentence in sentences.get(hit.article_id, ()):
            if sentence.end <= hit.start or sentence.start >= hit.end or (hit.article_id, sentence.start) in seen:
                continue
            seen.add((hit.article_id, sentence.start))
            spans.append((hit.article_id, sentence.start, sentence.end, rank))
    return spans


def _rarity_weights(terms: Sequence[str], sentence_terms: Sequence[set[str]]) -> dict[str, float]:
    """Weight of each question term: rarer among the candidate sentences counts more (smoothed IDF)."""
    n = len(sentence_terms)
    weights = {}
    for term in terms:
        df = sum(1 for st in sentence_terms if term in st)
        weights[term] = math.log(1.0 + (n + 1) / (df + 1))
    return weights


def _grow(body: str, sentences: Sequence[Span], best: ScoredSentence, by_start: Mapping) -> tuple[int, int]:
    """Merge adjacent sentences of the same paragraph that also answer (or that a very short best needs)."""
    index = next(i for i, s in enumerate(sentences) if s.start == best.start)
    lo = hi = index
    for step in (1, -1):
        j = index + step
        if not 0 <= j < len(sentences):
            continue
        gap = body[sentences[min(j, index)].end : sentences[max(j, index)].start]
        if "\n" in gap:
            continue
        neighbour = by_start.get((best.article_id, sentences[j].start))
        strong = neighbour is not None and neighbour.probability >= MERGE_PROBABILITY
        needed = step == 1 and best.end - best.start < SHORT_SENTENCE_CHARS
        new_lo, new_hi = min(lo, j), max(hi, j)
        if (strong or needed) and sentences[new_hi].end - sentences[new_lo].start <= MAX_QUOTE_CHARS:
            lo, hi = new_lo, new_hi
    return sentences[lo].start, sentences[hi].end


def _overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def _trim(body: str, start: int, end: int, terms: set[str]) -> tuple[int, int]:
    """A sentence longer than ``LONG_SENTENCE_CHARS`` cut to the run of clauses that best covers the question."""
    if end - start <= LONG_SENTENCE_CHARS:
        return start, end
    text = body[start:end]
    cuts = [0] + [m.end() for m in _CLAUSE_BREAK.finditer(text)] + [len(text)]
    best, best_key = (start, end), None
    for i in range(len(cuts) - 1):
        for j in range(i + 1, len(cuts)):
            if cuts[j] - cuts[i] > TRIMMED_CHARS and j > i + 1:
                break
            piece = text[cuts[i] : cuts[j]]
            covered = len(terms & set(tokenize(piece)))
            key = (covered, cuts[j] - cuts[i])  # most question words, then the most context within budget
            if best_key is None or key > best_key:
                best, best_key = (start + cuts[i], start + cuts[j]), key
    s, e = best
    while e > s and (body[e - 1].isspace() or body[e - 1] in ",;:—–-"):
        e -= 1
    return s, e


def _quote(hit: Hit, body: str, start: int, end: int, score: float) -> Quote:
    text = body[start:end]
    link = text_fragment_link(hit.url, text) if hit.url else None
    return Quote(
        text=text,
        article_id=hit.article_id,
        start=start,
        end=end,
        title=hit.title,
        url=hit.url,
        source=hit.source,
        author=hit.author,
        published_at=hit.published_at,
        link=link,
        score=score,
    )
