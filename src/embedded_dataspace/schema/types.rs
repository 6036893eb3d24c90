//! The entity and input types of each class, field for field as in `schema.graphql`. One list
//! per class declares its three types: the entity (`_E_X`), `_CreateXInput` with the same
//! fields, and `_UpdateXInput` with `id` and every field optional. Fields are named in Rust as
//! in `schema.graphql` (camelCase), so that one name serves GraphQL, the stored row and the
//! model.
//!
//! Mirrored by hand rather than generated from the model with `async_graphql::dynamic`: a
//! dynamic schema cannot declare an executable directive (async-graphql 7.2 builds it with no
//! custom directives), so it could not serve `@strExpr`; and the model says how a field is
//! stored, not how it is typed in GraphQL (`Int` and `Long` are both INTEGER, and
//! `Delivery.subscription` is an `ID` stored as text). The SDL test keeps these lists equal to
//! `schema.graphql`, and the test below keeps them equal to the model.

// The fields (and the getters async-graphql derives for them) are named as in schema.graphql.
#![allow(non_snake_case)]

use crate::embedded_dataspace::scalars::{DateTime, Long};
use crate::embedded_dataspace::store::{FieldValue, Fields};
use async_graphql::{ID, InputObject, SimpleObject};
use serde::Deserialize;

/// A typed input value as the store takes it; `None` for an absent optional field.
pub trait IntoFieldValue {
    fn into_field_value(self) -> Option<FieldValue>;
}

/// The type of a field in an `_UpdateXInput`: the entity's type, optional (once).
pub trait Optional {
    type Type;
}

macro_rules! field_value {
    ($($ty:ty => |$value:ident| $into:expr),* $(,)?) => {
        $(
            impl IntoFieldValue for $ty {
                fn into_field_value(self) -> Option<FieldValue> {
                    let $value = self;
                    Some($into)
                }
            }

            impl Optional for $ty {
                type Type = Option<$ty>;
            }
        )*
    };
}

field_value! {
    String => |text| FieldValue::Text(text),
    ID => |id| FieldValue::Text(id.0),
    DateTime => |time| FieldValue::Text(time.0),
    bool => |flag| FieldValue::Boolean(flag),
    i32 => |integer| FieldValue::Integer(i64::from(integer)),
    Long => |long| FieldValue::Integer(long.0),
}

impl<T: IntoFieldValue> IntoFieldValue for Option<T> {
    fn into_field_value(self) -> Option<FieldValue> {
        self.and_then(T::into_field_value)
    }
}

impl<T> Optional for Option<T> {
    type Type = Option<T>;
}

/// Declares a class's entity, create input and update input from its list of fields.
macro_rules! class_types {
    (
        $Entity:ident = $entity:literal, $Create:ident = $create:literal, $Update:ident = $update:literal {
            $($field:ident: $ty:ty),* $(,)?
        }
    ) => {
        #[derive(SimpleObject, Deserialize, Debug)]
        #[graphql(name = $entity)]
        pub struct $Entity {
            id: ID,
            aggVersion: Long,
            $($field: $ty,)*
        }

        #[derive(InputObject)]
        #[graphql(name = $create)]
        pub struct $Create {
            $($field: $ty,)*
        }

        #[derive(InputObject)]
        #[graphql(name = $update)]
        pub struct $Update {
            id: ID,
            $($field: <$ty as Optional>::Type,)*
        }

        impl $Create {
            /// The field names, in order.
            #[cfg(test)]
            pub const FIELDS: &[&str] = &[$(stringify!($field)),*];

            /// The values to store; an optional field left out is stored as null.
            pub fn into_fields(self) -> Fields {
                let mut fields = Vec::new();
                $(
                    if let Some(value) = self.$field.into_field_value() {
                        fields.push((stringify!($field), value));
                    }
                )*
                fields
            }
        }

        impl $Update {
            /// The id of the object and the values to change; a field left out (or null) is
            /// left as it is.
            pub fn into_changes(self) -> (String, Fields) {
                let mut changes = Vec::new();
                $(
                    if let Some(value) = self.$field.into_field_value() {
                        changes.push((stringify!($field), value));
                    }
                )*
                (self.id.0, changes)
            }
        }
    };
}

