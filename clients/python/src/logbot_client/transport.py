"""One GraphQL call over HTTP: sign, POST, read a bounded answer, turn it into data or a typed
error. Standard library only (``http.client``), with one keep-alive connection per thread and
per process, so a sender thread pays the TCP handshake once and a forked child never shares
its parent's socket.
"""

import email.utils
import http.client
import json
import os
import ssl
import threading
import time
import weakref
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlsplit

from . import apig
from .errors import (
    AuthenticationError,
    LimitExceededError,
    LogbotError,
    RateLimitedError,
    RefusedError,
    ServerError,
    TransientError,
    TransportError,
    UnavailableError,
    error_for_code,
)

#: Largest answer read; a larger one is a transport error rather than unbounded memory.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
USER_AGENT = "logbot-client-python"


def graphql_url(url: str) -> str:
    """The GraphQL endpoint: ``url`` itself, or ``url + "/graphql"`` when it has no path."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("the gateway URL must start with http:// or https://, got %r" % url)
    if not parts.netloc:
        raise ValueError("the gateway URL has no host: %r" % url)
    if parts.path in ("", "/"):
        return url.rstrip("/") + "/graphql"
    return url


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


class HttpTransport:
    """Signs (when a key pair is set) and POSTs GraphQL documents to one endpoint."""

    def __init__(
        self,
        url: str,
        *,
        app_key: Optional[str] = None,
        app_secret: Optional[str] = None,
        timeout: float = 5.0,
    ) -> None:
        if (app_key is None) != (app_secret is None):
            raise ValueError("app_key and app_secret go together: give both or neither")
        self.url = graphql_url(url)
        parts = urlsplit(self.url)
        self._https = parts.scheme == "https"
        self._netloc = parts.netloc
        self._target = parts.path + ("?" + parts.query if parts.query else "")
        self._key = app_key
        self._secret = app_secret
        self.timeout = timeout
        self._local = threading.local()
        # Every thread's connection, so that close() can close them all.
        self._all = weakref.WeakSet()  # type: weakref.WeakSet[http.client.HTTPConnection]

    @property
    def signed(self) -> bool:
        return self._key is not None

    def signed_headers(self, method: str, url: str, headers: Dict[str, str], body: bytes) -> Dict[str, str]:
        """``headers`` plus the APIG signature headers (unchanged when no key pair is set)."""
        if self._key is None or self._secret is None:
            return headers
        return apig.sign(method, url, headers, body, self._key, self._secret).headers

    def _connection(self) -> http.client.HTTPConnection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid() or local.connection is None:
            if self._https:
                local.connection = http.client.HTTPSConnection(
                    self._netloc, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                local.connection = http.client.HTTPConnection(self._netloc, timeout=self.timeout)
            local.pid = os.getpid()
            self._all.add(local.connection)
        return local.connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None and getattr(self._local, "pid", None) == os.getpid():
            connection.close()

    def close(self) -> None:
        """Closes every thread's connection (a thread that calls again opens a new one)."""
        self._drop_connection()
        if getattr(self._local, "pid", None) == os.getpid():
            for connection in list(self._all):
                connection.close()

    def post(self, body: bytes) -> Tuple[int, Dict[str, str], bytes]:
        """One POST; raises :class:`TransportError` when no complete answer arrived."""
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/graphql-response+json, application/json",
            # The exact Host sent is the one signed (http.client then adds no other).
            "Host": self._netloc,
        }
        headers = self.signed_headers("POST", self.url, headers, body)
        headers["User-Agent"] = USER_AGENT
        try:
            connection = self._connection()
            connection.request("POST", self._target, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read(MAX_RESPONSE_BYTES + 1)
            answer_headers = {name.lower(): value for name, value in response.getheaders()}
            status = response.status
            if response.will_close:
                self._drop_connection()
        except (OSError, http.client.HTTPException) as error:
            self._drop_connection()
            raise TransportError("no answer from %s: %s" % (self.url, error or type(error).__name__)) from error
        if len(data) > MAX_RESPONSE_BYTES:
            self._drop_connection()
            raise TransportError("the answer from %s is larger than %d bytes" % (self.url, MAX_RESPONSE_BYTES))
        return status, answer_headers, data

    def execute(self, query: str, variables: Dict[str, Any]) -> Dict[str, Any]:
        """Runs a document; its ``data``, or the typed error of the first GraphQL error."""
        body = json.dumps({"query": query, "variables": variables}, ensure_ascii=False, allow_nan=False)
        status, headers, data = self.post(body.encode("utf-8"))
        return read_answer(status, headers, data)


def read_answer(status: int, headers: Dict[str, str], data: bytes) -> Dict[str, Any]:
    """The ``data`` of a GraphQL answer, or the error it stands for."""
    request_id = headers.get("x-request-id")
    try:
        answer = json.loads(data.decode("utf-8")) if data else None
    except (UnicodeDecodeError, ValueError):
        answer = None
    fields = answer if isinstance(answer, dict) else {}  # type: Dict[str, Any]
    if status == 401:
        raise AuthenticationError(
            str(fields.get("error_msg") or "the gateway refused the signature (401)"),
            code=fields.get("error_code") or "UNAUTHENTICATED",
            status=status,
            request_id=request_id,
        )
    errors = fields.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        raw = first.get("extensions")
        extensions = raw if isinstance(raw, dict) else {}  # type: Dict[str, Any]
        code = extensions.get("code")
        cls = error_for_code(code)
        kwargs = dict(
            code=code,
            status=status,
            field=extensions.get("field"),
            request_id=extensions.get("requestId") or request_id,
            extensions=extensions,
        )  # type: Dict[str, Any]
        message = str(first.get("message") or "GraphQL error")
        if status == 429:
            cls = RateLimitedError
        elif status == 413:
            cls = LimitExceededError
        elif status >= 500 and not issubclass(cls, (ServerError, UnavailableError)):
            cls = UnavailableError if status in (502, 503, 504) else ServerError
        if issubclass(cls, TransientError):
            raise cls(message, retry_after=parse_retry_after(headers.get("retry-after")), **kwargs)
        raise cls(message, **kwargs)
    if status == 429:
        raise RateLimitedError(
            "the gateway is rate limiting (429)",
            status=status,
            request_id=request_id,
            retry_after=parse_retry_after(headers.get("retry-after")),
        )
    if status >= 500:
        cls = UnavailableError if status in (502, 503, 504) else ServerError
        raise cls(
            "the gateway answered %d" % status,
            status=status,
            request_id=request_id,
            retry_after=parse_retry_after(headers.get("retry-after")),
        )
    if status == 413:
        raise LimitExceededError("the request is larger than the gateway accepts (413)", status=status, request_id=request_id)
    if status >= 400:
        raise RefusedError("the gateway refused the request (%d)" % status, status=status, request_id=request_id)
    result = fields.get("data")
    if not isinstance(result, dict):
        raise TransportError("the gateway's answer is not a GraphQL result (status %d)" % status, status=status)
    return result


__all__ = ["HttpTransport", "LogbotError", "graphql_url", "parse_retry_after", "read_answer"]
