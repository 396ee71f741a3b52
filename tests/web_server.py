"""A local HTTP server for the web-indexing tests: serves a folder with ETag and Last-Modified,
answers conditional requests with 304, and counts what it was asked. Never the internet."""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/rss+xml", ".txt": "text/plain"}


class SiteServer:
    """Serves `root` on 127.0.0.1; `requests` counts GETs by path, `not_modified` the 304s among them.

    Special paths: /loop (redirects to itself), /slow/... (serves the rest, first waiting `slow_seconds`
    when the path contains `slow_match`),
    /gone (410), /error (503), /big (more bytes than any test limit).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.slow_seconds = 0.0
        self.slow_match = ""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SiteServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        """Forget the counts."""
        self.requests.clear()
        self.not_modified.clear()

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                site.requests[path] += 1
                if path == "/loop":
                    return self._send(302, b"", extra={"Location": "/loop"})
                if path == "/gone":
                    return self._send(410, b"gone")
                if path == "/error":
                    return self._send(503, b"busy")
                if path == "/big":
                    return self._send(200, b"<html>" + b"x" * 3_000_000 + b"</html>", "text/html")
                if path.startswith("/slow/"):
                    if site.slow_match in path:
                        time.sleep(site.slow_seconds)
                    path = path[len("/slow"):]
                file = site.root / path.lstrip("/")
                if not file.is_file():
                    return self._send(404, b"not found")
                body = file.read_bytes()
                etag = '"' + hashlib.sha1(body).hexdigest() + '"'
                modified = email.utils.formatdate(int(file.stat().st_mtime), usegmt=True)
                if self.headers.get("If-None-Match") == etag:
                    site.not_modified[path] += 1
                    return self._send(304, b"", extra={"ETag": etag})
                kind = TYPES.get(file.suffix, "application/octet-stream")
                self._send(200, body, kind, {"ETag": etag, "Last-Modified": modified})

            def _send(self, status, body, kind="text/plain", extra=None):
                self.send_response(status)
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

        return Handler
