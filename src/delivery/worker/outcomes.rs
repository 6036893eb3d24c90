//! What becomes of a claimed delivery besides being sent: a failure retried later or given up
//! (a dead letter, an AuditEvent), a chat that is gone (its subscription ends), a group that
//! became a supergroup (its chat moves), and the writes that record each.

// The worker's types, imports and helpers: this is its own code, in a file of its own.
use super::*;

impl Inner {
    /// Records a failed send of the claimed `current`: a pause the messenger asked for, a
    /// retry with backoff, a dead letter, or the end of a chat that is gone.
    pub(super) async fn failed(&self, current: &Delivery, outcome: SendOutcome, messenger: &str) {
        match outcome {
            SendOutcome::RetryAfter(pause, error) => {
                self.metrics.failed(messenger, "rate_limited");
                self.metrics.retried(messenger);
                let pause = pause.min(self.options.max_retry_after);
                self.pacing.hold_chat(&current.bot, &current.chat_id, pause);
                // A rate limit is the messenger's pace, not the chat's fault: the attempt
                // is given back.
                self.release(current, pause, &error, true).await;
            }
            SendOutcome::Transient(error) => {
                self.metrics.failed(messenger, "transient");
                if current.attempts >= i64::from(self.options.max_attempts) {
                    self.dead_letter(current, &error, messenger).await;
                } else {
                    self.metrics.retried(messenger);
                    let retry = u32::try_from(current.attempts - 1).unwrap_or(0);
                    let pause = self.options.backoff.delay(retry);
                    self.release(current, pause, &error, false).await;
                }
            }
            SendOutcome::Gone(error) => {
                self.metrics.failed(messenger, "permanent");
                self.end_chat(current, &error, messenger).await;
            }
            SendOutcome::Permanent(error) | SendOutcome::Migrated { message: error, .. } => {
                self.metrics.failed(messenger, "permanent");
                self.dead_letter(current, &error, messenger).await;
            }
            SendOutcome::Accepted => {}
        }
    }

    /// The bot was blocked or removed, or the chat does not exist: the delivery is a dead
    /// letter, the subscription ends with an AuditEvent, and the chat's other waiting
    /// deliveries of this bot are given up too (no more tries at a chat that is gone).
    pub(super) async fn end_chat(&self, current: &Delivery, error: &str, messenger: &str) {
        self.dead_letter(current, error, messenger).await;
        let key = self.key(current, "end-subscription");
        let ended = self
            .client
            .deactivate_subscription(&current.subscription, Some(&key))
            .await;
        let details = serde_json::json!({
            "bot": current.bot,
            "subscription": current.subscription,
            "chatId": current.chat_id,
            "lastError": error,
        });
        let audit = NewAuditEvent {
            actor_uid: "delivery-worker".into(),
            action: AuditAction::EndSubscription.as_str().into(),
            target: Some(format!("chat:{}", current.chat_id)),
            outcome: if ended.is_ok() {
                AuditOutcome::Ended
            } else {
                AuditOutcome::Failed
            }
            .as_str()
            .into(),
            at: format_datetime(Utc::now()),
            details: Some(details.to_string()),
        };
        if let Err(error) = self
            .client
            .create_audit_event(audit, Some(&format!("{key}:audit")))
            .await
        {
            tracing::warn!(%error, "cannot write the AuditEvent of an ended subscription");
        }
        let rest = match self
            .client
            .pending_deliveries_of_chat(&current.bot, &current.chat_id, None)
            .await
        {
            Ok(rest) => rest,
            Err(error) => {
                tracing::warn!(%error, chat = %current.chat_id, "cannot read a gone chat's queue; each is given up when tried");
                return;
            }
        };
        let ids: Vec<String> = rest
            .into_iter()
            .map(|delivery| delivery.id)
            .filter(|id| *id != current.id)
            .collect();
        if let Err(error) = self
            .client
            .finish_deliveries(&ids, DEAD, &format!("{key}:rest"))
            .await
        {
            tracing::warn!(%error, chat = %current.chat_id, "cannot give up a gone chat's queue; each is given up when tried");
        }
        tracing::warn!(chat = %current.chat_id, bot = %current.bot, %error, given_up = ids.len() + 1, "the chat is gone for this bot; its subscription ended");
    }

