//! Who may register bots and how many, and the audit vocabulary: what was attempted (by a
//! chat, an admin, or the delivery worker) and how it ended.

use crate::domain::names::Uid;
use std::fmt;

/// Registration limit when the configuration does not set one.
pub const DEFAULT_MAX_BOTS_PER_ADMIN: u32 = 3;

/// The `register` rule: only configured admins, each owning at most `max_bots_per_admin` bots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationPolicy {
    pub admins: Vec<String>,
    pub max_bots_per_admin: u32,
}

impl Default for RegistrationPolicy {
    /// No admins: nobody may register until the configuration names some.
    fn default() -> Self {
        Self {
            admins: Vec::new(),
            max_bots_per_admin: DEFAULT_MAX_BOTS_PER_ADMIN,
        }
    }
}

impl RegistrationPolicy {
    /// A policy from admin ids (trimmed; empty entries dropped) and a limit.
    pub fn new<I, S>(admins: I, max_bots_per_admin: u32) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            admins: admins
                .into_iter()
                .map(|a| a.as_ref().trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect(),
            max_bots_per_admin,
        }
    }

    /// Whether `uid` is on the admin list (exact match; ids are compared as given).
    pub fn is_admin(&self, uid: &Uid) -> bool {
        self.admins.iter().any(|admin| admin.trim() == uid.as_str())
    }

    /// May `auth_uid`, who already owns `bots_already_owned` bots, register one more?
    pub fn check(
        &self,
        auth_uid: &Uid,
        bots_already_owned: u32,
    ) -> Result<(), RegistrationRefused> {
        if !self.is_admin(auth_uid) {
            return Err(RegistrationRefused::NotAnAdmin);
        }
        if bots_already_owned >= self.max_bots_per_admin {
            return Err(RegistrationRefused::LimitReached {
                limit: self.max_bots_per_admin,
            });
        }
        Ok(())
    }
}

/// Why [`RegistrationPolicy::check`] said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationRefused {
    #[error("not an admin")]
    NotAnAdmin,
    #[error("limit reached ({limit} bots per admin)")]
    LimitReached { limit: u32 },
}

impl RegistrationRefused {
    pub fn reason(self) -> RefusalReason {
        match self {
            RegistrationRefused::NotAnAdmin => RefusalReason::NotAnAdmin,
            RegistrationRefused::LimitReached { .. } => RefusalReason::LimitReached,
        }
    }
}

/// What an audited attempt tried to do (`AuditEvent.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    RegisterBot,
    SubscribeChat,
    UnsubscribeChat,
    ChatStatus,
    ChangeLevel,
    MuteChat,
    UnmuteChat,
    /// Delivery: a chat that is gone ends its subscription.
    EndSubscription,
    /// A group became a supergroup: its subscriptions and deliveries move to the new id.
    MigrateChat,
    /// Delivery: a record given up on (a dead letter).
    DeliverRecord,
}

impl AuditAction {
    pub const ALL: [AuditAction; 10] = [
        AuditAction::RegisterBot,
        AuditAction::SubscribeChat,
        AuditAction::UnsubscribeChat,
        AuditAction::ChatStatus,
        AuditAction::ChangeLevel,
        AuditAction::MuteChat,
        AuditAction::UnmuteChat,
        AuditAction::EndSubscription,
        AuditAction::MigrateChat,
        AuditAction::DeliverRecord,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::RegisterBot => "register_bot",
            AuditAction::SubscribeChat => "subscribe_chat",
            AuditAction::UnsubscribeChat => "unsubscribe_chat",
            AuditAction::ChatStatus => "chat_status",
            AuditAction::ChangeLevel => "change_level",
            AuditAction::MuteChat => "mute_chat",
            AuditAction::UnmuteChat => "unmute_chat",
            AuditAction::EndSubscription => "end_subscription",
            AuditAction::MigrateChat => "migrate_chat",
            AuditAction::DeliverRecord => "deliver_record",
        }
    }

    /// The stored text back into an action.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text.trim())
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an audited attempt was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    NotAnAdmin,
    LimitReached,
    BotNameTaken,
    UnknownToken,
    AlreadySubscribed,
    NotSubscribed,
    InvalidCommand,
}

