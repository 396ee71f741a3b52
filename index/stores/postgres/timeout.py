"""Bounded waits on the PostgreSQL store: a stalled database ends a question with one line, not a hang.

A server that is alive but slow is stopped by its own `statement_timeout` (set per connection),
which cancels the query cleanly. A connection that goes silent (a dead network path, a proxy or
a server that stopped answering) sends no cancel reply and no error: only the client can notice,
so every wait of the connection for the server is bounded too, a little longer than the
server's limit so that a live server's clean error wins. TCP keepalives and tcp_user_timeout
cannot do this: a middlebox that stays up acknowledges them while nothing comes back.
"""

from __future__ import annotations

import math
from typing import Any

import psycopg
from psycopg import errors

GRACE = 2.0  # seconds the client waits beyond the server's statement_timeout for its cancel reply


class Stalled(psycopg.OperationalError):
    """The database sent nothing for the configured time; the connection was closed."""


class BoundedConnection(psycopg.Connection):
    """A connection whose every wait for the server ends after `read_timeout` seconds (None: never)."""

    read_timeout: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        """psycopg's wait, bounded; a Stalled error (and a closed connection) when the bound passes."""
        bound = timeout if timeout is not None else self.read_timeout
        try:
            return super().wait(gen, interval, bound)
        except errors._WaitTimeout:
            # The protocol state is unknown mid-query: drop the connection (pgconn directly: close()
            # would wait for the lock this query holds). The next query reconnects.
            self.pgconn.finish()
            raise Stalled(f"the database sent nothing for {self.read_timeout:g} s (stalled)") from None


def bounded_connection(url: str, autocommit: bool, timeout: float) -> psycopg.Connection:
    """A connection to `url`; with a timeout (seconds, 0: none) connecting and each query are bounded."""
    if not timeout:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    conn = BoundedConnection.connect(url, autocommit=autocommit,
                                     connect_timeout=max(2, math.ceil(timeout)),  # libpq's minimum is 2 s
                                     options=f"-c statement_timeout={round(timeout * 1000)}")
    conn.read_timeout = timeout + GRACE
    return conn
