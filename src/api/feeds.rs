//! Shared subscription feeds: every WebSocket subscriber of the same subscription (the same
//! document, operation name and variables) reads one execution of it.
//!
//! Why: async-graphql keeps about 10 KiB of state per executing subscription (its stream, the
//! parsed document, the variables; heaptrack on 2,000 idle subscribers), and executes and
//! serializes each record once per subscriber. What a subscription here yields depends only on
//! its document and variables: `logAdded` reads no caller identity, and the connection's
//! `connection_init` payload is not read. So one execution, serialized once, serves all of
//! them. async-graphql has no way to share an execution; Hasura's "multiplexed subscriptions"
//! are the same idea.
//!
//! Each feed is a task that runs the stream and sends the responses on a broadcast ring of
//! [`LISTENER_BUFFER`] places, the responses ready together in one place. The feed never waits
//! for a subscriber: one that falls that far behind gets a `SUBSCRIBER_LAGGED` error and is
//! closed, alone. The feed stops when its last subscriber goes. Measured in the README
//! ("WebSocket load bench"): 10,000 idle subscribers of one bot 196 -> 95 MiB.

use super::ApiSchema;
use super::http::{Failure, Outcome};
use super::limits::LIMIT_EXCEEDED;
use crate::bus::LISTENER_BUFFER;
use crate::sync::lock;
use futures_util::{FutureExt, StreamExt};
use http::StatusCode;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

/// What identifies a subscription's results: equal keys yield the same responses. A SHA-256
/// of the document, operation name and variables, not the text itself: a document may be as
/// large as a request body, and a feed lives as long as its subscribers.
#[derive(Clone, PartialEq, Eq, Hash)]
struct FeedKey([u8; 32]);

impl FeedKey {
    fn of(request: &async_graphql::Request) -> Self {
        let variables = serde_json::to_string(&request.variables).unwrap_or_default();
        let operation_name = request.operation_name.as_deref();
        let mut hash = Sha256::new();
        // Each part after its length, so that no two different triples hash the same text.
        for part in [
            request.query.as_str(),
            operation_name.unwrap_or_default(),
            &variables,
        ] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
        hash.update([u8::from(operation_name.is_some())]);
        Self(hash.finalize().into())
    }
}

/// Responses of a feed, as its subscribers take them.
#[derive(Clone)]
pub enum FeedItem {
    /// Responses without errors, in order, as their JSON text: serialized once for all
    /// subscribers. The responses that were ready together (a batch of records) are one item,
    /// so that a batch takes a few places in the channel, not one per record.
    Payloads(Arc<[Arc<str>]>),
    /// A response with errors: each subscriber names its own request id in them.
    Response(Arc<async_graphql::Response>),
    /// The document failed validation; nothing more comes.
    Failed(Arc<Failure>),
}

/// The most JSON text one [`FeedItem::Payloads`] holds (beyond its first response): what a
/// channel full of them can hold back is bounded.
const PAYLOADS_BYTES: usize = 64 * 1024;

type FeedMap = Arc<Mutex<HashMap<FeedKey, Weak<Feed>>>>;

/// The running feeds, by key; entries go when their feed does.
#[derive(Default)]
pub struct Feeds {
    running: FeedMap,
}

/// A running feed, held by each of its subscribers.
struct Feed {
    key: FeedKey,
    /// Weak, so that the channel closes (and subscribers complete) when the stream ends.
    items: broadcast::WeakSender<FeedItem>,
    task: AbortHandle,
    running: FeedMap,
    /// Set, before it is sent, when the document failed validation: a subscriber that joined
    /// just after the send still learns it.
    failed: Arc<OnceLock<Arc<Failure>>>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
        let mut running = lock(&self.running);
        // A feed started since for the same key keeps its entry.
        if running
            .get(&self.key)
            .is_some_and(|feed| feed.strong_count() == 0)
        {
            running.remove(&self.key);
        }
    }
}

/// One subscriber's end of a feed.
pub struct Subscriber {
    items: broadcast::Receiver<FeedItem>,
    feed: Arc<Feed>,
}

/// What a subscriber takes next.
pub enum Next {
    Item(FeedItem),
    /// It fell this many places of the feed's ring behind; it should close.
    Lagged(u64),
    /// The feed ended.
    Ended,
}

impl Subscriber {
    pub async fn next(&mut self) -> Next {
        match self.items.recv().await {
            Ok(item) => Next::Item(item),
            Err(broadcast::error::RecvError::Lagged(missed)) => Next::Lagged(missed),
            Err(broadcast::error::RecvError::Closed) => match self.feed.failed.get() {
                Some(failure) => Next::Item(FeedItem::Failed(failure.clone())),
                None => Next::Ended,
            },
        }
    }
}

