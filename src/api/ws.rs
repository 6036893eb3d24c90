//! GraphQL over WebSocket on `/graphql`: the `graphql-transport-ws` protocol (graphql-ws), and
//! the older `graphql-ws` subprotocol (subscriptions-transport-ws) for older Apollo clients.
//!
//! One task reads the socket and owns the connection's state; one task writes it from a bounded
//! queue; each operation runs in its own task, a subscription's reading the feed it shares with
//! the other subscribers of the same subscription ([`super::feeds`]). Nothing is buffered
//! without bound: the write queue holds [`OUTBOUND_BUFFER`] messages (and one more for each
//! sender: the connection and each operation, as futures-channel counts), an operation waits (so
//! its receiver of the feed, itself bounded, falls behind) and a client that does not read for
//! [`SchemaLimits::ws_slow_client`] or whose subscription lags is closed with 1013 ("try again
//! later").

use super::feeds::{FeedItem, Next, Subscriber};
use super::http::{Failure, Params};
use super::limits::{self, Allowed};
use super::subscription::SUBSCRIBER_LAGGED;
use super::{ApiSchema, SchemaLimits};
use async_graphql::parser::types::OperationType;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;
// futures-channel, not tokio's mpsc: tokio allocates a block of 32 slots when a channel is
// made, 1.6 KiB for the write queue and 1 KiB for the events of every connection, idle or not
// (heaptrack); futures-channel allocates per message.
use futures_channel::mpsc;
use tokio::task::AbortHandle;

pub const TRANSPORT_WS: &str = "graphql-transport-ws";
pub const LEGACY_WS: &str = "graphql-ws";

/// Messages queued for the writer per connection, besides the one slot each sender has.
pub const OUTBOUND_BUFFER: usize = 64;

