"""Read a request body within a deadline, so a client that sends slowly holds a request thread for a bounded time.

gunicorn's gthread workers read the body straight from the client's socket, and a socket timeout bounds one
``recv`` only: a client that sends one byte every 100 ms never trips it and could hold the thread (and, before,
the large-request slot) for minutes. So a single watchdog thread per process keeps the deadlines of the bodies being
read and, when one passes, shuts the read side of that connection (``shutdown(SHUT_RD)``): the blocked read returns
at once, the call is answered 408 (``RequestTimeoutError``), and gunicorn then finds the connection at its end and
closes it instead of waiting for the rest on a keep-alive read.

In production nginx buffers whole bodies before it passes them on (``deploy/nginx.conf``), so this only fires when
gunicorn is reached directly. The Flask test client has no socket: its bodies are read as they are.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import socket
import threading
import time
from typing import Any

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from cds_service.http.deadline import Deadline
from cds_service.wire.errors import InvalidHookRequestError, RequestTimeoutError

logger = logging.getLogger(__name__)

_CHUNK = 64 * 1024


class _Watch:
    """One body being read: its socket, and whether its deadline has passed (set by the watchdog)."""

    __slots__ = ("done", "expired", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.expired = False
        self.done = False


class ReadWatchdog:
    """One daemon thread that shuts the read side of connections whose body is not read by its deadline."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, sock: socket.socket, at: float) -> _Watch:
        """Start watching ``sock`` until ``at`` (``time.monotonic()`` seconds); return the handle to ``release``."""
        watch = _Watch(sock)
        with self._wake:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="body-read-watchdog", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (at, next(self._order), watch))
            self._wake.notify()
        return watch

    def release(self, watch: _Watch) -> bool:
        """Stop watching (the body is read, or the read failed); return whether the deadline had passed first."""
        with self._wake:
            watch.done = True
            return watch.expired

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                at, _, watch = self._heap[0]
                wait = at - self._clock()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
                watch.expired = True
            try:
                watch.sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass  # already closed by the client


WATCHDOG = ReadWatchdog()
"""The process's watchdog (its thread starts with the first body read from a socket)."""


def read_body(deadline: Deadline) -> bytes:
    """Return the current request's whole body, read before ``deadline``.

    Args:
        deadline: when the body must have arrived (hook calls: the latency budget from the request's arrival).

    Raises:
        RequestTimeoutError: 408, the body had not arrived by the deadline (the connection is then closed).
        InvalidHookRequestError: 400, the body ended in a way the HTTP layer cannot read (a broken chunked body).
        RequestEntityTooLarge: 413 (werkzeug), more than ``CDS_MAX_CONTENT_LENGTH`` bytes.
    """
    sock = request.environ.get("gunicorn.socket")
    watch = WATCHDOG.watch(sock, deadline.at) if isinstance(sock, socket.socket) else None
    chunks: list[bytes] = []
    failure: Exception | None = None
    try:
        while chunk := request.stream.read(_CHUNK):
            chunks.append(chunk)
    except RequestEntityTooLarge:
        raise
    except Exception as error:  # werkzeug's ClientDisconnected, gunicorn's parse errors, OSError: the read ended
        failure = error
    finally:
        expired = WATCHDOG.release(watch) if watch is not None else False
    if expired:
        logger.warning("408: the request body did not arrive within %.3f s", deadline.budget)
        raise RequestTimeoutError(
            f"The request body did not arrive within {deadline.budget * 1000:.0f} ms; nothing was evaluated."
        )
    if failure is not None:
        logger.info("400: the request body could not be read: %s: %s", type(failure).__name__, failure)
        raise InvalidHookRequestError("The request body could not be read to its end.") from failure
    return b"".join(chunks)
