"""robots.txt rules (RFC 9309) for one site, parsed by protego from the fetched bytes.

A missing robots.txt (any 4xx) allows everything; a server error or an unreachable robots.txt closes the
site until the next sync, as RFC 9309 asks. A robots.txt that came with an ETag or Last-Modified is kept
(``RobotsCopy``), so the next sync asks for it conditionally and a 304 reuses the kept rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from protego import Protego

MAX_ROBOTS_BYTES = 500_000  # RFC 9309: crawlers must read at least 500 KiB


@dataclass(frozen=True)
class RobotsCopy:
    """A site's robots.txt as it was last fetched, with the validators to ask whether it changed."""

    text: str
    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def of(cls, status: int, body: bytes, etag: str | None, last_modified: str | None) -> RobotsCopy | None:
        """The copy worth keeping of a response: a 200 that a conditional request can ask about again."""
        if status != 200 or not (etag or last_modified):
            return None
        return cls(_text(body), etag, last_modified)

    def rules(self) -> RobotsRules:
        return RobotsRules(Protego.parse(self.text))


@dataclass(frozen=True)
class RobotsRules:
    parser: Protego | None  # None: everything allowed
    everything_closed: bool = False

    @classmethod
    def open(cls) -> RobotsRules:
        return cls(None)

    @classmethod
    def closed(cls) -> RobotsRules:
        return cls(None, everything_closed=True)

    @classmethod
    def from_response(cls, status: int, body: bytes) -> RobotsRules:
        if 400 <= status < 500:
            return cls.open()
        if status != 200:
            return cls.closed()
        return cls(Protego.parse(_text(body)))

    def allowed(self, url: str, user_agent: str) -> bool:
        if self.everything_closed:
            return False
        return self.parser is None or self.parser.can_fetch(url, _token(user_agent))

    def crawl_delay(self, user_agent: str) -> float:
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(_token(user_agent))
        return min(float(delay), 60.0) if delay else 0.0

    def sitemaps(self) -> list[str]:
        return list(self.parser.sitemaps) if self.parser is not None else []


def _text(body: bytes) -> str:
    return body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")


def _token(user_agent: str) -> str:
    """The product token robots.txt groups match against: ``ArchivistBot`` of ``ArchivistBot/0.1 (+url)``."""
    return user_agent.split("/", 1)[0].split(" ", 1)[0] or user_agent
