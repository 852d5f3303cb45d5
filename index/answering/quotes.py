"""Choosing the verbatim sentences that best answer a question from retrieved passages.

Pure apart from the embedder and verifier it is handed: a ``Question``, hits and article bodies in,
quotes out. Every quote is a span of its article's stored body (``body[start:end] == quote.text``).
The pipeline, one module per step: the candidate sentences and their features
(``index.answering.candidates``), their order by the quote models and the verifier
(``index.answering.ranker``), and the growing or trimming of each chosen sentence into a quote
(``index.answering.spans``), shown with an ellipsis where text was left out (see ``index.present.display_text``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from index.answering.candidates import (
    MAX_HITS,
    QueryEncoder,
    Support,
    candidate_features,
    named_articles,
)
from index.answering.links import text_fragment_link
from index.answering.ranker import ScoredSentence, rerank, score
from index.answering.spans import grow, overlaps, trim
from index.answering.verifier import SentenceVerifier
from index.models import Hit, Quote
from index.question import Question, as_question


@dataclass(frozen=True)
class RankedQuote:
    """A chosen quote and the signals of the sentence it was built around (abstention reads them)."""

    quote: Quote
    sentence: ScoredSentence


def rank_quotes(
    question: str | Question,
    hits: Sequence[Hit],
    bodies: Mapping[str, str],
    *,
    embedder: QueryEncoder,
    max_quotes: int = 3,
    max_articles: int = 3,
    article_bonus: Mapping[str, float] | None = None,
    verifier: SentenceVerifier | None = None,
    support: Support | None = None,
) -> list[RankedQuote]:
    """The best quotes with the signals behind them, best first (see ``select_quotes``).

    ``article_bonus`` (e.g. for newer articles) is added to the ranker's log-odds of every sentence of its article;
    ``support`` is the hits' ``passage_support`` when the caller has it already.
    """
    question = as_question(question)
    hits = hits[:MAX_HITS]
    named = named_articles(question, hits)
    candidates = candidate_features(question, hits, bodies, embedder=embedder, support=support, named=named)
    sentences = candidates.sentences
    scored = score(candidates, named, article_bonus)
    if verifier is not None and scored:
        scored = rerank(question, scored, bodies, verifier)
    probability = {(s.article_id, s.start): s.probability for s in scored}
    hit_of: dict[str, Hit] = {}
    for hit in hits:
        hit_of.setdefault(hit.article_id, hit)
    terms = set(question.terms)
    elsewhere = off_subject(question, hit_of, bodies)

    chosen: list[RankedQuote] = []
    taken: dict[str, list[tuple[int, int]]] = {}
    shown: set[str] = set()
    for sentence in scored:
        if len(chosen) >= max_quotes:
            break
        article_id = sentence.article_id
        if article_id in elsewhere or (article_id not in taken and len(taken) >= max_articles):
            continue
        body = bodies[article_id]
        grown = grow(
            body,
            sentences[article_id],
            sentence.start,
            sentence.end,
            lambda start, article_id=article_id: probability.get((article_id, start)),
        )
        start, end = trim(body, *grown, terms)
        if overlaps(start, end, taken.get(article_id, ())):  # grown into a quote already shown: the sentence alone
            start, end = trim(body, sentence.start, sentence.end, terms)
            if overlaps(start, end, taken.get(article_id, ())):
                continue
        key = " ".join(body[start:end].lower().split())
        if key in shown:  # the same sentence syndicated in another article
            continue
        shown.add(key)
        taken.setdefault(article_id, []).append((start, end))
        chosen.append(RankedQuote(_quote(hit_of[article_id], body, start, end, sentence.score), sentence))
    return chosen


def off_subject(question: Question, hit_of: Mapping[str, Hit], bodies: Mapping[str, str]) -> set[str]:
    """Articles that name none of the question's names that another retrieved article names: asked why Zelensky
    resigned, an article about someone else who resigned is on the question's words but not on its subject."""
    if not question.bare_names:
        return set()
    texts = {
        article_id: " ".join(f"{hit.title or ''} {bodies.get(article_id, '')}".lower().split())
        for article_id, hit in hit_of.items()
    }
    named = [name for name in question.bare_names if any(name in text for text in texts.values())]
    if not named:
        return set()
    return {article_id for article_id, text in texts.items() if not any(name in text for name in named)}


def select_quotes(
    question: str | Question,
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
