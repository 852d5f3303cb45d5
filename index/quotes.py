"""Choosing the verbatim sentences that best answer a question from retrieved passages.

Pure apart from the embedder it is handed: hits and article bodies in, quotes out. Every
quote is a span of its article's stored body (``body[start:end] == quote.text``): a
sentence, two or three adjacent sentences of one paragraph, or — for a very long
sentence — the run of its clauses that matches the question, shown with an ellipsis
where text was left out (see ``display_text``).

Each candidate sentence is scored by a weighted sum of three signals: semantic similarity
of question and sentence (cosine of normalised embeddings), coverage of the question's
content words by the sentence (weighted by how rare each word is among the candidates),
and the retrieval rank of the passage it came from. The weights were chosen by grid search
on 300 SQuAD dev and 300 MultiHop-RAG questions (share whose best sentence holds the gold
answer / an evidence fact). A many-part question ("Does A say X, while B says Y?") is also
scored part by part, and each part's best sentence is offered a place among the quotes —
taken from the articles of the outlet that part names, when it names one. Sentences of an
article whose outlet the question names ("the Sporting News article ...") get a bonus, and a
few of them are always embedded. The bonus and the merge ratio were chosen on 500 seeded
SQuAD dev and 500 MultiHop-RAG questions (named 0.3/0.6/1.0, merge ratio 0.5–0.8, 1.0 = no merge);
splitting questions at each named outlet and spreading quotes over articles were tried and lost.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np

from index.chunking import Span, split_sentences
from index.lexical import tokenize
from index.links import text_fragment_link
from index.models import Hit, Quote


class QueryEncoder(Protocol):
    """What quote selection needs of the embedding model: normalised vectors."""

    def encode_query(self, text: str) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class QuoteWeights:
    """How the signals combine into a sentence's score (chosen by grid search on SQuAD + MultiHop-RAG)."""

    similarity: float = 1.0
    overlap: float = 2.0
    retrieval: float = 0.3
    # A neighbouring sentence whose score is at least this share of the best one is merged into the quote.
    merge_ratio: float = 0.6
    # Added to sentences of an article from an outlet the question names.
    named: float = 0.6


DEFAULT_WEIGHTS = QuoteWeights()
MAX_HITS = 10  # retrieved passages whose sentences are considered
RANK_SCALE = 10  # the retrieval signal falls by 1 / RANK_SCALE per rank: 1.0 for the top hit, 0.1 for the tenth
MAX_CANDIDATES = 16  # sentences embedded per question, picked by word overlap and rank (16 vs 40: same quality)
SHORT_SENTENCE_CHARS = 60  # a best sentence shorter than this takes its neighbour along for context
MAX_QUOTE_CHARS = 420  # merged quotes stay under this length
LONG_SENTENCE_CHARS = 420  # a longer sentence is trimmed to its best clauses
TRIMMED_CHARS = 280  # target length of a trimmed sentence

NAMED_CANDIDATES = 4  # extra sentences embedded per outlet the question names
MIN_FACET_TERMS = 3  # a part of a question needs this many content words to be looked for on its own
_FACET_BREAK = re.compile(
    r",\s*(?:and|while|but|whereas)\s+|\s+(?:while|whereas)\s+|;\s+|,\s+(?=as reported by|according to)"
)
_CLAUSE_BREAK = re.compile(r"[,;:]\s+|\s+[—–]\s+|\s+-\s+")
_SENTENCE_END = re.compile(r"""[.!?…]["'”’)\]]*$""")


@dataclass(frozen=True)
class ScoredSentence:
    article_id: str
    start: int
    end: int
    rank: int  # position of the best hit containing it, 0 = top
    similarity: float
    overlap: float
    retrieval: float
    score: float
    facet_scores: tuple[float, ...] = ()  # the same score against each part of a many-part question


@dataclass(frozen=True)
class RankedQuote:
    """A chosen quote and the signals of the sentence it was built around (abstention reads them)."""

    quote: Quote
    sentence: ScoredSentence


