"""How articles are identified, compared and deduplicated.

- ``article_id``: stable across re-runs: derived from the URL when there is one, else from
  the origin (file path and record number) and title.
- ``content_hash``: everything stored about the article; a change means "update".
- ``text_key``: the body normalised (case, punctuation, white space folded); two articles
  with the same key are the same text and collapse into one.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

from index.models import ArticleDraft

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def _digest(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def article_id(draft: ArticleDraft) -> str:
    key = f"url:{draft.url.strip()}" if draft.url else f"origin:{draft.origin}\x00{draft.title.strip()}"
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
