"""One polite HTTP client: timeouts, a size limit, a redirect limit, robots.txt and a clear User-Agent."""

from __future__ import annotations

import urllib.robotparser
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

USER_AGENT = "citebot/0.1 (news question answering; indexes the pages it is given)"
# Statuses after which a later try may succeed: the copy fetched before is kept meanwhile.
_TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}


class FetchError(Exception):
    """A URL that could not be fetched; the message is the one-line reason.

    `permanent`: the page is gone or refused (404, robots.txt), not just unreachable right now.
    """

    def __init__(self, reason: str, permanent: bool = True) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True)
class Limits:
    """How long, how large and how far a fetch may go."""

    timeout: float = 15.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5


@dataclass(frozen=True)
class Response:
    """A fetched URL: status 200 with its body, or 304 (not modified) without one."""

    url: str             # after redirects
    status: int
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None


def check_url(url: str) -> str:
    """The URL when it is an absolute http(s) URL with a host; FetchError otherwise."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise FetchError(f"invalid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"unsupported URL scheme '{parts.scheme or 'none'}' (http or https only)")
    if not parts.hostname:
        raise FetchError("invalid URL (no host)")
    return urlunsplit(parts._replace(fragment=""))


class Fetcher:
    """Fetches pages with conditional requests; asks each site's robots.txt once per run."""

    def __init__(self, limits: Limits | None = None, user_agent: str = USER_AGENT) -> None:
        self.limits = limits or Limits()
        self.user_agent = user_agent
        self.client = httpx.Client(follow_redirects=True, max_redirects=self.limits.max_redirects,
                                   timeout=self.limits.timeout, headers={"User-Agent": user_agent})
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}

    def close(self) -> None:
        """Close the connections."""
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Response:
        """GET url (conditionally when a validator is given); FetchError with the reason on failure."""
        url = check_url(url)
        if not self.allowed(url):
            raise FetchError("disallowed by the site's robots.txt")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        status, final, body, got = self._request(url, headers)
        if status == 304:
            return Response(final, 304, b"", "", etag, last_modified)
        if status >= 400:
            raise FetchError(f"HTTP {status}", permanent=status not in _TRANSIENT_STATUSES)
        return Response(final, status, body, got.get("content-type", ""), got.get("etag"), got.get("last-modified"))

    def _request(self, url: str, headers: dict[str, str]) -> tuple[int, str, bytes, httpx.Headers]:
        limit = self.limits.max_bytes
        try:
            with self.client.stream("GET", url, headers=headers) as response:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise FetchError(f"larger than {limit / 1e6:g} MB")
                body = bytearray()
                if response.status_code < 300:
                    for piece in response.iter_bytes():
                        body += piece
                        if len(body) > limit:  # the server may not say, or lie about, the length
                            raise FetchError(f"larger than {limit / 1e6:g} MB")
                return response.status_code, str(response.url), bytes(body), response.headers
        except httpx.TooManyRedirects:
            raise FetchError(f"more than {self.limits.max_redirects} redirects") from None
        except httpx.TimeoutException:
            raise FetchError(f"timed out after {self.limits.timeout:g} s", permanent=False) from None
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL ({exc})") from None
        except httpx.UnsupportedProtocol:
            raise FetchError("a redirect led to an unsupported URL scheme") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot connect ({type(exc).__name__}: {exc})", permanent=False) from None

    def allowed(self, url: str) -> bool:
        """Whether the site's robots.txt lets this user agent fetch url (no robots.txt: yes)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = self._read_robots(origin)
        robots = self._robots[origin]
        return robots is None or robots.can_fetch(self.user_agent, url)

    def _read_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        try:
            response = self.client.get(f"{origin}/robots.txt")
        except httpx.HTTPError:
            return None  # unreachable: the page fetch itself will say why
        parser = urllib.robotparser.RobotFileParser()
        if response.status_code >= 500:  # RFC 9309: an unreachable robots.txt means nothing is allowed
            parser.parse(["User-agent: *", "Disallow: /"])
        elif response.status_code >= 400 or len(response.content) > self.limits.max_bytes:
            return None  # no robots.txt: everything is allowed
        else:
            parser.parse(response.text.splitlines())
        return parser
