"""Growing a chosen sentence into a quote, or trimming a very long one: offsets into the article body.

A quote is a sentence, two or three adjacent sentences of one paragraph (``grow``), or — for a
very long sentence — the run of its clauses that matches the question (``trim``); the reader
sees an ellipsis where text was left out (``index.present.display_text``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from index.retrieval.lexical import tokenize
from index.text.chunking import Span

MERGE_PROBABILITY = 0.02  # a neighbour at least this likely to answer is merged into the quote
SHORT_SENTENCE_CHARS = 60  # a best sentence shorter than this takes its neighbour along for context
MAX_QUOTE_CHARS = 420  # merged quotes stay under this length
LONG_SENTENCE_CHARS = 420  # a longer sentence is trimmed to its best clauses
TRIMMED_CHARS = 280  # target length of a trimmed sentence

_CLAUSE_BREAK = re.compile(r"[,;:]\s+|\s+[—–]\s+|\s+-\s+")


def grow(
    body: str, sentences: Sequence[Span], start: int, end: int, probability: Callable[[int], float | None]
) -> tuple[int, int]:
    """Merge into the sentence ``body[start:end]`` the adjacent sentences of its paragraph that also answer
    (``probability`` of the sentence starting there, None when it was not scored) or that a very short one needs."""
    index = next(i for i, s in enumerate(sentences) if s.start == start)
    lo = hi = index
    for step in (1, -1):
        j = index + step
        if not 0 <= j < len(sentences):
            continue
        gap = body[sentences[min(j, index)].end : sentences[max(j, index)].start]
        if "\n" in gap:
            continue
        neighbour = probability(sentences[j].start)
        strong = neighbour is not None and neighbour >= MERGE_PROBABILITY
        needed = step == 1 and end - start < SHORT_SENTENCE_CHARS
        new_lo, new_hi = min(lo, j), max(hi, j)
        if (strong or needed) and sentences[new_hi].end - sentences[new_lo].start <= MAX_QUOTE_CHARS:
            lo, hi = new_lo, new_hi
    return sentences[lo].start, sentences[hi].end


def overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def trim(body: str, start: int, end: int, terms: set[str]) -> tuple[int, int]:
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
