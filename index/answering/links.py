"""Deep links that open an article scrolled to a quoted passage (URL text fragments).

A text fragment (``#:~:text=start,end``) asks the browser to find the first passage that
begins with ``start`` and ends with ``end`` and to scroll to it and highlight it. Browsers
match it against the page's rendered text with white space collapsed, so the terms are
built from the quote's words joined by single spaces. Each term is percent-encoded,
including the characters that are syntax inside a fragment (``-``, ``,`` and ``&``).
"""

from __future__ import annotations

from urllib.parse import quote

# Words taken from each end of a quote; a quote this short or shorter is linked whole.
EDGE_WORDS = 4


def encode_term(term: str) -> str:
    """Percent-encode one text-fragment term (UTF-8), escaping ``-`` too since it marks prefixes and suffixes."""
    return quote(term, safe="").replace("-", "%2D")


def text_fragment(quote_text: str, *, edge_words: int = EDGE_WORDS) -> str:
    """The ``text=`` directive for ``quote_text``: the whole quote when short, else its first and last words."""
    words = quote_text.split()
    if not words:
        raise ValueError("cannot link to an empty quote")
    if len(words) <= 2 * edge_words:
        return "text=" + encode_term(" ".join(words))
    start = " ".join(words[:edge_words])
    end = " ".join(words[-edge_words:])
    return f"text={encode_term(start)},{encode_term(end)}"


def text_fragment_link(url: str, quote_text: str) -> str:
    """``url`` with a text fragment that scrolls to ``quote_text``.

    An existing fragment is kept (``page#section:~:text=...``); an existing text directive is replaced.
    """
    base, hash_mark, fragment = url.partition("#")
    fragment = fragment.split(":~:", 1)[0] if hash_mark else ""
    return f"{base}#{fragment}:~:{text_fragment(quote_text)}"
