"""Sentence-aware, token-budgeted chunking of an article body.

Pure functions: text and a token encoder in, spans with character offsets out.
Every chunk satisfies ``body[chunk.start:chunk.end] == chunk.text``; chunks never end
inside a sentence unless that sentence alone exceeds the budget, and together they
cover every non-blank character of the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.models import ChunkSpan
from index.text.tokens import TokenEncoder, cl100k

DEFAULT_MAX_TOKENS = 256
DEFAULT_OVERLAP_TOKENS = 32

# A sentence ends at . ! ? … (plus closing quotes/brackets) followed by white space, or at a line break.
_SENTENCE_END = re.compile(r"""[.!?…]+["'”’)\]]*(?=\s)|\n""")
# Tokens before a full stop that do not end a sentence.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e inc ltd co corp gen col lt sgt rep sen gov pres jan feb mar apr "
    "jun jul aug sep sept oct nov dec no u.s u.k u.n a.m p.m approx dept est fig".split()
)


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def split_sentences(text: str) -> list[Span]:
    """Sentence spans over ``text``, trimmed of surrounding white space, in order, never empty."""
    spans: list[Span] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if match.group() != "\n" and _is_abbreviation(text, match.start()):
            continue
        _append_trimmed(text, start, end, spans)
        start = end
    _append_trimmed(text, start, len(text), spans)
    return spans


def _is_abbreviation(text: str, dot: int) -> bool:
    if text[dot] != ".":
        return False
    word_start = dot
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:dot].lower().lstrip("(\"'“‘")
    if word in _ABBREVIATIONS:
        return True
    # Single initials ("J. Smith") and dotted acronyms ("U.S.") do not end sentences.
    return len(word) == 1 and word.isalpha() or ("." in word and len(word) <= 5)


def _append_trimmed(text: str, start: int, end: int, spans: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append(Span(start, end))


def chunk_body(
    body: str,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
    encoder: TokenEncoder | None = None,
) -> list[ChunkSpan]:
    """Pack whole sentences into windows of at most ``max_tokens`` tokens.

    Consecutive windows share up to ``overlap_tokens`` tokens of whole sentences. A
    sentence longer than the budget is cut between words (or, failing that, between
    characters) into pieces that each fit.
    """
    if max_tokens < 8:
        raise ValueError("max_tokens must be at least 8")
    if not 0 <= overlap_tokens < max_tokens:
        raise ValueError("overlap_tokens must be between 0 and max_tokens - 1")
    enc = encoder or cl100k()

    def count(start: int, end: int) -> int:
        return len(enc.encode_ordinary(body[start:end]))

    units: list[tuple[Span, int]] = []
    for sentence in split_sentences(body):
        tokens = count(sentence.start, sentence.end)
        if tokens <= max_tokens:
            units.append((sentence, tokens))
        else:
            units.extend(_split_long(body, sentence, max_tokens, count))

    chunks: list[ChunkSpan] = []
    first = 0
    while first < len(units):
        last = first
        while last + 1 < len(units) and count(units[first][0].start, units[last + 1][0].end) <= max_tokens:
            last += 1
        start, end = units[first][0].start, units[last][0].end
        chunks.append(ChunkSpan(len(chunks), start, end, body[start:end], count(start, end)))
        if last + 1 >= len(units):
            break
        first = _next_first(units, first, last, overlap_tokens)
    return chunks


def _next_first(units: list[tuple[Span, int]], first: int, last: int, overlap_tokens: int) -> int:
    """Index of the first unit of the next window: trailing sentences of this one that fit the overlap."""
    nxt = last + 1
    budget = overlap_tokens
    while nxt - 1 > first and units[nxt - 1][1] <= budget:
        budget -= units[nxt - 1][1]
        nxt -= 1
    return nxt


def _split_long(body: str, sentence: Span, max_tokens: int, count) -> list[tuple[Span, int]]:
    """Cut an over-long sentence into pieces within budget, preferring cuts after white space."""
    pieces: list[tuple[Span, int]] = []
    start = sentence.start
    while start < sentence.end:
        if count(start, sentence.end) <= max_tokens:
            end = sentence.end
        else:
            end = _longest_fitting_end(start, sentence.end, max_tokens, count)
            space = body.rfind(" ", start + 1, end)
            if space > start and count(start, space) > 0:
                end = space
        trimmed: list[Span] = []
        _append_trimmed(body, start, end, trimmed)
        for span in trimmed:
            pieces.append((span, count(span.start, span.end)))
        start = end
        while start < sentence.end and body[start].isspace():
            start += 1
    return pieces


def _longest_fitting_end(start: int, limit: int, max_tokens: int, count) -> int:
    """Largest end in (start, limit] whose text start:end fits the budget (binary search; at least one char)."""
    lo, hi = start + 1, min(limit, start + max_tokens * 16)
    while count(start, hi) > max_tokens and hi - lo > 1:
        mid = (lo + hi) // 2
        if count(start, mid) <= max_tokens:
            lo = mid
        else:
            hi = mid
    return hi if count(start, hi) <= max_tokens else lo