/// Each socket's read and write buffer. tungstenite's default is 128 KiB each, allocated
/// up front: 130 KiB a connection, nearly all of it idle, since graphql-transport-ws frames
/// are small (heaptrack: 26 MiB of a 45 MiB heap for 200 subscribers; at 4 KiB each, still
/// 8 KiB of a connection's 30). A larger message still gets through; it is read in more
/// steps.
const SOCKET_BUFFER_BYTES: usize = 1024;

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
        .on_upgrade(move |socket| {
            // Split here and boxed: axum's upgrade task keeps the callback's future inline
            // beside its own state, and the socket would be held twice.
            let (mut sink, stream) = socket.split();
            Box::pin(async move {
                let _guard = guard;
                match protocol {
                    Some(protocol) => {
                        let connection = Connection::new(schema, protocol, request_id.clone());
                        let run = connection.run(sink, stream);
                        crate::request_id::within(request_id, run).await
                    }
                    None => {
                        let _ = sink
                            .send(close_message(
                                4406,
                                "Subprotocol not acceptable: use graphql-transport-ws",
                            ))
                            .await;
                    }
                }
            })
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

    async fn run(
        mut self,
        sink: SplitSink<WebSocket, Message>,
        mut stream: SplitStream<WebSocket>,
    ) {
        let (mut out, outbound) = mpsc::channel::<Message>(OUTBOUND_BUFFER);
        // The close frame skips the queue: a slow client still learns why it is closed once
        // it reads again, without first getting the messages that made it slow.
        let (close_tx, close_rx) = tokio::sync::oneshot::channel::<Message>();
        let writer = tokio::spawn(write(sink, outbound, close_rx));
        let close = self.read(&mut stream, &mut out).await;
        Box::pin(self.close(close, close_tx, out, writer)).await;
    }

    /// Reads the client's messages until the connection is to close: `Some((code, reason))`
    /// when the server closes it, `None` when the client did or the socket failed.
    async fn read(
        &mut self,
        stream: &mut SplitStream<WebSocket>,
        out: &mut mpsc::Sender<Message>,
    ) -> Option<(u16, String)> {
        // Unbounded, yet bounded by construction: each operation sends one event, as it ends,
        // and a connection runs at most `ws_subscriptions_per_connection` of them.
        let (events_tx, mut events) = mpsc::unbounded::<Event>();
        // Boxed and dropped once `connection_init` came: most of a connection's life is
        // after it.
        let mut init_deadline = Some(Box::pin(tokio::time::sleep(self.limits.ws_init_timeout)));
        let mut keep_alive = tokio::time::interval_at(
            tokio::time::Instant::now() + self.limits.ws_keep_alive,
            self.limits.ws_keep_alive,
        );
        let mut shutdown = self.schema.transport().shutdown.subscribe();
        loop {
            if self.init_received {
                init_deadline = None;
            }
            tokio::select! {
                biased;
                Ok(()) = shutdown.wait_for(|down| *down).map(|r| r.map(|_| ())) => {
                    return Some((1001, "the server is shutting down".to_owned()));
                }
                Some(event) = events.next() => match event {
                    Event::Finished { id, generation } => {
                        if self.operations.get(&id).is_some_and(|(current, _)| *current == generation) {
                            self.operations.remove(&id);
                        }
                    }
                    Event::Slow(reason) => return Some((CLOSE_TRY_AGAIN_LATER, reason)),
                },
                () = async { init_deadline.as_mut().expect("checked by the guard").await }, if init_deadline.is_some() => {
                    return Some((4408, "Connection initialisation timeout".to_owned()));
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
                        return Some((CLOSE_TRY_AGAIN_LATER, "the client does not read its messages".to_owned()));
                    }
                }
                message = stream.next() => {
                    let Some(Ok(message)) = message else { return None };
                    let flow = match message {
                        Message::Text(text) => self.on_text(text.as_str(), out, &events_tx),
                        Message::Binary(_) => Flow::Close(4400, "binary messages are not part of the protocol".into()),
                        Message::Close(_) => return None,
                        Message::Ping(_) | Message::Pong(_) => Flow::Continue,
                    };
                    if let Flow::Close(code, reason) = flow {
                        return Some((code, reason));
                    }
                }
            }
        }
    }

    /// Stops the operations, sends the close frame if the server closes, and waits (bounded)
    /// for the writer to flush it.
    async fn close(
        mut self,
        close: Option<(u16, String)>,
        close_tx: tokio::sync::oneshot::Sender<Message>,
        out: mpsc::Sender<Message>,
        writer: tokio::task::JoinHandle<()>,
    ) {
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
        out: &mut mpsc::Sender<Message>,
        events: &mpsc::UnboundedSender<Event>,
    ) -> Flow {
        let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(text) else {
            return Flow::Close(4400, "Invalid message received: not a JSON object".into());
        };
        let kind = message
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mut send = |value: Value| {
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
        events: mpsc::UnboundedSender<Event>,
    ) {
        self.generation += 1;
        let operation = Operation {
            id: id.clone(),
            generation: self.generation,
            protocol: self.protocol,
            slow_after: self.limits.ws_slow_client,
            out,
            events,
        };
        let request_id = format!("{}/{id}", self.request_id);
        // A spawned task does not inherit the connection's request id: it gets it again, for
        // its DataSpace calls and its errors.
        let run = operation.run(self.schema.clone(), params, request_id);
        let task = tokio::spawn(crate::request_id::within(self.request_id.clone(), run));
        self.operations
            .insert(id, (self.generation, task.abort_handle()));
    }
}

/// One operation of a connection, run in a task of its own. An idle subscription is this task
/// waiting for its next record, so what it holds while it waits is what each subscriber costs:
/// the rare ends (errors, time-outs, a slow client) are boxed futures, allocated only when
/// they happen.
struct Operation {
    id: String,
    generation: u64,
    protocol: Protocol,
    slow_after: Duration,
    out: mpsc::Sender<Message>,
    events: mpsc::UnboundedSender<Event>,
}

impl Operation {
    async fn run(self, schema: ApiSchema, params: Params, request_id: String) {
        let prepared = match prepare(&schema, params, &request_id) {
            Ok(prepared) => prepared,
            Err(failure) => return Box::pin(self.fail(failure)).await,
        };
        if prepared.operation != OperationType::Subscription {
            // Boxed: an idle subscriber's task holds only the shared feed's branch.
            return Box::pin(self.execute(schema, prepared, request_id)).await;
        }
        let super::http::Prepared {
            request, outcome, ..
        } = prepared;
        match schema
            .transport()
            .feeds
            .subscribe(&schema, request, outcome)
        {
            Ok(subscriber) => self.follow(subscriber).await,
            Err(failure) => Box::pin(self.fail(failure)).await,
        }
    }

    /// Runs a subscription's shared feed (see [`super::feeds`]) for this client.
    async fn follow(mut self, mut subscriber: Subscriber) {
        loop {
            let (text, lagged) = match subscriber.next().await {
                Next::Item(FeedItem::Payloads(payloads)) => {
                    for payload in payloads.iter() {
                        let text = next_text(&self.id, self.next_kind(), payload);
                        if let Err(reason) = self.deliver(text, false).await {
                            return self.slow(reason);
                        }
                    }
                    continue;
                }
                Next::Item(FeedItem::Response(response)) => self.frame(copy_of(&response)),
                Next::Item(FeedItem::Failed(failure)) => {
                    return Box::pin(self.fail((*failure).clone())).await;
                }
                Next::Lagged(missed) => {
                    let error = super::subscription::lagged(missed)
                        .into_server_error(async_graphql::Pos::default());
                    self.frame(async_graphql::Response::from_errors(vec![error]))
                }
                Next::Ended => break,
            };
            if let Err(reason) = self.deliver(text, lagged).await {
                return self.slow(reason);
            }
        }
        self.complete().await
    }

    /// Executes a query or mutation sent over the socket, within the request time limit.
    async fn execute(
        mut self,
        schema: ApiSchema,
        prepared: super::http::Prepared,
        request_id: String,
    ) {
        let deadline = prepared
            .time_limit(schema.limits())
            .map(|limit| tokio::time::Instant::now() + limit);
        let super::http::Prepared {
            request, outcome, ..
        } = prepared;
        let mut first = Some(outcome);
        let mut responses = schema.execute_stream(request);
        loop {
            let next = match deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, responses.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        let failure = super::http::timeout_failure(&schema, &request_id);
                        return self.fail(failure).await;
                    }
                },
                None => responses.next().await,
            };
            let Some(response) = next else { break };
            let response = match first.take() {
                Some(outcome) => match outcome.classify(response) {
                    Ok(response) => response,
                    Err(failure) => return self.fail(failure).await,
                },
                None => response,
            };
            // Made here, not inline, so that the response is not held while the text waits
            // for room in the queue.
            let (text, lagged) = self.frame(response);
            if let Err(reason) = self.deliver(text, lagged).await {
                return self.slow(reason);
            }
        }
        self.complete().await
    }

    /// Sends a response's message; `Err` with the reason to close the connection when the
    /// client does not take it in time or it says the subscriber lagged.
    async fn deliver(&mut self, text: String, lagged: bool) -> Result<(), &'static str> {
        if self.send(text).await.is_err() {
            return Err("the client does not read its messages");
        }
        if lagged {
            return Err(
                "subscriber lagged: it fell behind the records and was closed; subscribe again",
            );
        }
        Ok(())
    }

    async fn complete(self) {
        let complete = json!({"id": self.id, "type": "complete"}).to_string();
        Box::pin(self.finish(complete)).await;
    }

    fn next_kind(&self) -> &'static str {
        match self.protocol {
            Protocol::TransportWs => "next",
            Protocol::Legacy => "data",
        }
    }

    /// The message carrying `response`, and whether it says the subscriber lagged.
    fn frame(&self, mut response: async_graphql::Response) -> (String, bool) {
        let lagged = response.errors.iter().any(|error| {
            error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code"))
                .is_some_and(|code| code == &async_graphql::Value::from(SUBSCRIBER_LAGGED))
        });
        crate::request_id::name_in_server_errors(
            &mut response.errors,
            &crate::request_id::for_errors(),
        );
        (next_message(&self.id, self.next_kind(), &response), lagged)
    }

    /// Queues `text` for the writer, waiting at most `slow_after` for room.
    async fn send(&mut self, text: String) -> Result<(), ()> {
        tokio::time::timeout(self.slow_after, self.out.send(Message::text(text)))
            .await
            .map_err(|_| ())?
            .map_err(|_| ())
    }

    /// Ends the operation with `last` as its last message. The connection forgets the id
    /// first, so that once the client has read `last` it may reuse the id.
    async fn finish(mut self, last: String) {
        let _ = self.events.unbounded_send(Event::Finished {
            id: self.id.clone(),
            generation: self.generation,
        });
        let _ = self.send(last).await;
    }

    async fn fail(self, failure: Failure) {
        let message = error_message(self.protocol, &self.id, failure.errors()).to_string();
        self.finish(message).await;
    }

    /// The client cannot keep up: the connection closes.
    fn slow(&self, reason: &str) {
        let _ = self.events.unbounded_send(Event::Slow(reason.to_owned()));
    }
}

