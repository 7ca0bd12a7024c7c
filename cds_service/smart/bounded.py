"""Reading an authorization server's answer within a time and size limit (discovery and the token endpoint).

``requests`` bounds each socket wait (its ``timeout``), not the whole answer: a server that sends a byte a second
would keep a worker for ever, and one that sends a gigabyte would fill its memory. ``read_limited`` reads a
streamed response in chunks and stops at the deadline or the byte limit, closing the connection.
"""

from __future__ import annotations

import time

import requests

MAX_ANSWER_BYTES = 64 * 1024
"""The largest SMART configuration or token response read, bytes (real ones are 1-10 kB; an id_token a few kB)."""
_CHUNK = 8192


class AnswerTooLargeError(Exception):
    """The answer exceeded its byte limit (the connection was closed)."""


class AnswerTooSlowError(Exception):
    """The answer did not arrive completely before its deadline (the connection was closed)."""


def read_limited(response: requests.Response, *, limit: int, deadline: float) -> bytes:
    """Read the body of a response made with ``stream=True``; close it on any limit.

    Args:
        response: the streamed response.
        limit: the most bytes read (after content decoding).
        deadline: ``time.monotonic()`` value by which the whole body must have arrived.

    Raises:
        AnswerTooLargeError: more than ``limit`` bytes.
        AnswerTooSlowError: still arriving at ``deadline``.
        requests.RequestException: the connection failed or timed out while reading.
    """
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise AnswerTooLargeError(f"answer larger than {limit} bytes")
            if time.monotonic() > deadline:
                raise AnswerTooSlowError("answer not complete within the time allowed")
            chunks.append(chunk)
    except BaseException:
        response.close()
        raise
    return b"".join(chunks)
