"""Typed errors. Each carries what the gateway said: ``code`` (the GraphQL error's
``extensions.code``, or the APIG ``error_code`` of a 401), the HTTP ``status``, the input
``field`` at fault when there is one, and the ``request_id`` to find the call in the gateway's log.

Two families matter to a sender: :class:`TransientError` (retry the same batch with the same
idempotency key: nothing was refused) and :class:`RefusedError` (the gateway will refuse the
same request again: report it and move on).
"""

from typing import Any, Dict, Optional, Type


class LogbotError(Exception):
    """Base class of every error this package raises."""

    #: Whether the same request may succeed if sent again.
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str] = None,
        status: Optional[int] = None,
        field: Optional[str] = None,
        request_id: Optional[str] = None,
        extensions: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.field = field
        self.request_id = request_id
        self.extensions = extensions or {}

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append("code=" + self.code)
        if self.status is not None:
            parts.append("status=%d" % self.status)
        if self.request_id:
            parts.append("request_id=" + self.request_id)
        return parts[0] + (" (" + ", ".join(parts[1:]) + ")" if len(parts) > 1 else "")


class TransientError(LogbotError):
    """The request did not go through but may later: a transport error, a timeout, a 5xx,
    a 429, or a GraphQL error saying DataSpace is unavailable or busy."""

    retryable = True

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        #: Seconds the gateway asked to wait (``Retry-After``), when it said.
        self.retry_after = retry_after


class TransportError(TransientError):
    """No HTTP answer: connection refused or reset, timeout, malformed response."""


class ServerError(TransientError):
    """A 5xx, or a GraphQL error with ``INTERNAL_SERVER_ERROR``: a fault on the gateway's side."""


class UnavailableError(TransientError):
    """503, ``DATASPACE_UNAVAILABLE``, ``BUSY`` or ``TIMEOUT``: try again later."""


class RateLimitedError(TransientError):
    """429 Too Many Requests; ``retry_after`` says how long to wait when the gateway said."""


class RefusedError(LogbotError):
    """The gateway refused the request; sending it again gets the same answer."""


class AuthenticationError(RefusedError):
    """401: the APIG signature is missing or wrong (``code`` is ``APIG.0301``, or ``APIG.0303``
    for a date too far from the gateway's clock), or ``UNAUTHENTICATED``."""


class BadInputError(RefusedError):
    """``BAD_USER_INPUT``: ``field`` names what was wrong (``records[3].message``)."""


class NotFoundError(RefusedError):
    """``NOT_FOUND``: e.g. the bot does not exist."""


class ForbiddenError(RefusedError):
    """``FORBIDDEN`` or ``LIMIT_REACHED``."""


class LimitExceededError(RefusedError):
    """``LIMIT_EXCEEDED`` or 413: the request is larger or more complex than the gateway allows."""


class GraphQLRequestError(RefusedError):
    """The document did not parse or validate (``GRAPHQL_PARSE_FAILED``,
    ``GRAPHQL_VALIDATION_FAILED``, ``BAD_REQUEST``): a bug in the caller or a version mismatch."""


class SubscriptionClosed(LogbotError):
    """The WebSocket closed; ``status`` is the close code (1013: the subscriber lagged or was
    too slow; subscribe again and query ``logs`` for what was missed)."""

    retryable = True


_BY_CODE = {  # type: Dict[str, Type[LogbotError]]
    "BAD_USER_INPUT": BadInputError,
    "NOT_FOUND": NotFoundError,
    "ALREADY_EXISTS": RefusedError,
    "FORBIDDEN": ForbiddenError,
    "LIMIT_REACHED": ForbiddenError,
    "UNAUTHENTICATED": AuthenticationError,
    "LIMIT_EXCEEDED": LimitExceededError,
    "GRAPHQL_PARSE_FAILED": GraphQLRequestError,
    "GRAPHQL_VALIDATION_FAILED": GraphQLRequestError,
    "BAD_REQUEST": GraphQLRequestError,
    "PERSISTED_QUERY_NOT_FOUND": GraphQLRequestError,
    "DATASPACE_UNAVAILABLE": UnavailableError,
    "BUSY": UnavailableError,
    "TIMEOUT": UnavailableError,
    "INTERNAL_SERVER_ERROR": ServerError,
}


def error_for_code(code: Optional[str]) -> Type[LogbotError]:
    """The exception class for a GraphQL ``extensions.code`` (unknown codes are refusals)."""
    return _BY_CODE.get(code or "", RefusedError)
