//! `AuditEvent`: the generated operations of `queries/audit_event.graphql` and the client's
//! audit methods.

use super::{_DateTime, Long, Page, Search, deleted, idempotency_key, required, sort_variable};
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
    /// Events matching a program-written condition (see [`Search`]).
    pub async fn search_audit_events(
        &self,
        search: Search,
    ) -> Result<Page<AuditEvent>, DataSpaceError> {
        let variables = search_audit_event::Variables {
            cond: search.cond,
            limit: search.limit,
            offset: search.offset,
            sort: sort_variable(search.sort),
        };
        let found = self.run::<SearchAuditEvent>(variables, Retry::Safe).await?;
        let found = found.search_audit_event;
        Ok(Page::convert(found.elems, found.count))
    }

    /// One page of an actor's events, newest first; `count` is the actor's total.
    pub async fn find_audit_events_by_actor(
        &self,
        actor_uid: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Page<AuditEvent>, DataSpaceError> {
        let variables = search_audit_events_by_actor::Variables {
            actor_uid: actor_uid.to_owned(),
            limit,
            offset,
        };
        let found = self
            .run::<SearchAuditEventsByActor>(variables, Retry::Safe)
            .await?;
        let found = found.search_audit_event;
        Ok(Page::convert(found.elems, found.count))
    }

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

    /// Records several events in one transaction; returns their ids in input order.
    pub async fn create_audit_events(
        &self,
        events: Vec<NewAuditEvent>,
        key: Option<&str>,
    ) -> Result<Vec<String>, DataSpaceError> {
        let variables = create_many_audit_event::Variables {
            key: idempotency_key(key),
            input: events.into_iter().map(Into::into).collect(),
        };
        let data = self
            .run::<CreateManyAuditEvent>(variables, Retry::Safe)
            .await?;
        required(
            required(data.packet, "packet")?.create_many_audit_event,
            "ids",
        )
    }

    pub async fn update_audit_event(
        &self,
        update: AuditEventUpdate,
        version: Option<Long>,
        key: Option<&str>,
    ) -> Result<AuditEvent, DataSpaceError> {
        let variables = update_audit_event::Variables {
            key: idempotency_key(key),
            version,
            input: update.into(),
        };
        let data = self.run::<UpdateAuditEvent>(variables, Retry::Safe).await?;
        let packet = required(data.packet, "packet")?;
        Ok(required(packet.update_audit_event, "updated event")?.into())
    }

    /// Deletes an event; a missing one is [`DataSpaceError::NotFound`].
    pub async fn delete_audit_event(
        &self,
        id: &str,
        key: Option<&str>,
    ) -> Result<(), DataSpaceError> {
        let variables = delete_audit_event::Variables {
            key: idempotency_key(key),
            id: id.to_owned(),
        };
        let data = self.run::<DeleteAuditEvent>(variables, Retry::Safe).await?;
        deleted(required(data.packet, "packet")?.delete_audit_event, "event")
    }
}
