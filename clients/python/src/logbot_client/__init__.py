"""logbot-client: send an application's logs to a logbot-gateway bot, and read them back.

- :class:`LogbotHandler` - a :class:`logging.Handler`: batches from a thread, idempotent
  retries, bounded queue, fork-safe; ``handler.flush()`` at the end of a serverless call.
- :class:`Client` - ``send_logs``, ``send_log``, ``logs``, ``iter_logs``, ``subscribe``.
- :func:`request_context` / :data:`request_id_var` - the request id records are tagged with.
- :mod:`logbot_client.errors` - typed errors carrying the gateway's ``extensions.code``.
- :mod:`logbot_client.apig` - the SDK-HMAC-SHA256 signer.

Quick start::

    import logging, logbot_client
    logging.getLogger().addHandler(logbot_client.LogbotHandler("http://127.0.0.1:8080", "payments"))
    logging.getLogger().error("payment %s failed", 42)
"""

from .client import Client, LogPage, StoredLog
from .context import request_context, request_id_var
from .errors import (
    AuthenticationError,
    BadInputError,
    ForbiddenError,
    GraphQLRequestError,
    LimitExceededError,
    LogbotError,
    NotFoundError,
    RateLimitedError,
    RefusedError,
    ServerError,
    SubscriptionClosed,
    TransientError,
    TransportError,
    UnavailableError,
)
from .handler import LogbotHandler
from .sender import LogbotWarning

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "BadInputError",
    "Client",
    "ForbiddenError",
    "GraphQLRequestError",
    "LimitExceededError",
    "LogPage",
    "LogbotError",
    "LogbotHandler",
    "LogbotWarning",
    "NotFoundError",
    "RateLimitedError",
    "RefusedError",
    "ServerError",
    "StoredLog",
    "SubscriptionClosed",
    "TransientError",
    "TransportError",
    "UnavailableError",
    "request_context",
    "request_id_var",
    "__version__",
]
