//! The delivery queue in the local DataSpace, through the typed client: records and their
//! deliveries in one idempotent packet, replays across the two packet shapes, and the
//! optimistic lease (a claim at a stale version changes nothing).

use crate::support::dataspace::{self, LocalDs};
use logbot_gateway::dataspace::operations::{
    DeliveryUpdate, NewBot, NewDelivery, NewLogRecord, Search, now,
};
use logbot_gateway::dataspace::{DataSpaceClient, DataSpaceError};

struct Harness {
    _ds: LocalDs,
    client: DataSpaceClient,
    bot: String,
}

async fn start() -> Harness {
    let ds = dataspace::start().await;
    let client = ds.client();
    let bot = client
        .create_bot(
            NewBot {
                name: "df".into(),
                owner_uid: "u1".into(),
                messenger: "TELEGRAM".into(),
                bot_token: "1:A".into(),
                auth_token_hash: "h".into(),
                created_at: now(),
                status: "ACTIVE".into(),
            },
            None,
        )
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

#[tokio::test]
async fn records_and_their_deliveries_are_stored_once_per_key() {
    let h = start().await;
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

#[tokio::test]
async fn a_replay_in_the_other_shape_returns_the_first_ids() {
    let h = start().await;
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

#[tokio::test]
async fn a_claim_at_a_stale_version_changes_nothing() {
    let h = start().await;
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
