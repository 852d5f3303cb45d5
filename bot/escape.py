"""Make untrusted text (articles, questions, names) render literally in Discord.

Mentions are broken with a zero-width space so they neither ping nor render as a mention;
markdown characters are backslash-escaped so an article cannot format, link or hide text.
Both are invisible to a reader: the quote still reads word for word. Control characters and terminal
escape sequences are dropped (``index.present.printable``).
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from index.present import printable

ZWSP = "\u200b"

# <@id> <@!id> <@&id> <#id> </cmd:id> <:emoji:id> <a:emoji:id> <t:unix>
_MENTION = re.compile(r"<(?=\\?[@#/:at])")
_EVERYONE = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_MARKDOWN = re.compile(r"([\\*_~`|\[\]<>#])")
_LIST_BULLET = re.compile(r"(?m)^(\s*)([-+])")
_LIST_NUMBER = re.compile(r"(?m)^(\s*\d+)\.")


def neutralize_mentions(text: str) -> str:
    """Keep ``@everyone``, ``@here`` and ``<@…>``-style tokens from pinging or rendering as mentions."""
    return _EVERYONE.sub("@" + ZWSP, _MENTION.sub("<" + ZWSP, text))


def escape_markdown(text: str) -> str:
    """Backslash-escape Discord markdown so the text shows exactly as written."""
    escaped = _MARKDOWN.sub(r"\\\1", text)
    return _LIST_NUMBER.sub(r"\1\\.", _LIST_BULLET.sub(r"\1\\\2", escaped))


def escape(text: str) -> str:
    """Escape untrusted text for any Discord field: no markdown, no mentions, no masked links, no controls."""
    return neutralize_mentions(escape_markdown(printable(text)))


def safe_url(url: str | None) -> str | None:
    """An http(s) URL that cannot break out of a markdown link, or None."""
    url = printable(url or "").strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return quote(url, safe="/:?#[]@!$&'*+,;=%~-._").replace("(", "%28").replace(")", "%29")
