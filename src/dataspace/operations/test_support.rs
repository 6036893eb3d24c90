//! The client methods only the tests and benchmarks call (generic searches, batch creates,
//! updates and deletes the gateway itself never makes), compiled for the crate's own unit
//! tests and with the `test-support` feature, which the integration tests and benchmarks turn on.

/// AuditEvent.
mod audit_event {
    use crate::dataspace::client::{DataSpaceClient, Retry};
    use crate::dataspace::error::DataSpaceError;
    use crate::dataspace::operations::audit_event::*;
    use crate::dataspace::operations::*;

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
}

/// Bot.
mod bot {
    use crate::dataspace::client::{DataSpaceClient, Retry};
    use crate::dataspace::error::DataSpaceError;
    use crate::dataspace::operations::bot::*;
    use crate::dataspace::operations::*;

    impl DataSpaceClient {
        /// Bots matching a program-written condition (see [`Search`]).
        pub async fn search_bots(&self, search: Search) -> Result<Page<Bot>, DataSpaceError> {
            let variables = search_bot::Variables {
                cond: search.cond,
                limit: search.limit,
                offset: search.offset,
                sort: sort_variable(search.sort),
            };
            let found = self
                .run::<SearchBot>(variables, Retry::Safe)
                .await?
                .search_bot;
            Ok(Page::convert(found.elems, found.count))
        }

        /// One page of an owner's bots, oldest first; `count` is the owner's total.
        pub async fn find_bots_by_owner(
            &self,
            owner_uid: &str,
            limit: i64,
            offset: i64,
        ) -> Result<Page<Bot>, DataSpaceError> {
            let variables = search_bots_by_owner::Variables {
                owner_uid: owner_uid.to_owned(),
                limit,
                offset,
            };
            let found = self
                .run::<SearchBotsByOwner>(variables, Retry::Safe)
                .await?
                .search_bot;
            Ok(Page::convert(found.elems, found.count))
        }

        /// Creates several bots in one transaction; returns their ids in input order.
        pub async fn create_bots(
            &self,
            bots: Vec<NewBot>,
            key: Option<&str>,
        ) -> Result<Vec<String>, DataSpaceError> {
            let variables = create_many_bot::Variables {
                key: idempotency_key(key),
                input: bots.into_iter().map(Into::into).collect(),
            };
            let data = self.run::<CreateManyBot>(variables, Retry::Safe).await?;
            required(required(data.packet, "packet")?.create_many_bot, "ids")
        }

        /// Changes a bot. With `version`, the packet fails with
        /// [`DataSpaceError::VersionConflict`] if the bot's aggregate moved past it.
        pub async fn update_bot(
            &self,
            update: BotUpdate,
            version: Option<i64>,
            key: Option<&str>,
        ) -> Result<Bot, DataSpaceError> {
            let variables = update_bot::Variables {
                key: idempotency_key(key),
                version,
                input: update.into(),
            };
            let data = self.run::<UpdateBot>(variables, Retry::Safe).await?;
            let packet = required(data.packet, "packet")?;
            Ok(required(packet.update_bot, "updated bot")?.into())
        }

        /// Deletes a bot; a missing one is [`DataSpaceError::NotFound`].
        pub async fn delete_bot(&self, id: &str, key: Option<&str>) -> Result<(), DataSpaceError> {
            let variables = delete_bot::Variables {
                key: idempotency_key(key),
                id: id.to_owned(),
            };
            let data = self.run::<DeleteBot>(variables, Retry::Safe).await?;
            deleted(required(data.packet, "packet")?.delete_bot, "bot")
        }
    }
}

/// ChatSubscription.
mod chat_subscription {
    use crate::dataspace::client::{DataSpaceClient, Retry};
    use crate::dataspace::error::DataSpaceError;
    use crate::dataspace::operations::chat_subscription::*;
    use crate::dataspace::operations::*;
    use crate::dataspace::read_cache::Cached;

    impl DataSpaceClient {
        /// Subscriptions matching a program-written condition (see [`Search`]).
        pub async fn search_subscriptions(
            &self,
            search: Search,
        ) -> Result<Page<ChatSubscription>, DataSpaceError> {
            let variables = search_chat_subscription::Variables {
                cond: search.cond,
                limit: search.limit,
                offset: search.offset,
                sort: sort_variable(search.sort),
            };
            let found = self
                .run::<SearchChatSubscription>(variables, Retry::Safe)
                .await?;
            let found = found.search_chat_subscription;
            Ok(Page::convert(found.elems, found.count))
        }