def content_terms(text: str) -> list[str]:
    """The question's content words as stems, duplicates removed, in order."""
    return list(dict.fromkeys(tokenize(text)))


def score_sentences(
    question: str,
    hits: Sequence[Hit],
    bodies: Mapping[str, str],
    *,
    embedder: QueryEncoder,
    weights: QuoteWeights = DEFAULT_WEIGHTS,
    article_bonus: Mapping[str, float] | None = None,
) -> list[ScoredSentence]:
    """Every sentence of the top hits' passages with its signals and score, best first."""
    return _score(question, hits, bodies, _article_sentences(hits[:MAX_HITS], bodies), embedder, weights, article_bonus)


def _score(
    question: str,
    hits: Sequence[Hit],
    bodies: Mapping[str, str],
    sentences: Mapping[str, list[Span]],
    embedder: QueryEncoder,
    weights: QuoteWeights,
    article_bonus: Mapping[str, float] | None,
    named: Mapping[str, int] | None = None,
    facets: Sequence[str] | None = None,
) -> list[ScoredSentence]:
    spans = _candidate_spans(hits[:MAX_HITS], sentences)
    if not spans:
        return []
    terms = content_terms(question)
    sentence_terms = [set(tokenize(bodies[a][s:e])) for a, s, e, _ in spans]
    term_weights = _rarity_weights(terms, sentence_terms)
    total = sum(term_weights.values()) or 1.0
    overlaps = [sum(w for t, w in term_weights.items() if t in st) / total for st in sentence_terms]

    # Embed only the most promising sentences: by overlap, then retrieval rank.
    ranked = sorted(range(len(spans)), key=lambda i: (-overlaps[i], spans[i][3], spans[i][1]))
    order = ranked[:MAX_CANDIDATES]
    for position in sorted(set((named or {}).values())):  # each outlet the question names gets its own candidates
        group = [i for i in ranked if (named or {}).get(spans[i][0]) == position]
        order += [i for i in group[:NAMED_CANDIDATES] if i not in order]
    texts = [bodies[spans[i][0]][spans[i][1] : spans[i][2]] for i in order]
    q_vec = np.asarray(embedder.encode_query(question), dtype=np.float32)
    s_vecs = np.asarray(embedder.encode_passages(texts), dtype=np.float32)
    sims = s_vecs @ q_vec
    facets = question_facets(question) if facets is None else facets
    facet_sims = [s_vecs @ np.asarray(embedder.encode_query(f), dtype=np.float32) for f in facets]
    facet_overlaps = []
    for facet in facets:
        fw = {t: term_weights.get(t, 0.0) for t in content_terms(facet)}
        ftotal = sum(fw.values()) or 1.0
        facet_overlaps.append([sum(w for t, w in fw.items() if t in sentence_terms[i]) / ftotal for i in order])

    bonus = article_bonus or {}
    scored = []
    for n, (i, sim) in enumerate(zip(order, sims, strict=True)):
        article_id, start, end, rank = spans[i]
        retrieval = 1.0 - rank / RANK_SCALE
        extra = weights.retrieval * retrieval + bonus.get(article_id, 0.0)
        score = weights.similarity * float(sim) + weights.overlap * overlaps[i] + extra
        per_facet = tuple(
            weights.similarity * float(fs[n]) + weights.overlap * fo[n] + extra
            for fs, fo in zip(facet_sims, facet_overlaps, strict=True)
        )
        scored.append(
            ScoredSentence(article_id, start, end, rank, float(sim), overlaps[i], retrieval, score, per_facet)
        )
    scored.sort(key=lambda s: -s.score)
    return scored


