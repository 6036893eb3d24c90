//! The delivery queue in the local DataSpace, through the typed client: records and their
//! deliveries in one idempotent packet, replays across the two packet shapes, and the
//! optimistic lease (a claim at a stale version changes nothing, alone or in a call shared
//! with other claims), pruning of finished deliveries, and moving a migrated chat's
//! subscription and queue. Each test runs over signed HTTP and by the direct calls.

use crate::support::dataspace::{self, Calls, LocalDs, both_ways};
use chrono::Utc;
use logbot_gateway::dataspace::operations::delivery::DeliveryWrite;
use logbot_gateway::dataspace::operations::{
    ChatMigration, Delivery, DeliveryUpdate, NewAuditEvent, NewChatSubscription, NewDelivery,
    NewLogRecord, Search, format_datetime, now,
};
use logbot_gateway::dataspace::{DataSpaceClient, DataSpaceError};

struct Harness {
    _ds: LocalDs,
    client: DataSpaceClient,
    bot: String,
}

both_ways!(
    records_and_their_deliveries_are_stored_once_per_key,
    a_replay_in_the_other_shape_returns_the_first_ids,
    a_claim_at_a_stale_version_changes_nothing,
    a_lost_claim_in_a_shared_call_fails_alone,
    pruning_deletes_finished_deliveries_only_and_a_replay_brings_none_back,
    migrating_a_chat_moves_its_subscription_and_pending_deliveries,
);

async fn start(calls: Calls) -> Harness {
    let ds = dataspace::start().await;
    let client = ds.client_calling(calls);
    let bot = client
        .create_bot(dataspace::new_bot("df", "u1"), None)
        .await
        .unwrap();
    Harness {
        _ds: ds,
        client,
        bot: bot.id,
    }
}

fn record(message: &str) -> NewLogRecord {
    NewLogRecord {
        level: "ERROR".into(),
        message: message.into(),
        event_at: now(),
        received_at: now(),
        ..Default::default()
    }
}

fn to(chat: &str) -> NewDelivery {
    NewDelivery {
        subscription: "1".into(),
        chat_id: chat.into(),
        thread_id: None,
    }
}

impl Harness {
    async fn deliveries(&self) -> Vec<logbot_gateway::dataspace::operations::Delivery> {
        self.client
            .search_deliveries(Search::default())
            .await
            .unwrap()
            .elems
    }
}

async fn records_and_their_deliveries_are_stored_once_per_key(calls: Calls) {
    let h = start(calls).await;
    let records = vec![record("a"), record("b")];
    let deliveries = vec![vec![to("1"), to("2")], vec![to("1")]];
    let ids = h
        .client
        .create_log_records_with_deliveries(
            &h.bot,
            records.clone(),
            deliveries.clone(),
            Some("k1"),
            &now(),
        )
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    let stored = h.deliveries().await;
    let pairs: Vec<(String, String, String)> = stored
        .iter()
        .map(|d| (d.record.clone(), d.chat_id.clone(), d.status.clone()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            (ids[0].clone(), "1".into(), "PENDING".into()),
            (ids[0].clone(), "2".into(), "PENDING".into()),
            (ids[1].clone(), "1".into(), "PENDING".into()),
        ]
    );
    let again = h
        .client
        .create_log_records_with_deliveries(&h.bot, records, deliveries, Some("k1"), &now())
        .await
        .unwrap();
    assert_eq!(again, ids);
    assert_eq!(h.deliveries().await.len(), 3, "a replay queues nothing");
}

async fn a_replay_in_the_other_shape_returns_the_first_ids(calls: Calls) {
    let h = start(calls).await;
    let records = vec![record("a")];
    let first = h
        .client
        .create_log_records_with_deliveries(
            &h.bot,
            records.clone(),
            vec![vec![]],
            Some("k2"),
            &now(),
        )
        .await
        .unwrap();
    let second = h
        .client
        .create_log_records_with_deliveries(
            &h.bot,
            records.clone(),
            vec![vec![to("9")]],
            Some("k2"),
            &now(),
        )
        .await
        .unwrap();
    assert_eq!(first, second);
    assert!(h.deliveries().await.is_empty());

    let third = h
        .client
        .create_log_records_with_deliveries(
            &h.bot,
            records.clone(),
            vec![vec![to("9")]],
            Some("k3"),
            &now(),
        )
        .await
        .unwrap();
    let fourth = h
        .client
        .create_log_records_with_deliveries(&h.bot, records, vec![vec![]], Some("k3"), &now())
        .await
        .unwrap();
    assert_eq!(third, fourth);
    assert_eq!(h.deliveries().await.len(), 1);
}

