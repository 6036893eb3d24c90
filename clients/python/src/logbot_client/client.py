"""``Client``: the gateway's log operations as methods, over one signed HTTP transport."""

import datetime
import random
import time
import uuid
from typing import Any, AsyncIterator, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Union

from .errors import TransientError
from .records import format_time, level_name, record_input
from .transport import HttpTransport

_RECORD_FIELDS = (
    "id bot level message eventAt receivedAt requestId statusCode "
    "source { userName pid processName processDescription } attributes"
)
LOGS = (
    "query Logs($filter: LogFilter!, $first: Int!, $after: String) { logs(filter: $filter, first: $first, after: $after) "
    "{ totalCount pageInfo { hasNextPage endCursor } edges { node { " + _RECORD_FIELDS + " } } } }"
)
SEND_LOGS = (
    "mutation SendLogs($bot: String!, $records: [LogRecordInput!]!, $key: String) "
    "{ sendLogs(bot: $bot, records: $records, idempotencyKey: $key) { accepted ids } }"
)
LOG_ADDED = (
    "subscription LogAdded($bot: String!, $minLevel: LogLevel) { logAdded(bot: $bot, minLevel: $minLevel) "
    "{ " + _RECORD_FIELDS + " } }"
)

Time = Union[datetime.datetime, float, int, str]


def _parse_time(text: Optional[str]) -> Optional[datetime.datetime]:
    if not text:
        return None
    # The gateway answers RFC 3339 in UTC with milliseconds: 2026-11-22T08:00:00.000Z.
    return datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")


class StoredLog(NamedTuple):
    """A record as the gateway stored it."""

    id: str
    bot: str
    level: str
    message: str
    event_at: Optional[datetime.datetime]
    received_at: Optional[datetime.datetime]
    request_id: Optional[str]
    status_code: Optional[int]
    source: Dict[str, Any]
    attributes: Optional[Dict[str, Any]]

    @classmethod
    def from_json(cls, node: Mapping[str, Any]) -> "StoredLog":
        return cls(
            id=node["id"],
            bot=node["bot"],
            level=node["level"],
            message=node["message"],
            event_at=_parse_time(node.get("eventAt")),
            received_at=_parse_time(node.get("receivedAt")),
            request_id=node.get("requestId"),
            status_code=node.get("statusCode"),
            source={k: v for k, v in (node.get("source") or {}).items() if v is not None},
            attributes=node.get("attributes"),
        )


class LogPage(NamedTuple):
    """One page of ``logs``, newest first; pass ``end_cursor`` as ``after`` for the next."""

    records: List[StoredLog]
    has_next_page: bool
    end_cursor: Optional[str]
    total_count: int


class Client:
    """The gateway's GraphQL API for applications.

    ``url`` is the gateway (``http://host:8080``) or its GraphQL endpoint (``.../graphql``);
    with ``app_key``/``app_secret`` every request is signed (APIG SDK-HMAC-SHA256), as a
    gateway with ``[auth] app_keys`` requires. Errors are :mod:`logbot_client.errors` types.
    Safe to share between threads (one connection per thread).
    """

    def __init__(
        self,
        url: str,
        *,
        app_key: Optional[str] = None,
        app_secret: Optional[str] = None,
        timeout: float = 5.0,
        retries: int = 2,
    ) -> None:
        self._transport = HttpTransport(url, app_key=app_key, app_secret=app_secret, timeout=timeout)
        self.url = self._transport.url
        self.retries = retries

    def close(self) -> None:
        """Closes the calling thread's connection."""
        self._transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def execute(self, query: str, variables: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Runs any GraphQL document once; its ``data``."""
        return self._transport.execute(query, variables or {})

    def send_logs(
        self, bot: str, records: Sequence[Mapping[str, Any]], idempotency_key: Optional[str] = None
    ) -> List[str]:
        """Stores a batch atomically and returns the ids, in order.

        Each record is a dict: ``level`` (a name or a ``logging`` number), ``message``, and
        optionally ``event_at``, ``request_id``, ``status_code``, ``source``, ``attributes``.
        The batch carries an idempotency key (``idempotency_key``, or one chosen here) on every
        attempt, so the ``retries`` after transient failures never store it twice; pass your
        own key to retry safely across calls (or processes) yourself.
        """
        inputs = [record_input(record) for record in records]
        key = idempotency_key or uuid.uuid4().hex
        attempt = 0
        while True:
            try:
                data = self.execute(SEND_LOGS, {"bot": bot, "records": inputs, "key": key})
                return list(data["sendLogs"]["ids"])
            except TransientError as error:
                attempt += 1
                if attempt > self.retries:
                    raise
                delay = random.uniform(0, min(5.0, 0.2 * 2 ** attempt))
                time.sleep(max(delay, error.retry_after or 0.0))

    def send_log(self, bot: str, level: Union[int, str], message: str, **fields: Any) -> str:
        """Stores one record (``fields`` as in :meth:`send_logs`); its id."""
        return self.send_logs(bot, [dict(fields, level=level, message=message)])[0]

    def logs(
        self,
        bot: str,
        *,
        min_level: Union[int, str, None] = None,
        since: Optional[Time] = None,
        until: Optional[Time] = None,
        request_id: Optional[str] = None,
        contains: Optional[str] = None,
        first: int = 50,
        after: Optional[str] = None,
    ) -> LogPage:
        """One page of a bot's records, newest first: at ``min_level`` or above, whose
        ``eventAt`` is at or after ``since`` and before ``until``, with this ``request_id``,
        whose message contains ``contains``; ``first`` up to 500."""
        log_filter = {"bot": bot}  # type: Dict[str, Any]
        if min_level is not None:
            log_filter["minLevel"] = level_name(min_level)
        if since is not None:
            log_filter["from"] = format_time(since)
        if until is not None:
            log_filter["to"] = format_time(until)
        if request_id is not None:
            log_filter["requestId"] = request_id
        if contains is not None:
            log_filter["contains"] = contains
        data = self.execute(LOGS, {"filter": log_filter, "first": first, "after": after})
        logs = data["logs"]
        return LogPage(
            records=[StoredLog.from_json(edge["node"]) for edge in logs["edges"]],
            has_next_page=bool(logs["pageInfo"]["hasNextPage"]),
            end_cursor=logs["pageInfo"]["endCursor"],
            total_count=int(logs["totalCount"]),
        )

    def iter_logs(self, bot: str, *, page_size: int = 100, **filters: Any) -> Iterator[StoredLog]:
        """Every matching record, newest first, page after page (``filters`` as in :meth:`logs`)."""
        after = filters.pop("after", None)
        while True:
            page = self.logs(bot, first=page_size, after=after, **filters)
            for record in page.records:
                yield record
            if not page.has_next_page or not page.end_cursor:
                return
            after = page.end_cursor

    def subscribe(
        self, bot: str, min_level: Union[int, str, None] = None, *, open_timeout: float = 10.0
    ) -> AsyncIterator[StoredLog]:
        """Records committed for ``bot`` from now on, as an async iterator (graphql-transport-ws
        over a WebSocket; needs the ``subscribe`` extra: ``pip install 'logbot-client[subscribe]'``)::

            async for record in client.subscribe("payments", min_level="WARNING"):
                print(record.level, record.message)
        """
        from .subscribe import subscribe

        variables = {"bot": bot, "minLevel": level_name(min_level) if min_level is not None else None}
        return subscribe(self._transport, LOG_ADDED, variables, open_timeout)
