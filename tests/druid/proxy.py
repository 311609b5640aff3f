"""A TCP proxy in front of the real Druid, for faults the network causes.

The app talks to the proxy's port; the proxy forwards every byte to the
router. `down()` closes the listener and cuts every open connection, as a
stopped Druid would (connections refused); `up()` listens on the same port
again, as a Druid that came back. `stall()` accepts connections and never
answers, as a Druid busy beyond any timeout; `hold(marker)` does that only to
the requests that carry `marker`, as a Druid stuck on one query. Druid itself
is never stopped: restarting six JVMs would cost the suite a minute per test.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

CHUNK_BYTES = 65_536


class DruidProxy:
    """Forward 127.0.0.1:`port` to `target_host`:`target_port` until told otherwise."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = _free_port()
        self.connections = 0  # accepted since start: how many tries a client made
        self.requests: list[bytes] = []  # the request line of each request forwarded or held
        self._stalled = False
        self._held: bytes | None = None
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        """Listen (again) and forward."""
        self._stalled = False
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Refuse new connections and cut the open ones."""
        listener, self._listener = self._listener, None
        if listener is not None:
            # Only shutdown wakes the thread blocked in accept(); close alone leaves the
            # port accepting until that call returns.
            _close(listener)
        with self._lock:
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def stall(self) -> None:
        """Accept connections but never forward or answer."""
        self.up()
        self._stalled = True

    def hold(self, marker: bytes) -> None:
        """Forward every request except those that carry `marker`: hold those unanswered."""
        self.up()
        self._held = marker

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by down()
                return
            with self._lock:
                self.connections += 1
                self._open.append(client)
            if self._stalled:
                continue  # held open, never read: the client's read timeout decides
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.append(upstream)
            threading.Thread(target=self._forward, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()

    def _forward(self, client: socket.socket, upstream: socket.socket) -> None:
        """Pass the client's bytes on, noting each request, until a held one comes."""
        try:
            while data := client.recv(CHUNK_BYTES):
                if data.startswith((b"GET ", b"POST ", b"DELETE ")):
                    with self._lock:
                        self.requests.append(data.split(b"\r\n", 1)[0])
                if self._held is not None and self._held in data:
                    return  # neither forwarded nor closed: the client's read timeout decides
                upstream.sendall(data)
        except OSError:
            pass
        _close(client)
        _close(upstream)

    def __enter__(self) -> DruidProxy:
        self.up()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(CHUNK_BYTES):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the other side
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
