//! GraphQL over WebSocket on `/graphql`: the `graphql-transport-ws` protocol (graphql-ws), and
//! the older `graphql-ws` subprotocol (subscriptions-transport-ws) for older Apollo clients.
//!
//! One task reads the socket and owns the connection's state; one task writes it from a bounded
//! queue; each operation runs in its own task. Nothing is buffered without bound: the write
//! queue holds [`OUTBOUND_BUFFER`] messages, an operation waits (so its bus receiver, itself
//! bounded, falls behind) and a client that does not read for [`SchemaLimits::ws_slow_client`]
//! or whose subscription lags is closed with 1013 ("try again later").

use super::http::{Failure, Params};
use super::limits::{self, Allowed};
use super::subscription::SUBSCRIBER_LAGGED;
use super::{ApiSchema, SchemaLimits};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

pub const TRANSPORT_WS: &str = "graphql-transport-ws";
pub const LEGACY_WS: &str = "graphql-ws";

/// Messages queued for the writer per connection.
pub const OUTBOUND_BUFFER: usize = 64;

/// Each socket's read and write buffer. tungstenite's default is 128 KiB each, allocated
/// up front: 130 KiB a connection, nearly all of it idle, since graphql-transport-ws frames
/// are small (heaptrack: 26 MiB of a 45 MiB heap for 200 subscribers). A larger message
/// still gets through; it is read in more steps.
const SOCKET_BUFFER_BYTES: usize = 4096;

