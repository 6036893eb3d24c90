//! The embedded DataSpace's direct calls (`embedded_dataspace::direct`) answer what the signed
//! HTTP endpoint answers: the same pages for every `logs` filter, with and without the trigram
//! index, the same record by id, and the same refusals. The group commit tests (`group_commit.rs`) run both ways for
//! the packets.

use crate::support::dataspace::{self, LocalDs};
use logbot_gateway::dataspace::operations::{LogRecordFilter, NewLogRecord, now};
use logbot_gateway::dataspace::{DataSpaceClient, DataSpaceError};
use logbot_gateway::embedded_dataspace::ContainsIndex;

struct Both {
    _ds: LocalDs,
    signed: DataSpaceClient,
    direct: DataSpaceClient,
    bot: String,
}

const LEVELS: [&str; 4] = ["DEBUG", "INFO", "WARN", "ERROR"];

/// 60 records: levels in turn, a request id on every third, eventAt a minute apart from
/// 2026-01-01, and messages with the `$like` wildcards `%` and `_` in some.
fn seed() -> Vec<NewLogRecord> {
    (0..60)
        .map(|index| NewLogRecord {
            level: LEVELS[index % 4].into(),
            message: match index % 5 {
                0 => format!("disk 100% full on node-{index}"),
                1 => format!("user_id {index} logged in"),
                _ => format!("plain record {index}"),
            },
            event_at: format!("2026-01-01T{:02}:{:02}:00.000", index / 60, index % 60),
            received_at: now(),
            request_id: (index % 3 == 0).then(|| format!("req-{}", index / 3)),
            status_code: Some(200 + index as i64),
            ..Default::default()
        })
        .collect()
}

async fn start(contains_index: ContainsIndex) -> Both {
    let ds = dataspace::start_with_index(contains_index).await;
    let signed = ds.client();
    let direct = ds.direct_client();
    let bot = signed
        .create_bot(dataspace::new_bot("direct", "u1"), None)
        .await
        .unwrap()
        .id;
    let records = seed();
    // Half stored each way, so each path reads what the other wrote.
    let (first, second) = records.split_at(30);
    let none: &[Vec<logbot_gateway::dataspace::operations::NewDelivery>] = &[];
    for (client, batch) in [(&signed, first), (&direct, second)] {
        let stored = client
            .store_log_records_with_deliveries(&bot, batch, none, None, &now())
            .await
            .unwrap();
        assert_eq!(stored.ids.len(), 30);
    }
    Both {
        _ds: ds,
        signed,
        direct,
        bot,
    }
}

/// Filters covering each clause of the search, alone and together, with and without counts.
fn filters(bot: &str) -> Vec<LogRecordFilter> {
    let base = LogRecordFilter {
        bot: bot.to_owned(),
        limit: 7,
        ..Default::default()
    };
    let with = |change: &dyn Fn(&mut LogRecordFilter)| {
        let mut filter = base.clone();
        change(&mut filter);
        filter
    };
    vec![
        base.clone(),
        with(&|f| f.with_count = true),
        with(&|f| f.limit = 100),
        with(&|f| f.levels = vec!["ERROR".into()]),
        with(&|f| f.levels = vec!["WARN".into(), "ERROR".into(), "ERROR".into()]),
        with(&|f| f.request_id = Some("req-4".into())),
        with(&|f| f.request_id = Some("req-none".into())),
        with(&|f| f.contains = Some("100%".into())),
        with(&|f| f.contains = Some("user_id".into())),
        with(&|f| f.contains = Some("%".into())),
        with(&|f| f.contains = Some("no such text".into())),
        with(&|f| {
            f.from = Some("2026-01-01T00:10:00.000".into());
            f.to = Some("2026-01-01T00:20:00".into());
            f.with_count = true;
        }),
        with(&|f| f.before = Some("40".into())),
        with(&|f| {
            f.levels = vec!["INFO".into(), "ERROR".into()];
            f.contains = Some("record".into());
            f.from = Some("2026-01-01T00:05:00.000".into());
            f.before = Some("50".into());
            f.with_count = true;
        }),
        LogRecordFilter {
            bot: "999999".into(),
            ..base.clone()
        },
    ]
}