        /// The subscription with this id, if any.
        pub async fn get_subscription(
            &self,
            id: &str,
        ) -> Result<Option<ChatSubscription>, DataSpaceError> {
            let variables = get_chat_subscription::Variables {
                id: id.to_owned(),
                fail_on_empty: false,
            };
            let data = self
                .run::<GetChatSubscription>(variables, Retry::Safe)
                .await?;
            let found = data.packet.and_then(|packet| packet.get_chat_subscription);
            Ok(found.map(ChatSubscription::from))
        }

        /// Creates several subscriptions in one transaction; returns their ids in input order.
        pub async fn create_subscriptions(
            &self,
            subscriptions: Vec<NewChatSubscription>,
            key: Option<&str>,
        ) -> Result<Vec<String>, DataSpaceError> {
            let variables = create_many_chat_subscription::Variables {
                key: idempotency_key(key),
                input: subscriptions.into_iter().map(Into::into).collect(),
            };
            let data = self
                .run::<CreateManyChatSubscription>(variables, Retry::Safe)
                .await;
            self.changed(Cached::Subscriptions);
            let data = data?;
            required(
                required(data.packet, "packet")?.create_many_chat_subscription,
                "ids",
            )
        }

        /// Deletes a subscription; a missing one is [`DataSpaceError::NotFound`].
        pub async fn delete_subscription(
            &self,
            id: &str,
            key: Option<&str>,
        ) -> Result<(), DataSpaceError> {
            let variables = delete_chat_subscription::Variables {
                key: idempotency_key(key),
                id: id.to_owned(),
            };
            let data = self
                .run::<DeleteChatSubscription>(variables, Retry::Safe)
                .await;
            self.changed(Cached::Subscriptions);
            let data = data?;
            deleted(
                required(data.packet, "packet")?.delete_chat_subscription,
                "subscription",
            )
        }
    }
}

/// Delivery.
mod delivery {
    use crate::dataspace::client::{DataSpaceClient, Retry};
    use crate::dataspace::error::DataSpaceError;
    use crate::dataspace::operations::delivery::*;
    use crate::dataspace::operations::*;

    impl DataSpaceClient {
        /// Stores a batch of a bot's records and their deliveries (`deliveries[i]` are record
        /// `i`'s chats) in one packet: one transaction, one HTTP round trip, idempotent by `key`.
        /// Returns the record ids in input order.
        ///
        /// A batch with no delivery is stored as `createManyLogRecord`, which is cheaper. If a
        /// retry under the same key meets the packet stored in the other shape (the chats changed
        /// between the two tries), the replay has no ids in this shape and the call is replayed in
        /// the other one, which returns the ids stored the first time.
        pub async fn create_log_records_with_deliveries(
            &self,
            bot_id: &str,
            records: Vec<NewLogRecord>,
            deliveries: Vec<Vec<NewDelivery>>,
            key: Option<&str>,
            now: &str,
        ) -> Result<Vec<String>, DataSpaceError> {
            let stored = self
                .store_log_records_with_deliveries(bot_id, &records, &deliveries, key, now)
                .await?;
            Ok(stored.ids)
        }

        /// Deliveries matching a program-written condition (see [`Search`]).
        pub async fn search_deliveries(
            &self,
            search: Search,
        ) -> Result<Page<Delivery>, DataSpaceError> {
            let variables = search_delivery::Variables {
                cond: search.cond,
                limit: search.limit,
                offset: search.offset,
                sort: sort_variable(search.sort),
            };
            let found = self.run::<SearchDelivery>(variables, Retry::Safe).await?;
            let found = found.search_delivery;
            Ok(Page::convert(found.elems, found.count))
        }
    }
}

/// LogRecord.
mod log_record {
    use crate::dataspace::client::{DataSpaceClient, Retry};
    use crate::dataspace::error::DataSpaceError;
    use crate::dataspace::operations::log_record::*;
    use crate::dataspace::operations::*;

    impl DataSpaceClient {
        /// Stores a batch of a bot's records in one packet (one transaction, one HTTP round trip)
        /// and returns their ids in input order. Repeating the call with the same key writes
        /// nothing and returns the first call's ids.
        pub async fn create_log_records(
            &self,
            bot_id: &str,
            records: Vec<NewLogRecord>,
            key: Option<&str>,
        ) -> Result<Vec<String>, DataSpaceError> {
            if records.is_empty() {
                return Ok(Vec::new());
            }
            let key = idempotency_key(key);
            let variables = CreateVariables {
                key: &key,
                input: records
                    .iter()
                    .map(|record| CreateLogRecordInput::new(bot_id, record))
                    .collect::<Vec<_>>(),
            };
            let data: create_many_log_record::ResponseData = self
                .run_generated(
                    create_many_log_record::QUERY,
                    create_many_log_record::OPERATION_NAME,
                    &variables,
                    Retry::Safe,
                )
                .await?;
            required(
                required(data.packet, "packet")?.create_many_log_record,
                "ids",
            )
        }

