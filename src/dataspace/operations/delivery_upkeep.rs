//! Upkeep of the delivery queue: a chat's pending deliveries, moving a chat's queue to a new
//! chat id (run-time packets), and pruning finished deliveries.

use super::NewAuditEvent;
use super::delivery::{
    CountPendingDeliveriesOfChat, DEAD, Delivery, SENT, SearchDoneDeliveriesBefore,
    SearchPendingDeliveriesOfChat, count_pending_deliveries_of_chat, dead_letter_delivery,
    search_done_deliveries_before, search_pending_deliveries_of_chat,
};
use super::idempotency_key;
use crate::dataspace::client::{DataSpaceClient, Retry};
use crate::dataspace::error::DataSpaceError;
use crate::dataspace::read_cache::Cached;
use serde_json::{Map, Value, json};

/// What moving a chat's queue to a new chat id changed (see
/// [`DataSpaceClient::migrate_chat`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatMigration {
    /// Subscriptions now on the new chat id.
    pub moved: Vec<String>,
    /// Subscriptions ended instead, because the bot already had one on the new chat (moving
    /// them too would deliver each later record there twice).
    pub ended: Vec<String>,
    /// Pending deliveries re-targeted to the new chat id.
    pub deliveries: usize,
}

/// Updates per migration packet, and pending deliveries read per page.
pub(super) const MIGRATION_BATCH: usize = 500;
const MIGRATE_CHAT: &str = "MigrateChat";
const DELETE_DELIVERIES: &str = "DeleteDeliveries";

/// The packet moving a chat: `s<i>` subscription updates, `d<i>` delivery updates and, in the
/// first packet of a migration, its AuditEvent.
fn chat_migration_document(subscriptions: usize, deliveries: usize, audit: bool) -> String {
    let mut document = format!("mutation {MIGRATE_CHAT}($key: String!");
    for index in 0..subscriptions {
        document.push_str(&format!(", $s{index}: _UpdateChatSubscriptionInput!"));
    }
    for index in 0..deliveries {
        document.push_str(&format!(", $d{index}: _UpdateDeliveryInput!"));
    }
    if audit {
        document.push_str(", $audit: _CreateAuditEventInput!");
    }
    document.push_str(") { packet(idempotencePacketId: $key) { isIdempotenceResponse");
    for index in 0..subscriptions {
        document.push_str(&format!(
            " s{index}: updateChatSubscription(input: $s{index}) {{ id }}"
        ));
    }
    for index in 0..deliveries {
        document.push_str(&format!(
            " d{index}: updateDelivery(input: $d{index}) {{ id }}"
        ));
    }
    if audit {
        document.push_str(" createAuditEvent(input: $audit) { id }");
    }
    document.push_str(" } }");
    document
}

/// The packet deleting deliveries `d0..dN` by id.
fn delete_deliveries_document(count: usize) -> String {
    let mut document = format!("mutation {DELETE_DELIVERIES}($key: String!");
    for index in 0..count {
        document.push_str(&format!(", $d{index}: ID!"));
    }
    document.push_str(") { packet(idempotencePacketId: $key) { isIdempotenceResponse");
    for index in 0..count {
        document.push_str(&format!(" d{index}: deleteDelivery(id: $d{index})"));
    }
    document.push_str(" } }");
    document
}

/// `$audit` of a run-time packet: the generated `_CreateAuditEventInput`, as JSON.
fn audit_input(event: NewAuditEvent) -> Result<Value, DataSpaceError> {
    serde_json::to_value(dead_letter_delivery::_CreateAuditEventInput::from(event))
        .map_err(|error| DataSpaceError::Invalid(format!("the audit event: {error}")))
}

