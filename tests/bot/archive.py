"""The bot tests' real archive: the shared small MultiHop-RAG archive plus one hostile article."""

from __future__ import annotations

import json
from pathlib import Path

HOSTILE_URL = "https://news.example/ping-prank"
HOSTILE_TITLE = "Pranksters @everyone <@&1234> ping test"
LONG_LINK = "https://evil.example/" + "x" * 5000
HOSTILE_ARTICLE = {
    "title": HOSTILE_TITLE,
    "body": (
        "The hacker wrote @everyone and @here and <@&1234> and <@1234> in the post about the ping prank. "
        "**Bold** claims, __underlined__ words and `code` followed in the ping prank. "
        "Then the ping prank mentioned <#1234> as well. "
        f"The prank linked to {LONG_LINK} and nothing else."
    ),
    "source": "Ping Post",
    "author": "<@1234>",
    "published_at": "2023-08-01T12:00:00+00:00",
    "category": "tech",
    "url": HOSTILE_URL,
}
RAW_MENTIONS = ("@everyone", "@here", "<@&1234>", "<@1234>", "<#1234>")


def write_hostile_article(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hostile.json"
    path.write_text(json.dumps([HOSTILE_ARTICLE]), encoding="utf-8")
    return path
