//! Group commit through the typed client and the real local DataSpace: batches stored at the
//! same time share one call, each as its own packet, so each keeps its ids, its idempotence key
//! and its outcome. Every test runs twice: over signed HTTP (a remote DataSpace's way) and by
//! the embedded DataSpace's direct calls (the gateway's way when it runs one in its process).

use crate::support::dataspace::{self, Calls, LocalDs, both_ways};
use futures_util::future::join_all;
use logbot_gateway::dataspace::operations::{
    LogRecordFilter, NewDelivery, NewLogRecord, Search, now,
};
use logbot_gateway::dataspace::{DataSpaceClient, DataSpaceError, GroupCommitSettings};
use logbot_gateway::embedded_dataspace::ContainsIndex;
use logbot_gateway::metrics::Metrics;
use std::collections::HashSet;

struct Harness {
    _ds: LocalDs,
    client: DataSpaceClient,
    metrics: Metrics,
    bot: String,
}

/// One call out at a time: the first batch of a burst goes alone, and the rest of the burst,
/// queued behind it, goes together in the next call.
fn one_call_at_a_time(packets: usize) -> GroupCommitSettings {
    GroupCommitSettings {
        packets,
        in_flight: 1,
        ..Default::default()
    }
}

both_ways!(
    concurrent_batches_share_one_call_and_each_keeps_its_own_ids,
    a_failing_packet_leaves_the_rest_of_its_group_committed,
    the_same_key_twice_in_one_group_is_stored_once,
    with_one_packet_per_call_every_batch_goes_alone,
    a_batch_whose_caller_went_away_before_its_call_is_never_sent,
    a_call_holds_no_more_bytes_than_its_cap_but_a_larger_batch_still_goes,
    with_the_trigram_index_exactly_a_groups_committed_records_are_found,
);

async fn start(group_commit: GroupCommitSettings, calls: Calls) -> Harness {
    start_with_index(group_commit, ContainsIndex::None, calls).await
}

async fn start_with_index(
    group_commit: GroupCommitSettings,
    contains_index: ContainsIndex,
    calls: Calls,
) -> Harness {
    let ds = dataspace::start_with_index(contains_index).await;
    let metrics = Metrics::new();
    let client = ds
        .client_calling(calls)
        .with_group_commit(group_commit)
        .with_metrics(metrics.clone());
    let bot = client
        .create_bot(dataspace::new_bot("gc", "u1"), None)
        .await
        .unwrap();
    Harness {
        _ds: ds,
        client,
        metrics,
        bot: bot.id,
    }
}

fn records(tag: &str, count: usize) -> Vec<NewLogRecord> {
    (0..count)
        .map(|index| NewLogRecord {
            level: "ERROR".into(),
            message: format!("{tag}-{index}"),
            event_at: now(),
            received_at: now(),
            ..Default::default()
        })
        .collect()
}

fn to(chat: &str) -> NewDelivery {
    NewDelivery {
        subscription: "1".into(),
        chat_id: chat.into(),
        thread_id: None,
    }
}

