//! The ingest packet: a batch of records stored together with their deliveries in one packet,
//! so a committed record can never lack its deliveries. Its text is built at run time (one
//! aliased field per record, which no fixed query file can express) and sent through the
//! group commit ([`crate::dataspace::group_commit`]), which puts the packets of concurrent
//! batches into one mutation.

use super::delivery::{NewDelivery, PENDING};
use super::idempotency_key;
use super::log_record::{CreateLogRecordInput, NewLogRecord};
use crate::dataspace::client::{DataSpaceClient, GroupAnswers, Retry};
use crate::dataspace::direct;
use crate::dataspace::error::DataSpaceError;
use serde_json::Value;

/// The ids of a stored batch of records, in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredBatch {
    pub ids: Vec<String>,
    /// True when the key had been used: DataSpace answered with the first packet's outcome.
    pub replayed: bool,
}

/// One batch's packet, its variables serialized on the caller's task, waiting for the index
/// it gets in its group.
pub(crate) struct IngestPacket {
    /// `idempotencePacketId`.
    key: String,
    shape: Shape,
}

/// The two shapes a batch is stored in. An idempotent replay answers with the fields the first
/// packet had, so a key stored in one shape and sent again in the other gets no ids back
/// ([`IngestPacket::outcome`] answers `None`) and is asked again in the shape it was stored in.
enum Shape {
    /// No deliveries: `createManyLogRecord(input: $r<p>)`, the records as one JSON list.
    Records(String),
    /// One `createLogRecord` per record, aliased `r0`, `r1`, ... (a `createManyLogRecord`
    /// gives no alias to refer to), then every delivery in one `createManyDelivery` whose
    /// inputs say `record: "ref:r<i>"`. Each record's input as JSON, and the deliveries' list.
    WithDeliveries {
        records: Vec<String>,
        deliveries: String,
    },
}

/// A delivery's `_CreateDeliveryInput`, borrowed: queued as pending from `now`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateDeliveryInput<'a> {
    record: String,
    bot: &'a str,
    subscription: &'a str,
    chat_id: &'a str,
    thread_id: Option<&'a str>,
    status: &'static str,
    attempts: i64,
    parts_sent: i64,
    next_attempt_at: &'a str,
    created_at: &'a str,
}

/// The parts of a mutation of several packets, appended to packet by packet.
#[derive(Default)]
pub(crate) struct MutationText {
    /// The variable definitions, `$k0: String!, ...`.
    pub definitions: String,
    /// The root fields, `p0: packet(...) { ... } ...`.
    pub selection: String,
    /// The variables' members, `"k0":"...",...`, without the braces.
    pub variables: String,
}

