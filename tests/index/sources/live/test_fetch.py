"""The guarded fetcher: addresses, schemes, redirects, size and time caps, robots.txt, pacing, Retry-After."""

from __future__ import annotations

import socket
import time

import pytest

from index.errors import FetchFailed, FetchRefused
from index.sources.live.fetch import AddressPolicy, FetchConfig, Fetcher
from tests.index.sources.live.site import Fault, TestSite, real_posts

LOCAL = AddressPolicy.parse("127.0.0.1")


@pytest.fixture
def site():
    server = TestSite(real_posts(4)).start()
    yield server
    server.stop()


def fetcher(**changes) -> Fetcher:
    config = {"policy": LOCAL, "min_delay": 0.0, "timeout": 5.0, **changes}
    return Fetcher(FetchConfig(**config))


def test_loopback_is_refused_without_the_allow_list_in_one_sentence(site):
    with Fetcher(FetchConfig(min_delay=0.0)) as guarded, pytest.raises(FetchRefused) as refused:
        guarded.get(site.base + "/feed/")
    message = str(refused.value)
    assert "127.0.0.1" in message and "not a public address" in message and message.count(". ") == 0
    assert site.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/", "//no-scheme"])
def test_other_schemes_are_refused(url):
    with fetcher() as guarded, pytest.raises(FetchRefused, match="Only http and https"):
        guarded.get(url)


def test_credentials_in_the_url_are_refused(site):
    with fetcher() as guarded, pytest.raises(FetchRefused, match="user name or password"):
        guarded.get(site.base.replace("http://", "http://user:pw@") + "/feed/")


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "10.0.0.5",
        "192.168.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_a_public_name_resolving_to_a_private_address_is_refused_before_connecting(address, monkeypatch):
    connects = []
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: connects.append(a))

    def resolver(host: str, port: int) -> list[str]:
        return [address]

    with Fetcher(FetchConfig(min_delay=0.0), resolver=resolver) as guarded, pytest.raises(FetchRefused):
        guarded.get("http://news.example.com/feed/")
    assert connects == []


def test_the_connection_goes_to_the_address_that_was_checked(site):
    """A name the allow-list does not know resolves (as a rebinding DNS would) to the allowed test site."""
    port = site.base.rsplit(":", 1)[1]

    def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host == "gazette.test" else []

    with Fetcher(FetchConfig(policy=LOCAL, min_delay=0.0), resolver=resolver) as guarded:
        response = guarded.get(f"http://gazette.test:{port}/feed/")
    assert response.status == 200 and b"<rss" in response.body


def test_a_redirect_to_a_loopback_address_off_the_allow_list_is_refused_without_connecting(site, monkeypatch):
    port = site.base.rsplit(":", 1)[1]
    site.faults["/feed/"] = Fault(status=302, headers={"Location": f"http://127.0.0.2:{port}/feed/"})
    connected = []
    real = socket.create_connection

    def spy(address, *args, **kwargs):
        connected.append(address[0])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    with fetcher() as guarded, pytest.raises(FetchRefused, match="127.0.0.2"):
        guarded.get(site.base + "/feed/")
    assert "127.0.0.2" not in connected and "127.0.0.1" in connected


def test_a_redirect_to_another_scheme_is_refused(site):
    site.faults["/feed/"] = Fault(status=301, headers={"Location": "file:///etc/passwd"})
    with fetcher() as guarded, pytest.raises(FetchRefused, match="Only http and https"):
        guarded.get(site.base + "/feed/")


def test_redirect_loops_stop(site):
    site.faults["/a"] = Fault(status=302, headers={"Location": "/b"})
    site.faults["/b"] = Fault(status=302, headers={"Location": "/a"})
    with fetcher() as guarded, pytest.raises(FetchFailed, match="redirected more than 5 times"):
        guarded.get(site.base + "/a")
    assert len(site.requested("/a")) + len(site.requested("/b")) == 6


def test_permanent_redirects_report_the_new_address(site):
    site.faults["/old-feed"] = Fault(status=301, headers={"Location": "/feed/"})
    site.faults["/temp"] = Fault(status=302, headers={"Location": "/feed/"})
    with fetcher() as guarded:
        moved = guarded.get(site.base + "/old-feed")
        temporary = guarded.get(site.base + "/temp")
    assert moved.status == 200 and moved.moved_to == site.base + "/feed/"
    assert temporary.status == 200 and temporary.moved_to is None


def test_a_body_over_the_cap_is_cut_off(site):
    site.faults["/declared"] = Fault(body=b"x" * 3_000_000)
    site.faults["/streamed"] = Fault(body=b"<rss>", huge=50_000_000)
    started = time.monotonic()
    with fetcher(max_bytes=1_000_000) as guarded:
        with pytest.raises(FetchFailed, match="larger than the 1 MB cap"):
            guarded.get(site.base + "/declared")
        with pytest.raises(FetchFailed, match="larger than the 1 MB cap"):
            guarded.get(site.base + "/streamed")
    assert time.monotonic() - started < 10


