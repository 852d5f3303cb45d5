"""HTML fragments (WordPress content, HTML inside JSON fields, rendered Markdown) to paragraph text."""

from __future__ import annotations

import re

import lxml.etree
import lxml.html

from index.sources.text_layout import join_paragraphs, normalise_body

_BLOCK_TAGS = frozenset(
    "address article aside blockquote dd div dl dt figcaption figure footer form h1 h2 h3 h4 h5 h6 header "
    "hr li main nav ol p pre section table tbody thead tfoot tr ul".split()
)
_CELL_TAGS = frozenset({"td", "th"})
_DROPPED_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "svg", "button", "form"})
_LOOKS_LIKE_HTML = re.compile(r"<(p|div|br|span|a|em|strong|b|i|h[1-6]|ul|ol|li|blockquote|figure|img)\b[^>]*>", re.I)
_BREAK = "\x00"  # paragraph marker while walking; NUL never survives decoding checks


def looks_like_html(text: str) -> bool:
    return bool(_LOOKS_LIKE_HTML.search(text[:5000]))


def html_fragment_to_text(fragment: str) -> str:
    """Visible text with one paragraph per block element and per blank-line-separated run of text.

    Raw blank lines count as paragraph breaks (WordPress stores paragraphs that way); single newlines
    inside a block are kept as line breaks.
    """
    if not fragment.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return normalise_body(fragment)
    pieces: list[str] = []
    _walk(root, pieces)
    text = "".join(pieces)
    blocks = re.split(rf"{_BREAK}|\n[ \t]*\n", text)
    return join_paragraphs([_tidy_block(block) for block in blocks])


def _walk(element: lxml.html.HtmlElement, pieces: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _DROPPED_TAGS or not tag:
        if element.tail:
            pieces.append(element.tail)
        return
    block = tag in _BLOCK_TAGS
    if block:
        pieces.append(_BREAK)
    if tag == "br":
        pieces.append("\n")
    if element.text:
        pieces.append(element.text)
    for child in element:
        _walk(child, pieces)
    if tag in _CELL_TAGS:
        pieces.append(" ")
    if block:
        pieces.append(_BREAK)
    if element.tail:
        pieces.append(element.tail)


def _tidy_block(block: str) -> str:
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in block.split("\n"))
    return "\n".join(line for line in lines if line)
