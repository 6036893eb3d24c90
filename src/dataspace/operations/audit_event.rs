//! `AuditEvent`: the generated operations of `queries/audit_event.graphql` and the client's
//! audit methods.

use super::{_DateTime, Long, idempotency_key, required};
use crate::dataspace::client::{DataSpaceClient, Retry};
use crate::dataspace::error::DataSpaceError;
use graphql_client::GraphQLQuery;

macro_rules! audit_operation {
    ($name:ident) => {
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "schema.graphql",
            query_path = "queries/audit_event.graphql",
            response_derives = "Debug, Clone, PartialEq",
            skip_serializing_none
        )]
        pub struct $name;
    };
}

audit_operation!(SearchAuditEvent);
audit_operation!(SearchAuditEventsByActor);
audit_operation!(GetAuditEvent);
audit_operation!(CreateAuditEvent);
audit_operation!(UpdateAuditEvent);
audit_operation!(DeleteAuditEvent);
audit_operation!(CreateManyAuditEvent);

/// Who did what to what, and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: String,
    pub agg_version: i64,
    pub actor_uid: String,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub at: String,
    pub details: Option<String>,
}

/// An audit event to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEvent {
    pub actor_uid: String,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub at: String,
    pub details: Option<String>,
}

/// The fields of an event to change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditEventUpdate {
    pub id: String,
    pub actor_uid: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub outcome: Option<String>,
    pub at: Option<String>,
    pub details: Option<String>,
}

convert_fields!(
    AuditEvent, { id, agg_version, actor_uid, action, target, outcome, at, details }
    from search_audit_event::AuditEventFields,
    search_audit_events_by_actor::AuditEventFields,
    get_audit_event::AuditEventFields,
    create_audit_event::AuditEventFields,
    update_audit_event::AuditEventFields,
);
convert_fields!(
    create_audit_event::_CreateAuditEventInput, { actor_uid, action, target, outcome, at, details }
    from NewAuditEvent
);
convert_fields!(
    create_many_audit_event::_CreateAuditEventInput,
    { actor_uid, action, target, outcome, at, details }
    from NewAuditEvent
);
convert_fields!(
    update_audit_event::_UpdateAuditEventInput,
    { id, actor_uid, action, target, outcome, at, details }
    from AuditEventUpdate
);
sort_input!(search_audit_event);

impl DataSpaceClient {
    /// The event with this id, if any.
    pub async fn get_audit_event(&self, id: &str) -> Result<Option<AuditEvent>, DataSpaceError> {
        let variables = get_audit_event::Variables {
            id: id.to_owned(),
            fail_on_empty: false,
        };
        let data = self.run::<GetAuditEvent>(variables, Retry::Safe).await?;
        let found = data.packet.and_then(|packet| packet.get_audit_event);
        Ok(found.map(AuditEvent::from))
    }

    pub async fn create_audit_event(
        &self,
        event: NewAuditEvent,
        key: Option<&str>,
    ) -> Result<AuditEvent, DataSpaceError> {
        let variables = create_audit_event::Variables {
            key: idempotency_key(key),
            input: event.into(),
        };
        let data = self.run::<CreateAuditEvent>(variables, Retry::Safe).await?;
        let packet = required(data.packet, "packet")?;
        Ok(required(packet.create_audit_event, "created event")?.into())
    }
}