/// What a message needs of a shared response (async-graphql's is not `Clone`).
fn copy_of(response: &async_graphql::Response) -> async_graphql::Response {
    let mut copy = async_graphql::Response::new(response.data.clone());
    copy.errors = response.errors.clone();
    copy.extensions = response.extensions.clone();
    copy
}

/// The operation `params`, checked and ready to execute.
fn prepare(
    schema: &ApiSchema,
    params: Params,
    request_id: &str,
) -> Result<super::http::Prepared, Failure> {
    super::http::prepare(
        schema,
        params,
        Allowed::All,
        request_id,
        &super::cost::RecordBudget::new(schema.limits().records_per_request),
    )
}

/// The connection's writer: the queued messages in order, until the queue closes or the close
/// frame comes (which goes first), then the socket's close.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut outbound: mpsc::Receiver<Message>,
    mut close: tokio::sync::oneshot::Receiver<Message>,
) {
    loop {
        tokio::select! {
            biased;
            frame = &mut close => {
                if let Ok(frame) = frame {
                    let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(frame)).await;
                }
                break;
            }
            message = outbound.next() => {
                let Some(message) = message else { break };
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, sink.close()).await;
}

/// The text of the `next` (`data` on the legacy protocol) message carrying `response`.
fn next_message(id: &str, kind: &str, response: &async_graphql::Response) -> String {
    next_text(id, kind, &super::feeds::encode(response))
}

/// The message around a `payload` that is JSON text already (a shared feed's, serialized
/// once for all its subscribers): put in as it is, not parsed again.
fn next_text(id: &str, kind: &str, payload: &str) -> String {
    let id = serde_json::to_string(id).unwrap_or_else(|_| "\"\"".to_owned());
    format!(r#"{{"id":{id},"type":"{kind}","payload":{payload}}}"#)
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
