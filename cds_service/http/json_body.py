"""A request body from bytes to JSON: measured before it is parsed, parsed only within what the call may hold.

The body's JSON values and nesting depth are counted first (``cds_service.wire.json_shape``): over the limits it
is refused with 413 and nothing of it is parsed. A body small in bytes but rich in values (``{}`` entries are three
bytes each) is as large a call as a body over ``CDS_LARGE_REQUEST_BYTES``: it takes the large-call slot before it is
parsed, so that the four request threads of a worker cannot each parse one (issue 29, item 1).
"""

from __future__ import annotations

from typing import Any

import orjson

from cds_service.http.large_requests import BUSY, Admission
from cds_service.time_limits import Deadline
from cds_service.wire.errors import InvalidHookRequestError, RequestTooLargeError, ServiceBusyError
from cds_service.wire.json_shape import JsonLimits, measure

BYTES_PER_VALUE = 20
"""A body holding more JSON values than its threshold in bytes / 20 is large: real FHIR averages 23 bytes a value
(the extreme benchmark patient: 100,191 values in 2.29 MB), so a real body reaches this only near the byte threshold
(1 MiB: 52,428 values), where ``{}`` entries reach it at 150 kB."""


def parse_body(
    raw: bytes | bytearray, limits: JsonLimits, admission: Admission | None = None, deadline: Deadline | None = None
) -> Any:
    """Return the body parsed as JSON whatever the Content-Type (clients differ).

    Args:
        raw: the body as read.
        limits: what it may hold (``CDS_MAX_JSON_*`` for hook calls; less for feedback).
        admission: the call's place at the large-call gate; a body holding more values than a small call may takes
            the slot (waiting at most until ``deadline``). ``None``: never gated (feedback, bounded by ``limits``).
        deadline: the call's deadline (required with ``admission``).

    Raises:
        InvalidHookRequestError: 400, empty or not JSON.
        RequestTooLargeError: 413, more JSON values or deeper nesting than ``limits`` (nothing parsed).
        ServiceBusyError: 503, a body rich in values got no large-call slot before ``deadline`` (nothing parsed).
    """
    if not raw:
        raise InvalidHookRequestError("The request body is empty; a JSON body is required.")
    shape = measure(raw, limits)
    refusal = shape.refusal(limits, what="The request body")
    if refusal is not None:
        raise RequestTooLargeError(f"{refusal} Nothing was evaluated.")
    if admission is not None and shape.values > admission.threshold // BYTES_PER_VALUE:
        if not admission.hold(deadline.remaining() if deadline is not None else 0.0):
            raise ServiceBusyError(BUSY)
    try:
        return orjson.loads(raw)  # several times faster than json on large prefetch; rejects NaN and bad UTF-8
    except (ValueError, RecursionError) as error:
        raise InvalidHookRequestError("The request body is not valid JSON.") from error