impl DataSpaceClient {
    /// How many deliveries wait for one chat of a bot.
    pub async fn count_pending_deliveries_of_chat(
        &self,
        bot_id: &str,
        chat_id: &str,
    ) -> Result<i64, DataSpaceError> {
        let variables = count_pending_deliveries_of_chat::Variables {
            bot: bot_id.to_owned(),
            chat_id: chat_id.to_owned(),
        };
        let found = self
            .run::<CountPendingDeliveriesOfChat>(variables, Retry::Safe)
            .await?;
        Ok(found.search_delivery.count)
    }

    /// A chat's pending deliveries from a bot, oldest first: at most `limit` of them, or all
    /// (read page by page) with `None`.
    pub async fn pending_deliveries_of_chat(
        &self,
        bot_id: &str,
        chat_id: &str,
        limit: Option<usize>,
    ) -> Result<Vec<Delivery>, DataSpaceError> {
        let mut all = Vec::new();
        loop {
            let wanted = limit.map_or(MIGRATION_BATCH, |limit| {
                MIGRATION_BATCH.min(limit - all.len())
            });
            let variables = search_pending_deliveries_of_chat::Variables {
                bot: bot_id.to_owned(),
                chat_id: chat_id.to_owned(),
                limit: wanted as i64,
                offset: all.len() as i64,
            };
            let found = self
                .run::<SearchPendingDeliveriesOfChat>(variables, Retry::Safe)
                .await?;
            let page = found.search_delivery.elems;
            let last = page.len() < wanted;
            all.extend(page.into_iter().map(Delivery::from));
            if last || limit.is_some_and(|limit| all.len() >= limit) {
                return Ok(all);
            }
        }
    }

    /// Moves a bot's chat `from` to the chat id `to` (a Telegram group upgraded to a
    /// supergroup): its subscriptions follow the chat, so later records go to `to`, and its
    /// pending deliveries except `except` (which the caller holds under a lease and re-targets
    /// at its claimed version) are re-targeted, keeping their ids and so their order. The
    /// AuditEvent `audit` builds (if any) is written in the packet that moves the
    /// subscriptions.
    ///
    /// Safe to repeat: a second call finds no subscription left on `from` and re-targets
    /// only what was queued for `from` in between. With more than one batch of pending
    /// deliveries the packets are separate transactions; a delivery left behind by a failure
    /// is still on `from`, is answered with the migration again and moved then.
    pub async fn migrate_chat(
        &self,
        bot_id: &str,
        from: &str,
        to: &str,
        except: &str,
        audit: impl FnOnce(&ChatMigration) -> Option<NewAuditEvent>,
        key: &str,
    ) -> Result<ChatMigration, DataSpaceError> {
        let on_from = self.find_subscriptions(bot_id, from).await?;
        let to_taken = !self.find_subscriptions(bot_id, to).await?.is_empty();
        let mut subscriptions = Vec::with_capacity(on_from.len());
        let mut migration = ChatMigration::default();
        for subscription in on_from {
            if to_taken {
                subscriptions.push(json!({"id": subscription.id, "active": false}));
                migration.ended.push(subscription.id);
            } else {
                subscriptions.push(json!({"id": subscription.id, "chatId": to}));
                migration.moved.push(subscription.id);
            }
        }
        let pending: Vec<String> = self
            .pending_deliveries_of_chat(bot_id, from, None)
            .await?
            .into_iter()
            .map(|delivery| delivery.id)
            .filter(|id| id != except)
            .collect();
        migration.deliveries = pending.len();
        let mut audit = audit(&migration);
        let mut subscriptions = &subscriptions[..];
        let mut chunks = pending.chunks(MIGRATION_BATCH);
        let mut packet = 0;
        loop {
            let chunk = chunks.next().unwrap_or_default();
            if chunk.is_empty() && subscriptions.is_empty() && audit.is_none() {
                return Ok(migration);
            }
            let mut variables = Map::new();
            variables.insert("key".into(), Value::from(format!("{key}:{packet}")));
            for (index, update) in subscriptions.iter().enumerate() {
                variables.insert(format!("s{index}"), update.clone());
            }
            for (index, id) in chunk.iter().enumerate() {
                variables.insert(format!("d{index}"), json!({"id": id, "chatId": to}));
            }
            if let Some(event) = audit.take() {
                variables.insert("audit".into(), audit_input(event)?);
            }
            let document = chat_migration_document(
                subscriptions.len(),
                chunk.len(),
                variables.contains_key("audit"),
            );
            let data: Result<Value, _> = self
                .run_document(MIGRATE_CHAT, &document, &variables, Retry::Safe)
                .await;
            self.changed(Cached::Subscriptions);
            let data = data?;
            if data.get("packet").is_none_or(Value::is_null) {
                return Err(DataSpaceError::Invalid(
                    "the migration packet returned no packet".into(),
                ));
            }
            subscriptions = &[];
            packet += 1;
        }
    }

