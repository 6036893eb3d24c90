//! `Delivery`: the durable queue of chat delivery. The generated operations of
//! `queries/delivery.graphql` and the worker's reads and writes of the queue. Deliveries are
//! created with their records, in the ingest packet ([`ingest`](super::ingest)). A chat's
//! queue (its migration to a new chat id) and pruning are in
//! [`delivery_upkeep`](super::delivery_upkeep).

use super::delivery_upkeep::MIGRATION_BATCH;
use super::{_DateTime, Long, NewAuditEvent, Page, idempotency_key, required};
use crate::dataspace::client::{DataSpaceClient, Retry};
use crate::dataspace::error::DataSpaceError;
use graphql_client::GraphQLQuery;
use serde_json::{Map, Value, json};

macro_rules! delivery_operation {
    ($name:ident) => {
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "schema.graphql",
            query_path = "queries/delivery.graphql",
            response_derives = "Debug, Clone, PartialEq",
            skip_serializing_none
        )]
        pub struct $name;
    };
}

delivery_operation!(SearchDelivery);
delivery_operation!(SearchPendingDeliveries);
delivery_operation!(UpdateDelivery);
delivery_operation!(DeadLetterDelivery);
delivery_operation!(SearchPendingDeliveriesOfChat);
delivery_operation!(SearchDoneDeliveriesBefore);
delivery_operation!(CountPendingDeliveriesOfChat);
delivery_operation!(SearchNewestPendingDeliveries);

/// Waiting to be sent (or re-sent after a failure).
pub const PENDING: &str = "PENDING";
/// Accepted by the messenger.
pub const SENT: &str = "SENT";
/// Given up: too many attempts or a permanent refusal; an AuditEvent says why.
pub const DEAD: &str = "DEAD";

/// One record's delivery to one chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub agg_version: i64,
    /// The record's id.
    pub record: String,
    /// The bot's id.
    pub bot: String,
    /// The subscription's id.
    pub subscription: String,
    pub chat_id: String,
    pub status: String,
    pub attempts: i64,
    pub parts_sent: i64,
    pub next_attempt_at: String,
    pub lease_owner: Option<String>,
    pub lease_until: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    /// The forum topic to post in (Telegram `message_thread_id`), if any.
    pub thread_id: Option<String>,
}

/// A chat a new record goes to: its subscription, chat and forum topic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewDelivery {
    pub subscription: String,
    pub chat_id: String,
    pub thread_id: Option<String>,
}

/// The fields of a delivery to change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryUpdate {
    pub id: String,
    pub chat_id: Option<String>,
    pub status: Option<String>,
    pub attempts: Option<i64>,
    pub parts_sent: Option<i64>,
    pub next_attempt_at: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<String>,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
}

convert_fields!(
    Delivery,
    {
        id, agg_version, record, bot, subscription, chat_id, status, attempts, parts_sent,
        next_attempt_at, lease_owner, lease_until, last_error, created_at, sent_at, thread_id
    }
    from search_delivery::DeliveryFields,
    search_pending_deliveries::DeliveryFields,
    update_delivery::DeliveryFields,
    dead_letter_delivery::DeliveryFields,
    search_pending_deliveries_of_chat::DeliveryFields,
    search_newest_pending_deliveries::DeliveryFields,
);
sort_input!(search_delivery);

macro_rules! update_input {
    ($($module:ident),+) => {
        $(
            impl From<DeliveryUpdate> for $module::_UpdateDeliveryInput {
                fn from(update: DeliveryUpdate) -> Self {
                    Self {
                        id: update.id,
                        record: None,
                        bot: None,
                        subscription: None,
                        chat_id: update.chat_id,
                        status: update.status,
                        attempts: update.attempts,
                        parts_sent: update.parts_sent,
                        next_attempt_at: update.next_attempt_at,
                        lease_owner: update.lease_owner,
                        lease_until: update.lease_until,
                        last_error: update.last_error,
                        created_at: None,
                        sent_at: update.sent_at,
                        thread_id: None,
                    }
                }
            }
        )+
    };
}
update_input!(update_delivery, dead_letter_delivery);

convert_fields!(
    dead_letter_delivery::_CreateAuditEventInput,
    { actor_uid, action, target, outcome, at, details }
    from NewAuditEvent
);

