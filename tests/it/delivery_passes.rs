//! The worker's passes over the queue, in process on one local DataSpace and a loopback
//! Telegram: the claims and outcomes of all the chats being served share DataSpace calls
//! (two workers, as two replicas, each delivery sent once and in order, far fewer calls than
//! the two per delivery that one call per write made), and a queue longer than one scan still
//! goes out in order per chat.

use crate::support::dataspace::{self, LocalDs};
use crate::support::delivery::FakeTelegram;
use logbot_gateway::config::Settings;
use logbot_gateway::dataspace::DataSpaceClient;
use logbot_gateway::dataspace::operations::{
    NewChatSubscription, NewDelivery, NewLogRecord, Search, now,
};
use logbot_gateway::delivery::{DeliveryHandle, Messengers, WorkerOptions, start_with};
use logbot_gateway::metrics::Metrics;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A local DataSpace whose queue holds `records` records (`record 0`, `record 1`, ...) for
/// each of `chats` chats of one bot, and a fake Telegram.
struct Queue {
    ds: LocalDs,
    client: DataSpaceClient,
    fake: FakeTelegram,
    api: String,
    messages: Vec<String>,
}

async fn queue(chats: usize, records: usize) -> Queue {
    let fake = FakeTelegram::default();
    let api = fake.start().await;
    let ds = dataspace::start().await;
    let client = ds.client();
    let bot = client
        .create_bot(dataspace::new_bot("df", "u1"), None)
        .await
        .unwrap();
    let mut to = Vec::new();
    for chat in 0..chats {
        let chat_id = (2000 + chat).to_string();
        let subscription = client
            .create_subscription(
                NewChatSubscription {
                    bot: bot.id.clone(),
                    chat_id: chat_id.clone(),
                    min_level: "INFO".into(),
                    active: true,
                    created_at: now(),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        to.push(NewDelivery {
            subscription: subscription.id,
            chat_id,
            thread_id: None,
        });
    }
    let messages: Vec<String> = (0..records).map(|n| format!("record {n}")).collect();
    let batch: Vec<NewLogRecord> = messages
        .iter()
        .map(|message| NewLogRecord {
            level: "ERROR".into(),
            message: message.clone(),
            event_at: now(),
            received_at: now(),
            ..Default::default()
        })
        .collect();
    client
        .create_log_records_with_deliveries(&bot.id, batch, vec![to; records], None, &now())
        .await
        .unwrap();
    Queue {
        ds,
        client,
        fake,
        api,
        messages,
    }
}

impl Queue {
    /// Options for a worker against the fake: rate limits lifted, one message per record.
    fn options(&self, concurrency: usize) -> WorkerOptions {
        let mut settings = Settings::default().delivery;
        settings.telegram_api_base = self.api.parse().unwrap();
        settings.telegram_bot_rate = 1e6;
        settings.telegram_chat_rate = 1e6;
        settings.poll_interval = Duration::from_millis(20);
        settings.concurrency = concurrency;
        let mut options = WorkerOptions::from_settings(&settings);
        options.coalesce = false;
        options.digest_after = usize::MAX;
        options.pruning = None;
        options
    }

    /// A worker with metrics of its own (its DataSpace calls included).
    fn worker(&self, options: WorkerOptions) -> (Metrics, DeliveryHandle) {
        let metrics = Metrics::new();
        let client = self.ds.client().with_metrics(metrics.clone());
        let messengers = Messengers::new(
            self.api.parse().unwrap(),
            Settings::default().delivery.vk_api_base,
            Duration::from_secs(5),
        )
        .unwrap();
        let worker = start_with(client, messengers, options, &metrics, None).unwrap();
        (metrics, worker)
    }

    /// Waits until every delivery is recorded as sent (accepted comes first), then checks
    /// that each chat got each record once, in order.
    async fn all_sent_once_in_order(&self, chats: usize, within: Duration) {
        let started = Instant::now();
        loop {
            let pending = self
                .client
                .search_deliveries(Search {
                    cond: Some("it.status == 'PENDING'".into()),
                    limit: Some(1),
                    ..Default::default()
                })
                .await
                .unwrap();
            if pending.count == 0 {
                break;
            }
            assert!(
                started.elapsed() < within,
                "{} deliveries still pending; accepted: {}",
                pending.count,
                self.fake.accepted().len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // A little longer: a second send of anything would show now.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut per_chat: HashMap<String, Vec<String>> = HashMap::new();
        for received in self.fake.accepted() {
            let body = received.text.rsplit("\n\n").next().unwrap().to_owned();
            per_chat.entry(received.chat_id).or_default().push(body);
        }
        assert_eq!(per_chat.len(), chats);
        for (chat, bodies) in &per_chat {
            assert_eq!(
                bodies, &self.messages,
                "chat {chat}: each record once, in order"
            );
        }
    }
}

/// `logbot_dataspace_calls_total` of `operation`, every outcome.
fn calls(metrics: &Metrics, operation: &str) -> u64 {
    let label = format!("operation=\"{operation}\"");
    metrics
        .render()
        .lines()
        .filter(|line| line.starts_with("logbot_dataspace_calls_total{") && line.contains(&label))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_calls_across_chats_and_send_each_delivery_once() {
    const CHATS: usize = 40;
    const RECORDS: usize = 5;
    let queue = queue(CHATS, RECORDS).await;
    // Both workers' sends overlap, so both claim from the same polls.
    queue.fake.behaviour.lock().unwrap().delay = Duration::from_millis(5);
    let workers = [
        queue.worker(queue.options(CHATS)),
        queue.worker(queue.options(CHATS)),
    ];
    // Well within one lease (60 s): a claim reported lost while it was written would hold its
    // chat until the lease ends.
    queue
        .all_sent_once_in_order(CHATS, Duration::from_secs(20))
        .await;
    let total = (CHATS * RECORDS) as u64;
    let writes: u64 = workers
        .iter()
        .map(|(metrics, _)| calls(metrics, "DeliveryWrites"))
        .sum();
    let single: u64 = workers
        .iter()
        .map(|(metrics, _)| calls(metrics, "UpdateDelivery") + calls(metrics, "DeadLetterDelivery"))
        .sum();
    eprintln!("{total} deliveries: {writes} calls carried their claims and outcomes");
    assert_eq!(
        single, 0,
        "every write of a single delivery goes in a shared call"
    );
    // One call per write would be two per delivery (claim, mark sent) and more for the
    // claims lost to the other worker; shared calls carry four writes or more on average.
    assert!(
        writes * 2 <= total,
        "{writes} calls for the writes of {total} deliveries"
    );
    for (_, worker) in workers {
        worker.stop().await;
    }
}

/// More waiting than one scan holds: the poll also reads the newest window, whose deliveries
/// of a chat already seen in the oldest window lie beyond a gap and must not be sent before
/// the ones in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_longer_than_a_scan_goes_out_in_order() {
    const CHATS: usize = 2;
    const RECORDS: usize = 12;
    let queue = queue(CHATS, RECORDS).await;
    let mut options = queue.options(CHATS);
    // 24 waiting, 4 per scan and the newest 1: windows far apart.
    options.scan_limit = 4;
    let (_, worker) = queue.worker(options);
    queue
        .all_sent_once_in_order(CHATS, Duration::from_secs(20))
        .await;
    worker.stop().await;
}

/// The chats a record goes to ask for it at once: the first reads it, the others wait for
/// its rendered parts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_record_is_read_once_for_all_its_chats() {
    const CHATS: usize = 40;
    const RECORDS: usize = 5;
    let queue = queue(CHATS, RECORDS).await;
    queue.fake.behaviour.lock().unwrap().delay = Duration::from_millis(5);
    let (metrics, worker) = queue.worker(queue.options(CHATS));
    queue
        .all_sent_once_in_order(CHATS, Duration::from_secs(20))
        .await;
    assert_eq!(calls(&metrics, "GetLogRecord"), RECORDS as u64);
    worker.stop().await;
}
