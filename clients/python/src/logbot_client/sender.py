"""The batching sender behind :class:`~logbot_client.LogbotHandler`: a bounded queue that the
application appends to without waiting, and one background thread that sends it in batches.

Guarantees, and how:

- **Never blocks the caller.** :meth:`BatchSender.put` only appends under a short lock; a full
  queue drops the new record and counts it (``dropped``), and the thread reports it.
- **Stored once.** Each batch gets an idempotency key when it is cut from the queue and keeps it
  on every retry, so a retry after a lost answer (timeout, a gateway killed after its commit)
  replays the stored result instead of storing again.
- **Retried while it can succeed.** Transport errors, 5xx, 429 (after ``Retry-After``) and
  "unavailable"/"busy" answers back off exponentially with full jitter and try again, for as long
  as the sender is open (memory stays bounded by the queue). A fault the gateway reports as
  internal (500) is tried ``max_server_error_attempts`` times.
- **A refusal costs only what was refused.** A 4xx is reported and the thread goes on with the
  next batch; when the gateway names one record (``records[3]...``) only that record is
  dropped and the rest are sent; a batch over the gateway's body limit (413) is split.
- **Fork-safe.** A forked child starts with an empty queue (its parent sends what it had
  queued) and a thread of its own on its first record.
"""

import json
import os
import random
import re
import threading
import time
import uuid
import warnings
import weakref
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from .errors import LimitExceededError, LogbotError, RefusedError, ServerError, TransientError
from .transport import HttpTransport, read_answer

SEND_LOGS = (
    "mutation SendLogs($bot: String!, $records: [LogRecordInput!]!, $key: String) "
    "{ sendLogs(bot: $bot, records: $records, idempotencyKey: $key) { accepted ids } }"
)
_RECORD_FIELD = re.compile(r"^records\[(\d+)\]")
#: Longest idempotency key the gateway takes is 200; derived keys stay well below.
_MAX_KEY = 160


class LogbotWarning(RuntimeWarning):
    """Records were refused, dropped or could not be sent."""


ErrorCallback = Callable[[LogbotError, int], None]


