//! The typed DataSpace client against the real local DataSpace on loopback, with real
//! signatures: every class's operations, conditions with sort/limit/offset/count, hostile
//! `@strExpr` values, idempotent replay, classified errors, and bounded retries.

use crate::support::signing::verify_received;
use graphql_client::GraphQLQuery;
use logbot_gateway::apig::KeyRing;
use logbot_gateway::dataspace::operations::bot::{GetBot, Ping, get_bot, ping};
use logbot_gateway::dataspace::operations::log_record::{
    CreateManyLogRecord, create_many_log_record,
};
use logbot_gateway::dataspace::operations::{
    AuditEventUpdate, BotUpdate, ChatSubscriptionUpdate, LogRecordFilter, LogRecordUpdate,
    LogUserUpdate, NewAuditEvent, NewChatSubscription, NewLogRecord, NewLogUser, Search, SortBy,
};
use logbot_gateway::dataspace::{Backoff, DataSpaceClient, DataSpaceError, Retry};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::dataspace::{self, LocalDs, client_for, new_bot};

struct Harness {
    ds: LocalDs,
    client: DataSpaceClient,
}

async fn start() -> Harness {
    let ds = dataspace::start().await;
    let client = ds.client();
    Harness { ds, client }
}

fn record(level: &str, message: &str, event_at: &str) -> NewLogRecord {
    NewLogRecord {
        level: level.to_owned(),
        message: message.to_owned(),
        event_at: event_at.to_owned(),
        received_at: "2026-11-22T09:00:00.000".into(),
        ..Default::default()
    }
}

fn names(bots: &[logbot_gateway::dataspace::operations::Bot]) -> Vec<&str> {
    bots.iter().map(|bot| bot.name.as_str()).collect()
}