impl RefusalReason {
    pub const ALL: [RefusalReason; 7] = [
        RefusalReason::NotAnAdmin,
        RefusalReason::LimitReached,
        RefusalReason::BotNameTaken,
        RefusalReason::UnknownToken,
        RefusalReason::AlreadySubscribed,
        RefusalReason::NotSubscribed,
        RefusalReason::InvalidCommand,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::NotAnAdmin => "not_an_admin",
            RefusalReason::LimitReached => "limit_reached",
            RefusalReason::BotNameTaken => "bot_name_taken",
            RefusalReason::UnknownToken => "unknown_token",
            RefusalReason::AlreadySubscribed => "already_subscribed",
            RefusalReason::NotSubscribed => "not_subscribed",
            RefusalReason::InvalidCommand => "invalid_command",
        }
    }
}

impl From<RegistrationRefused> for RefusalReason {
    fn from(refused: RegistrationRefused) -> Self {
        refused.reason()
    }
}

/// How an audited attempt ended (`AuditEvent.outcome`): `accepted` or `refused:<reason>`
/// for a request; the delivery worker's own words for what it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditOutcome {
    Accepted,
    Refused(RefusalReason),
    /// A subscription was ended.
    Ended,
    /// Ending a subscription failed (it is tried again with the chat's next delivery).
    Failed,
    /// A chat's subscriptions moved to its new id.
    Migrated,
    /// A delivery was given up.
    DeadLetter,
}

impl AuditOutcome {
    /// The outcomes that are not a refusal.
    const OTHERS: [AuditOutcome; 5] = [
        AuditOutcome::Accepted,
        AuditOutcome::Ended,
        AuditOutcome::Failed,
        AuditOutcome::Migrated,
        AuditOutcome::DeadLetter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Accepted => "accepted",
            AuditOutcome::Ended => "ended",
            AuditOutcome::Failed => "failed",
            AuditOutcome::Migrated => "migrated",
            AuditOutcome::DeadLetter => "dead_letter",
            AuditOutcome::Refused(reason) => match reason {
                RefusalReason::NotAnAdmin => "refused:not_an_admin",
                RefusalReason::LimitReached => "refused:limit_reached",
                RefusalReason::BotNameTaken => "refused:bot_name_taken",
                RefusalReason::UnknownToken => "refused:unknown_token",
                RefusalReason::AlreadySubscribed => "refused:already_subscribed",
                RefusalReason::NotSubscribed => "refused:not_subscribed",
                RefusalReason::InvalidCommand => "refused:invalid_command",
            },
        }
    }

    /// The stored text back into an outcome.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Some(outcome) = Self::OTHERS.into_iter().find(|o| o.as_str() == text) {
            return Some(outcome);
        }
        let reason = text.strip_prefix("refused:")?;
        RefusalReason::ALL
            .into_iter()
            .find(|r| r.as_str() == reason)
            .map(AuditOutcome::Refused)
    }

    pub fn is_accepted(self) -> bool {
        self == AuditOutcome::Accepted
    }
}

impl From<Result<(), RegistrationRefused>> for AuditOutcome {
    fn from(result: Result<(), RegistrationRefused>) -> Self {
        match result {
            Ok(()) => AuditOutcome::Accepted,
            Err(refused) => AuditOutcome::Refused(refused.reason()),
        }
    }
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(s: &str) -> Uid {
        Uid::parse(s).unwrap()
    }

    #[test]
    fn admins_within_limit_may_register() {
        let policy = RegistrationPolicy::new(["42", " 7 ", ""], 3);
        assert_eq!(policy.admins, ["42", "7"]);
        assert_eq!(policy.check(&uid("42"), 0), Ok(()));
        assert_eq!(policy.check(&uid("7"), 2), Ok(()));
    }

