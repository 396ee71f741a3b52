"""A small TCP proxy for the fault-injection tests: latency, stalls, cut and reset connections, refusals.

It sits between citebot and a real server (a TCP address, or a Unix socket such as PostgreSQL's)
and forwards bytes both ways, one thread per direction. A fault strikes the response side (server
to client) once `after` bytes of a connection's response have passed, on the first `times`
connections that get that far; later connections are forwarded cleanly, so a retry can succeed.
`stop()` closes every socket and joins every thread: nothing outlives a test.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass

KINDS = ("none", "latency", "stall", "cut", "reset", "refused")


@dataclass(frozen=True)
class Fault:
    """What the proxy does to the connections it forwards."""

    kind: str = "none"  # one of KINDS
    after: int = 0  # response bytes forwarded before a stall, cut or reset strikes
    times: int = 1  # connections struck; later ones are forwarded cleanly
    delay: float = 0.0  # latency: seconds added before each forwarded read, both ways
    # Strike only responses to a request holding these bytes (b"/chat/completions": not the probes);
    # `after` then counts from that request. Empty: any connection, from its first byte.
    match: bytes = b""


class FaultProxy:
    """A listening proxy to `upstream` ((host, port) or a Unix socket path) applying one Fault."""

    def __init__(self, upstream: tuple[str, int] | str, fault: Fault) -> None:
        if fault.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {KINDS}")
        self.upstream, self.fault = upstream, fault
        self.struck = 0  # connections the fault hit
        # Per connection: response bytes forwarded since the last matched request, whether struck, and
        # "responses": the bytes of each matched request's response, in order.
        self.traffic: list[dict] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        if fault.kind != "refused":  # bound but not listening: connections to the port are refused
            self._listener.listen(64)
            self._spawn(self._accept)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="fault-proxy")
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:  # the listener was closed by stop()
                return
            family = socket.AF_UNIX if isinstance(self.upstream, str) else socket.AF_INET
            server = socket.socket(family, socket.SOCK_STREAM)
            shared = {"response": 0, "struck": False, "matched": not self.fault.match,
                      "responses": [] if self.fault.match else [0]}
            with self._lock:
                self._sockets += [client, server]
                self.traffic.append(shared)
            try:
                server.connect(self.upstream)
            except OSError:
                client.close()
                continue
            self._spawn(self._pump, client, server, None, shared)
            self._spawn(self._pump, server, client, shared)

    def _strike(self, shared: dict) -> bool:
        """Whether this connection's response is struck now (the first `times` to reach `after` bytes)."""
        if shared["struck"]:
            return True
        with self._lock:
            if self.struck >= self.fault.times:
                return False
            self.struck += 1
        shared["struck"] = True
        return True

    def _pump(self, source: socket.socket, sink: socket.socket, response: dict | None,
              shared: dict | None = None) -> None:
        """Forward source to sink until either closes; on the response side, apply the fault."""
        fault = self.fault
        try:
            while not self._stopping.is_set():
                data = source.recv(65536)
                if not data:
                    break
                if fault.kind == "latency" and self._stopping.wait(fault.delay):
                    break
                if shared is not None and response is None and fault.match and fault.match in data:
                    shared.update(matched=True, response=0)  # the response to this request starts now
                    shared["responses"].append(0)
                if response is not None and response["matched"] and fault.kind in ("stall", "cut", "reset"):
                    room = fault.after - response["response"]
                    if len(data) >= room and (response["struck"] or self._strike(response)):
                        sink.sendall(data[:max(room, 0)])
                        response["response"] += max(room, 0)
                        self._fail(source, sink)
                        return
                if response is not None:
                    response["response"] += len(data)
                    if response["responses"]:
                        response["responses"][-1] += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _shut(sink)

    def _fail(self, upstream: socket.socket, client: socket.socket) -> None:
        """The fault itself: silence with the connection open, a clean close, or a reset."""
        if self.fault.kind == "stall":
            self._stopping.wait()  # holds both sockets open, silent, until stop()
            return
        if self.fault.kind == "reset":
            # SO_LINGER with a zero timeout: close() sends RST instead of FIN. SHUT_RD sends nothing
            # but wakes the other direction's thread, blocked in recv on this socket.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.shutdown(socket.SHUT_RD)
        else:
            _shut(client)
        client.close()
        _shut(upstream)

    @property
    def address(self) -> tuple[str, int]:
        """The proxy's (host, port)."""
        return "127.0.0.1", self.port

    def stop(self) -> None:
        """Close every socket and join every thread."""
        self._stopping.set()
        _shut(self._listener)  # wakes the thread blocked in accept() (close() alone would not)
        self._listener.close()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            _shut(sock)
        for thread in threads:
            thread.join(timeout=10)
        for sock in sockets:
            sock.close()
        alive = [t for t in threads if t.is_alive()]
        assert not alive, f"{len(alive)} proxy threads still running"

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _shut(sock: socket.socket) -> None:
    """Shut a socket down both ways (wakes a thread blocked in recv on it); ignore one already closed."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)

