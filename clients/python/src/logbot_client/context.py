"""The request id of the work in progress, for records logged without ``extra={"request_id": ...}``.

A :class:`contextvars.ContextVar`, so it follows each thread and each asyncio task on its own::

    with logbot_client.request_context("RP123"):
        log.error("payment failed")          # stored with requestId RP123
"""

import contextlib
import contextvars
from typing import Iterator, Optional

#: The current request id; the handler reads it in the thread that logs.
request_id_var = contextvars.ContextVar("logbot_request_id", default=None)  # type: contextvars.ContextVar[Optional[str]]


@contextlib.contextmanager
def request_context(request_id: Optional[str]) -> Iterator[None]:
    """Sets the request id for the records logged inside the block."""
    token = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(token)