def rank_quotes(
    question: str,
    hits: Sequence[Hit],
    bodies: Mapping[str, str],
    *,
    embedder: QueryEncoder,
    max_quotes: int = 3,
    max_articles: int = 3,
    weights: QuoteWeights = DEFAULT_WEIGHTS,
    article_bonus: Mapping[str, float] | None = None,
) -> list[RankedQuote]:
    """The best quotes with the signals behind them, best first (see ``select_quotes``)."""
    sentences = _article_sentences(hits[:MAX_HITS], bodies)
    named = named_articles(question, hits[:MAX_HITS])
    bonus = dict(article_bonus or {})
    for article_id in named:
        bonus[article_id] = bonus.get(article_id, 0.0) + weights.named
    facets = question_facets(question)
    scored = _score(question, hits, bodies, sentences, embedder, weights, bonus, named, facets)
    by_start = {(s.article_id, s.start): s for s in scored}
    hit_of = {}
    for hit in hits:
        hit_of.setdefault(hit.article_id, hit)
    terms = set(content_terms(question))

    chosen: list[RankedQuote] = []
    taken: dict[str, list[tuple[int, int]]] = {}
    shown: set[str] = set()
    for sentence in _pick_order(scored, named, facets, question):
        if len(chosen) >= max_quotes:
            break
        article_id = sentence.article_id
        if article_id not in taken and len(taken) >= max_articles:
            continue
        body = bodies[article_id]
        start, end = _grow(body, sentences[article_id], sentence, by_start, weights.merge_ratio)
        start, end = _trim(body, start, end, terms)
        if any(start < e and s < end for s, e in taken.get(article_id, ())):
            continue
        key = " ".join(body[start:end].lower().split())
        if key in shown:  # the same sentence syndicated in another article
            continue
        shown.add(key)
        taken.setdefault(article_id, []).append((start, end))
        chosen.append(RankedQuote(_quote(hit_of[article_id], body, start, end, sentence.score), sentence))
    chosen.sort(key=lambda r: -r.quote.score)
    return chosen


def select_quotes(
    question: str,
    hits: Sequence[Hit],
    bodies: Mapping[str, str],
    *,
    embedder: QueryEncoder,
    max_quotes: int = 3,
    max_articles: int = 3,
) -> list[Quote]:
    """Up to ``max_quotes`` verbatim quotes from at most ``max_articles`` articles, best answer first.

    ``bodies`` maps article id to the stored body the hits' offsets refer to.
    """
    ranked = rank_quotes(question, hits, bodies, embedder=embedder, max_quotes=max_quotes, max_articles=max_articles)
    return [r.quote for r in ranked]


def question_facets(question: str) -> list[str]:
    """The parts of a many-part question ("Does A report X, while B says Y?"), or none for a simple one."""
    parts = [p for p in _FACET_BREAK.split(question) if p and len(content_terms(p)) >= MIN_FACET_TERMS]
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


def _pick_order(
    scored: Sequence[ScoredSentence], named: Mapping[str, int], facets: Sequence[str], question: str
) -> list[ScoredSentence]:
    """Candidates in the order they are considered: the overall best, each part's best (from the outlet that part
    names, if any), then the rest by score."""
    if not scored:
        return []
    picks = [scored[0]]
    starts = [question.find(f) for f in facets]
    for f, start in enumerate(starts):
        end = start + len(facets[f])
        pool = [s for s in scored if start <= named.get(s.article_id, -1) < end] or list(scored)
        best = max(pool, key=lambda s: s.facet_scores[f])
        if best not in picks:
            picks.append(best)
    return picks + [s for s in scored if s not in picks]


def display_text(quote: Quote) -> str:
    """The quote as shown between quotation marks: ``…`` marks where a trimmed sentence continues."""
    text = quote.text
    lead = "…" if text[:1].islower() else ""
    tail = "…" if text[-1:].isalnum() and not _SENTENCE_END.search(text) else ""
    return f"{lead}{text}{tail}"


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


def _grow(
    body: str, sentences: Sequence[Span], best: ScoredSentence, by_start: Mapping, merge_ratio: float
) -> tuple[int, int]:
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
        strong = neighbour is not None and neighbour.score >= merge_ratio * best.score
        needed = step == 1 and best.end - best.start < SHORT_SENTENCE_CHARS
        new_lo, new_hi = min(lo, j), max(hi, j)
        if (strong or needed) and sentences[new_hi].end - sentences[new_lo].start <= MAX_QUOTE_CHARS:
            lo, hi = new_lo, new_hi
    return sentences[lo].start, sentences[hi].end


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
