//! Pruning by the worker itself (in process, with a retention of a moment and a short round):
//! sent deliveries are deleted in batches, pending ones stay.

use crate::support::dataspace;
use crate::support::delivery::FakeTelegram;
use logbot_gateway::config::Settings;
use logbot_gateway::dataspace::Backoff;
use logbot_gateway::dataspace::operations::{
    NewChatSubscription, NewDelivery, NewLogRecord, Search, now,
};
use logbot_gateway::delivery::{Messengers, Pruning, WorkerOptions, start_with};
use logbot_gateway::metrics::Metrics;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_prunes_sent_deliveries_and_keeps_pending_ones() {
    let fake = FakeTelegram::default();
    fake.behaviour
        .lock()
        .unwrap()
        .always_fail
        .insert("11".into());
    let api = fake.start().await;
    let ds = dataspace::start().await;
    let client = ds.client();
    let bot = client
        .create_bot(dataspace::new_bot("df", "u1"), None)
        .await
        .unwrap();
    let mut chats = Vec::new();
    for chat in ["10", "11"] {
        let subscription = client
            .create_subscription(
                NewChatSubscription {
                    bot: bot.id.clone(),
                    chat_id: chat.into(),
                    subscriber_uid: None,
                    min_level: "INFO".into(),
                    active: true,
                    created_at: now(),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        chats.push(NewDelivery {
            subscription: subscription.id,
            chat_id: chat.into(),
            thread_id: None,
        });
    }
    let records: Vec<NewLogRecord> = (0..5)
        .map(|index| NewLogRecord {
            level: "ERROR".into(),
            message: format!("r{index}"),
            event_at: now(),
            received_at: now(),
            ..Default::default()
        })
        .collect();
    client
        .create_log_records_with_deliveries(&bot.id, records, vec![chats; 5], None, &now())
        .await
        .unwrap();

    let mut settings = Settings::default().delivery;
    settings.telegram_api_base = api.parse().unwrap();
    settings.telegram_bot_rate = 1000.0;
    settings.telegram_chat_rate = 1000.0;
    settings.poll_interval = Duration::from_millis(50);
    let mut options = WorkerOptions::from_settings(&settings);
    assert_eq!(
        options.pruning.as_ref().map(|pruning| pruning.keep),
        Some(Duration::from_secs(168 * 3600)),
        "the default keeps a week"
    );
    // One message per record: the test counts them.
    options.coalesce = false;
    // Chat 11 fails once and then waits far longer than this test.
    options.backoff = Backoff {
        base: Duration::from_secs(600),
        cap: Duration::from_secs(600),
    };
    options.pruning = Some(Pruning {
        keep: Duration::from_millis(1),
        every: Duration::from_millis(100),
        batch: 2,
    });
    let messengers = Messengers::new(
        settings.telegram_api_base.clone(),
        settings.vk_api_base.clone(),
        Duration::from_secs(5),
    )
    .unwrap();
    let metrics = Metrics::new();
    let worker = start_with(client.clone(), messengers, options, &metrics, None).unwrap();

    fake.wait_until(
        Duration::from_secs(15),
        "five sent to chat 10",
        |received| {
            received
                .iter()
                .filter(|r| r.chat_id == "10" && r.status == 200)
                .count()
                >= 5
        },
    )
    .await;
    let started = Instant::now();
    let left = loop {
        let left = client.search_deliveries(Search::default()).await.unwrap();
        // Chat 10's deliveries go once they are recorded as sent (not merely accepted).
        if left.elems.iter().all(|d| d.chat_id == "11") {
            break left.elems;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "sent deliveries were not pruned: {:#?}",
            left.elems
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // A few more rounds: the pending deliveries, one of them failed and waiting for its retry
    // (full jitter may retry it meanwhile), all stay.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let after = client
        .search_deliveries(Search::default())
        .await
        .unwrap()
        .elems;
    let ids = |deliveries: &[logbot_gateway::dataspace::operations::Delivery]| {
        deliveries.iter().map(|d| d.id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&after), ids(&left));
    assert_eq!(after.len(), 5, "{after:#?}");
    assert!(
        after
            .iter()
            .all(|d| d.chat_id == "11" && d.status == "PENDING")
    );
    assert!(after[0].attempts >= 1, "{after:#?}");
    assert!(
        metrics
            .render()
            .contains("logbot_deliveries_pruned_total 5"),
        "{}",
        metrics.render()
    );
    worker.stop().await;
}
