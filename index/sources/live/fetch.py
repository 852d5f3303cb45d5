"""The one guarded HTTP client that fetches every live source.

Moderators can add URLs from Discord, so every request is treated as hostile input:

* only ``http`` and ``https``; no proxies from the environment;
* the host is resolved once and every address is checked: loopback, private, link-local (169.254.169.254),
  CGNAT, ULA, multicast and the like are refused unless the allow-list names the host or a network holding
  the address; the connection then goes to the address that was checked (the check sits in the connection
  layer, so no redirect, retry or pooled connection can skip it);
* redirects are followed by hand, at most ``max_redirects`` of them, each hop checked again before connecting;
* the body is streamed and cut at ``max_bytes``; the whole request, redirects and body included, must finish
  within ``timeout`` seconds (a server dripping bytes slowly is stopped too);
* robots.txt is obeyed for the configured User-Agent, and requests to one host are at least ``min_delay``
  seconds apart (more when robots.txt asks with Crawl-delay);
* 429 and 503 with a short Retry-After are retried after waiting that long, a few times at most; a longer one
  closes the site (its scheme and host) until then: nothing more is asked of it for this source, in this sync
  or (through the ``HostState`` the sync stores per source) the next ones.

Parsers never see URLs: they get the ``Response.body`` bytes.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from index.errors import FetchFailed, FetchRefused
from index.settings import Settings
from index.sources.live.robots import RobotsCopy, RobotsRules

log = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]  # (host, port) -> addresses
REDIRECTS = {301, 302, 303, 307, 308}
PERMANENT = {301, 308}
RETRY_STATUSES = {429, 503}


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchFailed(f"The host {host} could not be found.") from error
    return list(dict.fromkeys(info[4][0] for info in infos))


@dataclass(frozen=True)
class AddressPolicy:
    """Which non-public hosts and networks may be fetched anyway (``ARCHIVIST_SOURCES_ALLOW_PRIVATE``)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AddressPolicy:
        hosts: set[str] = set()
        networks: list[Network] = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                hosts.add(part.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, address: Address) -> bool:
        if host.lower().rstrip(".") in self.hosts:
            return True
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.networks):
            return True
        return address.is_global and not address.is_multicast

    def checked_address(self, host: str, port: int, resolver: Resolver) -> str:
        """The address to connect to for ``host``; FetchRefused when any address it resolves to is not allowed."""
        addresses = resolver(host, port)
        if not addresses:
            raise FetchFailed(f"The host {host} could not be found.")
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if not self.allows(host, address):
                raise FetchRefused(
                    f"{host} resolves to {address}, which is not a public address, so it is not fetched "
                    "(ARCHIVIST_SOURCES_ALLOW_PRIVATE can allow it)."
                )
        return addresses[0]


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves and checks the host itself, then connects to exactly the checked address."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        address = self._policy.checked_address(host, port, self._resolver)
        return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise FetchRefused("Unix sockets are never fetched.")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, policy: AddressPolicy, resolver: Resolver) -> None:
        super().__init__(trust_env=False, retries=0)
        # httpx has no public hook for the network backend; the pool is rebuilt with the guarded one.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=4,
            max_keepalive_connections=4,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(policy, resolver),
        )


@dataclass(frozen=True)
class FetchConfig:
    user_agent: str = "ArchivistBot/0.1"
    policy: AddressPolicy = AddressPolicy()
    min_delay: float = 1.0
    max_bytes: int = 20_000_000
    timeout: float = 30.0
    max_redirects: int = 5
    max_retry_wait: float = 30.0  # a longer Retry-After is reported instead of waited for
    max_retries: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchConfig:
        contact = settings.sources_contact_url
        return cls(
            user_agent=settings.sources_user_agent + (f" (+{contact})" if contact else ""),
            policy=AddressPolicy.parse(settings.sources_allow_private),
            min_delay=settings.sources_min_delay,
            max_bytes=settings.max_file_bytes,
            timeout=settings.sources_timeout_seconds,
        )