    /// Deletes up to `limit` deliveries that are finished (`SENT` or `DEAD`) and were created
    /// before `before`; returns how many. A `PENDING` delivery, leased or not, is never
    /// touched: the search leaves it out and the ids are checked again before deleting (and
    /// no finished delivery ever becomes pending again).
    ///
    /// Pruning cannot undo exactly-once ingestion. Records and their deliveries are written
    /// by one packet with an idempotence key (`store_log_records_with_deliveries`); DataSpace
    /// answers a repeat of that key from the outcome it stored for the packet, without
    /// running it again and without looking at whether the objects it created still exist.
    /// So a replay after pruning writes nothing, in either packet shape (the client only
    /// ever replays the other shape under the same key). Deleting a delivery also frees no
    /// key: the worker's own writes are keyed by delivery id and version, and a deleted
    /// delivery is never written again.
    pub async fn prune_done_deliveries(
        &self,
        before: &str,
        limit: i64,
    ) -> Result<usize, DataSpaceError> {
        let variables = search_done_deliveries_before::Variables {
            before: before.to_owned(),
            limit,
        };
        let found = self
            .run::<SearchDoneDeliveriesBefore>(variables, Retry::Safe)
            .await?;
        let done: Vec<String> = found
            .search_delivery
            .elems
            .into_iter()
            .filter(|delivery| delivery.status == SENT || delivery.status == DEAD)
            .map(|delivery| delivery.id)
            .collect();
        if done.is_empty() {
            return Ok(0);
        }
        let mut variables = Map::with_capacity(done.len() + 1);
        variables.insert("key".into(), Value::from(idempotency_key(None)));
        for (index, id) in done.iter().enumerate() {
            variables.insert(format!("d{index}"), Value::from(id.as_str()));
        }
        let document = delete_deliveries_document(done.len());
        let data: Value = self
            .run_document(DELETE_DELIVERIES, &document, &variables, Retry::Safe)
            .await?;
        if data.get("packet").is_none_or(Value::is_null) {
            return Err(DataSpaceError::Invalid(
                "the pruning packet returned no packet".into(),
            ));
        }
        Ok(done.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migration_and_pruning_packets_name_one_alias_per_change() {
        assert_eq!(
            chat_migration_document(1, 2, true),
            "mutation MigrateChat($key: String!, $s0: _UpdateChatSubscriptionInput!, \
             $d0: _UpdateDeliveryInput!, $d1: _UpdateDeliveryInput!, \
             $audit: _CreateAuditEventInput!) { packet(idempotencePacketId: $key) { \
             isIdempotenceResponse s0: updateChatSubscription(input: $s0) { id } \
             d0: updateDelivery(input: $d0) { id } d1: updateDelivery(input: $d1) { id } \
             createAuditEvent(input: $audit) { id } } }"
        );
        assert_eq!(
            delete_deliveries_document(2),
            "mutation DeleteDeliveries($key: String!, $d0: ID!, $d1: ID!) { \
             packet(idempotencePacketId: $key) { isIdempotenceResponse \
             d0: deleteDelivery(id: $d0) d1: deleteDelivery(id: $d1) } }"
        );
    }
}