/// How long a closing connection waits for a client to take the close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// Close code for a client too slow to keep up (RFC 6455 1013, "try again later").
pub const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws`
    TransportWs,
    /// `graphql-ws` (subscriptions-transport-ws)
    Legacy,
}

/// Answers a WebSocket upgrade on `/graphql`.
pub fn upgrade(
    schema: &ApiSchema,
    upgrade: WebSocketUpgrade,
    headers: &HeaderMap,
    request_id: &str,
) -> Response {
    if let Err(message) = check_origin(headers) {
        return Failure::status(StatusCode::FORBIDDEN, "FORBIDDEN", message)
            .into_response(super::http::MediaType::Json);
    }
    let transport = schema.transport();
    let limits = *schema.limits();
    let open = transport.ws_open.fetch_add(1, Ordering::AcqRel);
    let guard = ConnectionGuard(schema.clone());
    if open >= limits.ws_connections {
        drop(guard);
        return Failure::status(
            StatusCode::SERVICE_UNAVAILABLE,
            limits::LIMIT_EXCEEDED,
            format!(
                "too many WebSocket connections (the limit is {}); try again later",
                limits.ws_connections
            ),
        )
        .into_response(super::http::MediaType::Json);
    }
    let protocol = upgrade
        .requested_protocols()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .find_map(|requested| match requested {
            TRANSPORT_WS => Some(Protocol::TransportWs),
            LEGACY_WS => Some(Protocol::Legacy),
            _ => None,
        });
    let upgrade = match protocol {
        Some(Protocol::TransportWs) => upgrade.protocols([TRANSPORT_WS]),
        Some(Protocol::Legacy) => upgrade.protocols([LEGACY_WS]),
        None => upgrade,
    };
    let schema = schema.clone();
    let request_id = request_id.to_owned();
    upgrade
        .max_message_size(limits.body_bytes)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            let _guard = guard;
            match protocol {
                Some(protocol) => {
                    let connection = Connection::new(schema, protocol, request_id.clone());
                    crate::request_id::within(request_id, connection.run(socket)).await
                }
                None => {
                    let mut socket = socket;
                    let _ = socket
                        .send(close_message(
                            4406,
                            "Subprotocol not acceptable: use graphql-transport-ws",
                        ))
                        .await;
                }
            }
        })
}

/// A cross-site page could open a WebSocket to us with the user's network position; a browser
/// always sends `Origin`, so a present `Origin` must name this host.
fn check_origin(headers: &HeaderMap) -> Result<(), String> {
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
    else {
        return Ok(());
    };
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin)
        .trim_end_matches('/');
    let hosts = [header::HOST.as_str(), "x-forwarded-host"]
        .iter()
        .filter_map(|name| headers.get(*name).and_then(|value| value.to_str().ok()))
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    if hosts
        .iter()
        .any(|host| host.eq_ignore_ascii_case(origin_host))
    {
        Ok(())
    } else {
        Err(format!(
            "WebSocket from origin {origin} refused: only pages of this host may open one"
        ))
    }
}

struct ConnectionGuard(ApiSchema);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.transport().ws_open.fetch_sub(1, Ordering::AcqRel);
    }
}

fn close_message(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason),
    }))
}

/// What operation tasks tell the connection.
enum Event {
    /// The operation ended (and said so to the client).
    Finished { id: String, generation: u64 },
    /// The client cannot keep up: close the connection.
    Slow(String),
}

struct Connection {
    schema: ApiSchema,
    limits: SchemaLimits,
    protocol: Protocol,
    request_id: String,
    init_received: bool,
    operations: HashMap<String, (u64, AbortHandle)>,
    generation: u64,
}

/// How the reading loop goes on after a message.
enum Flow {
    Continue,
    Close(u16, String),
}

impl Connection {
    fn new(schema: ApiSchema, protocol: Protocol, request_id: String) -> Self {
        Self {
            limits: *schema.limits(),
            schema,
            protocol,
            request_id,
            init_received: false,
            operations: HashMap::new(),
            generation: 0,
        }
    }

    async fn run(mut self, socket: WebSocket) {
        let (mut sink, mut stream) = socket.split();
        let (out, mut outbound) = mpsc::channel::<Message>(OUTBOUND_BUFFER);
        // The close frame skips the queue: a slow client still learns why it is closed once
        // it reads again, without first getting the messages that made it slow.
        let (close_tx, mut close_rx) = tokio::sync::oneshot::channel::<Message>();
        let writer = tokio::spawn(async move {
            loop {
                tokio::select! {
                    biased;
                    frame = &mut close_rx => {
                        if let Ok(frame) = frame {
                            let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(frame)).await;
                        }
                        break;
                    }
                    message = outbound.recv() => {
                        let Some(message) = message else { break };
                        if sink.send(message).await.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = tokio::time::timeout(CLOSE_GRACE, sink.close()).await;
        });
        let (events_tx, mut events) = mpsc::channel::<Event>(OUTBOUND_BUFFER);
        let init_deadline = tokio::time::sleep(self.limits.ws_init_timeout);
        tokio::pin!(init_deadline);
        let mut keep_alive = tokio::time::interval_at(
            tokio::time::Instant::now() + self.limits.ws_keep_alive,
            self.limits.ws_keep_alive,
        );
        let mut shutdown = self.schema.transport().shutdown.subscribe();
        let close = loop {
            tokio::select! {
                biased;
                Ok(()) = shutdown.wait_for(|down| *down).map(|r| r.map(|_| ())) => {
                    break Some((1001, "the server is shutting down".to_owned()));
                }
                Some(event) = events.recv() => match event {
                    Event::Finished { id, generation } => {
                        if self.operations.get(&id).is_some_and(|(current, _)| *current == generation) {
                            self.operations.remove(&id);
                        }
                    }
                    Event::Slow(reason) => break Some((CLOSE_TRY_AGAIN_LATER, reason)),
                },
                () = &mut init_deadline, if !self.init_received => {
                    break Some((4408, "Connection initialisation timeout".to_owned()));
                }
                _ = keep_alive.tick() => {
                    let message = match self.protocol {
                        Protocol::TransportWs => json!({"type": "ping"}),
                        Protocol::Legacy => json!({"type": "ka"}),
                    };
                    if self.protocol == Protocol::Legacy && !self.init_received {
                        continue;
                    }
                    if out.try_send(Message::text(message.to_string())).is_err() {
                        break Some((CLOSE_TRY_AGAIN_LATER, "the client does not read its messages".to_owned()));
                    }
                }
                message = stream.next() => {
                    let Some(Ok(message)) = message else { break None };
                    let flow = match message {
                        Message::Text(text) => self.on_text(text.as_str(), &out, &events_tx),
                        Message::Binary(_) => Flow::Close(4400, "binary messages are not part of the protocol".into()),
                        Message::Close(_) => break None,
                        Message::Ping(_) | Message::Pong(_) => Flow::Continue,
                    };
                    if let Flow::Close(code, reason) = flow {
                        break Some((code, reason));
                    }
                }
            }
        };
        for (_, (_, handle)) in self.operations.drain() {
            handle.abort();
        }
        if let Some((code, reason)) = close {
            tracing::debug!(code, %reason, request_id = %self.request_id, "closing WebSocket");
            let _ = close_tx.send(close_message(code, &reason));
        } else {
            drop(close_tx);
        }
        drop(out);
        let abort = writer.abort_handle();
        if tokio::time::timeout(CLOSE_GRACE * 2 + Duration::from_secs(1), writer)
            .await
            .is_err()
        {
            abort.abort();
        }
    }

    fn on_text(
        &mut self,
        text: &str,
        out: &mpsc::Sender<Message>,
        events: &mpsc::Sender<Event>,
    ) -> Flow {
        let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(text) else {
            return Flow::Close(4400, "Invalid message received: not a JSON object".into());
        };
        let kind = message
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let send = |value: Value| {
            if out.try_send(Message::text(value.to_string())).is_err() {
                tracing::debug!("WebSocket write queue full");
            }
        };
        match (self.protocol, kind.as_str()) {
            (_, "connection_init") => {
                if self.init_received {
                    return Flow::Close(4429, "Too many initialisation requests".into());
                }
                if !matches!(
                    message.get("payload"),
                    None | Some(Value::Null | Value::Object(_))
                ) {
                    return Flow::Close(
                        4400,
                        "Invalid message received: connection_init payload must be an object"
                            .into(),
                    );
                }
                self.init_received = true;
                send(json!({"type": "connection_ack"}));
                if self.protocol == Protocol::Legacy {
                    send(json!({"type": "ka"}));
                }
                Flow::Continue
            }
            (Protocol::TransportWs, "ping") => {
                let mut pong = json!({"type": "pong"});
                if let Some(payload) = message.remove("payload").filter(|p| !p.is_null()) {
                    pong["payload"] = payload;
                }
                send(pong);
                Flow::Continue
            }
            (Protocol::TransportWs, "pong") => Flow::Continue,
            (Protocol::TransportWs, "subscribe") | (Protocol::Legacy, "start") => {
                let Some(id) = message
                    .get("id")
                    .and_then(Value::as_str)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
                else {
                    return Flow::Close(
                        4400,
                        format!("Invalid message received: {kind} needs a non-empty string id"),
                    );
                };
                let params =
                    match Params::from_json(message.remove("payload").unwrap_or(Value::Null)) {
                        Ok(params) => params,
                        Err(problem) => {
                            return Flow::Close(
                                4400,
                                format!("Invalid message received: {problem}"),
                            );
                        }
                    };
                if !self.init_received {
                    return Flow::Close(4401, "Unauthorized".into());
                }
                if self.operations.contains_key(&id) {
                    return Flow::Close(4409, format!("Subscriber for {id} already exists"));
                }
                if self.operations.len() >= self.limits.ws_subscriptions_per_connection {
                    let failure = Failure::status(
                        StatusCode::BAD_REQUEST,
                        limits::LIMIT_EXCEEDED,
                        format!(
                            "this connection already runs {} operations (the limit)",
                            self.limits.ws_subscriptions_per_connection
                        ),
                    );
                    send(self.error_message(&id, failure.errors()));
                    return Flow::Continue;
                }
                self.start(id, params, out.clone(), events.clone());
                Flow::Continue
            }
            (Protocol::TransportWs, "complete") | (Protocol::Legacy, "stop") => {
                let Some(id) = message.get("id").and_then(Value::as_str) else {
                    return Flow::Close(
                        4400,
                        format!("Invalid message received: {kind} needs an id"),
                    );
                };
                if let Some((_, handle)) = self.operations.remove(id) {
                    handle.abort();
                }
                Flow::Continue
            }
            (Protocol::Legacy, "connection_terminate") => {
                Flow::Close(1000, "Normal Closure".into())
            }
            _ => Flow::Close(
                4400,
                format!("Invalid message received: unknown message type {kind:?}"),
            ),
        }
    }

    fn error_message(&self, id: &str, errors: Vec<Value>) -> Value {
        error_message(self.protocol, id, errors)
    }

    fn start(
        &mut self,
        id: String,
        params: Params,
        out: mpsc::Sender<Message>,
        events: mpsc::Sender<Event>,
    ) {
        self.generation += 1;
        let generation = self.generation;
        let schema = self.schema.clone();
        let protocol = self.protocol;
        let request_id = format!("{}/{id}", self.request_id);
        let slow_after = self.limits.ws_slow_client;
        let task_id = id.clone();
        // A spawned task does not inherit the connection's request id: it gets it again, for
        // its DataSpace calls and its errors.
        let connection_id = self.request_id.clone();
        let task = tokio::spawn(crate::request_id::within(connection_id, async move {
            let id = task_id;
            let finished = || Event::Finished {
                id: id.clone(),
                generation,
            };
            let send = |text: String| {
                let out = out.clone();
                async move {
                    tokio::time::timeout(slow_after, out.send(Message::text(text)))
                        .await
                        .map_err(|_| ())?
                        .map_err(|_| ())
                }
            };
            let prepared = match super::http::prepare(
                &schema,
                params,
                Allowed::All,
                &request_id,
                &super::cost::RecordBudget::new(schema.limits().records_per_request),
            ) {
                Ok(prepared) => prepared,
                Err(failure) => {
                    let _ = events.send(finished()).await;
                    let _ = send(error_message(protocol, &id, failure.errors()).to_string()).await;
                    return;
                }
            };
            let time_limit = prepared.time_limit(schema.limits());
            let outcome = prepared.outcome;
            let mut responses = schema.execute_stream(prepared.request);
            let mut first = true;
            // Queries and mutations get the request time limit; subscriptions live on.
            let deadline = time_limit.map(|limit| tokio::time::Instant::now() + limit);
            loop {
                let next = match deadline {
                    Some(deadline) => {
                        match tokio::time::timeout_at(deadline, responses.next()).await {
                            Ok(next) => next,
                            Err(_) => {
                                let failure = super::http::timeout_failure(&schema, &request_id);
                                let _ = events.send(finished()).await;
                                let _ = send(
                                    error_message(protocol, &id, failure.errors()).to_string(),
                                )
                                .await;
                                return;
                            }
                        }
                    }
                    None => responses.next().await,
                };
                let Some(response) = next else { break };
                let mut response = if first {
                    first = false;
                    match outcome.classify(response) {
                        Ok(response) => response,
                        Err(failure) => {
                            let _ = events.send(finished()).await;
                            let _ =
                                send(error_message(protocol, &id, failure.errors()).to_string())
                                    .await;
                            return;
                        }
                    }
                } else {
                    response
                };
                let lagged = response.errors.iter().any(|error| {
                    error
                        .extensions
                        .as_ref()
                        .and_then(|extensions| extensions.get("code"))
                        .is_some_and(|code| code == &async_graphql::Value::from(SUBSCRIBER_LAGGED))
                });
                let kind = match protocol {
                    Protocol::TransportWs => "next",
                    Protocol::Legacy => "data",
                };
                crate::request_id::name_in_server_errors(
                    &mut response.errors,
                    &crate::request_id::for_errors(),
                );
                if send(next_message(&id, kind, &response)).await.is_err() {
                    let _ = events
                        .send(Event::Slow("the client does not read its messages".into()))
                        .await;
                    return;
                }
                if lagged {
                    let _ = events.send(Event::Slow("subscriber lagged: it fell behind the records and was closed; subscribe again".into())).await;
                    return;
                }
            }
            let _ = events.send(finished()).await;
            let _ = send(json!({"id": id, "type": "complete"}).to_string()).await;
        }));
        self.operations
            .insert(id, (generation, task.abort_handle()));
    }
}

/// A `next` (`data` on the legacy protocol) message.
#[derive(Serialize)]
struct NextMessage<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    /// `null` if the response cannot be encoded.
    payload: Option<&'a async_graphql::Response>,
}

/// The text of the message carrying `response`, serialized in one go.
fn next_message(id: &str, kind: &str, response: &async_graphql::Response) -> String {
    let message = |payload| NextMessage { id, kind, payload };
    serde_json::to_string(&message(Some(response))).unwrap_or_else(|error| {
        tracing::error!(%error, "could not encode a GraphQL response");
        serde_json::to_string(&message(None)).unwrap_or_default()
    })
}

fn error_message(protocol: Protocol, id: &str, errors: Vec<Value>) -> Value {
    match protocol {
        Protocol::TransportWs => json!({"id": id, "type": "error", "payload": errors}),
        // subscriptions-transport-ws sends one error object.
        Protocol::Legacy => json!({
            "id": id,
            "type": "error",
            "payload": errors.into_iter().next().unwrap_or(Value::Null),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_next_message_is_the_text_of_its_json_tree() {
        let mut response =
            async_graphql::Response::new(async_graphql::value!({"b": 1, "a": [true]}));
        response
            .errors
            .push(async_graphql::ServerError::new("oops", None));
        for kind in ["next", "data"] {
            let payload = serde_json::to_value(&response).unwrap();
            assert_eq!(
                next_message("op-1", kind, &response),
                json!({"id": "op-1", "type": kind, "payload": payload}).to_string()
            );
        }
    }
}