async fn a_claim_at_a_stale_version_changes_nothing(calls: Calls) {
    let h = start(calls).await;
    h.client
        .create_log_records_with_deliveries(
            &h.bot,
            vec![record("a")],
            vec![vec![to("1")]],
            None,
            &now(),
        )
        .await
        .unwrap();
    let pending = h.client.pending_deliveries(10).await.unwrap();
    assert_eq!(pending.count, 1);
    let delivery = &pending.elems[0];
    let claim = |owner: &str| DeliveryUpdate {
        id: delivery.id.clone(),
        lease_owner: Some(owner.into()),
        attempts: Some(1),
        ..Default::default()
    };
    let won = h
        .client
        .update_delivery(claim("one"), delivery.agg_version, Some("claim-one"))
        .await
        .unwrap();
    assert_eq!(won.lease_owner.as_deref(), Some("one"));
    let lost = h
        .client
        .update_delivery(claim("two"), delivery.agg_version, Some("claim-two"))
        .await
        .unwrap_err();
    assert!(
        matches!(lost, DataSpaceError::VersionConflict(_)),
        "{lost:?}"
    );
    let now_stored = &h.deliveries().await[0];
    assert_eq!(now_stored.lease_owner.as_deref(), Some("one"));
    assert_eq!(now_stored.agg_version, delivery.agg_version + 1);
}

/// Claims of several deliveries in one call, one packet each: the one another worker took
/// first fails alone, the others are written, and the same call again (a retry after a lost
/// answer) replays them and writes nothing new.
async fn a_lost_claim_in_a_shared_call_fails_alone(calls: Calls) {
    let h = start(calls).await;
    h.client
        .create_log_records_with_deliveries(
            &h.bot,
            vec![record("a")],
            vec![vec![to("1"), to("2"), to("3")]],
            None,
            &now(),
        )
        .await
        .unwrap();
    let pending = h.client.pending_deliveries(10).await.unwrap().elems;
    assert_eq!(pending.len(), 3);
    let claim = |delivery: &Delivery, owner: &str| DeliveryUpdate {
        id: delivery.id.clone(),
        lease_owner: Some(owner.into()),
        attempts: Some(1),
        ..Default::default()
    };
    h.client
        .update_delivery(
            claim(&pending[1], "other"),
            pending[1].agg_version,
            Some("first"),
        )
        .await
        .unwrap();
    let writes: Vec<DeliveryWrite> = pending
        .iter()
        .enumerate()
        .map(|(index, delivery)| DeliveryWrite {
            update: claim(delivery, "mine"),
            version: delivery.agg_version,
            key: format!("shared-{index}"),
            audit: None,
        })
        .collect();
    for attempt in 0..2 {
        let written = h.client.write_deliveries(&writes).await;
        assert_eq!(written.len(), 3);
        for index in [0, 2] {
            let claimed = written[index].as_ref().unwrap();
            assert_eq!(claimed.id, pending[index].id, "attempt {attempt}");
            assert_eq!(claimed.lease_owner.as_deref(), Some("mine"));
            assert_eq!(claimed.agg_version, pending[index].agg_version + 1);
        }
        assert!(
            matches!(written[1], Err(DataSpaceError::VersionConflict(_))),
            "attempt {attempt}: {:?}",
            written[1]
        );
    }
    let stored = h.deliveries().await;
    let owners: Vec<(Option<&str>, i64)> = stored
        .iter()
        .map(|d| (d.lease_owner.as_deref(), d.agg_version))
        .collect();
    assert_eq!(
        owners,
        [(Some("mine"), 2), (Some("other"), 2), (Some("mine"), 2)],
        "one write each, the retry replayed"
    );
}

fn finish(delivery: &Delivery, status: &str) -> DeliveryUpdate {
    DeliveryUpdate {
        id: delivery.id.clone(),
        status: Some(status.into()),
        ..Default::default()
    }
}

