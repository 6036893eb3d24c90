//! `Delivery`: the durable queue of chat delivery. The generated operations of
//! `queries/delivery.graphql` and the worker's reads and writes of the queue. Deliveries are
//! created with their records, in the ingest packet ([`ingest`](super::ingest)). A chat's
//! queue (its migration to a new chat id) and pruning are in
//! [`delivery_upkeep`](super::delivery_upkeep).

use super::delivery_upkeep::MIGRATION_BATCH;
use super::{_DateTime, Long, NewAuditEvent, Page, idempotency_key, required};
use crate::dataspace::client::{DataSpaceClient, GroupAnswers, Retry};
use crate::dataspace::direct;
use crate::dataspace::error::DataSpaceError;
use graphql_client::GraphQLQuery;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

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

/// Writes of deliveries carried by one call of [`DataSpaceClient::write_deliveries`]. Each is
/// its own packet (its own transaction, version check and idempotence key), so a call holds
/// them all in the answer until the last has run: at about 0.3 ms per packet on the local
/// DataSpace (`cargo bench --bench delivery`), 128 make a call of ~40 ms and ~100 KB each
/// way, while a worker
/// serving `[delivery] concurrency` chats has at most that many writes waiting at once (one
/// per chat), so with the default of 32 no call is split.
pub const WRITES_PER_CALL: usize = 128;
const DELIVERY_WRITES: &str = "DeliveryWrites";

/// The queue's condition, as `SearchPendingDeliveries` and `SearchNewestPendingDeliveries`
/// write it (`queries/delivery.graphql`; a test keeps them equal), for their direct searches.
const PENDING_COND: &str = "it.status == 'PENDING'";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    OldestFirst,
    NewestFirst,
}

/// One change of one delivery at the version its writer read: a claim, a sent part, an
/// outcome. With `audit`, the AuditEvent written in the same packet (a dead letter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryWrite {
    pub update: DeliveryUpdate,
    pub version: Long,
    pub key: String,
    pub audit: Option<NewAuditEvent>,
}

/// The `DeliveryFields` fragment of `queries/delivery.graphql`, for the run-time documents
/// that answer deliveries (so what a delivery answer holds is written once).
fn delivery_fields_fragment() -> &'static str {
    static FRAGMENT: OnceLock<&'static str> = OnceLock::new();
    FRAGMENT.get_or_init(|| {
        let query = update_delivery::QUERY;
        let start = query
            .find("fragment DeliveryFields ")
            .expect("queries/delivery.graphql defines DeliveryFields");
        // A flat selection: its first closing brace ends it.
        let end = query[start..].find('}').expect("the fragment is closed") + start + 1;
        &query[start..end]
    })
}

/// The mutation of `writes`: packet `p<i>` writes delivery `d<i>` at version `v<i>` under
/// key `k<i>`, with its AuditEvent `a<i>` when it has one. Only the number of writes and
/// which of them carry an AuditEvent shape the text.
fn delivery_writes_document(writes: &[DeliveryWrite]) -> String {
    let mut document = String::with_capacity(200 + writes.len() * 240);
    document.push_str("mutation ");
    document.push_str(DELIVERY_WRITES);
    document.push('(');
    for (index, write) in writes.iter().enumerate() {
        if index > 0 {
            document.push_str(", ");
        }
        document.push_str(&format!(
            "$k{index}: String!, $v{index}: Long!, $d{index}: _UpdateDeliveryInput!"
        ));
        if write.audit.is_some() {
            document.push_str(&format!(", $a{index}: _CreateAuditEventInput!"));
        }
    }
    document.push_str(") {");
    for (index, write) in writes.iter().enumerate() {
        document.push_str(&format!(
            " p{index}: packet(idempotencePacketId: $k{index}, aggregateVersion: $v{index}) \
             {{ updateDelivery(input: $d{index}) {{ ...DeliveryFields }}"
        ));
        if write.audit.is_some() {
            document.push_str(&format!(" createAuditEvent(input: $a{index}) {{ id }}"));
        }
        document.push_str(" }");
    }
    document.push_str(" } ");
    document.push_str(delivery_fields_fragment());
    document
}