@dataclass(frozen=True)
class HostState:
    """What a sync remembers of one site (``scheme://host``) for the next: a Retry-After not yet over, and the
    site's robots.txt with its validators."""

    origin: str
    not_before: float | None = None  # Unix time: the site asked (429/503) not to be fetched before then
    robots: RobotsCopy | None = None

    @property
    def empty(self) -> bool:
        return self.not_before is None and self.robots is None


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    moved_to: str | None = None  # set when every redirect was permanent (301/308): the URL to store instead

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def gone(self) -> bool:
        return self.status in (404, 410)

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    def check(self) -> Response:
        """The response itself when it is a 2xx or 304; FetchFailed naming the status otherwise."""
        if 200 <= self.status < 300 or self.status == 304:
            return self
        extra = ""
        if self.status in RETRY_STATUSES and self.headers.get("retry-after"):
            extra = f"; it asked to retry after {self.headers['retry-after']}"
        raise FetchFailed(f"{self.url} answered HTTP {self.status}{extra}.")


@dataclass
class Fetcher:
    """Fetch with every guard in the module docstring. Not thread-safe: one sync uses one fetcher."""

    config: FetchConfig = field(default_factory=FetchConfig)
    resolver: Resolver = system_resolver
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wall: Callable[[], float] = time.time  # Unix time, for Retry-After dates and waits remembered across syncs

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            transport=_GuardedTransport(self.config.policy, self.resolver),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(self.config.timeout),
            headers={"User-Agent": self.config.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        self._last_request: dict[str, float] = {}
        self._robots: dict[str, RobotsRules] = {}
        self._robots_copies: dict[str, RobotsCopy] = {}  # origin -> robots.txt as fetched, for conditional requests
        self._not_before: dict[str, float] = {}  # origin -> Unix time
        self.requested: list[str] = []  # every URL a request was sent for, in order (for reports and tests)
        self.touched: set[str] = set()  # origins asked for since the caller last cleared it

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def remember(self, states: Iterable[HostState]) -> None:
        """Start over from what an earlier sync of one source learnt about its sites (a sync fetches source after
        source with one fetcher: a wait one source was asked for does not hold up the next)."""
        states = list(states)
        self._not_before = {s.origin: s.not_before for s in states if s.not_before is not None}
        for state in states:
            if state.robots is not None and state.origin not in self._robots:
                self._robots_copies[state.origin] = state.robots
        self.touched.clear()

    def host_state(self, origin: str) -> HostState:
        """What to remember of ``origin`` for the next sync."""
        until = self._not_before.get(origin)
        return HostState(
            origin,
            not_before=until if until is not None and until > self.wall() else None,
            robots=self._robots_copies.get(origin),
        )

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
    ) -> Response:
        """GET ``url`` (conditionally when validators are given), obeying robots.txt; see the module docstring."""
        headers = _conditional(etag, last_modified)
        if accept:
            headers["Accept"] = accept
        for attempt in range(self.config.max_retries + 1):
            response = self._follow(url, headers, check_robots=True)
            wait = _retry_after(response, self.wall())
            if wait is not None and wait > self.config.max_retry_wait:
                origin = _origin(response.url)
                self._not_before[origin] = max(self.wall() + wait, self._not_before.get(origin, 0.0))
                return response
            if wait is None or attempt == self.config.max_retries:
                return response
            log.info("%s answered %d; waiting %.1f s as it asked", url, response.status, wait)
            self.sleep(max(wait, self.config.min_delay))
        return response  # pragma: no cover - the loop always returns

    def robots_for(self, url: str) -> RobotsRules:
        """The robots.txt rules of ``url``'s site, fetched once per fetcher (conditionally, when a copy is kept)."""
        origin = _origin(url)
        rules = self._robots.get(origin)
        if rules is None:
            copy = self._robots_copies.pop(origin, None)
            headers = _conditional(copy.etag, copy.last_modified) if copy else {}
            try:
                response = self._follow(origin + "/robots.txt", headers, check_robots=False)
            except FetchFailed as error:
                log.info("robots.txt of %s could not be fetched (%s); treating the site as closed", origin, error)
                rules = RobotsRules.closed()
            else:
                if response.not_modified and copy is not None:
                    rules = copy.rules()
                    self._robots_copies[origin] = copy
                else:
                    rules = RobotsRules.from_response(response.status, response.body)
                    fresh = RobotsCopy.of(response.status, response.body, response.etag, response.last_modified)
                    if fresh is not None:
                        self._robots_copies[origin] = fresh
            self._robots[origin] = rules
        return rules

    # -- one request, redirects followed and re-checked ---------------------------------------------
    def _follow(self, url: str, headers: dict[str, str], *, check_robots: bool) -> Response:
        deadline = self.clock() + self.config.timeout
        current = url
        permanent = True
        for _hop in range(self.config.max_redirects + 1):
            host = _checked_url(current)
            self._check_not_before(current)
            if check_robots and not self.robots_for(current).allowed(current, self.config.user_agent):
                raise FetchRefused(f"The site's robots.txt does not allow fetching {current}.")
            self._pace(host, check_robots)
            status, response_headers, body = self._one(current, headers, deadline)
            if status not in REDIRECTS or "location" not in response_headers:
                moved = current if permanent and current != url else None
                return Response(current, status, response_headers, body, moved_to=moved)
            permanent = permanent and status in PERMANENT
            current = urljoin(current, response_headers["location"].strip())
        raise FetchFailed(f"{url} redirected more than {self.config.max_redirects} times.")

    def _check_not_before(self, url: str) -> None:
        origin = _origin(url)
        self.touched.add(origin)
        until = self._not_before.get(origin)
        if until is not None and until > self.wall():
            when = datetime.fromtimestamp(until, UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise FetchFailed(
                f"{origin} asked (HTTP 429/503 with Retry-After) not to be fetched before {when}, "
                f"so {url} is skipped until then."
            )

    def _pace(self, host: str, check_robots: bool) -> None:
        delay = self.config.min_delay
        if check_robots:
            crawl_delay = self._robots_delay(host)
            delay = max(delay, crawl_delay)
        last = self._last_request.get(host)
        if last is not None:
            wait = last + delay - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last_request[host] = self.clock()

    def _robots_delay(self, host: str) -> float:
        rules = next((r for origin, r in self._robots.items() if urlsplit(origin).netloc == host), None)
        return rules.crawl_delay(self.config.user_agent) if rules else 0.0

    def _one(self, url: str, headers: dict[str, str], deadline: float) -> tuple[int, dict[str, str], bytes]:
        self.requested.append(url)
        left = deadline - self.clock()
        if left <= 0:
            raise FetchFailed(f"{url} took longer than {self.config.timeout:g} s.")
        try:
            with self._client.stream("GET", url, headers=headers, timeout=httpx.Timeout(left)) as response:
                response_headers = {k.lower(): v for k, v in response.headers.items()}
                declared = response_headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.config.max_bytes:
                    raise FetchFailed(_too_large(url, self.config.max_bytes))
                body = self._read(response.iter_bytes(), url, deadline)
                return response.status_code, response_headers, body
        except httpx.TimeoutException as error:
            raise FetchFailed(f"{url} took longer than {self.config.timeout:g} s.") from error
        except httpx.HTTPError as error:
            raise FetchFailed(f"{url} could not be fetched ({type(error).__name__}: {error}).") from error

    def _read(self, chunks: Iterable[bytes], url: str, deadline: float) -> bytes:
        parts: list[bytes] = []
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > self.config.max_bytes:
                raise FetchFailed(_too_large(url, self.config.max_bytes))
            if self.clock() > deadline:
                raise FetchFailed(f"{url} took longer than {self.config.timeout:g} s.")
            parts.append(chunk)
        return b"".join(parts)


def _conditional(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _checked_url(url: str) -> str:
    """The ``host:port`` of an http(s) URL; FetchRefused for any other scheme or a URL without a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchRefused(f"Only http and https URLs are fetched, not {parts.scheme or 'a URL without a scheme'}.")
    if not parts.hostname:
        raise FetchRefused(f"The URL {url!r} has no host.")
    if parts.username or parts.password:
        raise FetchRefused("URLs with a user name or password are not fetched.")
    return parts.netloc.lower()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _retry_after(response: Response, now: float) -> float | None:
    """Seconds a 429/503 asked to wait (None when it is not one, or gave no readable Retry-After)."""
    if response.status not in RETRY_STATUSES:
        return None
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _too_large(url: str, limit: int) -> str:
    return f"{url} is larger than the {limit / 1_000_000:g} MB cap (ARCHIVIST_MAX_FILE_MB)."