class _Reporter:
    """Warnings, at most one per kind of failure per ``interval`` seconds (with a count of
    those held back), so a misconfigured sender says so without flooding stderr."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last = {}  # type: Dict[Tuple[Any, ...], Tuple[float, int]]

    def warn(self, kind: Tuple[Any, ...], message: str, count: int = 1) -> None:
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last[0] < self.interval:
            self._last[kind] = (last[0], last[1] + count)
            return
        held = last[1] if last is not None else 0
        if held:
            message += " (%d more record(s) since the last warning of this kind)" % held
        self._last[kind] = (now, 0)
        warnings.warn(message, LogbotWarning, stacklevel=2)


_SENDERS = weakref.WeakSet()  # type: weakref.WeakSet[BatchSender]


def _after_fork_in_child() -> None:
    for sender in list(_SENDERS):
        sender._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class BatchSender:
    """Sends records (``LogRecordInput`` dicts) for one bot in batches from a thread."""

    def __init__(
        self,
        transport: HttpTransport,
        bot: str,
        *,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_queue: int = 10000,
        max_batch_bytes: int = 512 * 1024,
        retry_base: float = 0.2,
        retry_cap: float = 30.0,
        max_server_error_attempts: int = 5,
        report_interval: float = 60.0,
        on_error: Optional[ErrorCallback] = None,
        prepare: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None,
    ) -> None:
        if not bot:
            raise ValueError("bot must be a bot's name")
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be 1 to 1000 (the gateway's default limit per batch), got %r" % batch_size)
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1, got %r" % max_queue)
        if flush_interval < 0 or retry_base <= 0 or retry_cap < retry_base:
            raise ValueError("flush_interval >= 0 and 0 < retry_base <= retry_cap are required")
        if max_batch_bytes < 1024:
            raise ValueError("max_batch_bytes must be at least 1024, got %r" % max_batch_bytes)
        self._transport = transport
        self.bot = bot
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.max_batch_bytes = max_batch_bytes
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.max_server_error_attempts = max_server_error_attempts
        self._on_error = on_error
        # Work on a record that can wait for the sender thread (cutting to limits, formatting).
        self._prepare = prepare or (lambda record: record)
        self._reporter = _Reporter(report_interval)
        self._body_prefix = '{"query":%s,"variables":{"bot":%s,"key":' % (json.dumps(SEND_LOGS), json.dumps(bot))
        self._init_state()
        _SENDERS.add(self)

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._done = threading.Condition(self._lock)
        self._queue = deque()  # type: Deque[Dict[str, Any]]
        self._oldest_at = 0.0
        self._enqueued = 0
        self._finished = 0
        self._flush_requests = 0
        self._closed = False
        self._deadline = None  # type: Optional[float]
        self._unreported_drops = 0
        self._thread = None  # type: Optional[threading.Thread]
        self.thread_ident = None  # type: Optional[int]
        self._pid = os.getpid()
        #: Records the gateway stored.
        self.sent = 0
        #: Records not queued: the queue was full, or the sender was closed.
        self.dropped = 0
        #: Records refused by the gateway, or given up after repeated server faults.
        self.failed = 0
        #: Records still unsent when :meth:`close` gave up waiting.
        self.unsent = 0

    def _reset_after_fork(self) -> None:
        # The parent's thread does not exist here and its locks may be held by it: start over.
        # What was queued before the fork is the parent's to send.
        self._init_state()

    @property
    def queued(self) -> int:
        """Records queued or being sent."""
        return self._enqueued - self._finished

    # -- the application's side ------------------------------------------------------------

    def put(self, record: Dict[str, Any]) -> bool:
        """Queues a record without waiting; False when it was dropped (queue full or closed)."""
        with self._lock:
            if self._closed or len(self._queue) >= self.max_queue:
                self.dropped += 1
                self._unreported_drops += 1
                if self._unreported_drops == 1:
                    self._wake.notify()
                return False
            if not self._queue:
                self._oldest_at = time.monotonic()
            self._queue.append(record)
            self._enqueued += 1
            if len(self._queue) >= self.batch_size:
                self._wake.notify()
            if self._thread is None:
                self._start_locked()
            return True

    def _start_locked(self) -> None:
        thread = threading.Thread(target=self._run, name="logbot-sender", daemon=True)
        self._thread = thread
        thread.start()
        self.thread_ident = thread.ident

    def flush(self, timeout: float) -> bool:
        """Sends everything queued before the call now; True when it was all handled (stored,
        or refused and reported) within ``timeout`` seconds."""
        with self._lock:
            target = self._enqueued
            if self._finished >= target:
                return True
            self._flush_requests += 1
            self._wake.notify()
            try:
                return self._done.wait_for(lambda: self._finished >= target, timeout)
            finally:
                self._flush_requests -= 1

    def close(self, timeout: float) -> bool:
        """Stops taking records, sends what is queued for up to ``timeout`` seconds, and stops
        the thread; True when nothing was left unsent."""
        with self._lock:
            if self._closed and self._deadline is not None:
                return self.unsent == 0 and self._finished >= self._enqueued
            self._closed = True
            self._deadline = time.monotonic() + max(0.0, timeout)
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, timeout) + 1.0)
        with self._lock:
            left = self._enqueued - self._finished
        if left:
            with self._lock:
                self.unsent = left
            self._warn(
                ("unsent",),
                "logbot: %d record(s) for bot %r were not sent before close() gave up after %.1f s"
                % (left, self.bot, timeout),
            )
            return False
        return True

    # -- the thread's side -----------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._send_until_closed()
        finally:
            self._transport.close()

    def _send_until_closed(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                handled = self._deliver(batch)
            except Exception as error:  # a bug here must not kill the thread silently
                self._warn(("bug", type(error)), "logbot: sender error, %d record(s) lost: %r" % (len(batch), error))
                self.failed += len(batch)
                handled = True
            if not handled:
                # The close deadline passed while retrying: what is left stays counted as
                # unfinished, and close() reports it as unsent.
                return
            with self._lock:
                self._finished += len(batch)
                self._done.notify_all()

    def _next_batch(self) -> Optional[List[str]]:
        """Waits until a batch is due, cuts it, and returns it serialized; None when closed."""
        while True:
            with self._lock:
                drops = self._take_drops_locked()
                if not drops:
                    due = self._batch_due_locked()
                    if due is None:
                        return None
                    if due:
                        records = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
                        if self._queue:
                            self._oldest_at = time.monotonic()
                        break
            self._report_drops(drops)
        parts, rest = self._serialize(records)
        if rest:
            with self._lock:
                self._queue.extendleft(reversed(rest))
        return parts

    def _batch_due_locked(self) -> Optional[bool]:
        """True when a batch should go now, None when the thread should stop (closed, and empty
        or past the close deadline); else waits a while and answers False."""
        if self._closed and (not self._queue or time.monotonic() >= (self._deadline or 0.0)):
            return None
        if self._queue:
            if len(self._queue) >= self.batch_size or self._flush_requests or self._closed:
                return True
            wait = self._oldest_at + self.flush_interval - time.monotonic()
            if wait <= 0:
                return True
            self._wake.wait(wait)
            return False
        self._wake.wait()
        return False

    def _serialize(self, records: List[Dict[str, Any]]) -> Tuple[List[str], List[Dict[str, Any]]]:
        """JSON of each record, cut at ``max_batch_bytes``; the records that did not fit."""
        parts = []  # type: List[str]
        size = len(self._body_prefix) + 256
        for index, record in enumerate(records):
            try:
                part = json.dumps(self._prepare(record), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            except Exception as error:  # unencodable, or a bug in preparing it: lose only this record
                self.failed += 1
                self._warn(("unserializable",), "logbot: a record could not be encoded and was dropped: %s" % error)
                with self._lock:
                    self._finished += 1
                continue
            size += len(part.encode("utf-8")) + 1
            if parts and size > self.max_batch_bytes:
                return parts, records[index:]
            parts.append(part)
        return parts, []

    def _body(self, parts: List[str], key: str) -> bytes:
        return (self._body_prefix + json.dumps(key) + ',"records":[' + ",".join(parts) + "]}}").encode("utf-8")

    def _deliver(self, parts: List[str], key: Optional[str] = None) -> bool:
        """Sends one batch until it is stored or refused (True), or the close deadline passes
        while it is being retried (False)."""
        if not parts:
            return True
        key = key or uuid.uuid4().hex
        attempt = 0
        outage_since = None  # type: Optional[float]
        while True:
            try:
                status, headers, data = self._transport.post(self._body(parts, key))
                read_answer(status, headers, data)
                self.sent += len(parts)
                return True
            except RefusedError as error:
                index = _refused_record(error, len(parts))
                if index is not None and len(parts) > 1:
                    self._refused(error, 1)
                    parts = parts[:index] + parts[index + 1 :]
                    # Nothing was stored under the old key; a new one marks the new content.
                    key = key + ".r%d" % index if len(key) < _MAX_KEY else uuid.uuid4().hex
                    attempt = 0
                    continue
                if isinstance(error, LimitExceededError) and error.status == 413 and len(parts) > 1:
                    half = len(parts) // 2
                    first = self._deliver(parts[:half], key + ".a" if len(key) < _MAX_KEY else None)
                    return first and self._deliver(parts[half:], key + ".b" if len(key) < _MAX_KEY else None)
                self._refused(error, len(parts))
                return True
            except TransientError as error:
                attempt += 1
                if isinstance(error, ServerError) and attempt >= self.max_server_error_attempts:
                    self._refused(error, len(parts))
                    return True
                now = time.monotonic()
                if outage_since is None:
                    outage_since = now
                elif now - outage_since >= 30.0:
                    self._warn(
                        ("retrying", type(error)),
                        "logbot: the gateway has not taken records for bot %r for %.0f s, still retrying "
                        "(%d queued): %s" % (self.bot, now - outage_since, self.queued, error),
                    )
                delay = random.uniform(0, min(self.retry_cap, self.retry_base * 2 ** min(attempt, 30)))
                if error.retry_after is not None:
                    delay = min(max(delay, error.retry_after), 600.0)
                if not self._pause(delay):
                    return False

    def _pause(self, delay: float) -> bool:
        """Sleeps ``delay`` seconds; False when the close deadline passes first."""
        end = time.monotonic() + delay
        while True:
            with self._lock:
                drops = self._take_drops_locked()
                if not drops:
                    now = time.monotonic()
                    if self._deadline is not None and now >= self._deadline:
                        return False
                    if now >= end:
                        return True
                    limit = end if self._deadline is None else min(end, self._deadline)
                    self._wake.wait(limit - now)
                    continue
            self._report_drops(drops)

    # -- reporting -------------------------------------------------------------------------

    def _take_drops_locked(self) -> int:
        drops = self._unreported_drops
        self._unreported_drops = 0
        return drops

    def _report_drops(self, drops: int) -> None:
        if not drops:
            return
        self._warn(
            ("dropped",),
            "logbot: the queue of %d records for bot %r is full; %d record(s) dropped (handler.dropped counts them)"
            % (self.max_queue, self.bot, drops),
            drops,
        )

    def _refused(self, error: LogbotError, count: int) -> None:
        self.failed += count
        if self._on_error is not None:
            try:
                self._on_error(error, count)
            except Exception as callback_error:
                self._warn(("on_error",), "logbot: on_error raised %r" % (callback_error,))
            return
        self._warn(
            ("refused", type(error), error.code, error.status),
            "logbot: %d record(s) for bot %r were not stored: %s" % (count, self.bot, error),
            count,
        )

    def _warn(self, kind: Tuple[Any, ...], message: str, count: int = 1) -> None:
        self._reporter.warn(kind, message, count)


def _refused_record(error: LogbotError, count: int) -> Optional[int]:
    """The index of the one record a refusal names (``records[3].message``), if any."""
    match = _RECORD_FIELD.match(error.field or "")
    if match is None:
        return None
    index = int(match.group(1))
    return index if index < count else None
