//! Serving one chat's waiting deliveries: in order, one by one, or folded into a digest (a
//! backlog, or what waited during a mute).

// The worker's types, imports and helpers: this is its own code, in a file of its own.
use super::*;

impl Inner {
    pub(super) async fn serve_chat(
        &self,
        deliveries: Vec<Delivery>,
        plan: Plan,
        mut stop: watch::Receiver<bool>,
    ) {
        if let Plan::Digest { kind, before } = plan {
            self.send_digest(&deliveries[0], kind, before.as_deref(), &mut stop)
                .await;
            return;
        }
        let mut index = 0;
        while index < deliveries.len() {
            let now = Utc::now();
            if *stop.borrow() || !is_ready(&deliveries[index], now) {
                break;
            }
            let ready: Vec<&Delivery> = deliveries[index..]
                .iter()
                .take_while(|delivery| is_ready(delivery, now))
                .take(COALESCE_SCAN)
                .collect();
            if self.options.coalesce && ready.len() >= 2 {
                match self.send_coalesced(&ready, &mut stop).await {
                    Some(0) => {}
                    Some(carried) => {
                        index += carried;
                        continue;
                    }
                    None => break,
                }
            }
            match self.deliver(deliveries[index].clone(), &mut stop).await {
                Flow::Next => index += 1,
                Flow::Stop => break,
            }
        }
    }

    /// Several waiting deliveries of a chat in one message, as many as fit. Returns how many
    /// it carried (0: not worth it, send the first alone), `None` to stop serving the chat.
    pub(super) async fn send_coalesced(
        &self,
        ready: &[&Delivery],
        stop: &mut watch::Receiver<bool>,
    ) -> Option<usize> {
        let bot = match self.bot(&ready[0].bot).await {
            Ok(Some(bot)) => bot,
            _ => return Some(0),
        };
        let ids: Vec<String> = ready
            .iter()
            .map(|delivery| delivery.record.clone())
            .collect();
        let records = match self.client.log_records_by_ids(&ids).await {
            Ok(records) => records,
            Err(error) => {
                tracing::warn!(%error, "cannot read records to coalesce");
                return None;
            }
        };
        let by_id: HashMap<&str, &LogRecord> = records
            .iter()
            .map(|record| (record.id.as_str(), record))
            .collect();
        // Up to the first record that is gone: the one-by-one path dead-letters it.
        let lines: Vec<String> = ready
            .iter()
            .map_while(|delivery| by_id.get(delivery.record.as_str()))
            .map(|record| floods::compact_line(bot.messenger, record))
            .collect();
        if lines.len() < 2 {
            return Some(0);
        }
        let count = floods::coalesce_count(bot.messenger, &bot.name, &lines);
        if count < 2 {
            return Some(0);
        }
        let text = floods::coalesced(bot.messenger, &bot.name, &lines[..count]);
        let carried: Vec<Delivery> = ready[..count].iter().map(|d| (*d).clone()).collect();
        match self.send_group(&carried, &text, &bot, stop).await {
            Flow::Next => Some(count),
            Flow::Stop => None,
        }
    }

