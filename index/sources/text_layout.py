"""Body text layout: line endings, blank lines, trailing spaces, paragraphs, overlong lines."""

from __future__ import annotations

import re

from index.errors import SourceError

MAX_LINE_CHARS = 100_000
_BLANK_RUN = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t\u00a0]+\n")
_SENTENCE_END = re.compile(r"[.!?…]['\"”’»)\]]*$")


def normalise_body(text: str) -> str:
    """``\\n`` line endings, no trailing spaces, at most one blank line between paragraphs, no outer blanks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _TRAILING_SPACE.sub("\n", text + "\n")
    text = "\n".join("" if not line.strip() else line for line in text.split("\n"))
    return _BLANK_RUN.sub("\n\n", text).strip("\n")


def paragraphs(text: str) -> list[str]:
    """Non-empty paragraphs of normalised text (blocks separated by blank lines)."""
    return [block for block in normalise_body(text).split("\n\n") if block.strip()]


def join_paragraphs(blocks: list[str]) -> str:
    return normalise_body("\n\n".join(blocks))


def lines_as_paragraphs(text: str) -> str:
    """Treat every non-empty line as its own paragraph (extractors emit one block per line)."""
    return join_paragraphs([line for line in normalise_body(text).split("\n") if line.strip()])


def ends_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(text.rstrip()))


def word_count(text: str) -> int:
    return len(text.split())


def check_line_lengths(text: str, *, what: str = "The file") -> None:
    """Raise ``SourceError`` when a line is longer than ``MAX_LINE_CHARS`` (generated data, not prose)."""
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise SourceError(
                f"{what} has a line of {len(line):,} characters without a line break (line {number}; "
                f"the limit is {MAX_LINE_CHARS:,}), so it looks like generated data rather than an article."
            )


def headline_from_body(body: str, *, max_chars: int = 120) -> str:
    """A title for an article that has none: its first line, shortened at a word boundary."""
    first = next((line.strip() for line in body.split("\n") if line.strip()), "")
    if len(first) <= max_chars:
        return first
    cut = first[:max_chars].rsplit(" ", 1)[0] or first[:max_chars]
    return cut.rstrip(" ,;:-") + "…"