    /// The idempotence key of one write: the DataSpace client's retries of that call share it,
    /// and nothing else does. Without the nonce, a task planned from a poll that read the
    /// delivery before another task of this worker claimed, sent and finished it would claim
    /// it again at the same version under the same key, get the stored success replayed, and
    /// send the record a second time.
    pub(super) fn key(&self, delivery: &Delivery, what: &str) -> String {
        format!(
            "delivery:{}:v{}:{what}:{}:{}",
            delivery.id,
            delivery.agg_version,
            self.owner,
            uuid::Uuid::new_v4().simple()
        )
    }

    /// Writes `update` to `delivery` at the version read, under this worker's idempotence
    /// key for `what`.
    pub(super) async fn update(
        &self,
        delivery: &Delivery,
        what: &str,
        update: DeliveryUpdate,
    ) -> Result<Delivery, DataSpaceError> {
        let update = DeliveryUpdate {
            id: delivery.id.clone(),
            ..update
        };
        self.writes
            .write(DeliveryWrite {
                update,
                version: delivery.agg_version,
                key: self.key(delivery, what),
                audit: None,
            })
            .await
    }

    /// Moves the chat of `current` (claimed by this worker) to `to`, after Telegram said the
    /// group became a supergroup. Returns `current` re-targeted at its new version when this
    /// worker should send it to `to` now; `None` when it should not (the lease was lost, or
    /// DataSpace failed, or an older delivery to `to` must go first), having released it
    /// where it could.
    ///
    /// Order of writes, for order per chat: `current` is re-targeted first, at its claimed
    /// version and still leased, so it heads the new chat's queue and holds it; only then
    /// do the subscriptions and the chat's other pending deliveries follow (one packet, with
    /// the AuditEvent), queueing behind it.
    pub(super) async fn migrate(
        &self,
        current: &Delivery,
        to: &str,
        messenger: &str,
    ) -> Option<Delivery> {
        let from = current.chat_id.clone();
        let retarget = DeliveryUpdate {
            chat_id: Some(to.to_owned()),
            lease_until: Some(after(self.options.lease)),
            ..Default::default()
        };
        let moved = match self.update(current, "migrate", retarget).await {
            Ok(moved) => moved,
            Err(error) => {
                tracing::warn!(%error, delivery = %current.id, "cannot move a delivery to its migrated chat; it is retried when its lease ends");
                return None;
            }
        };
        let audit = |migration: &ChatMigration| {
            // A straggler queued for the old chat after the move writes no second event.
            if migration.moved.is_empty() && migration.ended.is_empty() {
                return None;
            }
            let details = serde_json::json!({
                "bot": current.bot,
                "fromChatId": from,
                "toChatId": to,
                "subscriptionsMoved": migration.moved,
                "subscriptionsEnded": migration.ended,
                "deliveriesMoved": migration.deliveries + 1,
                "delivery": current.id,
            });
            Some(NewAuditEvent {
                actor_uid: "delivery-worker".into(),
                action: AuditAction::MigrateChat.as_str().into(),
                target: Some(format!("chat:{from}")),
                outcome: AuditOutcome::Migrated.as_str().into(),
                at: format_datetime(Utc::now()),
                details: Some(details.to_string()),
            })
        };
        let key = self.key(current, "migrate-chat");
        match self
            .client
            .migrate_chat(&current.bot, &from, to, &current.id, audit, &key)
            .await
        {
            Ok(migration) => {
                // Counted once per chat, like the AuditEvent; not for stragglers.
                if !(migration.moved.is_empty() && migration.ended.is_empty()) {
                    self.metrics.migrated(messenger);
                }
                tracing::info!(
                    bot = %current.bot,
                    from = %from,
                    to = %to,
                    subscriptions_moved = ?migration.moved,
                    subscriptions_ended = ?migration.ended,
                    deliveries_moved = migration.deliveries + 1,
                    "chat migrated (group upgraded to a supergroup); its subscriptions and queue now use the new chat id"
                );
            }
            Err(error) => {
                // `current` already goes to the new chat; what stayed behind is answered with
                // the migration again when its turn comes, and moved then.
                tracing::warn!(%error, bot = %current.bot, from = %from, to = %to, "cannot move a migrated chat's subscriptions and queue yet");
            }
        }
        // Another worker may have moved older deliveries of the old chat before this one
        // (two workers migrating the same chat at once): the oldest goes first.
        match self
            .client
            .pending_deliveries_of_chat(&moved.bot, to, Some(1))
            .await
        {
            Ok(oldest) if oldest.first().is_none_or(|oldest| oldest.id == moved.id) => Some(moved),
            Ok(_) => {
                self.release(
                    &moved,
                    Duration::ZERO,
                    "the chat migrated; an older delivery goes first",
                    true,
                )
                .await;
                None
            }
            Err(error) => {
                tracing::warn!(%error, delivery = %moved.id, "cannot check the migrated chat's queue; the delivery is retried");
                self.release(&moved, Duration::ZERO, "the chat migrated", true)
                    .await;
                None
            }
        }
    }