class_types! {
    BotEntity = "_E_Bot", BotCreate = "_CreateBotInput", BotUpdate = "_UpdateBotInput" {
        name: String,
        ownerUid: String,
        messenger: String,
        botToken: String,
        authTokenHash: String,
        createdAt: DateTime,
        status: String,
    }
}

class_types! {
    ChatSubscriptionEntity = "_E_ChatSubscription", ChatSubscriptionCreate = "_CreateChatSubscriptionInput", ChatSubscriptionUpdate = "_UpdateChatSubscriptionInput" {
        bot: ID,
        chatId: String,
        subscriberUid: Option<String>,
        minLevel: String,
        active: bool,
        createdAt: DateTime,
        threadId: Option<String>,
        mutedUntil: Option<DateTime>,
        mutedSince: Option<DateTime>,
    }
}

class_types! {
    LogRecordEntity = "_E_LogRecord", LogRecordCreate = "_CreateLogRecordInput", LogRecordUpdate = "_UpdateLogRecordInput" {
        bot: ID,
        level: String,
        message: String,
        eventAt: DateTime,
        receivedAt: DateTime,
        requestId: Option<String>,
        statusCode: Option<i32>,
        sourceUserName: Option<String>,
        sourcePid: Option<Long>,
        sourceProcessName: Option<String>,
        sourceProcessDescription: Option<String>,
        attributes: Option<String>,
    }
}

class_types! {
    LogUserEntity = "_E_LogUser", LogUserCreate = "_CreateLogUserInput", LogUserUpdate = "_UpdateLogUserInput" {
        username: String,
        tokenHash: String,
        telegramId: Option<String>,
        bot: Option<ID>,
        createdAt: DateTime,
    }
}

class_types! {
    AuditEventEntity = "_E_AuditEvent", AuditEventCreate = "_CreateAuditEventInput", AuditEventUpdate = "_UpdateAuditEventInput" {
        actorUid: String,
        action: String,
        target: Option<String>,
        outcome: String,
        at: DateTime,
        details: Option<String>,
    }
}

class_types! {
    DeliveryEntity = "_E_Delivery", DeliveryCreate = "_CreateDeliveryInput", DeliveryUpdate = "_UpdateDeliveryInput" {
        record: ID,
        bot: ID,
        subscription: ID,
        chatId: String,
        status: String,
        attempts: i32,
        partsSent: i32,
        nextAttemptAt: DateTime,
        leaseOwner: Option<String>,
        leaseUntil: Option<DateTime>,
        lastError: Option<String>,
        createdAt: DateTime,
        sentAt: Option<DateTime>,
        threadId: Option<String>,
    }
}

class_types! {
    TelegramOffsetEntity = "_E_TelegramOffset", TelegramOffsetCreate = "_CreateTelegramOffsetInput", TelegramOffsetUpdate = "_UpdateTelegramOffsetInput" {
        botId: String,
        offset: Long,
        updatedAt: DateTime,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded_dataspace::model::{self, ClassMeta};

    /// A packet can neither give a field the store does not know nor leave out one it keeps.
    #[test]
    fn each_create_input_has_the_fields_of_the_model_in_order() {
        let classes: [(&ClassMeta, &[&str]); 7] = [
            (&model::BOT, BotCreate::FIELDS),
            (&model::CHAT_SUBSCRIPTION, ChatSubscriptionCreate::FIELDS),
            (&model::LOG_RECORD, LogRecordCreate::FIELDS),
            (&model::LOG_USER, LogUserCreate::FIELDS),
            (&model::AUDIT_EVENT, AuditEventCreate::FIELDS),
            (&model::DELIVERY, DeliveryCreate::FIELDS),
            (&model::TELEGRAM_OFFSET, TelegramOffsetCreate::FIELDS),
        ];
        for (class, fields) in classes {
            let stored: Vec<&str> = class.fields.iter().map(|field| field.name).collect();
            assert_eq!(fields, stored.as_slice(), "{}", class.name);
        }
    }
}
