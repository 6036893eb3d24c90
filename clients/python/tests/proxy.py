"""A loopback TCP proxy that can lose answers: the request reaches the gateway (which commits
it), and the answer is cut off before the client sees any of it, as when a connection or a
gateway dies between its commit and its reply; or, with ``hold=True``, the answer never comes
and the connection stays open, as with a gateway that accepts and then hangs."""

import socket
import threading
from typing import List


class AnswerLosingProxy:
    def __init__(self, upstream_port: int, lose: int, hold: bool = False) -> None:
        self.upstream_port = upstream_port
        self.to_lose = lose
        self.hold = hold
        self.lost = 0
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self.url = "http://127.0.0.1:%d/graphql" % self.port
        self._sockets = []  # type: List[socket.socket]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _lose_this_answer(self) -> bool:
        with self._lock:
            if self.lost < self.to_lose:
                self.lost += 1
                return True
            return False

    def _pipe(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        held = False
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if held:
                    continue  # the rest of a held answer goes nowhere either
                if answers and self._lose_this_answer():
                    if not self.hold:
                        break
                    # Swallowed; the client's socket stays open until the client gives up.
                    held = True
                    continue
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for s in self._sockets:
            try:
                s.close()
            except OSError:
                pass