    /// Records that the messenger accepted every part, in a call shared with other chats'
    /// writes ([`Writes`]). Retried while the lease lasts: until this is written the delivery
    /// is still PENDING, and a mark never written leaves the claim to expire and the delivery
    /// to be sent again (at least once, not exactly once).
    pub(super) async fn mark_sent(
        &self,
        current: &Delivery,
        parts: usize,
        lease_ends: Instant,
    ) -> bool {
        let mut retry = 0;
        loop {
            // The lease ends when the send is recorded.
            let now = after(Duration::ZERO);
            let done = DeliveryUpdate {
                status: Some(SENT.into()),
                parts_sent: Some(parts as i64),
                lease_until: Some(now.clone()),
                sent_at: Some(now),
                ..Default::default()
            };
            match self.update(current, "sent", done).await {
                Ok(_) => return true,
                Err(DataSpaceError::VersionConflict(error)) => {
                    tracing::error!(%error, delivery = %current.id, "the lease was lost before the send was recorded; the chat may get this record twice");
                    return false;
                }
                Err(error) => {
                    let pause = Backoff::default().delay(retry);
                    if Instant::now() + pause + Duration::from_secs(1) >= lease_ends {
                        tracing::error!(%error, delivery = %current.id, "cannot record a sent delivery before its lease ends; the chat may get this record twice");
                        return false;
                    }
                    tracing::warn!(%error, delivery = %current.id, "cannot record a sent delivery yet; retrying");
                    tokio::time::sleep(pause).await;
                    retry += 1;
                }
            }
        }
    }

    /// Gives the delivery back to the queue, due again after `pause`.
    pub(super) async fn release(
        &self,
        current: &Delivery,
        pause: Duration,
        error: &str,
        refund: bool,
    ) {
        let update = DeliveryUpdate {
            attempts: refund.then(|| (current.attempts - 1).max(0)),
            next_attempt_at: Some(after(pause)),
            lease_until: Some(after(Duration::ZERO)),
            last_error: Some(error.to_owned()),
            ..Default::default()
        };
        if let Err(error) = self.update(current, "release", update).await {
            tracing::warn!(%error, delivery = %current.id, "cannot release a delivery; it is retried when its lease ends");
        }
    }

    /// Gives the delivery up and records an AuditEvent, in one packet.
    pub(super) async fn dead_letter(&self, current: &Delivery, error: &str, messenger: &str) {
        let now = after(Duration::ZERO);
        let update = DeliveryUpdate {
            id: current.id.clone(),
            status: Some(DEAD.into()),
            lease_until: Some(now.clone()),
            last_error: Some(error.to_owned()),
            ..Default::default()
        };
        let details = serde_json::json!({
            "delivery": current.id,
            "record": current.record,
            "bot": current.bot,
            "subscription": current.subscription,
            "chatId": current.chat_id,
            "attempts": current.attempts,
            "lastError": error,
        });
        let audit = NewAuditEvent {
            actor_uid: "delivery-worker".into(),
            action: AuditAction::DeliverRecord.as_str().into(),
            target: Some(format!("chat:{}", current.chat_id)),
            outcome: AuditOutcome::DeadLetter.as_str().into(),
            at: now,
            details: Some(details.to_string()),
        };
        let write = DeliveryWrite {
            update,
            version: current.agg_version,
            key: self.key(current, "dead"),
            audit: Some(audit),
        };
        match self.writes.write(write).await {
            Ok(_) => {
                self.metrics.dead_lettered(messenger);
                tracing::warn!(delivery = %current.id, chat = %current.chat_id, %error, "delivery given up (dead letter)");
            }
            Err(error) => {
                tracing::warn!(%error, delivery = %current.id, "cannot record a dead letter; it is retried when its lease ends");
            }
        }
    }
}