async fn pruning_deletes_finished_deliveries_only_and_a_replay_brings_none_back(calls: Calls) {
    let h = start(calls).await;
    let records = vec![record("a"), record("b")];
    let chats = vec![vec![to("1"), to("2"), to("3")], vec![to("1")]];
    let ids = h
        .client
        .create_log_records_with_deliveries(
            &h.bot,
            records.clone(),
            chats.clone(),
            Some("kp"),
            &now(),
        )
        .await
        .unwrap();
    let queued = h.deliveries().await;
    assert_eq!(queued.len(), 4);
    // One sent, one dead, one pending and leased, one pending and free.
    h.client
        .update_delivery(finish(&queued[0], "SENT"), queued[0].agg_version, None)
        .await
        .unwrap();
    h.client
        .update_delivery(finish(&queued[1], "DEAD"), queued[1].agg_version, None)
        .await
        .unwrap();
    let lease = DeliveryUpdate {
        id: queued[2].id.clone(),
        attempts: Some(1),
        lease_owner: Some("w".into()),
        lease_until: Some(format_datetime(Utc::now() + chrono::TimeDelta::minutes(5))),
        ..Default::default()
    };
    h.client
        .update_delivery(lease, queued[2].agg_version, None)
        .await
        .unwrap();

    let past = format_datetime(Utc::now() - chrono::TimeDelta::hours(1));
    assert_eq!(
        h.client.prune_done_deliveries(&past, 100).await.unwrap(),
        0,
        "nothing finished is older than an hour"
    );
    assert_eq!(h.deliveries().await.len(), 4);

    let future = format_datetime(Utc::now() + chrono::TimeDelta::hours(1));
    assert_eq!(
        h.client.prune_done_deliveries(&future, 1).await.unwrap(),
        1,
        "at most one per batch"
    );
    assert_eq!(
        h.client.prune_done_deliveries(&future, 100).await.unwrap(),
        1
    );
    assert_eq!(
        h.client.prune_done_deliveries(&future, 100).await.unwrap(),
        0
    );
    let left: Vec<(String, String)> = h
        .deliveries()
        .await
        .into_iter()
        .map(|d| (d.id, d.status))
        .collect();
    assert_eq!(
        left,
        vec![
            (queued[2].id.clone(), "PENDING".into()),
            (queued[3].id.clone(), "PENDING".into()),
        ]
    );

    // The same key again, in the shape it was stored in and in the other one: the first ids,
    // and no pruned delivery comes back.
    let again = h
        .client
        .create_log_records_with_deliveries(&h.bot, records.clone(), chats, Some("kp"), &now())
        .await
        .unwrap();
    assert_eq!(again, ids);
    let other_shape = h
        .client
        .create_log_records_with_deliveries(
            &h.bot,
            records,
            vec![vec![], vec![]],
            Some("kp"),
            &now(),
        )
        .await
        .unwrap();
    assert_eq!(other_shape, ids);
    assert_eq!(h.deliveries().await.len(), 2, "a replay re-creates nothing");
}

async fn migrating_a_chat_moves_its_subscription_and_pending_deliveries(calls: Calls) {
    let h = start(calls).await;
    let subscribe = |chat: &str| NewChatSubscription {
        bot: h.bot.clone(),
        chat_id: chat.into(),
        subscriber_uid: None,
        min_level: "INFO".into(),
        active: true,
        created_at: now(),
        ..Default::default()
    };
    let group = h
        .client
        .create_subscription(subscribe("-5"), None)
        .await
        .unwrap();
    let other = h
        .client
        .create_subscription(subscribe("7"), None)
        .await
        .unwrap();
    let along = |chat: &str, subscription: &str| NewDelivery {
        subscription: subscription.into(),
        chat_id: chat.into(),
        thread_id: None,
    };
    h.client
        .create_log_records_with_deliveries(
            &h.bot,
            vec![record("a"), record("b"), record("c")],
            vec![
                vec![along("-5", &group.id), along("7", &other.id)],
                vec![along("-5", &group.id)],
                vec![along("-5", &group.id)],
            ],
            None,
            &now(),
        )
        .await
        .unwrap();
    let queued = h.deliveries().await;
    // The first is sent already and stays as it was; the second is the caller's own.
    h.client
        .update_delivery(finish(&queued[0], "SENT"), queued[0].agg_version, None)
        .await
        .unwrap();
    let migration = h
        .client
        .migrate_chat(
            &h.bot,
            "-5",
            "-1005",
            &queued[2].id,
            |migration| {
                assert_eq!(migration.deliveries, 1);
                Some(NewAuditEvent {
                    actor_uid: "t".into(),
                    action: "migrate_chat".into(),
                    target: None,
                    outcome: "migrated".into(),
                    at: now(),
                    details: None,
                })
            },
            "m1",
        )
        .await
        .unwrap();
    assert_eq!(migration.moved, vec![group.id.clone()]);
    assert!(migration.ended.is_empty());
    let chats: Vec<(String, String)> = h
        .deliveries()
        .await
        .into_iter()
        .map(|d| (d.chat_id, d.status))
        .collect();
    assert_eq!(
        chats,
        vec![
            ("-5".into(), "SENT".into()),
            ("7".into(), "PENDING".into()),
            ("-5".into(), "PENDING".into()),
            ("-1005".into(), "PENDING".into()),
        ]
    );
    let moved = h.client.get_subscription(&group.id).await.unwrap().unwrap();
    assert_eq!(moved.chat_id, "-1005");
    assert_eq!(
        h.client
            .get_subscription(&other.id)
            .await
            .unwrap()
            .unwrap()
            .chat_id,
        "7"
    );

    // Again (another worker, or a straggler): nothing left to move but the straggler.
    let again = h
        .client
        .migrate_chat(&h.bot, "-5", "-1005", "", |_| None, "m2")
        .await
        .unwrap();
    assert_eq!(
        again,
        ChatMigration {
            deliveries: 1,
            ..Default::default()
        }
    );
    assert!(
        h.deliveries()
            .await
            .iter()
            .filter(|d| d.status == "PENDING" && d.chat_id == "-5")
            .count()
            == 0
    );
    let events = h
        .client
        .search_audit_events(Search::default())
        .await
        .unwrap();
    assert_eq!(events.elems.len(), 1, "one event per migration");
}