async fn same_pages(both: &Both) {
    for filter in filters(&both.bot) {
        let signed = both.signed.search_log_records(&filter).await.unwrap();
        let direct = both.direct.search_log_records(&filter).await.unwrap();
        assert_eq!(direct, signed, "{filter:?}");
    }
    // Pages walked by cursor: the same records, each once.
    let mut cursor = None;
    let mut walked = 0;
    loop {
        let filter = LogRecordFilter {
            bot: both.bot.clone(),
            limit: 8,
            before: cursor,
            ..Default::default()
        };
        let direct = both.direct.search_log_records(&filter).await.unwrap();
        assert_eq!(
            direct,
            both.signed.search_log_records(&filter).await.unwrap()
        );
        walked += direct.records.len();
        cursor = direct.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(walked, 60);
}

#[tokio::test]
async fn every_logs_filter_finds_the_same_page_both_ways() {
    let both = start(ContainsIndex::None).await;
    let all = LogRecordFilter {
        bot: both.bot.clone(),
        limit: 100,
        with_count: true,
        ..Default::default()
    };
    let page = both.direct.search_log_records(&all).await.unwrap();
    assert_eq!(
        (page.records.len(), page.count),
        (60, 60),
        "the test has data"
    );
    same_pages(&both).await;
}

#[tokio::test]
async fn every_logs_filter_finds_the_same_page_both_ways_with_the_trigram_index() {
    same_pages(&start(ContainsIndex::Trigram).await).await;
}

#[tokio::test]
async fn a_time_that_is_not_a_datetime_is_refused_both_ways() {
    let both = start(ContainsIndex::None).await;
    let filter = LogRecordFilter {
        bot: both.bot.clone(),
        from: Some("yesterday".into()),
        limit: 5,
        ..Default::default()
    };
    for client in [&both.signed, &both.direct] {
        let error = client.search_log_records(&filter).await.unwrap_err();
        assert!(
            matches!(&error, DataSpaceError::Invalid(message) if message.contains("_DateTime")),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn a_record_is_read_by_id_the_same_both_ways() {
    let both = start(ContainsIndex::None).await;
    let newest = LogRecordFilter {
        bot: both.bot.clone(),
        limit: 1,
        ..Default::default()
    };
    let id = both
        .signed
        .search_log_records(&newest)
        .await
        .unwrap()
        .records[0]
        .id
        .clone();
    for id in [id.as_str(), "999999", "not-an-id"] {
        let signed = both.signed.get_log_record(id).await;
        let direct = both.direct.get_log_record(id).await;
        assert_eq!(direct, signed, "{id}");
    }
    let found = both.direct.get_log_record(&id).await.unwrap().unwrap();
    assert_eq!(
        (found.id.as_str(), found.bot.as_str()),
        (id.as_str(), both.bot.as_str())
    );
    assert_eq!(both.direct.get_log_record("999999").await, Ok(None));
}

/// The delivery worker's queue reads (the oldest pending with the queue depth, and the newest
/// pending) find the same deliveries both ways, and only pending ones.
#[tokio::test]
async fn the_delivery_queue_reads_the_same_both_ways() {
    use logbot_gateway::dataspace::operations::NewDelivery;
    let both = start(ContainsIndex::None).await;
    let to = |chat: usize| NewDelivery {
        subscription: format!("sub-{chat}"),
        chat_id: format!("{}", 3000 + chat),
        thread_id: (chat == 1).then(|| "7".to_owned()),
    };
    let records: Vec<NewLogRecord> = seed().into_iter().take(12).collect();
    let deliveries = vec![vec![to(0), to(1), to(2)]; records.len()];
    both.signed
        .store_log_records_with_deliveries(&both.bot, &records, &deliveries, None, &now())
        .await
        .unwrap();
    let oldest = both.signed.pending_deliveries(1000).await.unwrap();
    assert_eq!((oldest.elems.len(), oldest.count), (36, 36));
    // Three no longer pending: the queue reads leave them out.
    let finished: Vec<String> = oldest.elems[..3].iter().map(|d| d.id.clone()).collect();
    both.signed
        .finish_deliveries(&finished, "SENT", "direct-queue-test")
        .await
        .unwrap();
    for limit in [1, 5, 1000] {
        let signed = both.signed.pending_deliveries(limit).await.unwrap();
        let direct = both.direct.pending_deliveries(limit).await.unwrap();
        assert_eq!(direct.elems, signed.elems, "oldest {limit}");
        assert_eq!((direct.count, signed.count), (33, 33), "queue depth");
        let signed = both.signed.newest_pending_deliveries(limit).await.unwrap();
        let direct = both.direct.newest_pending_deliveries(limit).await.unwrap();
        assert_eq!(direct, signed, "newest {limit}");
        assert_eq!(direct.len(), (limit as usize).min(33));
    }
    let direct = both.direct.pending_deliveries(1000).await.unwrap().elems;
    assert!(
        direct
            .iter()
            .all(|d| !finished.contains(&d.id) && d.status == "PENDING")
    );
    assert!(
        direct
            .windows(2)
            .all(|pair| pair[0].id.parse::<i64>().unwrap() < pair[1].id.parse::<i64>().unwrap())
    );
}
