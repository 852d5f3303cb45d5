"""Site chrome removal: what a scraped page carries around its article.

Within one page (``strip_page_chrome``), by general rules:

* everything from a listing or sharing section heading ("Recent Posts", "Related Articles",
  "You may also like", "Share this", "Leave a Reply", ...) to the end is cut, unless the heading is the
  first paragraph of the body;
* teaser lines ending in "Read More" / "Continue reading", together with the short headline directly
  above each teaser, are dropped, and so are bare "Read More" links, cookie notices and date-only lines;
* when any of that was found, a sidebar widget left at the end of the article (a short title line not
  ending a sentence, optionally followed by one blurb paragraph that does not end a sentence) is dropped.

Articles without such chrome are returned unchanged.

Across the documents of one source (``SiteChrome``, read one document at a time), lines that recur in at least
``MIN_REPEAT_DOCUMENTS`` distinct documents and in at least ``MIN_REPEAT_SHARE`` of them (navigation,
footers, bylines boxes) are dropped.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from index.models import ArticleDraft
from index.sources.text_layout import ends_sentence, join_paragraphs, normalise_body, paragraphs, word_count

MIN_REPEAT_DOCUMENTS = 3
MIN_REPEAT_SHARE = 0.30
MAX_REPEATED_LINE_WORDS = 40

_SECTION_HEADINGS = re.compile(
    r"(recent|related|popular|latest|trending|featured|more|similar|top|suggested|recommended)"
    r"( posts?| articles?| stories| news| reads?| videos?| now)?"
    r"|most (read|popular|viewed|shared)|you (may|might) (also )?(like|enjoy|be interested in)"
    r"|read (next|more|also)|see also|also read|more from .{1,60}|more (stories|articles|posts|news) from .{1,60}"
    r"|share( this( (post|article|story|page))?| on .{1,30})?|like this|leave a (reply|comment)|\d* ?comments?"
    r"|(sign up|subscribe)( to| for)?( our)? newsletters?|newsletter|tags?|categories|filed under|about the author",
    re.IGNORECASE,
)
_TEASER_END = re.compile(  # a cut-off teaser, or a capitalised link label after the text (not "to read more.")
    r"((?i:(…|\.\.\.)\s*\[?(read more|continue reading|keep reading|read the full (story|article)))"
    r"|\s(Read More|READ MORE|Read more »|Continue Reading|CONTINUE READING))\W{0,3}$"
)
_BARE_LINK = re.compile(
    r"(read more|continue reading|share|tweet|print|email|advertisement|skip to content)\W{0,3}", re.I
)
_COOKIE = re.compile(
    r"(this (web)?site uses cookies|we use cookies|uses cookies to|by continuing to (use|browse)|accept (all )?cookies"
    r"|cookie (policy|settings|preferences))",
    re.I,
)
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_ONLY = re.compile(
    rf"((mon|tue|wed|thu|fri|sat|sun)[a-z]*,? )?({_MONTH} \d{{1,2}}(st|nd|rd|th)?,? \d{{4}}"
    rf"|\d{{1,2}}(st|nd|rd|th)? {_MONTH},? \d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}})"
    r"( (at )?\d{1,2}[:.]\d{2}( ?[ap]\.?m\.?)?)?",
    re.I,
)
_MAX_HEADING_WORDS = 8
_MAX_TEASER_TITLE_WORDS = 30
_MAX_NOTICE_WORDS = 60


def strip_page_chrome(body: str) -> str:
    """Drop the site chrome around one article's body (rules in the module docstring)."""
    blocks = paragraphs(body)
    kept, found = _cut_at_section_heading(blocks)
    kept, dropped = _drop_chrome_blocks(kept)
    if found or dropped:
        kept = _trim_trailing_widget(kept)
    return join_paragraphs(kept)


def is_date_only(line: str) -> bool:
    return bool(_DATE_ONLY.fullmatch(line.strip().strip("|·-–— ")))


