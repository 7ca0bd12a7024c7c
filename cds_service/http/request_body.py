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

import logging
import socket
from typing import IO

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from cds_service.time_limits import WATCHDOG, Deadline
from cds_service.wire.errors import InvalidHookRequestError, RequestTimeoutError

logger = logging.getLogger(__name__)

_CHUNK = 64 * 1024


def read_body(deadline: Deadline) -> bytes | bytearray:
    """Return the current request's whole body, read before ``deadline``.

    A body with a ``Content-Length`` is read into one buffer of that size (at most ``CDS_MAX_CONTENT_LENGTH``), so a
    10 MiB body costs 10 MiB, not its chunks and their join besides; a chunked body is read in chunks and joined.

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
    buffer: bytearray | None = None
    failure: Exception | None = None
    try:
        stream = request.stream  # werkzeug refuses a declared length over the limit here (413)
        length = request.content_length
        if length is not None:
            buffer = _read_into(stream, bytearray(length))
        else:
            while chunk := stream.read(_CHUNK):
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
    return buffer if buffer is not None else b"".join(chunks)


def _read_into(stream: IO[bytes], buffer: bytearray) -> bytearray:
    """Fill ``buffer`` from ``stream`` in chunks; raise ``EOFError`` if the stream ends first (a broken body)."""
    filled = 0
    with memoryview(buffer) as view:
        while filled < len(buffer):
            read = stream.readinto(view[filled : filled + _CHUNK])  # type: ignore[attr-defined]
            if not read:
                raise EOFError(f"the body ended after {filled} of {len(buffer)} bytes")
            filled += read
    return buffer