def test_a_slow_server_is_stopped_at_the_time_cap(site):
    site.faults["/drip"] = Fault(body=b"<rss>" + b" " * 40, delay=0.3, drip=10)  # every read is quick, the whole is not
    site.faults["/silent"] = Fault(body=b"<rss/>", delay=3.0)
    with fetcher(timeout=1.0) as guarded:
        for path in ("/drip", "/silent"):
            started = time.monotonic()
            with pytest.raises(FetchFailed, match="took longer than 1 s"):
                guarded.get(site.base + path)
            assert time.monotonic() - started < 2.5


def test_conditional_requests_get_304(site):
    with fetcher() as guarded:
        first = guarded.get(site.base + "/feed/")
        second = guarded.get(site.base + "/feed/", etag=first.etag, last_modified=first.last_modified)
    assert first.status == 200 and first.etag
    assert second.not_modified and second.body == b""
    assert site.requests[-1] == ("/feed/", True)


def test_robots_disallowed_paths_are_never_requested(site):
    with fetcher() as guarded, pytest.raises(FetchRefused, match="robots.txt does not allow"):
        guarded.get(site.base + "/private/staff-only/")
    assert site.requested("/private/") == []
    assert site.requested("/robots.txt") == ["/robots.txt"]


def test_robots_rules_match_the_product_token_of_the_user_agent(site):
    site.faults["/robots.txt"] = Fault(body=b"User-agent: ArchivistBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    with fetcher(user_agent="ArchivistBot/0.1 (+https://example.org/bot)") as guarded, pytest.raises(FetchRefused):
        guarded.get(site.base + "/feed/")
    with fetcher(user_agent="OtherBot/1.0") as other:
        assert other.get(site.base + "/feed/").status == 200


def test_a_broken_robots_txt_closes_the_site_and_a_missing_one_opens_it(site):
    site.faults["/robots.txt"] = Fault(status=500, body=b"oops")
    with fetcher() as guarded, pytest.raises(FetchRefused):
        guarded.get(site.base + "/feed/")
    site.faults["/robots.txt"] = Fault(status=404, body=b"")
    with fetcher() as guarded:
        assert guarded.get(site.base + "/feed/").status == 200


def test_requests_to_one_host_are_paced(site):
    with fetcher(min_delay=0.25) as guarded:
        started = time.monotonic()
        for _ in range(3):
            guarded.get(site.base + "/feed/")
        elapsed = time.monotonic() - started
    assert elapsed >= 0.75  # robots.txt, then three feeds: three gaps of 0.25 s at least


def test_crawl_delay_in_robots_txt_slows_requests_down(site):
    site.faults["/robots.txt"] = Fault(body=b"User-agent: *\nCrawl-delay: 0.4\n")
    with fetcher(min_delay=0.0) as guarded:
        started = time.monotonic()
        guarded.get(site.base + "/feed/")
        guarded.get(site.base + "/feed/")
        assert time.monotonic() - started >= 0.4


def test_429_with_a_short_retry_after_is_retried_after_waiting(site):
    site.faults["/busy"] = Fault(status=429, headers={"Retry-After": "1"}, body=b"slow down")
    waits: list[float] = []
    with Fetcher(FetchConfig(policy=LOCAL, min_delay=0.0, max_retries=2), sleep=waits.append) as guarded:
        response = guarded.get(site.base + "/busy")
    assert response.status == 429 and waits == [1.0, 1.0]
    assert len(site.requested("/busy")) == 3
    with pytest.raises(FetchFailed, match="answered HTTP 429; it asked to retry after 1"):
        response.check()


def test_a_long_retry_after_is_reported_not_waited_for(site):
    site.faults["/busy"] = Fault(status=503, headers={"Retry-After": "3600"}, body=b"maintenance")
    waits: list[float] = []
    with Fetcher(FetchConfig(policy=LOCAL, min_delay=0.0), sleep=waits.append) as guarded:
        response = guarded.get(site.base + "/busy")
    assert response.status == 503 and waits == [] and len(site.requested("/busy")) == 1


def test_allow_list_entries_can_be_networks_or_host_names():
    policy = AddressPolicy.parse(" 10.1.0.0/16 , intranet.local ,")
    import ipaddress

    assert policy.allows("a.example", ipaddress.ip_address("10.1.2.3"))
    assert not policy.allows("a.example", ipaddress.ip_address("10.2.0.1"))
    assert policy.allows("intranet.local", ipaddress.ip_address("192.168.0.9"))
    assert policy.allows("a.example", ipaddress.ip_address("93.184.215.14"))
