//! The classes of the logbot model as the local DataSpace stores them. `schema.graphql` is the
//! contract; this table drives storage (columns, unique indexes, references) and must agree
//! with it: a test in `schema/types.rs` checks that each class's GraphQL inputs have exactly
//! these fields, and the SDL test that those types are `schema.graphql`'s.

use super::cond::{Column, ColumnResolver, ColumnType};

/// How a field is typed and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `String`, stored as TEXT.
    Text,
    /// `Int` or `Long`, stored as INTEGER.
    Integer,
    /// `Boolean`, stored as INTEGER 0/1.
    Boolean,
    /// `_DateTime`, stored as TEXT `YYYY-MM-DDTHH:MM:SS.mmm` so text order is time order.
    DateTime,
    /// `ID` of an object of the named class, stored as INTEGER.
    Reference(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct FieldMeta {
    pub name: &'static str,
    pub ty: FieldType,
    pub required: bool,
    pub unique: bool,
    /// Searched often: gets an index.
    pub indexed: bool,
}

const fn field(name: &'static str, ty: FieldType, required: bool) -> FieldMeta {
    FieldMeta {
        name,
        ty,
        required,
        unique: false,
        indexed: false,
    }
}

const fn unique(name: &'static str) -> FieldMeta {
    FieldMeta {
        name,
        ty: FieldType::Text,
        required: true,
        unique: true,
        indexed: true,
    }
}

const fn indexed(meta: FieldMeta) -> FieldMeta {
    FieldMeta {
        indexed: true,
        ..meta
    }
}

#[derive(Debug)]
pub struct ClassMeta {
    pub name: &'static str,
    pub fields: &'static [FieldMeta],
}

use FieldType::{Boolean, DateTime, Integer, Reference, Text};

pub static BOT: ClassMeta = ClassMeta {
    name: "Bot",
    fields: &[
        unique("name"),
        indexed(field("ownerUid", Text, true)),
        field("messenger", Text, true),
        field("botToken", Text, true),
        field("authTokenHash", Text, true),
        field("createdAt", DateTime, true),
        field("status", Text, true),
    ],
};

pub static CHAT_SUBSCRIPTION: ClassMeta = ClassMeta {
    name: "ChatSubscription",
    fields: &[
        indexed(field("bot", Reference("Bot"), true)),
        field("chatId", Text, true),
        field("subscriberUid", Text, false),
        field("minLevel", Text, true),
        field("active", Boolean, true),
        field("createdAt", DateTime, true),
        field("threadId", Text, false),
        field("mutedUntil", DateTime, false),
        field("mutedSince", DateTime, false),
    ],
};

pub static LOG_RECORD: ClassMeta = ClassMeta {
    name: "LogRecord",
    fields: &[
        indexed(field("bot", Reference("Bot"), true)),
        field("level", Text, true),
        field("message", Text, true),
        field("eventAt", DateTime, true),
        field("receivedAt", DateTime, true),
        field("requestId", Text, false),
        field("statusCode", Integer, false),
        field("sourceUserName", Text, false),
        field("sourcePid", Integer, false),
        field("sourceProcessName", Text, false),
        field("sourceProcessDescription", Text, false),
        field("attributes", Text, false),
    ],
};

pub static LOG_USER: ClassMeta = ClassMeta {
    name: "LogUser",
    fields: &[
        unique("username"),
        field("tokenHash", Text, true),
        field("telegramId", Text, false),
        field("bot", Reference("Bot"), false),
        field("createdAt", DateTime, true),
    ],
};

pub static AUDIT_EVENT: ClassMeta = ClassMeta {
    name: "AuditEvent",
    fields: &[
        indexed(field("actorUid", Text, true)),
        field("action", Text, true),
        field("target", Text, false),
        field("outcome", Text, true),
        field("at", DateTime, true),
        field("details", Text, false),
    ],
};

/// The delivery queue: one row per record and chat. `status` is indexed because every poll of
/// the delivery worker searches the PENDING rows; `createdAt` because pruning looks for the
/// finished ones older than the retention, which should cost nothing when there are none.
pub static DELIVERY: ClassMeta = ClassMeta {
    name: "Delivery",
    fields: &[
        field("record", Reference("LogRecord"), true),
        field("bot", Reference("Bot"), true),
        field("subscription", Text, true),
        field("chatId", Text, true),
        indexed(field("status", Text, true)),
        field("attempts", Integer, true),
        field("partsSent", Integer, true),
        field("nextAttemptAt", DateTime, true),
        field("leaseOwner", Text, false),
        field("leaseUntil", DateTime, false),
        field("lastError", Text, false),
        indexed(field("createdAt", DateTime, true)),
        field("sentAt", DateTime, false),
        field("threadId", Text, false),
    ],
};

/// How far each Telegram bot's updates have been handled (the `getUpdates` offset), so that a
/// restart neither loses nor repeats a command.
pub static TELEGRAM_OFFSET: ClassMeta = ClassMeta {
    name: "TelegramOffset",
    fields: &[
        unique("botId"),
        field("offset", Integer, true),
        field("updatedAt", DateTime, true),
    ],
};

pub static CLASSES: [&ClassMeta; 7] = [
    &BOT,
    &CHAT_SUBSCRIPTION,
    &LOG_RECORD,
    &LOG_USER,
    &AUDIT_EVENT,
    &DELIVERY,
    &TELEGRAM_OFFSET,
];

impl ClassMeta {
    pub fn by_name(name: &str) -> Option<&'static ClassMeta> {
        CLASSES.iter().copied().find(|class| class.name == name)
    }

    pub fn field(&self, name: &str) -> Option<&'static FieldMeta> {
        self.fields.iter().find(|field| field.name == name)
    }
}

/// Quotes an identifier for SQLite. Names come from the static model, never from callers.
pub fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

impl ColumnResolver for ClassMeta {
    fn column(&self, path: &[&str]) -> Option<Column> {
        let [name] = path else { return None };
        let (sql, ty) = match *name {
            "$id" | "id" => ("\"id\"".to_owned(), ColumnType::Id),
            "aggVersion" => ("\"aggVersion\"".to_owned(), ColumnType::Integer),
            _ => {
                let field = self.field(name)?;
                let ty = match field.ty {
                    Text => ColumnType::Text,
                    Integer => ColumnType::Integer,
                    Boolean => ColumnType::Boolean,
                    DateTime => ColumnType::DateTime,
                    Reference(_) => ColumnType::Reference,
                };
                (quoted(field.name), ty)
            }
        };
        Some(Column { sql, ty })
    }
}

/// A class's columns as a store that may keep the trigram index of `LogRecord.message` sees them.
pub struct IndexedColumns<'a> {
    pub class: &'a ClassMeta,
    pub trigram: bool,
}

impl ColumnResolver for IndexedColumns<'_> {
    fn column(&self, path: &[&str]) -> Option<Column> {
        self.class.column(path)
    }

    fn trigram_table(&self, path: &[&str]) -> Option<&'static str> {
        (self.trigram && self.class.name == LOG_RECORD.name && path == ["message"])
            .then_some(LOG_RECORD_MESSAGE_TRIGRAM)
    }
}

/// The FTS5 trigram index of `LogRecord.message` (`migrations::set_trigram_index`), for `contains`.
pub const LOG_RECORD_MESSAGE_TRIGRAM: &str = "LogRecord_message_trigram";
