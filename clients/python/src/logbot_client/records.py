"""Records as the gateway takes them (GraphQL ``LogRecordInput``): levels, times, JSON-safe
attributes, and the gateway's per-record limits applied on this side.

The gateway refuses a whole batch when one record breaks a limit (an empty message, a message
over 16,384 characters, attributes over 16 KiB, a request id over 128 characters, control
characters in a source field). A logging handler must not lose 99 good records for one odd one,
so :func:`fit` cuts each record to fit before it is queued, and says what it cut.
"""

import datetime
import json
import math
from typing import Any, Dict, List, Mapping, Optional, Union

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

#: The gateway's limits per record (``src/domain/record.rs``); settings of the handler.
MAX_MESSAGE_CHARS = 16384
MAX_ATTRIBUTES_BYTES = 16 * 1024
MAX_REQUEST_ID_CHARS = 128
_SOURCE_LIMITS = {"userName": 128, "processName": 256, "processDescription": 1024}
#: Nesting kept when attributes are made JSON-safe; deeper values become their ``repr``.
MAX_DEPTH = 8
EMPTY_MESSAGE = "(empty message)"
ELLIPSIS = "\u2026"


def level_name(level: Union[int, str]) -> str:
    """A gateway level from a ``logging`` number (in-between numbers round down: 25 is INFO,
    below 10 is DEBUG) or a name (``warn``, ``fatal`` and case are forgiven)."""
    if isinstance(level, bool):
        raise ValueError("a level is a logging number or a name, got %r" % level)
    if isinstance(level, int):
        if level >= 50:
            return "CRITICAL"
        if level >= 40:
            return "ERROR"
        if level >= 30:
            return "WARNING"
        if level >= 20:
            return "INFO"
        return "DEBUG"
    if isinstance(level, str):
        name = level.strip().upper()
        name = {"WARN": "WARNING", "FATAL": "CRITICAL", "TRACE": "DEBUG"}.get(name, name)
        if name in LEVELS:
            return name
        if name.isdigit():
            return level_name(int(name))
    raise ValueError("unknown level %r: use a logging number or one of %s" % (level, ", ".join(LEVELS)))