    /// One digest in place of the chat's backlog (at most one scan of it; the rest gets the
    /// next one), or the summary of a mute (what was queued `before` it ended).
    pub(super) async fn send_digest(
        &self,
        head: &Delivery,
        kind: DigestKind,
        before: Option<&str>,
        stop: &mut watch::Receiver<bool>,
    ) {
        let bot = match self.bot(&head.bot).await {
            Ok(Some(bot)) => bot,
            // The one-by-one path dead-letters deliveries of a bot that is gone.
            Ok(None) => {
                self.deliver(head.clone(), stop).await;
                return;
            }
            Err(error) => {
                tracing::warn!(%error, delivery = %head.id, "cannot read the delivery's bot");
                return;
            }
        };
        let limit = usize::try_from(self.options.scan_limit).unwrap_or(1000);
        let waiting = match self
            .client
            .pending_deliveries_of_chat(&head.bot, &head.chat_id, Some(limit))
            .await
        {
            Ok(waiting) => waiting,
            Err(error) => {
                tracing::warn!(%error, chat = %head.chat_id, "cannot read a chat's backlog");
                return;
            }
        };
        let waiting: Vec<Delivery> = waiting
            .into_iter()
            .filter(|delivery| before.is_none_or(|before| delivery.created_at.as_str() < before))
            .collect();
        if waiting.first().is_none_or(|first| first.id != head.id) {
            // Someone else served the chat meanwhile; the next poll sees what is left.
            return;
        }
        let ids: Vec<String> = waiting
            .iter()
            .map(|delivery| delivery.record.clone())
            .collect();
        let records = match self.client.log_records_by_ids(&ids).await {
            Ok(records) => records,
            Err(error) => {
                tracing::warn!(%error, "cannot read records for a digest");
                return;
            }
        };
        let found: HashSet<&str> = records.iter().map(|record| record.id.as_str()).collect();
        // A delivery whose record is gone is not counted here; the one-by-one path
        // dead-letters it.
        let covered: Vec<Delivery> = waiting
            .iter()
            .filter(|delivery| found.contains(delivery.record.as_str()))
            .cloned()
            .collect();
        if covered.first().is_none_or(|first| first.id != head.id) {
            self.deliver(head.clone(), stop).await;
            return;
        }
        let text = floods::digest(bot.messenger, &bot.name, &records, kind);
        if self.send_group(&covered, &text, &bot, stop).await == Flow::Next {
            self.metrics.digest(label(bot.messenger));
            tracing::info!(chat = %head.chat_id, bot = %bot.name, records = covered.len(), ?kind, "digest sent");
        }
    }

    /// Sends one message standing for all of `carried` (the chat's oldest first), holding
    /// the chat through the lease of the first, and marks them all sent together.
    pub(super) async fn send_group(
        &self,
        carried: &[Delivery],
        text: &str,
        bot: &SendingBot,
        stop: &mut watch::Receiver<bool>,
    ) -> Flow {
        let head = &carried[0];
        let messenger = label(bot.messenger);
        let (bot_interval, chat_interval) = self.rates(bot.messenger, &head.chat_id);
        tokio::select! {
            _ = self.pacing.wait(&head.bot, &head.chat_id, bot_interval, chat_interval) => {}
            _ = stop.wait_for(|stopped| *stopped) => return Flow::Stop,
        }
        let Some(current) = self.claim(head).await else {
            return Flow::Stop;
        };
        let lease_ends = Instant::now() + self.options.lease;
        let token = secrecy::ExposeSecret::expose_secret(&bot.token);
        let dedupe = current.id.parse::<i64>().unwrap_or(0).wrapping_mul(64);
        let outcome = self
            .messengers
            .send(
                bot.messenger,
                token,
                &current.chat_id,
                current.thread_id.as_deref(),
                text,
                dedupe,
            )
            .await;
        match outcome {
            SendOutcome::Accepted => {
                let ids: Vec<String> = carried.iter().map(|delivery| delivery.id.clone()).collect();
                let key = self.key(&current, "sent-together");
                let mut retry = 0;
                loop {
                    match self.client.finish_deliveries(&ids, SENT, &key).await {
                        Ok(()) => break,
                        Err(error) => {
                            let pause = Backoff::default().delay(retry);
                            if Instant::now() + pause + Duration::from_secs(1) >= lease_ends {
                                tracing::error!(%error, delivery = %current.id, "cannot record a sent message before its lease ends; the chat may get these records twice");
                                return Flow::Stop;
                            }
                            tokio::time::sleep(pause).await;
                            retry += 1;
                        }
                    }
                }
                for delivery in carried {
                    let latency = parse_datetime(&delivery.created_at)
                        .and_then(|created| (Utc::now() - created).to_std().ok())
                        .unwrap_or_default();
                    self.metrics.sent(messenger, latency);
                }
                Flow::Next
            }
            SendOutcome::Migrated { to, .. } => {
                // The one-by-one path carries on in the new chat from here.
                if let Some(moved) = self.migrate(&current, &to, messenger).await {
                    self.release(&moved, Duration::ZERO, "the chat migrated", true)
                        .await;
                }
                Flow::Stop
            }
            other => {
                self.failed(&current, other, messenger).await;
                Flow::Stop
            }
        }
    }
}
