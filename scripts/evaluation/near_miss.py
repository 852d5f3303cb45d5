"""Near misses: questions that look answerable to an archive that does not state what they ask.

Cross-archive questions (SQuAD asked of MultiHop-RAG) are the easy unanswerable case: the topic is absent. The hard
case is a question whose topic the archive covers while the fact asked is missing. Three ways to make one from a
question the archive does answer, keeping its split (so nothing is fitted on the articles it is measured on):

- ``deleted``: retrieve as usual, then blank every retrieved sentence that holds the question's gold answer, in
  every article retrieved (so syndicated copies go too): the archive now covers the event but not the fact;
- ``swapped``: put another name of the same shape (drawn from a question about a different article) in place of a
  name the question shares with its gold article: the same question about an entity the archive says nothing of;
- ``later``: move the last year the question names past the archive's end ("in 2023" → "in 2026").

MultiHop-RAG's null queries are the real false-premise and missing-fact questions and stay a population of their
own.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from index.models import Hit
from index.text.chunking import split_sentences

YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
NAME = re.compile(r"\b[A-Z][\w'’.&-]*[\w](?:\s+[A-Z][\w'’.&-]*[\w])*")
LATER_BY = 3  # years past the archive's newest article that a "later" question names

Mask = Callable[[Sequence[Hit], Mapping[str, str]], tuple[list[Hit], dict[str, str]]]


def without_sentences(holds: Callable[[str], bool]) -> Mask:
    """A mask that blanks (with spaces, so offsets stay) every sentence of the retrieved articles that ``holds``."""

    def mask(hits: Sequence[Hit], bodies: Mapping[str, str]) -> tuple[list[Hit], dict[str, str]]:
        masked = dict(bodies)
        for article_id in {h.article_id for h in hits}:
            body = bodies.get(article_id)
            if body is None:
                continue
            chars = list(body)
            for span in split_sentences(body):
                if holds(body[span.start : span.end]):
                    chars[span.start : span.end] = " " * (span.end - span.start)
            masked[article_id] = "".join(chars)
        kept = [replace(h, text=masked[h.article_id][h.start : h.end]) for h in hits if h.article_id in masked]
        return [h for h in kept if h.text.strip()], masked

    return mask


def later(question: str, newest_year: int) -> str | None:
    """The question with its last named year moved to ``LATER_BY`` years after ``newest_year`` (the archive's newest
    article), or None when it names no year."""
    years = list(YEAR.finditer(question))
    if not years:
        return None
    last = years[-1]
    return question[: last.start()] + str(newest_year + LATER_BY) + question[last.end() :]


def names_in(question: str) -> list[str]:
    """Capitalised names of a question, its opening word left out."""
    found = []
    for match in NAME.finditer(question):
        words = match.group().split()
        if match.start() == 0:
            words = words[1:]
        if words:
            found.append(" ".join(words))
    return found


def swapped(question: str, body: str, pool: Sequence[str], rng: random.Random) -> str | None:
    """``question`` with a name it shares with its article ``body`` replaced by a same-length name from ``pool`` (names
    from questions about other articles) that the article never mentions; None when no such pair exists."""
    lowered = body.lower()
    shared = [n for n in names_in(question) if n.lower() in lowered]
    if not shared:
        return None
    target = shared[0]
    size = len(target.split())
    candidates = [n for n in pool if len(n.split()) == size and n.lower() not in lowered and n != target]
    if not candidates:
        return None
    return question.replace(target, rng.choice(candidates), 1)
