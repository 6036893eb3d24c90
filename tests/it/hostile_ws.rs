//! Hostile input over the GraphQL WebSocket (`/graphql`, graphql-transport-ws and the legacy
//! graphql-ws): protocol abuse, binary and huge frames, floods of subscribe, unknown message
//! types, and documents that are as hostile as over HTTP. One line per case: what to send and
//! what must come back, while `/healthz` is watched as for the HTTP doors.

use crate::support::hostile::{
    Activity, BODY_LIMIT, HealthWatch, Target, fragment_bomb, nested_list,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// What a case sends, in order.
#[derive(Debug, Clone)]
enum Frame {
    Text(String),
    Json(Value),
    Binary(Vec<u8>),
    /// `connection_init`, then wait for the ack.
    Init,
    /// Nothing, for this long.
    Wait(Duration),
}

/// What must come back, after every frame was sent.
#[derive(Debug, Clone, Copy)]
enum WsExpect {
    /// A close frame with this code.
    Close(u16),
    /// The connection ends, with any close code or none (a frame over the size limit).
    Ends,
    /// A message of this type containing this text; the connection stays usable (it answers a
    /// ping).
    Message(&'static str, &'static str),
    /// The upgrade itself is refused with this HTTP status.
    Refused(u16),
}

struct WsCase {
    name: String,
    protocol: Option<&'static str>,
    /// An `Origin` header on the upgrade.
    origin: Option<&'static str>,
    frames: Vec<Frame>,
    expect: WsExpect,
    deadline: Duration,
}

fn ws(name: impl Into<String>, frames: Vec<Frame>, expect: WsExpect) -> WsCase {
    WsCase {
        name: name.into(),
        protocol: Some("graphql-transport-ws"),
        origin: None,
        frames,
        expect,
        deadline: Duration::from_secs(20),
    }
}

impl WsCase {
    fn protocol(mut self, protocol: Option<&'static str>) -> Self {
        self.protocol = protocol;
        self
    }

    fn origin(mut self, origin: &'static str) -> Self {
        self.origin = Some(origin);
        self
    }
}

fn subscribe(id: &str, query: &str) -> Frame {
    Frame::Json(json!({"id": id, "type": "subscribe", "payload": {"query": query}}))
}

const LIVE: &str = "subscription { logAdded(bot: \"hb\") { id } }";

fn cases() -> Vec<WsCase> {
    use Frame::*;
    use WsExpect::*;
    let flood: Vec<Frame> = std::iter::once(Init)
        .chain((0..25).map(|i| subscribe(&format!("s{i}"), LIVE)))
        .collect();
    let mut cases = vec![
        ws("no subprotocol", vec![], Close(4406)).protocol(None),
        ws("unknown subprotocol", vec![], Close(4406)).protocol(Some("mqtt")),
        ws("a cross-site Origin", vec![], Refused(403)).origin("https://evil.example.com"),
        ws(
            "no connection_init",
            vec![Wait(Duration::from_secs(4))],
            Close(4408),
        ),
        ws(
            "a second connection_init",
            vec![Init, Json(json!({"type": "connection_init"}))],
            Close(4429),
        ),
        ws(
            "subscribe before the ack",
            vec![subscribe("1", LIVE)],
            Close(4401),
        ),
        ws(
            "an id already in use",
            vec![Init, subscribe("1", LIVE), subscribe("1", LIVE)],
            Close(4409),
        ),
        ws("not JSON", vec![Text("{nope".into())], Close(4400)),
        ws("a JSON list", vec![Text("[1,2]".into())], Close(4400)),
        ws("no type", vec![Json(json!({"id": "1"}))], Close(4400)),
        ws(
            "unknown type",
            vec![Init, Json(json!({"type": "explode"}))],
            Close(4400),
        ),
        ws(
            "type a number",
            vec![Init, Json(json!({"type": 5}))],
            Close(4400),
        ),
        ws(
            "subscribe without id",
            vec![
                Init,
                Json(json!({"type": "subscribe", "payload": {"query": LIVE}})),
            ],
            Close(4400),
        ),
        ws(
            "subscribe, id a number",
            vec![
                Init,
                Json(json!({"id": 5, "type": "subscribe", "payload": {"query": LIVE}})),
            ],
            Close(4400),
        ),
        ws(
            "subscribe, payload a string",
            vec![
                Init,
                Json(json!({"id": "1", "type": "subscribe", "payload": "x"})),
            ],
            Close(4400),
        ),
        ws(
            "subscribe, query a number",
            vec![
                Init,
                Json(json!({"id": "1", "type": "subscribe", "payload": {"query": 5}})),
            ],
            Close(4400),
        ),
        ws(
            "binary frame",
            vec![Init, Binary(vec![0, 1, 2, 255])],
            Close(4400),
        ),
        ws(
            "binary frame before init",
            vec![Binary(b"{\"type\":\"connection_init\"}".to_vec())],
            Close(4400),
        ),
        ws(
            "a frame over the size limit",
            vec![
                Init,
                Text(format!(
                    "{{\"type\": \"ping\", \"payload\": \"{}\"}}",
                    "x".repeat(BODY_LIMIT + 1)
                )),
            ],
            Ends,
        ),
        ws(
            "a binary frame of 2 MiB",
            vec![Init, Binary(vec![b'x'; 2 * BODY_LIMIT])],
            Ends,
        ),
        ws(
            "invalid UTF-8 text is impossible, NUL in text",
            vec![Init, Text("{\"type\": \"ping\u{0}\"}".into())],
            Close(4400),
        ),
        ws(
            "JSON 10000 deep",
            vec![
                Init,
                Text(format!(
                    "{{\"type\": \"ping\", \"payload\": {}}}",
                    "[".repeat(10_000) + &"]".repeat(10_000)
                )),
            ],
            Close(4400),
        ),
        ws(
            "25 subscriptions at once",
            flood,
            Message("error", "LIMIT_EXCEEDED"),
        ),
        ws(
            "subscribe with a syntax error",
            vec![Init, subscribe("1", "subscription {")],
            Message("error", "GRAPHQL_PARSE_FAILED"),
        ),
        ws(
            "subscribe to an unknown field",
            vec![Init, subscribe("1", "subscription { nope }")],
            Message("error", ""),
        ),
        ws(
            "subscribe, 31 aliases",
            vec![
                Init,
                subscribe(
                    "1",
                    &format!(
                        "subscription {{ {} }}",
                        (0..31)
                            .map(|i| format!("a{i}: logAdded(bot: \"hb\") {{ id }} "))
                            .collect::<String>()
                    ),
                ),
            ],
            Message("error", "LIMIT_EXCEEDED"),
        ),
        ws(
            "subscribe, a fragment bomb",
            vec![
                Init,
                subscribe(
                    "1",
                    &fragment_bomb(20, 4, "Subscription", "logAdded(bot: \"hb\") { id }")
                        .replace("query {", "subscription {"),
                ),
            ],
            Message("error", ""),
        ),
        ws(
            "a query of the bots",
            vec![Init, subscribe("1", "{ bots { totalCount } }")],
            Message("next", "totalCount"),
        ),
        ws(
            "complete for an unknown id",
            vec![Init, Json(json!({"id": "nope", "type": "complete"}))],
            Message("pong", ""),
        ),
        ws(
            "1000 pings",
            std::iter::once(Init)
                .chain((0..1000).map(|_| Json(json!({"type": "ping"}))))
                .collect(),
            Message("pong", ""),
        ),
        ws(
            "1000 subscribe and complete",
            std::iter::once(Init)
                .chain((0..500).flat_map(|i| {
                    [
                        subscribe(&format!("c{i}"), LIVE),
                        Json(json!({"id": format!("c{i}"), "type": "complete"})),
                    ]
                }))
                .collect(),
            Message("pong", ""),
        ),
        ws(
            "legacy: start before init",
            vec![Json(
                json!({"id": "1", "type": "start", "payload": {"query": LIVE}}),
            )],
            Ends,
        )
        .protocol(Some("graphql-ws")),
        ws(
            "legacy: unknown type",
            vec![
                Json(json!({"type": "connection_init"})),
                Json(json!({"type": "explode"})),
            ],
            Ends,
        )
        .protocol(Some("graphql-ws")),
        ws(
            "legacy: binary frame",
            vec![Binary(vec![1, 2, 3])],
            Close(4400),
        )
        .protocol(Some("graphql-ws")),
    ];
    // Nesting at every depth, in a subscription's argument and selection: an `error` message
    // naming the problem, the connection still usable.
    cases.extend([100, 1000, 5000, 20_000].into_iter().flat_map(|depth| {
        [
            ws(
                format!("subscribe, a list literal {depth} deep"),
                vec![
                    Init,
                    subscribe(
                        "1",
                        &format!(
                            "subscription {{ logAdded(bot: \"hb\", minLevel: {}) {{ id }} }}",
                            nested_list(depth)
                        ),
                    ),
                ],
                Message("error", "nests deeper than 64"),
            ),
            ws(
                format!("subscribe, a selection {depth} deep"),
                vec![
                    Init,
                    subscribe(
                        "1",
                        &format!(
                            "subscription {{ logAdded(bot: \"hb\") {{ {}id{} }} }}",
                            "... on LogRecord { ".repeat(depth),
                            " }".repeat(depth)
                        ),
                    ),
                ],
                Message("error", "nests deeper than 64"),
            ),
        ]
    }));
    cases
}

/// Opens the socket, sends the frames, and checks what comes back; `Err` says what was wrong.
async fn run_case(target: &Target, case: &WsCase) -> Result<(), String> {
    let url = format!("ws://{}/graphql", target.addr);
    let mut request = url.into_client_request().unwrap();
    if let Some(protocol) = case.protocol {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static(protocol));
    }
    if let Some(origin) = case.origin {
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_static(origin));
    }
    // Our client must be able to send what the server must refuse.
    let config = WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    let socket = tokio_tungstenite::connect_async_with_config(request, Some(config), false).await;
    let mut socket = match (socket, case.expect) {
        (Err(tokio_tungstenite::tungstenite::Error::Http(response)), WsExpect::Refused(want)) => {
            let got = response.status().as_u16();
            return if got == want {
                Ok(())
            } else {
                Err(format!("upgrade answered {got}, expected {want}"))
            };
        }
        // The client gives up on a server that picks none of its subprotocols, before the
        // server's 4406 arrives: that is the refusal.
        (
            Err(tokio_tungstenite::tungstenite::Error::Protocol(
                tokio_tungstenite::tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(
                    _,
                ),
            )),
            WsExpect::Close(4406),
        ) => return Ok(()),
        (Err(error), _) => return Err(format!("the upgrade failed: {error}")),
        (Ok((socket, _)), _) => socket,
    };
    for frame in &case.frames {
        let message = match frame {
            Frame::Text(text) => Message::text(text.clone()),
            Frame::Json(value) => Message::text(value.to_string()),
            Frame::Binary(bytes) => Message::binary(bytes.clone()),
            Frame::Init => Message::text(json!({"type": "connection_init"}).to_string()),
            Frame::Wait(pause) => {
                tokio::time::sleep(*pause).await;
                continue;
            }
        };
        // The server may close while frames are still going out; what it said is read below.
        if socket.send(message).await.is_err() {
            break;
        }
        if matches!(frame, Frame::Init) {
            match next_json(&mut socket).await {
                Some(Ok(ack)) if ack["type"] == "connection_ack" => {}
                other => return Err(format!("no connection_ack: {other:?}")),
            }
        }
    }
    match case.expect {
        WsExpect::Close(want) | WsExpect::Refused(want) => loop {
            match socket.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    let got = u16::from(frame.code);
                    return if got == want {
                        Ok(())
                    } else {
                        Err(format!(
                            "closed with {got} ({}), expected {want}",
                            frame.reason
                        ))
                    };
                }
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                    return Err(format!("ended without the close code {want}"));
                }
                Some(Ok(_)) => continue,
            }
        },
        WsExpect::Ends => loop {
            match socket.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                Some(Ok(_)) => continue,
            }
        },
        WsExpect::Message(kind, text) => {
            if kind == "pong" {
                let _ = socket
                    .send(Message::text(json!({"type": "ping"}).to_string()))
                    .await;
            }
            loop {
                match next_json(&mut socket).await {
                    Some(Ok(message)) if message["type"] == kind => {
                        if !message.to_string().contains(text) {
                            return Err(format!("{kind} without {text:?}: {message}"));
                        }
                        break;
                    }
                    Some(Ok(_)) => continue,
                    other => return Err(format!("no {kind} message: {other:?}")),
                }
            }
            // Still usable: a ping is answered.
            socket
                .send(Message::text(json!({"type": "ping"}).to_string()))
                .await
                .map_err(|error| format!("cannot send after the {kind}: {error}"))?;
            loop {
                match next_json(&mut socket).await {
                    Some(Ok(message)) if message["type"] == "pong" => return Ok(()),
                    Some(Ok(_)) => continue,
                    other => return Err(format!("no pong after the {kind}: {other:?}")),
                }
            }
        }
    }
}

