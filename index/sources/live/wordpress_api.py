"""The WordPress REST API (``/wp-json/wp/v2/posts``): request URLs and the posts they return, from bytes.

Posts are asked for oldest change first (``orderby=modified&order=asc``) after the stored cursor, so a sync cut
short resumes where it stopped; author, categories and tags come resolved to names through ``_embed``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from index.errors import SourceError
from index.models import ArticleDraft
from index.sources.fields import draft_from_record

API_REL = "https://api.w.org/"


@dataclass(frozen=True)
class WordPressPost:
    id: str
    link: str
    modified_gmt: str
    draft: ArticleDraft | None  # None: not a published, readable post


def posts_url(endpoint: str, page: int, per_page: int, modified_after: str | None) -> str:
    params = {"per_page": per_page, "page": page, "orderby": "modified", "order": "asc", "_embed": "author,wp:term"}
    if modified_after:
        params["modified_after"] = modified_after
    return f"{endpoint}wp/v2/posts?{urlencode(params)}"


def ids_url(endpoint: str, page: int, per_page: int) -> str:
    params = {"per_page": per_page, "page": page, "orderby": "id", "order": "desc", "_fields": "id"}
    return f"{endpoint}wp/v2/posts?{urlencode(params)}"


def cursor_before(modified_gmt: str) -> str:
    """``modified_after`` for the next sync: one second before the newest stored change (WordPress compares
    strictly, and two posts can change in the same second; an unchanged post costs only a hash comparison)."""
    try:
        when = datetime.fromisoformat(modified_gmt)
    except ValueError:
        return modified_gmt
    return (when - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")


def total_pages(headers: dict[str, str]) -> int | None:
    value = headers.get("x-wp-totalpages", "").strip()
    return int(value) if value.isdigit() else None


def parse_ids(body: bytes) -> list[str]:
    items = _json_list(body)
    return [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item]


def parse_posts(body: bytes, site: str) -> list[WordPressPost]:
    posts = []
    for item in _json_list(body):
        if not isinstance(item, dict) or "id" not in item or not str(item.get("link", "")).startswith("http"):
            continue
        posts.append(
            WordPressPost(
                id=str(item["id"]),
                link=str(item["link"]),
                modified_gmt=str(item.get("modified_gmt") or ""),
                draft=_draft(item, site),
            )
        )
    return posts


def _draft(item: dict, site: str) -> ArticleDraft | None:
    content = item.get("content") or {}
    if item.get("status", "publish") != "publish" or content.get("protected"):
        return None
    embedded = item.get("_embedded") or {}
    authors = [a.get("name") for a in embedded.get("author", []) if isinstance(a, dict) and a.get("name")]
    terms = [t for group in embedded.get("wp:term", []) for t in (group or []) if isinstance(t, dict)]
    categories = [t["name"] for t in terms if t.get("taxonomy") == "category" and t.get("name")]
    tags = [t["name"] for t in terms if t.get("taxonomy") == "post_tag" and t.get("name")]
    date = item.get("date_gmt")
    record = {
        "title": html.unescape(str((item.get("title") or {}).get("rendered") or "")),
        "body": str(content.get("rendered") or ""),
        "url": item["link"],
        "author": authors[0] if authors else None,
        "published_at": f"{date}+00:00" if date else None,
        "category": categories[0] if categories else None,
        "tags": [html.unescape(name) for name in categories[1:] + tags],
        "source": site,
    }
    try:
        return draft_from_record(record, item["link"], label=f"Post {item['id']}").draft
    except SourceError:
        return None


def _json_list(body: bytes) -> list:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise SourceError(f"The WordPress API answered with something other than JSON ({error}).") from error
    if not isinstance(data, list):
        raise SourceError("The WordPress API answered with something other than a list of posts.")
    return data