    #[test]
    fn limit_is_inclusive() {
        let policy = RegistrationPolicy::new(["42"], 3);
        assert_eq!(policy.check(&uid("42"), 2), Ok(()));
        assert_eq!(
            policy.check(&uid("42"), 3),
            Err(RegistrationRefused::LimitReached { limit: 3 })
        );
        assert_eq!(
            policy.check(&uid("42"), u32::MAX),
            Err(RegistrationRefused::LimitReached { limit: 3 })
        );
        let closed = RegistrationPolicy::new(["42"], 0);
        assert_eq!(
            closed.check(&uid("42"), 0),
            Err(RegistrationRefused::LimitReached { limit: 0 })
        );
    }

    #[test]
    fn non_admins_are_refused_first() {
        let policy = RegistrationPolicy::new(["42"], 3);
        for other in ["43", "4", "420", "admin", "ADMIN"] {
            assert_eq!(
                policy.check(&uid(other), 0),
                Err(RegistrationRefused::NotAnAdmin),
                "{other}"
            );
        }
        // Not an admin wins over the limit, so the reply does not reveal the limit.
        assert_eq!(
            policy.check(&uid("43"), 99),
            Err(RegistrationRefused::NotAnAdmin)
        );
        assert_eq!(
            RegistrationPolicy::default().check(&uid("42"), 0),
            Err(RegistrationRefused::NotAnAdmin)
        );
        assert_eq!(RegistrationPolicy::default().max_bots_per_admin, 3);
    }

    #[test]
    fn admin_ids_compare_exactly() {
        let policy = RegistrationPolicy::new(["Alice", "Иван"], 1);
        assert!(policy.is_admin(&uid("Alice")));
        assert!(!policy.is_admin(&uid("alice")));
        assert!(policy.is_admin(&uid(" Иван ")));
    }

    #[test]
    fn refusal_texts() {
        assert_eq!(RegistrationRefused::NotAnAdmin.to_string(), "not an admin");
        assert_eq!(
            RegistrationRefused::LimitReached { limit: 3 }.to_string(),
            "limit reached (3 bots per admin)"
        );
    }

    #[test]
    fn audit_words() {
        assert_eq!(AuditAction::RegisterBot.as_str(), "register_bot");
        assert_eq!(AuditAction::SubscribeChat.as_str(), "subscribe_chat");
        assert_eq!(AuditAction::UnsubscribeChat.as_str(), "unsubscribe_chat");
        assert_eq!(AuditAction::EndSubscription.as_str(), "end_subscription");
        assert_eq!(AuditAction::MigrateChat.as_str(), "migrate_chat");
        assert_eq!(AuditAction::DeliverRecord.as_str(), "deliver_record");
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
            assert_eq!(action.to_string(), action.as_str());
        }
        assert_eq!(AuditAction::parse("drop_table"), None);
    }

    #[test]
    fn audit_outcomes() {
        assert_eq!(AuditOutcome::Accepted.as_str(), "accepted");
        assert_eq!(
            AuditOutcome::Refused(RefusalReason::NotAnAdmin).as_str(),
            "refused:not_an_admin"
        );
        assert_eq!(
            AuditOutcome::from(Err(RegistrationRefused::LimitReached { limit: 1 })).as_str(),
            "refused:limit_reached"
        );
        assert_eq!(AuditOutcome::from(Ok(())), AuditOutcome::Accepted);
        assert!(AuditOutcome::Accepted.is_accepted());
        let mut all = AuditOutcome::OTHERS.to_vec();
        all.extend(RefusalReason::ALL.map(AuditOutcome::Refused));
        assert!(!AuditOutcome::DeadLetter.is_accepted());
        assert_eq!(AuditOutcome::DeadLetter.as_str(), "dead_letter");
        for outcome in all {
            assert_eq!(AuditOutcome::parse(outcome.as_str()), Some(outcome));
            if let AuditOutcome::Refused(reason) = outcome {
                assert_eq!(outcome.as_str(), format!("refused:{}", reason.as_str()));
            }
        }
        assert_eq!(AuditOutcome::parse("refused:"), None);
        assert_eq!(AuditOutcome::parse("refused:whatever"), None);
        assert_eq!(AuditOutcome::parse("ok"), None);
    }
}