        /// Stores one record and returns it as stored.
        pub async fn create_log_record(
            &self,
            bot_id: &str,
            record: NewLogRecord,
            key: Option<&str>,
        ) -> Result<LogRecord, DataSpaceError> {
            let key = idempotency_key(key);
            let variables = CreateVariables {
                key: &key,
                input: CreateLogRecordInput::new(bot_id, &record),
            };
            let data: create_log_record::ResponseData = self
                .run_generated(
                    create_log_record::QUERY,
                    create_log_record::OPERATION_NAME,
                    &variables,
                    Retry::Safe,
                )
                .await?;
            let packet = required(data.packet, "packet")?;
            Ok(required(packet.create_log_record, "created record")?.into())
        }

        pub async fn update_log_record(
            &self,
            update: LogRecordUpdate,
            version: Option<Long>,
            key: Option<&str>,
        ) -> Result<LogRecord, DataSpaceError> {
            let variables = update_log_record::Variables {
                key: idempotency_key(key),
                version,
                input: update.into(),
            };
            let data = self.run::<UpdateLogRecord>(variables, Retry::Safe).await?;
            let packet = required(data.packet, "packet")?;
            Ok(required(packet.update_log_record, "updated record")?.into())
        }

        /// Deletes a record; a missing one is [`DataSpaceError::NotFound`].
        pub async fn delete_log_record(
            &self,
            id: &str,
            key: Option<&str>,
        ) -> Result<(), DataSpaceError> {
            let variables = delete_log_record::Variables {
                key: idempotency_key(key),
                id: id.to_owned(),
            };
            let data = self.run::<DeleteLogRecord>(variables, Retry::Safe).await?;
            deleted(required(data.packet, "packet")?.delete_log_record, "record")
        }
    }
}

/// LogUser.
mod log_user {
    use crate::dataspace::client::{DataSpaceClient, Retry};
    use crate::dataspace::error::DataSpaceError;
    use crate::dataspace::operations::log_user::*;
    use crate::dataspace::operations::*;
    use crate::dataspace::read_cache::Cached;

    impl DataSpaceClient {
        /// Users matching a program-written condition (see [`Search`]).
        pub async fn search_log_users(
            &self,
            search: Search,
        ) -> Result<Page<LogUser>, DataSpaceError> {
            let variables = search_log_user::Variables {
                cond: search.cond,
                limit: search.limit,
                offset: search.offset,
                sort: sort_variable(search.sort),
            };
            let found = self
                .run::<SearchLogUser>(variables, Retry::Safe)
                .await?
                .search_log_user;
            Ok(Page::convert(found.elems, found.count))
        }

        /// Creates several users in one transaction; returns their ids in input order.
        pub async fn create_log_users(
            &self,
            users: Vec<NewLogUser>,
            key: Option<&str>,
        ) -> Result<Vec<String>, DataSpaceError> {
            let variables = create_many_log_user::Variables {
                key: idempotency_key(key),
                input: users.into_iter().map(Into::into).collect(),
            };
            let data = self
                .run::<CreateManyLogUser>(variables, Retry::Safe)
                .await?;
            required(required(data.packet, "packet")?.create_many_log_user, "ids")
        }

        /// Changes a user; with `version`, a concurrent change is a
        /// [`DataSpaceError::VersionConflict`].
        pub async fn update_log_user(
            &self,
            update: LogUserUpdate,
            version: Option<Long>,
            key: Option<&str>,
        ) -> Result<LogUser, DataSpaceError> {
            let variables = update_log_user::Variables {
                key: idempotency_key(key),
                version,
                input: update.into(),
            };
            let data = self.run::<UpdateLogUser>(variables, Retry::Safe).await;
            self.changed(Cached::LogUsers);
            let data = data?;
            let packet = required(data.packet, "packet")?;
            Ok(required(packet.update_log_user, "updated user")?.into())
        }

        /// Deletes a user; a missing one is [`DataSpaceError::NotFound`].
        pub async fn delete_log_user(
            &self,
            id: &str,
            key: Option<&str>,
        ) -> Result<(), DataSpaceError> {
            let variables = delete_log_user::Variables {
                key: idempotency_key(key),
                id: id.to_owned(),
            };
            let data = self.run::<DeleteLogUser>(variables, Retry::Safe).await;
            self.changed(Cached::LogUsers);
            let data = data?;
            deleted(required(data.packet, "packet")?.delete_log_user, "user")
        }
    }
}