impl DataSpaceClient {
    /// The oldest `limit` pending deliveries, in queue order; `count` is the queue depth.
    pub async fn pending_deliveries(&self, limit: i64) -> Result<Page<Delivery>, DataSpaceError> {
        let variables = search_pending_deliveries::Variables { limit };
        let found = self
            .run::<SearchPendingDeliveries>(variables, Retry::Safe)
            .await?;
        let found = found.search_delivery;
        Ok(Page::convert(found.elems, found.count))
    }

    /// The newest pending deliveries, newest first.
    pub async fn newest_pending_deliveries(
        &self,
        limit: i64,
    ) -> Result<Vec<Delivery>, DataSpaceError> {
        let variables = search_newest_pending_deliveries::Variables { limit };
        let found = self
            .run::<SearchNewestPendingDeliveries>(variables, Retry::Safe)
            .await?;
        Ok(found
            .search_delivery
            .elems
            .into_iter()
            .map(Delivery::from)
            .collect())
    }

    /// Finishes several deliveries at once (`SENT` when one message carried them all, `DEAD`
    /// when their chat is gone): one packet per [`MIGRATION_BATCH`], keyed by `key` and the
    /// packet's number, so a retry writes nothing twice. The caller holds the chat (the lease
    /// of its oldest delivery), so no version is named.
    pub async fn finish_deliveries(
        &self,
        ids: &[String],
        status: &str,
        key: &str,
    ) -> Result<(), DataSpaceError> {
        let now = super::now();
        for (packet, chunk) in ids.chunks(MIGRATION_BATCH).enumerate() {
            let mut variables = Map::with_capacity(chunk.len() + 1);
            variables.insert("key".into(), Value::from(format!("{key}:{packet}")));
            let mut document = String::from("mutation FinishDeliveries($key: String!");
            for (index, id) in chunk.iter().enumerate() {
                document.push_str(&format!(", $d{index}: _UpdateDeliveryInput!"));
                let mut input = json!({"id": id, "status": status, "leaseUntil": now});
                if status == SENT {
                    input["sentAt"] = Value::from(now.as_str());
                }
                variables.insert(format!("d{index}"), input);
            }
            document.push_str(") { packet(idempotencePacketId: $key) { isIdempotenceResponse");
            for index in 0..chunk.len() {
                document.push_str(&format!(
                    " u{index}: updateDelivery(input: $d{index}) {{ id }}"
                ));
            }
            document.push_str(" } }");
            let data: Value = self
                .run_document("FinishDeliveries", &document, &variables, Retry::Safe)
                .await?;
            if data.get("packet").is_none_or(Value::is_null) {
                return Err(DataSpaceError::Invalid(
                    "the finishing packet returned no packet".into(),
                ));
            }
        }
        Ok(())
    }

    /// Changes a delivery if it is still at `version`; otherwise
    /// [`DataSpaceError::VersionConflict`] and nothing changes.
    pub async fn update_delivery(
        &self,
        update: DeliveryUpdate,
        version: Long,
        key: Option<&str>,
    ) -> Result<Delivery, DataSpaceError> {
        let variables = update_delivery::Variables {
            key: idempotency_key(key),
            version,
            input: update.into(),
        };
        let data = self.run::<UpdateDelivery>(variables, Retry::Safe).await?;
        let packet = required(data.packet, "packet")?;
        Ok(required(packet.update_delivery, "updated delivery")?.into())
    }

    /// Gives a delivery up (if it is still at `version`) and records `audit`, in one packet.
    pub async fn dead_letter_delivery(
        &self,
        update: DeliveryUpdate,
        version: Long,
        audit: NewAuditEvent,
        key: Option<&str>,
    ) -> Result<Delivery, DataSpaceError> {
        let variables = dead_letter_delivery::Variables {
            key: idempotency_key(key),
            version,
            input: update.into(),
            audit: audit.into(),
        };
        let data = self
            .run::<DeadLetterDelivery>(variables, Retry::Safe)
            .await?;
        let packet = required(data.packet, "packet")?;
        Ok(required(packet.update_delivery, "dead-lettered delivery")?.into())
    }
}