/// The next JSON text message (server keep-alive pings skipped), `Err` for a close.
async fn next_json(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Option<Result<Value, String>> {
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) => {
                let value: Value = serde_json::from_str(text.as_str()).ok()?;
                if value["type"] == "ping" && value.get("payload").is_none() {
                    // Answer the server's keep-alive, and look further.
                    let _ = socket
                        .send(Message::text(json!({"type": "pong"}).to_string()))
                        .await;
                    continue;
                }
                return Some(Ok(value));
            }
            Ok(Message::Close(frame)) => return Some(Err(format!("closed: {frame:?}"))),
            Ok(_) => continue,
            Err(error) => return Some(Err(error.to_string())),
        }
    }
}

async fn run(target: &mut Target) {
    let cases = cases();
    let activity: Activity = Arc::new(Mutex::new("start".to_owned()));
    let watch = HealthWatch::start(target, activity.clone());
    let mut failures = Vec::new();
    for case in &cases {
        *activity.lock().unwrap_or_else(PoisonError::into_inner) = case.name.clone();
        let started = Instant::now();
        let outcome = tokio::time::timeout(case.deadline, run_case(target, case)).await;
        let took = started.elapsed();
        match outcome {
            Err(_) => failures.push(format!("{}: nothing within {:?}", case.name, case.deadline)),
            Ok(Err(problem)) => failures.push(format!("{} ({took:?}): {problem}", case.name)),
            Ok(Ok(())) => {}
        }
        if !target.alive() {
            failures.push(format!(
                "{}: the process died\n{}",
                case.name,
                target.log_tail()
            ));
            break;
        }
    }
    let health = watch.finish();
    failures.extend(health.misses.iter().cloned());
    eprintln!(
        "hostile ws: {} cases; /healthz {} probes, slowest {:?}, {} excused",
        cases.len(),
        health.probes,
        health.slowest,
        health.excused
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn hostile_websocket() {
    let mut target = Target::start(&[]).await;
    run(&mut target).await;
}
