"""``LogbotHandler``: a :class:`logging.Handler` that ships records to the gateway.

``emit()`` maps the record (message with its arguments applied, level, time, source, exception
and traceback, ``extra`` fields) and queues it: no I/O, no waiting, no exception into the
application. The :class:`~logbot_client.sender.BatchSender` thread does the rest.
"""

import logging
import threading
from typing import Any, Dict, Mapping, Optional

from .context import request_id_var
from .records import MAX_ATTRIBUTES_BYTES, MAX_MESSAGE_CHARS, fit, json_safe, level_name
from .sender import BatchSender, ErrorCallback
from .transport import HttpTransport

#: Attributes every LogRecord has (plus those the formatter adds): the rest came from ``extra``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
#: ``extra`` keys that fill a record field instead of an attribute.
_FIELDS = ("request_id", "status_code")


class LogbotHandler(logging.Handler):
    """Sends log records to a bot of the gateway at ``url``, in batches, from a thread.

    ``flush(timeout=None)`` sends what is queued and waits for it (at most ``flush_timeout``
    seconds when no timeout is given, so ``logging.shutdown()`` at exit cannot hang);
    ``close()`` does the same and stops the thread. Counters: ``sent``, ``dropped`` (queue
    full), ``failed`` (refused), ``unsent`` (left when close gave up), ``queued``.

    ``on_error(error, count)`` is called for every refused batch; without it each kind of
    failure is reported as a :class:`~logbot_client.LogbotWarning`, at most once a minute.
    ``source`` overrides the source fields (``userName``, ``processName``, ...).
    """

    def __init__(
        self,
        url: str,
        bot: str,
        *,
        app_key: Optional[str] = None,
        app_secret: Optional[str] = None,
        level: int = logging.NOTSET,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_queue: int = 10000,
        timeout: float = 5.0,
        flush_timeout: float = 10.0,
        max_batch_bytes: int = 512 * 1024,
        max_message_chars: int = MAX_MESSAGE_CHARS,
        max_attributes_bytes: int = MAX_ATTRIBUTES_BYTES,
        retry_base: float = 0.2,
        retry_cap: float = 30.0,
        source: Optional[Mapping[str, Any]] = None,
        on_error: Optional[ErrorCallback] = None,
    ) -> None:
        super().__init__(level)
        self.flush_timeout = flush_timeout
        self.max_message_chars = max_message_chars
        self.max_attributes_bytes = max_attributes_bytes
        self._source = dict(source or {})
        transport = HttpTransport(url, app_key=app_key, app_secret=app_secret, timeout=timeout)
        self._sender = BatchSender(
            transport,
            bot,
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_queue=max_queue,
            max_batch_bytes=max_batch_bytes,
            retry_base=retry_base,
            retry_cap=retry_cap,
            on_error=on_error,
            prepare=self._fit,
        )

    @property
    def bot(self) -> str:
        return self._sender.bot

    @property
    def sent(self) -> int:
        return self._sender.sent

    @property
    def dropped(self) -> int:
        return self._sender.dropped

    @property
    def failed(self) -> int:
        return self._sender.failed

    @property
    def unsent(self) -> int:
        return self._sender.unsent

    @property
    def queued(self) -> int:
        return self._sender.queued

    def handle(self, record: logging.LogRecord) -> bool:
        # Records logged by the sender thread itself (a warning routed to logging) would feed
        # back into the queue they report on: skip them. And no handler lock: emit() only
        # appends to the sender's queue, which has its own, so logging.shutdown() holding
        # this handler's lock while it flushes never blocks a thread that logs.
        if threading.get_ident() == self._sender.thread_ident:
            return False
        rv = self.filter(record)
        if rv:
            self.emit(record)
        return bool(rv)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            item = self.to_record(record)
        except Exception:
            self.handleError(record)
            return
        self._sender.put(item)

    def to_record(self, record: logging.LogRecord) -> Dict[str, Any]:
        """What a logging record becomes in the application's thread: everything that can
        change later (the message with its arguments, ``extra`` values, the request id) is
        captured now; the sender thread makes it a ``LogRecordInput`` (:meth:`_fit`)."""
        fields = record.__dict__
        source = {
            "pid": record.process,
            "processName": record.processName,
            "processDescription": "logger %s, thread %s, %s:%s (%s)"
            % (record.name, record.threadName, record.filename, record.lineno, record.funcName),
        }  # type: Dict[str, Any]
        source.update(self._source)
        out = {
            "level": level_name(record.levelno),
            "message": self.format(record),
            # Formatted, like every cut to the gateway's limits, by the sender thread (fit()).
            "eventAt": record.created,
            "source": source,
        }  # type: Dict[str, Any]
        request_id = fields.get("request_id")
        if request_id is None:
            request_id = request_id_var.get()
        if request_id is not None:
            out["requestId"] = str(request_id)
        if fields.get("status_code") is not None:
            out["statusCode"] = fields["status_code"]
        attributes = {
            key: json_safe(value)
            for key, value in fields.items()
            if key not in _STANDARD and key not in _FIELDS and not key.startswith("_")
        }
        if attributes:
            out["attributes"] = attributes
        return out

    def _fit(self, record: Dict[str, Any]) -> Dict[str, Any]:
        return fit(record, max_message_chars=self.max_message_chars, max_attributes_bytes=self.max_attributes_bytes)

    def flush(self, timeout: Optional[float] = None) -> bool:  # type: ignore[override]
        """Sends what is queued now and waits until it is stored or refused; False when
        ``timeout`` (default ``flush_timeout``) seconds passed first."""
        return self._sender.flush(self.flush_timeout if timeout is None else timeout)

    def close(self, timeout: Optional[float] = None) -> None:  # type: ignore[override]
        """Sends what is queued (for at most ``timeout``, default ``flush_timeout``, seconds),
        stops the thread, and detaches from logging."""
        try:
            self._sender.close(self.flush_timeout if timeout is None else timeout)
        finally:
            super().close()