class SiteChrome:
    """Lines repeated across many documents of one source, learnt one document at a time (``add``) and then dropped
    from each (``clean``): the documents need not all be held in between.

    A source is the draft's ``source`` or, when it has none, the folder its file is in. Documents with the same body
    count once, so duplicates cannot make their own text look like chrome. A line is chrome when at most
    ``MAX_REPEATED_LINE_WORDS`` words long and found in at least ``MIN_REPEAT_DOCUMENTS`` distinct documents and
    ``MIN_REPEAT_SHARE`` of them. Add every document before cleaning the first.
    """

    def __init__(self) -> None:
        self._bodies: dict[str, set[bytes]] = defaultdict(set)  # per source, digests of its distinct bodies
        self._lines: dict[str, Counter[str]] = defaultdict(Counter)  # per source, documents holding each short line
        self._chrome: dict[str, set[str]] | None = None

    def add(self, draft: ArticleDraft) -> None:
        if self._chrome is not None:
            raise RuntimeError("every document must be added before the first is cleaned")
        key = _source_key(draft)
        digest = hashlib.blake2b(draft.body.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if digest in self._bodies[key]:
            return
        self._bodies[key].add(digest)
        stripped = (line.strip() for line in draft.body.split("\n"))
        self._lines[key].update({line for line in stripped if line and word_count(line) <= MAX_REPEATED_LINE_WORDS})

    def clean(self, draft: ArticleDraft) -> ArticleDraft:
        """``draft`` without its source's chrome lines; unchanged when it has none, or would keep no text."""
        if self._chrome is None:
            self._chrome = {key: self._repeated(key) for key in self._lines}
            self._lines.clear()
        chrome = self._chrome.get(_source_key(draft))
        if not chrome:
            return draft
        body = normalise_body("\n".join(line for line in draft.body.split("\n") if line.strip() not in chrome))
        return replace(draft, body=body) if body and body != draft.body else draft

    def _repeated(self, key: str) -> set[str]:
        threshold = max(MIN_REPEAT_DOCUMENTS, MIN_REPEAT_SHARE * len(self._bodies[key]))
        return {line for line, count in self._lines[key].items() if count >= threshold}


def clean_site_chrome(drafts: Sequence[ArticleDraft]) -> list[ArticleDraft]:
    """Drop lines repeated across many documents of one source (``SiteChrome``); order and everything else is kept."""
    chrome = SiteChrome()
    for draft in drafts:
        chrome.add(draft)
    return [chrome.clean(draft) for draft in drafts]


def _cut_at_section_heading(blocks: list[str]) -> tuple[list[str], bool]:
    for index, block in enumerate(blocks[1:], start=1):
        heading = block.strip().rstrip(":").strip()
        if "\n" not in heading and word_count(heading) <= _MAX_HEADING_WORDS and _SECTION_HEADINGS.fullmatch(heading):
            return blocks[:index], True
    return blocks, False


def _drop_chrome_blocks(blocks: list[str]) -> tuple[list[str], bool]:
    kept: list[str] = []
    dropped = False
    for block in blocks:
        text = block.strip()
        if _TEASER_END.search(text) and kept and _is_teaser_title(kept[-1]) and not _BARE_LINK.fullmatch(text):
            kept.pop()
        if _is_chrome_block(text):
            dropped = True
            continue
        kept.append(block)
    return kept, dropped


def _is_chrome_block(text: str) -> bool:
    if _BARE_LINK.fullmatch(text) or is_date_only(text):
        return True
    if _TEASER_END.search(text):
        return True
    return bool(_COOKIE.search(text)) and word_count(text) <= _MAX_NOTICE_WORDS


def _is_teaser_title(block: str) -> bool:
    text = block.strip()
    return "\n" not in text and word_count(text) <= _MAX_TEASER_TITLE_WORDS and not text.endswith(".")


def _is_heading_line(block: str) -> bool:
    text = block.strip()
    return "\n" not in text and word_count(text) <= _MAX_HEADING_WORDS and not ends_sentence(text)


def _trim_trailing_widget(blocks: list[str]) -> list[str]:
    kept = list(blocks)
    while len(kept) > 1:
        if _is_heading_line(kept[-1]):
            kept.pop()
        elif len(kept) > 2 and not ends_sentence(kept[-1]) and _is_heading_line(kept[-2]):
            del kept[-2:]
        else:
            break
    return kept


def _source_key(draft: ArticleDraft) -> str:
    if draft.source:
        return "source:" + draft.source.casefold()
    return "folder:" + str(Path(draft.origin.split("#", 1)[0]).parent)