impl Feeds {
    /// Subscribes to the feed of `request` (a subscription, checked by
    /// [`super::http::prepare`]), starting it when none runs. `outcome` is `request`'s: it tells
    /// the feed's first response apart if the document fails validation. Refused when a new
    /// feed would pass `[limits] ws_feeds`: each holds a ring and an execution (about
    /// 35 KiB), and a caller could make any number of distinct documents.
    pub fn subscribe(
        &self,
        schema: &ApiSchema,
        request: async_graphql::Request,
        outcome: Outcome,
    ) -> Result<Subscriber, Failure> {
        let key = FeedKey::of(&request);
        let mut running = lock(&self.running);
        // Dropped after the lock is released: a feed's drop takes the lock.
        let ended = match running.get(&key).and_then(Weak::upgrade) {
            Some(feed) => match feed.items.upgrade() {
                Some(sender) => {
                    let items = sender.subscribe();
                    drop(running);
                    return Ok(Subscriber { items, feed });
                }
                None => Some(feed),
            },
            None => None,
        };
        let limit = schema.limits().ws_feeds;
        if ended.is_none() && running.len() >= limit {
            return Err(Failure::status(
                StatusCode::SERVICE_UNAVAILABLE,
                LIMIT_EXCEEDED,
                format!(
                    "the server runs {limit} distinct subscriptions, its limit (`[limits] \
                     ws_feeds`); subscribe to one that runs, or try again later"
                ),
            ));
        }
        let (sender, items) = broadcast::channel(LISTENER_BUFFER);
        let weak = sender.downgrade();
        let failed = Arc::new(OnceLock::new());
        let run = run(schema.clone(), request, outcome, sender, failed.clone());
        let task = tokio::spawn(crate::request_id::within(
            crate::request_id::for_errors(),
            run,
        ));
        let feed = Arc::new(Feed {
            key: key.clone(),
            items: weak,
            task: task.abort_handle(),
            running: self.running.clone(),
            failed,
        });
        running.insert(key, Arc::downgrade(&feed));
        drop(running);
        drop(ended);
        Ok(Subscriber { items, feed })
    }

    /// How many feeds run.
    pub fn running(&self) -> usize {
        let running = lock(&self.running);
        running
            .values()
            .filter(|feed| feed.strong_count() > 0)
            .count()
    }
}

/// The feed's task: executes `request` and sends each response to the subscribers. Ending
/// drops `sender`, which completes them.
async fn run(
    schema: ApiSchema,
    request: async_graphql::Request,
    outcome: Outcome,
    sender: broadcast::Sender<FeedItem>,
    failed: Arc<OnceLock<Arc<Failure>>>,
) {
    let mut responses = schema.execute_stream(request);
    let mut first = Some(outcome);
    let mut next = responses.next().await;
    while let Some(response) = next.take() {
        let response = match first.take() {
            Some(outcome) => match outcome.classify(response) {
                Ok(response) => response,
                Err(failure) => {
                    let failure = Arc::new(failure);
                    let _ = failed.set(failure.clone());
                    let _ = sender.send(FeedItem::Failed(failure));
                    return;
                }
            },
            None => response,
        };
        // No subscriber right now is fine: the feed stops when the last one's drop aborts it.
        if !response.errors.is_empty() {
            let _ = sender.send(FeedItem::Response(Arc::new(response)));
            next = responses.next().await;
            continue;
        }
        let mut payloads = vec![encode(&response)];
        let mut bytes = payloads[0].len();
        // The responses ready now go with it, up to PAYLOADS_BYTES.
        let mut ready = None;
        while bytes < PAYLOADS_BYTES {
            match responses.next().now_or_never() {
                Some(Some(response)) if response.errors.is_empty() => {
                    let payload = encode(&response);
                    bytes += payload.len();
                    payloads.push(payload);
                }
                Some(end_or_error) => {
                    ready = Some(end_or_error);
                    break;
                }
                None => break,
            }
        }
        let _ = sender.send(FeedItem::Payloads(payloads.into()));
        next = match ready {
            Some(end_or_error) => end_or_error,
            None => responses.next().await,
        };
    }
}

/// A response's JSON text (`null` if it cannot be encoded).
pub(super) fn encode(response: &async_graphql::Response) -> Arc<str> {
    match serde_json::to_string(response) {
        Ok(text) => text.into(),
        Err(error) => {
            tracing::error!(%error, "could not encode a GraphQL response");
            "null".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(query: &str, operation: Option<&str>, variables: serde_json::Value) -> FeedKey {
        let mut request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables));
        request.operation_name = operation.map(str::to_owned);
        FeedKey::of(&request)
    }

    #[test]
    fn only_the_same_document_name_and_variables_share_a_key() {
        let query = "subscription S { logAdded(bot: $b) { id } }";
        let same = key(query, Some("S"), serde_json::json!({"b": "x"}));
        assert!(same == key(query, Some("S"), serde_json::json!({"b": "x"})));
        for other in [
            key(query, Some("S"), serde_json::json!({"b": "y"})),
            key(query, None, serde_json::json!({"b": "x"})),
            key(query, Some(""), serde_json::json!({"b": "x"})),
            key(
                &format!("{query} "),
                Some("S"),
                serde_json::json!({"b": "x"}),
            ),
        ] {
            assert!(same != other);
        }
        // Moving text between the parts makes another key.
        assert!(
            key("ab", Some("c"), serde_json::json!({}))
                != key("a", Some("bc"), serde_json::json!({}))
        );
        assert!(key("q", None, serde_json::json!({})) != key("q", Some(""), serde_json::json!({})));
    }
}