def format_time(moment: Union[datetime.datetime, float, int, str]) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``; a naive datetime is taken as UTC, a number
    as seconds since the epoch, a string is passed on for the gateway to read."""
    if isinstance(moment, str):
        return moment
    if isinstance(moment, (int, float)) and not isinstance(moment, bool):
        moment = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
    if not isinstance(moment, datetime.datetime):
        raise ValueError("a time is a datetime, epoch seconds or an ISO 8601 string, got %r" % (moment,))
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def json_safe(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` that ``json.dumps`` takes: dict keys as strings, tuples and sets as
    lists, datetimes as ISO 8601, bytes decoded, non-finite floats and anything else as text."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth >= MAX_DEPTH:
        return _repr(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(item, depth + 1) for item in value]
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return _repr(value)


def _repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # a broken __repr__ must not lose the record
        return "<%s>" % type(value).__name__


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


# The gateway refuses control characters other than tab and line breaks in source fields.
_CONTROLS = {c: " " for c in list(range(0x00, 0x09)) + [0x0B, 0x0C] + list(range(0x0E, 0x20)) + list(range(0x7F, 0xA0))}


def _clean_source_text(text: Any, limit: int) -> Optional[str]:
    if text is None:
        return None
    text = str(text).translate(_CONTROLS).strip()
    return _cut(text, limit) if text else None


def fit_attributes(attributes: Mapping[str, Any], limit: int = MAX_ATTRIBUTES_BYTES) -> Dict[str, Any]:
    """Attributes whose JSON fits in ``limit`` bytes: keys are kept in order while they fit;
    the names of those left out are listed under ``_omitted``."""
    if len(json.dumps(attributes, ensure_ascii=False).encode("utf-8")) <= limit:
        return dict(attributes)
    kept = {}  # type: Dict[str, Any]
    omitted = []  # type: List[str]
    budget = limit - 200  # room for the _omitted list itself
    used = 2
    for key, value in attributes.items():
        size = len(json.dumps({key: value}, ensure_ascii=False).encode("utf-8"))
        if used + size <= budget:
            kept[key] = value
            used += size
        else:
            omitted.append(key)
    names = []  # type: List[str]
    for key in omitted:
        if sum(len(n) + 4 for n in names) + len(key) > 180:
            names.append("...")
            break
        names.append(_cut(key, 60))
    kept["_omitted"] = names
    return kept


def fit(
    record: Dict[str, Any],
    *,
    max_message_chars: int = MAX_MESSAGE_CHARS,
    max_attributes_bytes: int = MAX_ATTRIBUTES_BYTES,
) -> Dict[str, Any]:
    """``record`` (a ``LogRecordInput`` dict) cut to the gateway's limits, in place; an
    ``eventAt`` given as epoch seconds is formatted."""
    if isinstance(record.get("eventAt"), float):
        record["eventAt"] = format_time(record["eventAt"])
    message = str(record.get("message") or "").rstrip()
    record["message"] = _cut(message, max_message_chars) if message.strip() else EMPTY_MESSAGE
    request_id = record.get("requestId")
    if request_id is not None:
        request_id = str(request_id).strip()
        if request_id:
            record["requestId"] = _cut(request_id, MAX_REQUEST_ID_CHARS)
        else:
            del record["requestId"]
    status = record.get("statusCode")
    if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
        record.pop("statusCode")
        record.setdefault("attributes", {})["statusCode"] = json_safe(status)
    source = record.get("source")
    if isinstance(source, dict):
        cleaned = {}  # type: Dict[str, Any]
        for name, limit in _SOURCE_LIMITS.items():
            text = _clean_source_text(source.get(name), limit)
            if text is not None:
                cleaned[name] = text
        pid = source.get("pid")
        if isinstance(pid, int) and not isinstance(pid, bool) and pid >= 0:
            cleaned["pid"] = pid
        record["source"] = cleaned
    attributes = record.get("attributes")
    if attributes:
        record["attributes"] = fit_attributes(attributes, max_attributes_bytes)
    elif "attributes" in record:
        del record["attributes"]
    return record


_ALIASES = {
    "event_at": "eventAt",
    "request_id": "requestId",
    "status_code": "statusCode",
    "user_name": "userName",
    "process_name": "processName",
    "process_description": "processDescription",
}


def record_input(record: Mapping[str, Any]) -> Dict[str, Any]:
    """A ``LogRecordInput`` from a dict in camelCase or snake_case: ``level`` (name or logging
    number), ``message``, ``event_at`` (datetime, epoch seconds or ISO 8601), ``request_id``,
    ``status_code``, ``source`` (``user_name``, ``pid``, ``process_name``,
    ``process_description``) and ``attributes`` (made JSON-safe)."""
    out = {}  # type: Dict[str, Any]
    for key, value in record.items():
        key = _ALIASES.get(key, key)
        if value is None:
            continue
        if key == "level":
            out["level"] = level_name(value)
        elif key == "message":
            out["message"] = str(value)
        elif key == "eventAt":
            out["eventAt"] = format_time(value)
        elif key == "requestId":
            out["requestId"] = str(value)
        elif key == "statusCode":
            out["statusCode"] = value
        elif key == "source":
            out["source"] = {_ALIASES.get(k, k): v for k, v in dict(value).items() if v is not None}
        elif key == "attributes":
            out["attributes"] = json_safe(dict(value))
        else:
            raise ValueError(
                "unknown record field %r: use level, message, event_at, request_id, status_code, source, attributes"
                % key
            )
    if "level" not in out:
        out["level"] = "INFO"
    if "message" not in out:
        raise ValueError("a record needs a message")
    return out