/// The delivery a write's packet answered.
fn written_delivery(packet: &Value) -> Result<Delivery, DataSpaceError> {
    let fields = packet
        .get("updateDelivery")
        .filter(|fields| !fields.is_null())
        .ok_or_else(|| DataSpaceError::Invalid("the packet returned no delivery".into()))?;
    let fields: update_delivery::DeliveryFields = serde_json::from_value(fields.clone())
        .map_err(|error| DataSpaceError::Invalid(format!("a written delivery: {error}")))?;
    Ok(fields.into())
}

impl DataSpaceClient {
    /// The oldest `limit` pending deliveries, in queue order; `count` is the queue depth.
    pub async fn pending_deliveries(&self, limit: i64) -> Result<Page<Delivery>, DataSpaceError> {
        if let Some(direct) = &self.direct {
            let operation = search_pending_deliveries::OPERATION_NAME;
            let (elems, count) = self
                .pending_directly(direct, operation, limit, Order::OldestFirst)
                .await?;
            return Ok(Page {
                elems,
                count: count.unwrap_or_default(),
            });
        }
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
        if let Some(direct) = &self.direct {
            let operation = search_newest_pending_deliveries::OPERATION_NAME;
            let (elems, _) = self
                .pending_directly(direct, operation, limit, Order::NewestFirst)
                .await?;
            return Ok(elems);
        }
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

    /// The queries of the queue ([`Self::pending_deliveries`], its newest end) by a direct
    /// search: the same condition, sort and limit, counted under the query's name, and the
    /// queue depth when they are oldest first (the query that selects `count`).
    async fn pending_directly(
        &self,
        direct: &std::sync::Arc<dyn direct::DirectDataSpace>,
        operation: &'static str,
        limit: i64,
        order: Order,
    ) -> Result<(Vec<Delivery>, Option<i64>), DataSpaceError> {
        let search = || async {
            let (rows, count) = direct
                .search(direct::DirectSearch {
                    class: "Delivery",
                    cond: PENDING_COND,
                    placeholders: Vec::new(),
                    sort: vec![("it.$id", order == Order::NewestFirst)],
                    limit,
                    with_count: order == Order::OldestFirst,
                })
                .await?;
            let deliveries = rows
                .into_iter()
                .map(|row| {
                    serde_json::from_value::<search_pending_deliveries::DeliveryFields>(
                        Value::Object(row),
                    )
                    .map(Delivery::from)
                    .map_err(|error| {
                        DataSpaceError::Invalid(format!("a stored delivery is unreadable: {error}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((deliveries, count))
        };
        self.run_direct(operation, Retry::Safe, search).await
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

    /// Several deliveries changed together, each in its own packet: each at its own version
    /// (a conflict, `AGGREGATE_VERSION_EXCEPTION`, fails that write alone) and under its own
    /// idempotence key, so a call is repeated safely after a failure that leaves its outcome
    /// unknown (the packets already written answer from their stored outcome). One call per
    /// [`WRITES_PER_CALL`] writes. The answers are in input order; a call that failed as a
    /// whole gives its error to each of its writes (each then written once or not at all).
    pub async fn write_deliveries(
        &self,
        writes: &[DeliveryWrite],
    ) -> Vec<Result<Delivery, DataSpaceError>> {
        let mut written = Vec::with_capacity(writes.len());
        for chunk in writes.chunks(WRITES_PER_CALL) {
            match self.write_delivery_chunk(chunk).await {
                Ok(answers) => written.extend(
                    answers
                        .into_iter()
                        .map(|answer| answer.and_then(|packet| written_delivery(&packet))),
                ),
                Err(error) => written.extend(chunk.iter().map(|_| Err(error.clone()))),
            }
        }
        written
    }

    /// One call of `writes`, each its own packet, answered in order.
    async fn write_delivery_chunk(&self, writes: &[DeliveryWrite]) -> GroupAnswers {
        let invalid = |what: &str, error: serde_json::Error| {
            DataSpaceError::Invalid(format!("{what}: {error}"))
        };
        let mut inputs = Vec::with_capacity(writes.len());
        for write in writes {
            let input = update_delivery::_UpdateDeliveryInput::from(write.update.clone());
            let input =
                serde_json::to_value(input).map_err(|error| invalid("a delivery write", error))?;
            let audit = match &write.audit {
                None => None,
                Some(audit) => {
                    let audit = dead_letter_delivery::_CreateAuditEventInput::from(audit.clone());
                    Some(
                        serde_json::to_value(audit)
                            .map_err(|error| invalid("a delivery's AuditEvent", error))?,
                    )
                }
            };
            inputs.push((input, audit));
        }
        if let Some(direct) = &self.direct {
            // The fields of `delivery_writes_document`, under the same response keys.
            let field = |field: &'static str, input: &Value| direct::PacketField {
                alias: field.to_owned(),
                field,
                input: input.to_string(),
            };
            let packets: Vec<direct::Packet> = writes
                .iter()
                .zip(&inputs)
                .map(|(write, (input, audit))| direct::Packet {
                    idempotence_id: write.key.clone(),
                    aggregate_version: Some(write.version),
                    fields: std::iter::once(field("updateDelivery", input))
                        .chain(audit.iter().map(|audit| field("createAuditEvent", audit)))
                        .collect(),
                })
                .collect();
            return self
                .run_direct_packets(direct, DELIVERY_WRITES, &packets)
                .await;
        }
        let mut variables = Map::with_capacity(writes.len() * 4);
        for (index, (write, (input, audit))) in writes.iter().zip(inputs).enumerate() {
            variables.insert(format!("k{index}"), Value::from(write.key.as_str()));
            variables.insert(format!("v{index}"), Value::from(write.version));
            variables.insert(format!("d{index}"), input);
            if let Some(audit) = audit {
                variables.insert(format!("a{index}"), audit);
            }
        }
        let document = delivery_writes_document(writes);
        let answers = self
            .run_packets(DELIVERY_WRITES, &document, &variables, Retry::Safe)
            .await?;
        Ok(answers.in_order(writes.len()))
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_direct_queue_searches_mirror_their_queries() {
        for (query, order) in [
            (search_pending_deliveries::QUERY, "ASC"),
            (search_newest_pending_deliveries::QUERY, "DESC"),
        ] {
            let search = format!(
                "searchDelivery(cond: \"{PENDING_COND}\", limit: $limit, sort: [{{crit: \"it.$id\", order: {order}}}])"
            );
            assert!(query.contains(&search), "{query}");
        }
        assert!(search_pending_deliveries::QUERY.contains("count"));
    }

    #[test]
    fn each_delivery_write_is_a_packet_of_its_own() {
        let write = |audit: Option<NewAuditEvent>| DeliveryWrite {
            update: DeliveryUpdate::default(),
            version: 1,
            key: "k".into(),
            audit,
        };
        let audit = NewAuditEvent {
            actor_uid: "delivery-worker".into(),
            action: "deliver_record".into(),
            target: None,
            outcome: "dead_letter".into(),
            at: super::super::now(),
            details: None,
        };
        let document = delivery_writes_document(&[write(None), write(Some(audit))]);
        let fragment = delivery_fields_fragment();
        assert!(
            fragment.starts_with("fragment DeliveryFields on _E_Delivery {")
                && fragment.ends_with('}')
                && fragment.contains("aggVersion")
                && fragment.contains("threadId"),
            "{fragment}"
        );
        assert_eq!(
            document,
            format!(
                "mutation DeliveryWrites($k0: String!, $v0: Long!, $d0: _UpdateDeliveryInput!, \
                 $k1: String!, $v1: Long!, $d1: _UpdateDeliveryInput!, \
                 $a1: _CreateAuditEventInput!) {{ \
                 p0: packet(idempotencePacketId: $k0, aggregateVersion: $v0) \
                 {{ updateDelivery(input: $d0) {{ ...DeliveryFields }} }} \
                 p1: packet(idempotencePacketId: $k1, aggregateVersion: $v1) \
                 {{ updateDelivery(input: $d1) {{ ...DeliveryFields }} \
                 createAuditEvent(input: $a1) {{ id }} }} }} {fragment}"
            )
        );
    }
}
