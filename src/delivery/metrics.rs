//! Delivery metrics, registered in the process's [`Metrics`] registry. Labels are the
//! messenger and a fixed outcome word, never a chat or a bot.

use crate::metrics::Metrics;
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts};
use std::time::Duration;

const LATENCY_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
];

#[derive(Clone)]
pub struct DeliveryMetrics {
    sent: IntCounterVec,
    failed: IntCounterVec,
    retried: IntCounterVec,
    dead_lettered: IntCounterVec,
    migrated: IntCounterVec,
    digests: IntCounterVec,
    pruned: IntCounter,
    queue_depth: IntGauge,
    latency: HistogramVec,
}

impl DeliveryMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
        };
        let this = Self {
            sent: counter(
                "logbot_deliveries_sent_total",
                "Deliveries accepted by the messenger",
                &["messenger"],
            ),
            failed: counter(
                "logbot_delivery_failures_total",
                "Failed delivery attempts by kind (rate_limited, transient, permanent)",
                &["messenger", "kind"],
            ),
            retried: counter(
                "logbot_delivery_retries_total",
                "Deliveries scheduled for another attempt",
                &["messenger"],
            ),
            dead_lettered: counter(
                "logbot_deliveries_dead_lettered_total",
                "Deliveries given up (and recorded as an AuditEvent)",
                &["messenger"],
            ),
            migrated: counter(
                "logbot_delivery_chat_migrations_total",
                "Chats whose subscriptions and queue moved to a new chat id (a Telegram group upgraded to a supergroup)",
                &["messenger"],
            ),
            digests: counter(
                "logbot_delivery_digests_total",
                "Digests (and mute summaries) sent in place of a chat's waiting records",
                &["messenger"],
            ),
            pruned: IntCounter::new(
                "logbot_deliveries_pruned_total",
                "Finished deliveries deleted after [delivery] keep_done_hours",
            )
            .expect("valid metric"),
            queue_depth: IntGauge::new(
                "logbot_delivery_queue_depth",
                "Pending deliveries, as of the worker's last poll",
            )
            .expect("valid metric"),
            latency: HistogramVec::new(
                HistogramOpts::new(
                    "logbot_delivery_latency_seconds",
                    "From the record's commit to the messenger's acceptance",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["messenger"],
            )
            .expect("valid metric"),
        };
        metrics.register(Box::new(this.sent.clone()));
        metrics.register(Box::new(this.failed.clone()));
        metrics.register(Box::new(this.retried.clone()));
        metrics.register(Box::new(this.dead_lettered.clone()));
        metrics.register(Box::new(this.migrated.clone()));
        metrics.register(Box::new(this.digests.clone()));
        metrics.register(Box::new(this.pruned.clone()));
        metrics.register(Box::new(this.queue_depth.clone()));
        metrics.register(Box::new(this.latency.clone()));
        this
    }

    pub fn sent(&self, messenger: &str, latency: Duration) {
        self.sent.with_label_values(&[messenger]).inc();
        self.latency
            .with_label_values(&[messenger])
            .observe(latency.as_secs_f64());
    }

    pub fn failed(&self, messenger: &str, kind: &str) {
        self.failed.with_label_values(&[messenger, kind]).inc();
    }

    pub fn retried(&self, messenger: &str) {
        self.retried.with_label_values(&[messenger]).inc();
    }

    pub fn dead_lettered(&self, messenger: &str) {
        self.dead_lettered.with_label_values(&[messenger]).inc();
    }

    pub fn digest(&self, messenger: &str) {
        self.digests.with_label_values(&[messenger]).inc();
    }

    pub fn migrated(&self, messenger: &str) {
        self.migrated.with_label_values(&[messenger]).inc();
    }

    pub fn pruned(&self, count: usize) {
        self.pruned.inc_by(count as u64);
    }

    pub fn queue_depth(&self, depth: i64) {
        self.queue_depth.set(depth);
    }
}