#[tokio::test]
async fn bots_are_created_read_updated_and_deleted() {
    let h = start().await;
    let client = &h.client;
    h.client.ping().await.unwrap();

    let created = client
        .create_bot(new_bot("df", "admin-1"), None)
        .await
        .unwrap();
    assert_eq!(created.name, "df");
    assert_eq!(created.bot_token, "token-of-df");
    assert_eq!(created.created_at, "2026-11-22T08:00:00.000");
    assert!(created.id.parse::<i64>().is_ok(), "{}", created.id);
    assert!(!format!("{created:?}").contains("token-of-df"));

    assert_eq!(
        client.get_bot(&created.id).await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(
        client.find_bot_by_name("df").await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(client.find_bot_by_name("DF").await.unwrap(), None);
    assert_eq!(
        client
            .find_bot_by_auth_token_hash("hash-of-df")
            .await
            .unwrap(),
        Some(created.clone())
    );
    assert_eq!(
        client.find_bot_by_auth_token_hash("hash-of").await.unwrap(),
        None
    );

    let update = BotUpdate {
        id: created.id.clone(),
        status: Some("BLOCKED".into()),
        ..Default::default()
    };
    let updated = client
        .update_bot(update, Some(created.agg_version), None)
        .await
        .unwrap();
    assert_eq!(updated.status, "BLOCKED");
    assert_eq!(updated.name, "df", "fields left as None are unchanged");
    assert!(updated.agg_version > created.agg_version);

    // An update against the version read before the last one conflicts.
    let stale = BotUpdate {
        id: created.id.clone(),
        status: Some("ACTIVE".into()),
        ..Default::default()
    };
    let error = client
        .update_bot(stale, Some(created.agg_version), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, DataSpaceError::VersionConflict(_)),
        "{error:?}"
    );

    client.delete_bot(&created.id, None).await.unwrap();
    assert_eq!(client.get_bot(&created.id).await.unwrap(), None);
    let error = client.delete_bot(&created.id, None).await.unwrap_err();
    assert!(matches!(error, DataSpaceError::NotFound(_)), "{error:?}");
    let missing = get_bot::Variables {
        id: created.id.clone(),
        fail_on_empty: true,
    };
    let outcome = client.run::<GetBot>(missing, Retry::Safe).await;
    assert!(matches!(outcome, Err(DataSpaceError::NotFound(_))));
}

#[tokio::test]
async fn searches_honour_cond_sort_limit_offset_and_count() {
    let h = start().await;
    let client = &h.client;
    let ids = client
        .create_bots(
            ["delta", "alpha", "echo", "charlie", "bravo"]
                .iter()
                .map(|name| new_bot(name, if *name < "d" { "owner-a" } else { "owner-b" }))
                .collect(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(ids.len(), 5);

    let page = client
        .search_bots(Search {
            cond: Some("it.ownerUid == 'owner-a'".into()),
            limit: Some(2),
            offset: Some(1),
            sort: vec![SortBy::desc("it.name")],
        })
        .await
        .unwrap();
    assert_eq!(page.count, 3, "count ignores limit and offset");
    assert_eq!(names(&page.elems), ["bravo", "alpha"]);

    let all = client
        .search_bots(Search {
            sort: vec![SortBy::asc("it.name")],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.count, 5);
    assert_eq!(
        names(&all.elems),
        ["alpha", "bravo", "charlie", "delta", "echo"]
    );

    // Paging an owner's bots in creation (id) order.
    let first = client.find_bots_by_owner("owner-b", 1, 0).await.unwrap();
    let second = client.find_bots_by_owner("owner-b", 1, 1).await.unwrap();
    let third = client.find_bots_by_owner("owner-b", 1, 2).await.unwrap();
    assert_eq!((first.count, second.count, third.count), (2, 2, 2));
    assert_eq!(names(&first.elems), ["delta"]);
    assert_eq!(names(&second.elems), ["echo"]);
    assert!(third.elems.is_empty());

    let error = client
        .search_bots(Search {
            cond: Some("it.nope == 1".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(error, DataSpaceError::Invalid(_)), "{error:?}");
}

#[tokio::test]
async fn duplicate_names_are_unique_violations() {
    let h = start().await;
    h.client.create_bot(new_bot("df", "a"), None).await.unwrap();
    let error = h
        .client
        .create_bot(new_bot("df", "b"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, DataSpaceError::UniqueViolation(_)),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    let bots = h.client.search_bots(Search::default()).await.unwrap();
    assert_eq!(bots.count, 1);

    let user = NewLogUser {
        username: "ann".into(),
        token_hash: "h".into(),
        telegram_id: None,
        bot: None,
        created_at: "2026-11-22T08:00:00".into(),
    };
    h.client.create_log_user(user.clone(), None).await.unwrap();
    let error = h.client.create_log_user(user, None).await.unwrap_err();
    assert!(
        matches!(error, DataSpaceError::UniqueViolation(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn hostile_values_match_only_themselves() {
    let h = start().await;
    let client = &h.client;
    let hostile = [
        "' || 1==1 || '",
        "x' || it.name != 'x",
        "\" || true || \"",
        "a\\' || true || \\'",
        "${name}",
        "%",
        "it.name",
        "')) || ((it.name != '",
    ];
    client
        .create_bot(new_bot("plain", "owner"), None)
        .await
        .unwrap();
    for value in hostile {
        assert_eq!(
            client.find_bot_by_name(value).await.unwrap(),
            None,
            "{value}"
        );
        assert!(
            client
                .find_bots_by_owner(value, 10, 0)
                .await
                .unwrap()
                .elems
                .is_empty()
        );
        assert_eq!(client.find_log_user_by_username(value).await.unwrap(), None);
        assert!(
            client
                .find_audit_events_by_actor(value, 10, 0)
                .await
                .unwrap()
                .elems
                .is_empty()
        );
    }
    // A bot whose name is hostile is found by exactly that name, and nothing else is.
    let tricky = client
        .create_bot(new_bot(hostile[0], "owner"), None)
        .await
        .unwrap();
    let found = client.find_bot_by_name(hostile[0]).await.unwrap();
    assert_eq!(found.map(|bot| bot.id), Some(tricky.id.clone()));
    assert_eq!(
        client
            .find_bot_by_name("plain")
            .await
            .unwrap()
            .unwrap()
            .name,
        "plain"
    );

    // Subscriptions: a hostile chat id or bot id matches nothing.
    let subscription = NewChatSubscription {
        bot: tricky.id.clone(),
        chat_id: "100".into(),
        subscriber_uid: None,
        min_level: "info".into(),
        active: true,
        created_at: "2026-11-22T08:00:00".into(),
        ..Default::default()
    };
    client
        .create_subscription(subscription, None)
        .await
        .unwrap();
    for value in hostile {
        assert_eq!(
            client.find_subscription(&tricky.id, value).await.unwrap(),
            None
        );
        assert!(
            client
                .find_active_subscriptions(value)
                .await
                .unwrap()
                .is_empty()
        );
    }

    // Log filters: a hostile request id matches nothing; `%` in `contains` is literal.
    client
        .create_log_records(
            &tricky.id,
            vec![
                record("info", "50% done", "2026-11-22T08:00:00"),
                record("info", "all done", "2026-11-22T08:00:01"),
            ],
            None,
        )
        .await
        .unwrap();
    let filter = |request_id: Option<&str>, contains: Option<&str>| LogRecordFilter {
        with_count: true,
        bot: tricky.id.clone(),
        request_id: request_id.map(str::to_owned),
        contains: contains.map(str::to_owned),
        limit: 10,
        ..Default::default()
    };
    for value in hostile {
        let page = client
            .search_log_records(&filter(Some(value), None))
            .await
            .unwrap();
        assert_eq!(page.count, 0, "{value}");
    }
    let percent = client
        .search_log_records(&filter(None, Some("%")))
        .await
        .unwrap();
    assert_eq!(percent.count, 1);
    assert_eq!(percent.records[0].message, "50% done");
    let underscore = client
        .search_log_records(&filter(None, Some("_")))
        .await
        .unwrap();
    assert_eq!(underscore.count, 0);
}

#[tokio::test]
async fn an_idempotent_replay_writes_nothing_and_returns_the_first_ids() {
    let h = start().await;
    let client = &h.client;
    let bot = client.create_bot(new_bot("df", "o"), None).await.unwrap();
    let batch: Vec<NewLogRecord> = (0..3)
        .map(|n| record("info", &format!("m{n}"), "2026-11-22T08:00:00"))
        .collect();
    let first = client
        .create_log_records(&bot.id, batch.clone(), Some("batch-1"))
        .await
        .unwrap();
    let second = client
        .create_log_records(&bot.id, batch.clone(), Some("batch-1"))
        .await
        .unwrap();
    assert_eq!(first.len(), 3);
    assert_eq!(first, second);
    let stored = |client: DataSpaceClient, bot: String| async move {
        let filter = LogRecordFilter {
            with_count: true,
            bot,
            limit: 100,
            ..Default::default()
        };
        client.search_log_records(&filter).await.unwrap().count
    };
    assert_eq!(stored(client.clone(), bot.id.clone()).await, 3);

    // The replay is reported as such by the packet.
    let replay = create_many_log_record::Variables {
        key: "batch-1".into(),
        input: vec![],
    };
    let data = client
        .run::<CreateManyLogRecord>(replay, Retry::Safe)
        .await
        .unwrap();
    let packet = data.packet.unwrap();
    assert!(packet.is_idempotence_response);
    assert_eq!(packet.create_many_log_record, Some(first.clone()));

    // Without a key every call is new: the client made one up per call.
    let third = client
        .create_log_records(&bot.id, batch, None)
        .await
        .unwrap();
    assert_ne!(third, first);
    assert_eq!(stored(client.clone(), bot.id.clone()).await, 6);
    assert_eq!(
        client
            .create_log_records(&bot.id, vec![], None)
            .await
            .unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn log_records_are_filtered_and_paged_by_id_cursor() {
    let h = start().await;
    let client = &h.client;
    let bot = client.create_bot(new_bot("df", "o"), None).await.unwrap();
    let other = client
        .create_bot(new_bot("other", "o"), None)
        .await
        .unwrap();
    let levels = ["info", "warning", "error"];
    let batch: Vec<NewLogRecord> = (0..12)
        .map(|n| NewLogRecord {
            request_id: Some(format!("RP{}", n % 4)),
            status_code: Some(200 + n),
            source_pid: Some(1000 + n),
            attributes: Some(format!("{{\"n\":{n}}}")),
            ..record(
                levels[n as usize % 3],
                &format!("message {n}"),
                &format!("2026-11-22T08:00:{n:02}.000"),
            )
        })
        .collect();
    let ids = client
        .create_log_records(&bot.id, batch, None)
        .await
        .unwrap();
    assert_eq!(ids.len(), 12);
    client
        .create_log_records(
            &other.id,
            vec![record("error", "elsewhere", "2026-11-22T08:00:00")],
            None,
        )
        .await
        .unwrap();

    // Cursor paging walks every record of the bot once, newest first.
    let mut filter = LogRecordFilter {
        with_count: true,
        bot: bot.id.clone(),
        limit: 5,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut counts = Vec::new();
    loop {
        let page = client.search_log_records(&filter).await.unwrap();
        counts.push(page.count);
        seen.extend(page.records.iter().map(|record| record.id.clone()));
        match page.next_cursor {
            Some(cursor) => filter.before = Some(cursor),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected);
    assert_eq!(counts, [12, 7, 2]);

    let page =
        |filter: LogRecordFilter| async move { client.search_log_records(&filter).await.unwrap() };
    let base = LogRecordFilter {
        with_count: true,
        bot: bot.id.clone(),
        limit: 100,
        ..Default::default()
    };
    let errors = page(LogRecordFilter {
        with_count: true,
        levels: vec!["error".into(), "warning".into()],
        ..base.clone()
    })
    .await;
    assert_eq!(errors.count, 8);
    assert!(errors.records.iter().all(|record| record.level != "info"));
    assert_eq!(errors.next_cursor, None);

    let window = page(LogRecordFilter {
        with_count: true,
        from: Some("2026-11-22T08:00:03".into()),
        to: Some("2026-11-22T08:00:06".into()),
        ..base.clone()
    })
    .await;
    let messages: Vec<&str> = window.records.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(messages, ["message 5", "message 4", "message 3"]);

    let by_request = page(LogRecordFilter {
        with_count: true,
        request_id: Some("RP1".into()),
        levels: vec!["warning".into()],
        ..base.clone()
    })
    .await;
    let messages: Vec<&str> = by_request
        .records
        .iter()
        .map(|r| r.message.as_str())
        .collect();
    assert_eq!(messages, ["message 1"]);

    let contains = page(LogRecordFilter {
        with_count: true,
        contains: Some("sage 1".into()),
        ..base.clone()
    })
    .await;
    let messages: Vec<&str> = contains
        .records
        .iter()
        .map(|r| r.message.as_str())
        .collect();
    assert_eq!(messages, ["message 11", "message 10", "message 1"]);
    let other_case = page(LogRecordFilter {
        with_count: true,
        contains: Some("SAGE 1".into()),
        ..base.clone()
    })
    .await;
    assert_eq!(other_case.count, 0, "contains is case-sensitive");

    // Get, update and delete one record; the generic search sees the change.
    let one = client.get_log_record(&ids[0]).await.unwrap().unwrap();
    assert_eq!(one.status_code, Some(200));
    assert_eq!(one.source_pid, Some(1000));
    assert_eq!(one.attributes.as_deref(), Some("{\"n\":0}"));
    let updated = client
        .update_log_record(
            LogRecordUpdate {
                id: one.id.clone(),
                message: Some("edited".into()),
                ..Default::default()
            },
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(updated.message, "edited");
    assert_eq!(updated.level, one.level);
    let edited = client
        .search_log_records_by(Search {
            cond: Some("it.message == 'edited'".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(edited.count, 1);
    client.delete_log_record(&one.id, None).await.unwrap();
    assert_eq!(client.get_log_record(&one.id).await.unwrap(), None);
    let single = client
        .create_log_record(
            &bot.id,
            record("info", "single", "2026-11-22T08:01:00"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(single.bot, bot.id);
    let counted = page(base.clone()).await;
    assert_eq!(counted.count, 12);
    // Without with_count the page is the same, its cursor too, and nothing is counted.
    let paged = |limit| {
        page(LogRecordFilter {
            with_count: false,
            limit,
            ..base.clone()
        })
    };
    let uncounted = paged(100).await;
    assert_eq!((uncounted.count, uncounted.next_cursor), (0, None));
    assert_eq!(uncounted.records, counted.records);
    let exact = paged(12).await;
    assert_eq!((exact.records.len(), exact.next_cursor), (12, None));
    let short = paged(11).await;
    assert_eq!(short.next_cursor, Some(short.records[10].id.clone()));
}

#[tokio::test]
async fn subscriptions_are_created_found_deactivated_and_deleted() {
    let h = start().await;
    let client = &h.client;
    let bot = client.create_bot(new_bot("df", "o"), None).await.unwrap();
    let subscribe = |chat: &str| NewChatSubscription {
        bot: bot.id.clone(),
        chat_id: chat.to_owned(),
        subscriber_uid: Some(format!("user-{chat}")),
        min_level: "warning".into(),
        active: true,
        created_at: "2026-11-22T08:00:00".into(),
        ..Default::default()
    };
    let first = client
        .create_subscription(subscribe("100"), None)
        .await
        .unwrap();
    let more = client
        .create_subscriptions(vec![subscribe("200"), subscribe("300")], None)
        .await
        .unwrap();
    assert_eq!(more.len(), 2);
    assert_eq!(
        client.get_subscription(&first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        client.find_subscription(&bot.id, "100").await.unwrap(),
        Some(first.clone())
    );

    let deactivated = client
        .deactivate_subscription(&more[0], None)
        .await
        .unwrap();
    assert!(!deactivated.active);
    let active = client.find_active_subscriptions(&bot.id).await.unwrap();
    let chats: Vec<&str> = active.iter().map(|s| s.chat_id.as_str()).collect();
    assert_eq!(chats, ["100", "300"]);

    let reactivated = client
        .update_subscription(
            ChatSubscriptionUpdate {
                id: more[0].clone(),
                active: Some(true),
                min_level: Some("error".into()),
                ..Default::default()
            },
            Some(deactivated.agg_version),
            None,
        )
        .await
        .unwrap();
    assert!(reactivated.active);
    assert_eq!(reactivated.min_level, "error");
    assert_eq!(
        client
            .find_active_subscriptions(&bot.id)
            .await
            .unwrap()
            .len(),
        3
    );

    client.delete_subscription(&first.id, None).await.unwrap();
    assert_eq!(
        client.find_subscription(&bot.id, "100").await.unwrap(),
        None
    );
    let remaining = client
        .search_subscriptions(Search {
            cond: Some("it.active == true".into()),
            sort: vec![SortBy::desc("it.chatId")],
            ..Default::default()
        })
        .await
        .unwrap();
    let chats: Vec<&str> = remaining.elems.iter().map(|s| s.chat_id.as_str()).collect();
    assert_eq!(chats, ["300", "200"]);
}

#[tokio::test]
async fn log_users_are_created_found_updated_and_deleted() {
    let h = start().await;
    let client = &h.client;
    let user = NewLogUser {
        username: "ann".into(),
        token_hash: "secret-hash".into(),
        telegram_id: Some("42".into()),
        bot: None,
        created_at: "2026-11-22T08:00:00".into(),
    };
    let created = client.create_log_user(user, None).await.unwrap();
    assert!(!format!("{created:?}").contains("secret-hash"));
    assert_eq!(
        client.find_log_user_by_username("ann").await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(
        client.get_log_user(&created.id).await.unwrap(),
        Some(created.clone())
    );
    let bot = client.create_bot(new_bot("df", "o"), None).await.unwrap();
    let updated = client
        .update_log_user(
            LogUserUpdate {
                id: created.id.clone(),
                bot: Some(bot.id.clone()),
                ..Default::default()
            },
            Some(created.agg_version),
            None,
        )
        .await
        .unwrap();
    assert_eq!(updated.bot, Some(bot.id));
    assert_eq!(updated.token_hash, "secret-hash");
    let ids = client
        .create_log_users(
            ["bob", "cid"]
                .iter()
                .map(|name| NewLogUser {
                    username: (*name).into(),
                    token_hash: "h".into(),
                    telegram_id: None,
                    bot: None,
                    created_at: "2026-11-22T08:00:00".into(),
                })
                .collect(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    let all = client
        .search_log_users(Search {
            sort: vec![SortBy::desc("it.username")],
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.count, 3);
    let usernames: Vec<&str> = all.elems.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(usernames, ["cid", "bob"]);
    client.delete_log_user(&created.id, None).await.unwrap();
    assert_eq!(client.find_log_user_by_username("ann").await.unwrap(), None);
}

#[tokio::test]
async fn audit_events_are_recorded_and_listed_by_actor() {
    let h = start().await;
    let client = &h.client;
    let event = |actor: &str, outcome: &str| NewAuditEvent {
        actor_uid: actor.to_owned(),
        action: "register".into(),
        target: Some("df".into()),
        outcome: outcome.to_owned(),
        at: "2026-11-22T08:00:00".into(),
        details: None,
    };
    let first = client
        .create_audit_event(event("admin", "accepted"), None)
        .await
        .unwrap();
    client
        .create_audit_events(
            vec![event("admin", "refused"), event("stranger", "refused")],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        client.get_audit_event(&first.id).await.unwrap(),
        Some(first.clone())
    );

    let newest = client
        .find_audit_events_by_actor("admin", 1, 0)
        .await
        .unwrap();
    assert_eq!(newest.count, 2);
    assert_eq!(newest.elems[0].outcome, "refused");
    let older = client
        .find_audit_events_by_actor("admin", 1, 1)
        .await
        .unwrap();
    assert_eq!(older.elems, std::slice::from_ref(&first));

    let updated = client
        .update_audit_event(
            AuditEventUpdate {
                id: first.id.clone(),
                details: Some("{\"why\":\"test\"}".into()),
                ..Default::default()
            },
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(updated.details.as_deref(), Some("{\"why\":\"test\"}"));
    client.delete_audit_event(&first.id, None).await.unwrap();
    let refused = client
        .search_audit_events(Search {
            cond: Some("it.outcome == 'refused'".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(refused.count, 2);
    let remaining = client.search_audit_events(Search::default()).await.unwrap();
    assert_eq!(remaining.count, 2);
}

#[tokio::test]
async fn a_wrong_secret_is_unauthorized_with_the_gateway_message() {
    let h = start().await;
    let client = client_for(
        &h.ds.running.url,
        "not-the-secret",
        Duration::from_secs(5),
        3,
    );
    let started = Instant::now();
    let error = client.find_bot_by_name("df").await.unwrap_err();
    match &error {
        DataSpaceError::Unauthorized(message) => assert!(
            message.starts_with("Incorrect app authentication information"),
            "{message}"
        ),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(!error.is_retryable());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "401 is not retried"
    );
    assert!(matches!(
        client.ping().await,
        Err(DataSpaceError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn a_stopped_dataspace_is_unavailable_within_the_deadline() {
    let h = start().await;
    let url = h.ds.running.url.clone();
    h.client.ping().await.unwrap();
    h.ds.running.stop().await;

    let timeout = Duration::from_millis(500);
    let retries = 3;
    let client = client_for(&url, "s", timeout, retries);
    let started = Instant::now();
    let error = client.find_bot_by_name("df").await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(
            error,
            DataSpaceError::Unavailable {
                transient: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        elapsed < timeout * (retries + 1) + Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert!(matches!(
        client.ping().await,
        Err(DataSpaceError::Unavailable { .. })
    ));
    let error = client
        .create_bot(new_bot("df", "o"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, DataSpaceError::Unavailable { .. }),
        "{error:?}"
    );
}

/// A server that accepts connections and never answers: every attempt times out.
async fn silent_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (format!("http://{address}/graphql"), accepted)
}

#[tokio::test]
async fn timeouts_are_retried_within_the_overall_deadline() {
    let (url, accepted) = silent_server().await;
    let timeout = Duration::from_millis(300);
    let client = client_for(&url, "s", timeout, 2);
    let started = Instant::now();
    let error = client.find_bot_by_name("df").await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(error.is_retryable(), "{error:?}");
    assert!(error.message().contains("timed out"), "{error:?}");
    assert!(elapsed >= timeout * 3, "three attempts ran: {elapsed:?}");
    assert!(
        elapsed <= client.deadline_budget() + Duration::from_millis(500),
        "{elapsed:?}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 3);

    // Never-retried calls make one attempt.
    let error = client
        .run::<Ping>(ping::Variables, Retry::Never)
        .await
        .unwrap_err();
    assert!(error.is_retryable());
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
}

/// A server that verifies each request's signature and answers the scripted statuses in turn,
/// then a Ping result.
async fn scripted_server(statuses: Vec<u16>) -> (String, Arc<AtomicUsize>) {
    use axum::{body::Bytes, extract::Request, http::StatusCode, routing::any};
    let keys = KeyRing::new().with("k", "s");
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let app = axum::Router::new().fallback(any(move |request: Request| {
        let keys = keys.clone();
        let statuses = statuses.clone();
        let counter = counter.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            if let Err(error) = verify_received(&parts, &body, &keys) {
                return (StatusCode::UNAUTHORIZED, error.to_string());
            }
            let index = counter.fetch_add(1, Ordering::SeqCst);
            match statuses.get(index) {
                Some(status) => (StatusCode::from_u16(*status).unwrap(), "busy".to_owned()),
                None => (
                    StatusCode::OK,
                    r#"{"data":{"searchBot":{"count":0}}}"#.to_owned(),
                ),
            }
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/graphql"), served)
}

fn quick(url: &str, retries: u32) -> DataSpaceClient {
    client_for(url, "s", Duration::from_secs(2), retries).with_backoff(Backoff {
        base: Duration::from_millis(5),
        cap: Duration::from_millis(20),
    })
}

#[tokio::test]
async fn gateway_busy_answers_are_retried_and_resigned() {
    let (url, served) = scripted_server(vec![503, 429, 502, 504]).await;
    let data = quick(&url, 4)
        .run::<Ping>(ping::Variables, Retry::Safe)
        .await
        .unwrap();
    assert_eq!(data.search_bot.count, 0);
    assert_eq!(
        served.load(Ordering::SeqCst),
        5,
        "four retries, each signed anew"
    );
}

#[tokio::test]
async fn retries_stop_at_the_budget_and_unsafe_calls_are_not_retried() {
    let (url, served) = scripted_server(vec![503; 10]).await;
    let error = quick(&url, 2)
        .run::<Ping>(ping::Variables, Retry::Safe)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        DataSpaceError::Unavailable {
            transient: true,
            ..
        }
    ));
    assert_eq!(served.load(Ordering::SeqCst), 3);

    quick(&url, 2)
        .run::<Ping>(ping::Variables, Retry::Never)
        .await
        .unwrap_err();
    assert_eq!(served.load(Ordering::SeqCst), 4);

    let (url, served) = scripted_server(vec![500, 500]).await;
    let error = quick(&url, 3)
        .run::<Ping>(ping::Variables, Retry::Safe)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        DataSpaceError::Unavailable {
            transient: false,
            ..
        }
    ));
    assert_eq!(served.load(Ordering::SeqCst), 1, "a 500 is not retried");
}

/// A proxy in front of the real DataSpace that passes every request on (signature headers
/// untouched, `host` included) but answers the first one with a 502, as if the response had
/// been lost after DataSpace committed the packet.
async fn lossy_proxy(target: String) -> (String, Arc<AtomicUsize>) {
    use axum::{
        body::Bytes,
        extract::Request,
        http::StatusCode,
        response::{IntoResponse, Response},
        routing::any,
    };
    let forwarded = Arc::new(AtomicUsize::new(0));
    let counter = forwarded.clone();
    let http = reqwest::Client::new();
    let app = axum::Router::new().fallback(any(move |request: Request| {
        let (http, target, counter) = (http.clone(), target.clone(), counter.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body: Bytes = axum::body::to_bytes(body, 1 << 24).await.unwrap();
            let mut headers = parts.headers.clone();
            headers.remove(http::header::CONTENT_LENGTH);
            let answer = http
                .post(&target)
                .headers(headers)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
            let text = answer.text().await.unwrap();
            let response: Response = if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                (StatusCode::BAD_GATEWAY, "upstream connection reset").into_response()
            } else {
                (
                    status,
                    [(http::header::CONTENT_TYPE, "application/json")],
                    text,
                )
                    .into_response()
            };
            response
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/graphql"), forwarded)
}

#[tokio::test]
async fn a_write_whose_answer_was_lost_is_retried_and_lands_once() {
    let h = start().await;
    let bot = h.client.create_bot(new_bot("df", "o"), None).await.unwrap();
    let (proxy, forwarded) = lossy_proxy(h.ds.running.url.clone()).await;
    let through_proxy = quick(&proxy, 3);
    let batch = (0..4)
        .map(|n| record("info", &format!("m{n}"), "2026-11-22T08:00:00"))
        .collect();
    let ids = through_proxy
        .create_log_records(&bot.id, batch, None)
        .await
        .unwrap();
    assert_eq!(ids.len(), 4);
    assert_eq!(
        forwarded.load(Ordering::SeqCst),
        2,
        "DataSpace saw the packet twice"
    );
    let filter = LogRecordFilter {
        with_count: true,
        bot: bot.id.clone(),
        limit: 100,
        ..Default::default()
    };
    let stored = h.client.search_log_records(&filter).await.unwrap();
    assert_eq!(stored.count, 4, "the replayed packet wrote nothing");
    let mut stored_ids: Vec<String> = stored.records.into_iter().map(|r| r.id).collect();
    stored_ids.reverse();
    assert_eq!(stored_ids, ids);
}

#[tokio::test]
async fn one_client_serves_concurrent_callers() {
    let h = start().await;
    let bot = h.client.create_bot(new_bot("df", "o"), None).await.unwrap();
    let writers = (0..16).map(|writer| {
        let client = h.client.clone();
        let bot = bot.id.clone();
        async move {
            let batch = (0..5)
                .map(|n| record("info", &format!("w{writer} m{n}"), "2026-11-22T08:00:00"))
                .collect();
            client
                .create_log_records(&bot, batch, None)
                .await
                .unwrap()
                .len()
        }
    });
    let written: usize = futures_util::future::join_all(writers)
        .await
        .into_iter()
        .sum();
    assert_eq!(written, 80);
    let filter = LogRecordFilter {
        with_count: true,
        bot: bot.id,
        limit: 1,
        ..Default::default()
    };
    assert_eq!(
        h.client.search_log_records(&filter).await.unwrap().count,
        80
    );
}

#[test]
fn operations_send_their_name_and_the_whole_document() {
    let body = Ping::build_query(ping::Variables);
    assert_eq!(body.operation_name, "Ping");
    assert!(body.query.contains("query SearchBotByName"));
}

/// The embedded DataSpace's in-process path: no TCP (the client's URL is a closed port), yet
/// the same signature check, and the same answers as over the network.
#[tokio::test]
async fn the_in_process_path_needs_no_socket_and_still_checks_signatures() {
    use logbot_gateway::apig::AppCredentials;
    use logbot_gateway::dataspace::ClientSettings;
    let ds = dataspace::start().await;
    let in_process = |secret: &str| {
        let transport: Arc<dyn reqwest_middleware::Middleware> =
            Arc::new(ds.running.in_process.clone());
        DataSpaceClient::with_transport(
            ClientSettings {
                url: "http://127.0.0.1:9/graphql".into(),
                credentials: AppCredentials::new(dataspace::KEY, secret),
                timeout: Duration::from_secs(5),
                retries: 0,
            },
            Some(transport),
        )
        .unwrap()
    };
    let client = in_process(dataspace::SECRET);
    client.ping().await.unwrap();
    let bot = client
        .create_bot(new_bot("inproc", "1"), None)
        .await
        .unwrap();
    // Written in process, read over the network: one database.
    let found = ds.client().get_bot(&bot.id).await.unwrap().unwrap();
    assert_eq!(found.name, "inproc");
    match in_process("wrong-secret").ping().await {
        Err(DataSpaceError::Unauthorized(_)) => {}
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}