impl Harness {
    /// The group calls made so far, from the client's metrics.
    fn group_calls(&self) -> u64 {
        self.metrics
            .render()
            .lines()
            .filter(|line| {
                line.starts_with("logbot_dataspace_calls_total{")
                    && line.contains("StoreLogRecordGroup")
            })
            .map(|line| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum()
    }

    /// Every stored record's message.
    async fn messages(&self) -> Vec<String> {
        let search = Search {
            limit: Some(10_000),
            ..Default::default()
        };
        let page = self.client.search_log_records_by(search).await.unwrap();
        page.elems
            .into_iter()
            .map(|record| record.message)
            .collect()
    }

    /// The messages of the bot's records containing `text`, sorted.
    async fn found(&self, text: &str) -> Vec<String> {
        let filter = LogRecordFilter {
            bot: self.bot.clone(),
            contains: Some(text.into()),
            limit: 100,
            ..Default::default()
        };
        let page = self.client.search_log_records(&filter).await.unwrap();
        let mut messages: Vec<String> = page
            .records
            .into_iter()
            .map(|record| record.message)
            .collect();
        messages.sort();
        messages
    }

    async fn store(
        &self,
        bot: &str,
        batch: &[NewLogRecord],
        deliveries: &[Vec<NewDelivery>],
        key: &str,
    ) -> Result<logbot_gateway::dataspace::operations::StoredBatch, DataSpaceError> {
        self.client
            .store_log_records_with_deliveries(bot, batch, deliveries, Some(key), &now())
            .await
    }
}

async fn concurrent_batches_share_one_call_and_each_keeps_its_own_ids(calls: Calls) {
    let h = start(one_call_at_a_time(64), calls).await;
    let batches: Vec<Vec<NewLogRecord>> = (0..40).map(|i| records(&format!("b{i}"), 3)).collect();
    // Every other batch queues deliveries: both packet shapes in one group.
    let chats = vec![vec![to("7"), to("8")]; 3];
    let keys: Vec<String> = (0..40).map(|i| format!("key-{i}")).collect();
    let stored = join_all(
        batches
            .iter()
            .zip(&keys)
            .enumerate()
            .map(|(i, (batch, key))| {
                let deliveries = if i % 2 == 0 { &chats[..] } else { &[][..] };
                h.store(&h.bot, batch, deliveries, key)
            }),
    )
    .await;
    let mut ids = HashSet::new();
    for (i, outcome) in stored.into_iter().enumerate() {
        let outcome = outcome.unwrap_or_else(|error| panic!("batch {i}: {error}"));
        assert_eq!(outcome.ids.len(), 3, "batch {i}");
        assert!(!outcome.replayed, "batch {i}");
        ids.extend(outcome.ids);
    }
    assert_eq!(ids.len(), 120, "every record got its own id");
    assert_eq!(
        h.group_calls(),
        2,
        "the first batch alone, the other 39 in one call"
    );
    let mut messages = h.messages().await;
    messages.sort();
    let mut expected: Vec<String> = batches
        .iter()
        .flatten()
        .map(|r| r.message.clone())
        .collect();
    expected.sort();
    assert_eq!(messages, expected, "each record stored once");
    let deliveries = h.client.search_deliveries(Search::default()).await.unwrap();
    assert_eq!(
        deliveries.elems.len(),
        20 * 3 * 2,
        "two chats per record of 20 batches"
    );
}

async fn a_failing_packet_leaves_the_rest_of_its_group_committed(calls: Calls) {
    let h = start(one_call_at_a_time(64), calls).await;
    let (first, good, bad, other) = (
        records("first", 1),
        records("good", 2),
        records("bad", 2),
        records("other", 2),
    );
    let outcomes = join_all([
        h.store(&h.bot, &first, &[], "first"),
        h.store(&h.bot, &good, &[], "good"),
        h.store("999999", &bad, &[], "bad"),
        h.store(&h.bot, &other, &[], "other"),
    ])
    .await;
    assert_eq!(h.group_calls(), 2, "good, bad and other went in one call");
    assert_eq!(outcomes[0].as_ref().unwrap().ids.len(), 1);
    assert_eq!(outcomes[1].as_ref().unwrap().ids.len(), 2);
    assert!(
        matches!(&outcomes[2], Err(DataSpaceError::NotFound(message)) if message.contains("999999")),
        "{:?}",
        outcomes[2]
    );
    assert_eq!(outcomes[3].as_ref().unwrap().ids.len(), 2);
    let mut messages = h.messages().await;
    messages.sort();
    assert_eq!(
        messages,
        ["first-0", "good-0", "good-1", "other-0", "other-1"]
    );
}

async fn the_same_key_twice_in_one_group_is_stored_once(calls: Calls) {
    let h = start(one_call_at_a_time(64), calls).await;
    let (first, batch) = (records("first", 1), records("twice", 2));
    let outcomes = join_all([
        h.store(&h.bot, &first, &[], "first"),
        h.store(&h.bot, &batch, &[], "twice"),
        h.store(&h.bot, &batch, &[], "twice"),
    ])
    .await;
    assert_eq!(h.group_calls(), 2, "both sends of the key went in one call");
    let (once, again) = (outcomes[1].as_ref().unwrap(), outcomes[2].as_ref().unwrap());
    assert_eq!(once.ids, again.ids, "the replay answers the first ids");
    assert!(!once.replayed && again.replayed);
    assert_eq!(h.messages().await.len(), 3, "the batch stored once");
}

async fn with_one_packet_per_call_every_batch_goes_alone(calls: Calls) {
    let h = start(one_call_at_a_time(1), calls).await;
    let batches: Vec<Vec<NewLogRecord>> = (0..10).map(|i| records(&format!("a{i}"), 2)).collect();
    let keys: Vec<String> = (0..10).map(|i| format!("alone-{i}")).collect();
    let stored = join_all(
        batches
            .iter()
            .zip(&keys)
            .map(|(batch, key)| h.store(&h.bot, batch, &[], key)),
    )
    .await;
    assert!(stored.iter().all(Result::is_ok), "{stored:?}");
    assert_eq!(h.group_calls(), 10);
    assert_eq!(h.messages().await.len(), 20);
}

async fn a_batch_whose_caller_went_away_before_its_call_is_never_sent(calls: Calls) {
    let h = start(one_call_at_a_time(64), calls).await;
    let (first, abandoned) = (records("first", 1), records("abandoned", 2));
    let mut plug = std::pin::pin!(h.store(&h.bot, &first, &[], "first"));
    // Polled once: the first batch takes the only call.
    assert!(futures_util::poll!(&mut plug).is_pending());
    // Polled once and dropped: queued behind that call, then its caller went away. (A zero
    // timeout is not enough: it may not fire before a quick first call frees the way.)
    let gone = futures_util::FutureExt::now_or_never(h.store(&h.bot, &abandoned, &[], "abandoned"));
    assert!(gone.is_none(), "the abandoned batch had no answer yet");
    plug.await.unwrap();
    let last = records("last", 1);
    h.store(&h.bot, &last, &[], "last").await.unwrap();
    let mut messages = h.messages().await;
    messages.sort();
    assert_eq!(
        messages,
        ["first-0", "last-0"],
        "the abandoned batch was withdrawn"
    );
    assert_eq!(h.group_calls(), 2, "the first and the last, each alone");
}

async fn a_call_holds_no_more_bytes_than_its_cap_but_a_larger_batch_still_goes(calls: Calls) {
    // Each 3-record batch is a few hundred bytes, over the 1 KiB cap with any other.
    let h = start(
        GroupCommitSettings {
            packets: 64,
            bytes: 1024,
            in_flight: 1,
        },
        calls,
    )
    .await;
    let big: Vec<Vec<NewLogRecord>> = (0..4)
        .map(|i| {
            let mut batch = records(&format!("big{i}"), 3);
            for record in &mut batch {
                record.message.push_str(&"x".repeat(300));
            }
            batch
        })
        .collect();
    let keys: Vec<String> = (0..4).map(|i| format!("big-{i}")).collect();
    let stored = join_all(
        big.iter()
            .zip(&keys)
            .map(|(batch, key)| h.store(&h.bot, batch, &[], key)),
    )
    .await;
    assert!(stored.iter().all(Result::is_ok), "{stored:?}");
    assert_eq!(h.group_calls(), 4, "every batch over the cap went alone");
    assert_eq!(h.messages().await.len(), 12);
}

/// With the trigram index, a group's records enter the index when its call commits (not at
/// each packet's savepoint): every good packet's records are found by `contains`, once; a
/// failed packet's are not, and a key sent twice is indexed once. (A packet undone after its
/// records were written: `store::search_plans`.)
async fn with_the_trigram_index_exactly_a_groups_committed_records_are_found(calls: Calls) {
    let h = start_with_index(one_call_at_a_time(64), ContainsIndex::Trigram, calls).await;
    let (first, good, bad, twice) = (
        records("first", 1),
        records("good", 2),
        records("bad", 2),
        records("twice", 2),
    );
    let outcomes = join_all([
        h.store(&h.bot, &first, &[], "first"),
        h.store(&h.bot, &good, &[], "good"),
        h.store("999999", &bad, &[], "bad"),
        h.store(&h.bot, &twice, &[], "twice"),
        h.store(&h.bot, &twice, &[], "twice"),
    ])
    .await;
    assert_eq!(h.group_calls(), 2, "the four after the first in one call");
    assert!(outcomes[2].is_err(), "{:?}", outcomes[2]);
    for (index, outcome) in outcomes.iter().enumerate().filter(|(index, _)| *index != 2) {
        assert!(outcome.is_ok(), "batch {index}: {outcome:?}");
    }
    assert_eq!(h.found("first-").await, ["first-0"]);
    assert_eq!(h.found("good-").await, ["good-0", "good-1"]);
    assert!(h.found("bad-").await.is_empty());
    assert_eq!(h.found("twice-").await, ["twice-0", "twice-1"]);
    assert_eq!(h.found("-0").await, ["first-0", "good-0", "twice-0"]);
}