impl MutationText {
    fn define(&mut self, name: &str, ty: &str, json: &str) {
        if !self.definitions.is_empty() {
            self.definitions.push_str(", ");
            self.variables.push(',');
        }
        self.definitions.push_str(&format!("${name}: {ty}"));
        self.variables.push_str(&format!("\"{name}\":{json}"));
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<String, DataSpaceError> {
    serde_json::to_string(value)
        .map_err(|error| DataSpaceError::Invalid(format!("a record to store: {error}")))
}

impl IngestPacket {
    /// The packet storing `records` for the bot `bot_id`, each with the chats `deliveries`
    /// gives at its index, under `key`; `with_deliveries` picks the shape (see [`Shape`]).
    fn new<D: AsRef<[NewDelivery]>>(
        bot_id: &str,
        records: &[NewLogRecord],
        deliveries: &[D],
        key: &str,
        now: &str,
        with_deliveries: bool,
    ) -> Result<Self, DataSpaceError> {
        let inputs = records
            .iter()
            .map(|record| CreateLogRecordInput::new(bot_id, record));
        let shape = match with_deliveries {
            false => Shape::Records(to_json(&inputs.collect::<Vec<_>>())?),
            true => {
                let mut queued = Vec::new();
                for (index, _) in records.iter().enumerate() {
                    let chats = deliveries.get(index).map_or(&[][..], AsRef::as_ref);
                    queued.extend(chats.iter().map(|chat| CreateDeliveryInput {
                        record: format!("ref:r{index}"),
                        bot: bot_id,
                        subscription: &chat.subscription,
                        chat_id: &chat.chat_id,
                        thread_id: chat.thread_id.as_deref(),
                        status: PENDING,
                        attempts: 0,
                        parts_sent: 0,
                        next_attempt_at: now,
                        created_at: now,
                    }));
                }
                Shape::WithDeliveries {
                    records: inputs
                        .map(|input| to_json(&input))
                        .collect::<Result<_, _>>()?,
                    deliveries: to_json(&queued)?,
                }
            }
        };
        Ok(Self {
            key: key.to_owned(),
            shape,
        })
    }

    /// The size of its variables: what the group's byte cap counts.
    pub(crate) fn bytes(&self) -> usize {
        self.key.len()
            + match &self.shape {
                Shape::Records(records) => records.len(),
                Shape::WithDeliveries {
                    records,
                    deliveries,
                } => records.iter().map(String::len).sum::<usize>() + deliveries.len(),
            }
    }

    /// Appends this packet to `text` as the root field aliased `p<index>`.
    pub(crate) fn render(
        &self,
        index: usize,
        text: &mut MutationText,
    ) -> Result<(), DataSpaceError> {
        let alias = format!("p{index}");
        text.define(&format!("k{index}"), "String!", &to_json(&self.key)?);
        text.selection.push_str(&format!(
            " {alias}: packet(idempotencePacketId: $k{index}) {{ isIdempotenceResponse"
        ));
        match &self.shape {
            Shape::Records(records) => {
                text.define(&format!("r{index}"), "[_CreateLogRecordInput!]!", records);
                text.selection
                    .push_str(&format!(" createManyLogRecord(input: $r{index}) }}"));
            }
            Shape::WithDeliveries {
                records,
                deliveries,
            } => {
                for (record, input) in records.iter().enumerate() {
                    let name = format!("r{index}_{record}");
                    text.define(&name, "_CreateLogRecordInput!", input);
                    text.selection.push_str(&format!(
                        " r{record}: createLogRecord(input: ${name}) {{ id }}"
                    ));
                }
                text.define(&format!("d{index}"), "[_CreateDeliveryInput!]!", deliveries);
                text.selection
                    .push_str(&format!(" createManyDelivery(input: $d{index}) }}"));
            }
        }
        Ok(())
    }

    /// This packet for the embedded DataSpace's direct call: the fields [`Self::render`]
    /// writes, under the same response keys.
    fn direct(&self) -> direct::Packet {
        let field = |alias: String, field: &'static str, input: &str| direct::PacketField {
            alias,
            field,
            input: input.to_owned(),
        };
        let fields = match &self.shape {
            Shape::Records(records) => vec![field(
                "createManyLogRecord".into(),
                "createManyLogRecord",
                records,
            )],
            Shape::WithDeliveries {
                records,
                deliveries,
            } => records
                .iter()
                .enumerate()
                .map(|(record, input)| field(format!("r{record}"), "createLogRecord", input))
                .chain([field(
                    "createManyDelivery".into(),
                    "createManyDelivery",
                    deliveries,
                )])
                .collect(),
        };
        direct::Packet {
            idempotence_id: self.key.clone(),
            aggregate_version: None,
            fields,
        }
    }

    /// The stored batch this packet's answer gives; `None` for an idempotent replay of a
    /// packet stored in the other shape.
    pub(crate) fn outcome(&self, packet: &Value) -> Result<Option<StoredBatch>, DataSpaceError> {
        let replayed = packet.get("isIdempotenceResponse") == Some(&Value::Bool(true));
        let ids: Option<Vec<String>> = match &self.shape {
            Shape::Records(_) => packet
                .get("createManyLogRecord")
                .and_then(Value::as_array)
                .and_then(|ids| {
                    ids.iter()
                        .map(|id| id.as_str().map(str::to_owned))
                        .collect()
                }),
            Shape::WithDeliveries { records, .. } => (0..records.len())
                .map(|index| {
                    packet
                        .get(format!("r{index}"))
                        .and_then(|created| created.get("id"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect(),
        };
        match ids {
            Some(ids) => Ok(Some(StoredBatch { ids, replayed })),
            None if replayed => Ok(None),
            None => Err(DataSpaceError::Invalid("the packet returned no ids".into())),
        }
    }
}

/// The `operationName` (and metrics label) of a group's call.
const GROUP_OPERATION: &str = "StoreLogRecordGroup";

impl DataSpaceClient {
    /// Stores `packets` in one call, each its own transaction (PROTOCOLS §2: aliased packets
    /// of one mutation), and answers each packet's part. Every packet carries its idempotence
    /// key, so a retried call writes nothing twice.
    pub(crate) async fn store_packets(&self, packets: &[&IngestPacket]) -> GroupAnswers {
        if let Some(direct) = &self.direct {
            let group: Vec<direct::Packet> = packets.iter().map(|packet| packet.direct()).collect();
            return self
                .run_direct_packets(direct, GROUP_OPERATION, &group)
                .await;
        }
        let mut text = MutationText::default();
        for (index, packet) in packets.iter().enumerate() {
            packet.render(index, &mut text)?;
        }
        let document = format!(
            "mutation {GROUP_OPERATION}({}) {{{} }}",
            text.definitions, text.selection
        );
        let variables = serde_json::value::RawValue::from_string(format!("{{{}}}", text.variables))
            .map_err(|error| {
                DataSpaceError::Invalid(format!("the variables of {GROUP_OPERATION}: {error}"))
            })?;
        let answers = self
            .run_packets(GROUP_OPERATION, &document, &variables, Retry::Safe)
            .await?;
        Ok(answers.in_order(packets.len()))
    }

    /// Stores a batch of records with their deliveries (`deliveries[i]`: the chats record `i`
    /// goes to) in one packet, all or none, under `key` (a fresh one when `None`), and tells
    /// whether DataSpace replayed an earlier packet with the same key (nothing new was
    /// written, so nothing new should be announced).
    pub async fn store_log_records_with_deliveries<D: AsRef<[NewDelivery]>>(
        &self,
        bot_id: &str,
        records: &[NewLogRecord],
        deliveries: &[D],
        key: Option<&str>,
        now: &str,
    ) -> Result<StoredBatch, DataSpaceError> {
        if records.is_empty() {
            return Ok(StoredBatch::default());
        }
        let key = idempotency_key(key);
        let with_deliveries = deliveries.iter().any(|chats| !chats.as_ref().is_empty());
        for shape in [with_deliveries, !with_deliveries] {
            let packet = IngestPacket::new(bot_id, records, deliveries, &key, now, shape)?;
            if let Some(stored) = self.group_commit.submit(self, packet).await? {
                return Ok(stored);
            }
        }
        Err(DataSpaceError::Invalid(
            "the packet's key was used, and its replay returned no ids".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(message: &str) -> NewLogRecord {
        NewLogRecord {
            level: "ERROR".into(),
            message: message.into(),
            event_at: "2026-01-01T00:00:00.000".into(),
            received_at: "2026-01-01T00:00:00.000".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_group_names_one_alias_per_packet_and_per_record() {
        let records = [record("a"), record("b")];
        let chats = [vec![NewDelivery {
            subscription: "3".into(),
            chat_id: "c".into(),
            thread_id: None,
        }]];
        let now = "2026-01-01T00:00:00.000";
        let plain = IngestPacket::new("1", &records, &[] as &[Vec<NewDelivery>], "k", now, false);
        let queued = IngestPacket::new("1", &records[..1], &chats, "q", now, true);
        let mut text = MutationText::default();
        plain.unwrap().render(0, &mut text).unwrap();
        queued.unwrap().render(1, &mut text).unwrap();
        assert_eq!(
            text.definitions,
            "$k0: String!, $r0: [_CreateLogRecordInput!]!, $k1: String!, \
             $r1_0: _CreateLogRecordInput!, $d1: [_CreateDeliveryInput!]!"
        );
        assert_eq!(
            text.selection,
            " p0: packet(idempotencePacketId: $k0) { isIdempotenceResponse \
             createManyLogRecord(input: $r0) } \
             p1: packet(idempotencePacketId: $k1) { isIdempotenceResponse \
             r0: createLogRecord(input: $r1_0) { id } createManyDelivery(input: $d1) }"
        );
        let variables: Value = serde_json::from_str(&format!("{{{}}}", text.variables)).unwrap();
        assert_eq!(variables["k1"], "q");
        assert_eq!(variables["r0"][1]["message"], "b");
        assert_eq!(variables["r1_0"]["bot"], "1");
        assert_eq!(variables["d1"][0]["record"], "ref:r0");
        assert_eq!(variables["d1"][0]["status"], PENDING);
    }

    #[test]
    fn ids_are_read_from_the_packet_or_not_at_all() {
        let records = [record("a"), record("b")];
        let none: &[Vec<NewDelivery>] = &[];
        let queued = IngestPacket::new("1", &records, none, "k", "t", true).unwrap();
        let packet = json!({"r0": {"id": "5"}, "r1": {"id": "6"}});
        let stored = queued.outcome(&packet).unwrap().unwrap();
        assert_eq!(stored.ids, ["5", "6"]);
        // A replay of a packet stored as createManyLogRecord: no aliases, so no ids.
        let replay = json!({"isIdempotenceResponse": true, "createManyLogRecord": ["5", "6"]});
        assert_eq!(queued.outcome(&replay), Ok(None));
        let plain = IngestPacket::new("1", &records, none, "k", "t", false).unwrap();
        let stored = plain.outcome(&replay).unwrap().unwrap();
        assert!(stored.replayed);
        assert_eq!(stored.ids, ["5", "6"]);
        assert!(
            plain.outcome(&json!({})).is_err(),
            "neither ids nor a replay"
        );
    }
}
