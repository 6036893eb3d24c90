"""``logAdded`` over a WebSocket with the graphql-transport-ws protocol, on the ``websockets``
package (the ``subscribe`` extra). The upgrade request is signed like any other when the client
has a key pair.
"""

import asyncio
import json
from typing import Any, AsyncIterator, Dict
from urllib.parse import urlsplit, urlunsplit

from .errors import LogbotError, SubscriptionClosed, TransportError, error_for_code
from .transport import HttpTransport

PROTOCOL = "graphql-transport-ws"
#: Largest message taken from the gateway (its own limit is 1 MiB by default).
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


def websocket_url(http_url: str) -> str:
    parts = urlsplit(http_url)
    return urlunsplit(("wss" if parts.scheme == "https" else "ws",) + tuple(parts[1:]))


def _host_as_sent(url: str) -> str:
    # websockets sends Host without a default port; sign what it sends.
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = "[" + host + "]"
    default = 443 if parts.scheme == "wss" else 80
    return host if parts.port in (None, default) else "%s:%d" % (host, parts.port)


def _graphql_error(payload: Any, what: str) -> LogbotError:
    errors = payload if isinstance(payload, list) else (payload.get("errors") if isinstance(payload, dict) else None) or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    raw = first.get("extensions")
    extensions = raw if isinstance(raw, dict) else {}
    code = extensions.get("code")
    return error_for_code(code)(
        str(first.get("message") or what), code=code, field=extensions.get("field"), extensions=extensions
    )


async def subscribe(
    transport: HttpTransport, query: str, variables: Dict[str, Any], open_timeout: float
) -> AsyncIterator[Any]:
    from .client import StoredLog

    try:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed
    except ImportError as error:
        raise LogbotError(
            "subscribe() needs the websockets package: pip install 'logbot-client[subscribe]'"
        ) from error
    url = websocket_url(transport.url)
    headers = transport.signed_headers("GET", url, {"Host": _host_as_sent(url)}, b"")
    headers = {name: value for name, value in headers.items() if name.lower() != "host"}
    try:
        socket = await connect(
            url,
            subprotocols=[PROTOCOL],  # type: ignore[list-item]
            additional_headers=headers,
            open_timeout=open_timeout,
            max_size=MAX_MESSAGE_BYTES,
            user_agent_header="logbot-client-python",
        )
    except ConnectionClosed as error:
        raise SubscriptionClosed("the gateway closed the WebSocket: %s" % error) from error
    except Exception as error:
        status = getattr(getattr(error, "response", None), "status_code", None)
        if status == 401:
            raise error_for_code("UNAUTHENTICATED")(
                "the gateway refused the WebSocket's signature (401)", code="UNAUTHENTICATED", status=401
            ) from error
        raise TransportError("could not open %s: %s" % (url, error), status=status) from error
    try:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), open_timeout))
            if message.get("type") == "connection_ack":
                break
            if message.get("type") == "ping":
                await socket.send(json.dumps({"type": "pong"}))
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}))
        async for raw in socket:
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "ping":
                await socket.send(json.dumps({"type": "pong"}))
            elif kind == "next" and message.get("id") == "1":
                payload = message.get("payload") or {}
                if payload.get("errors"):
                    raise _graphql_error(payload, "the subscription failed")
                yield StoredLog.from_json(payload["data"]["logAdded"])
            elif kind == "error" and message.get("id") == "1":
                raise _graphql_error(message.get("payload"), "the gateway refused the subscription")
            elif kind == "complete" and message.get("id") == "1":
                return
        raise SubscriptionClosed(
            "the gateway closed the WebSocket (%s %s)" % (socket.close_code, socket.close_reason or ""),
            status=socket.close_code,
        )
    except ConnectionClosed as error:
        raise SubscriptionClosed(
            "the gateway closed the WebSocket (%s %s)" % (socket.close_code, socket.close_reason or ""),
            status=socket.close_code,
        ) from error
    finally:
        try:
            await socket.send(json.dumps({"id": "1", "type": "complete"}))
        except Exception:
            pass
        await socket.close()
