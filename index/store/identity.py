"""How articles are identified, compared and deduplicated.

- ``article_id``: stable across re-runs: derived from the URL when it is a real web address
  (``http(s)://host/...``), else from the origin (file path and record number) and title. Placeholders
  such as ``N/A``, ``#`` or a relative path are not identities: they would make unrelated records one article.
- ``content_hash``: everything stored about the article; a change means "update".
- ``text_key``: the body normalised (case, punctuation, white space folded); two articles
  with the same key are the same text and collapse into one.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from urllib.parse import urlsplit

from index.models import ArticleDraft

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def _digest(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def web_url(url: str | None) -> str | None:
    """``url`` stripped when it is an absolute http(s) address with a host, else None."""
    text = (url or "").strip()
    if not text or any(char.isspace() for char in text):
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return text


def article_id(draft: ArticleDraft) -> str:
    url = web_url(draft.url)
    key = f"url:{url}" if url else f"origin:{draft.origin}\x00{draft.title.strip()}"
    return _digest(key, 12)


def content_hash(draft: ArticleDraft) -> str:
    fields = [
        draft.title,
        draft.body,
        draft.url,
        draft.author,
        draft.published_at,
        draft.category,
        list(draft.tags),
        draft.source,
    ]
    return _digest(json.dumps(fields, ensure_ascii=False), 32)


def text_key(body: str) -> str:
    folded = unicodedata.normalize("NFKC", body).casefold()
    return _digest(_NON_WORD.sub(" ", folded).strip(), 32)
