//! `LogRecord`: the generated operations of `queries/log_record.graphql`, the filtered,
//! cursor-paged search, and the client's record methods (batch ingest in one packet).

use super::{_DateTime, Long, Page, Search, sort_variable};
use crate::dataspace::client::{DataSpaceClient, Retry};
use crate::dataspace::direct::{DirectDataSpace, DirectSearch, Placeholder};
use crate::dataspace::error::DataSpaceError;
use graphql_client::GraphQLQuery;
use std::sync::Arc;

macro_rules! log_record_operation {
    ($name:ident) => {
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "schema.graphql",
            query_path = "queries/log_record.graphql",
            response_derives = "Debug, Clone, PartialEq",
            skip_serializing_none
        )]
        pub struct $name;
    };
}

log_record_operation!(SearchLogRecord);
log_record_operation!(SearchLogRecordsFiltered);
log_record_operation!(SearchLogRecordsFilteredPage);
log_record_operation!(GetLogRecord);
log_record_operation!(CreateLogRecord);
log_record_operation!(UpdateLogRecord);
log_record_operation!(DeleteLogRecord);
log_record_operation!(CreateManyLogRecord);

/// A stored log record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    pub id: String,
    pub agg_version: i64,
    /// The bot's id.
    pub bot: String,
    pub level: String,
    pub message: String,
    pub event_at: String,
    pub received_at: String,
    pub request_id: Option<String>,
    pub status_code: Option<i64>,
    pub source_user_name: Option<String>,
    pub source_pid: Option<i64>,
    pub source_process_name: Option<String>,
    pub source_process_description: Option<String>,
    /// A JSON object as text.
    pub attributes: Option<String>,
}

impl LogRecord {
    /// The record's id, its bot's id, and the rest as it was given to be stored.
    pub fn into_parts(self) -> (String, String, NewLogRecord) {
        let record = NewLogRecord {
            level: self.level,
            message: self.message,
            event_at: self.event_at,
            received_at: self.received_at,
            request_id: self.request_id,
            status_code: self.status_code,
            source_user_name: self.source_user_name,
            source_pid: self.source_pid,
            source_process_name: self.source_process_name,
            source_process_description: self.source_process_description,
            attributes: self.attributes,
        };
        (self.id, self.bot, record)
    }
}

/// A record to store; the bot is given to the create call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewLogRecord {
    pub level: String,
    pub message: String,
    pub event_at: String,
    pub received_at: String,
    pub request_id: Option<String>,
    pub status_code: Option<i64>,
    pub source_user_name: Option<String>,
    pub source_pid: Option<i64>,
    pub source_process_name: Option<String>,
    pub source_process_description: Option<String>,
    pub attributes: Option<String>,
}

/// The fields of a record to change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogRecordUpdate {
    pub id: String,
    pub bot: Option<String>,
    pub level: Option<String>,
    pub message: Option<String>,
    pub event_at: Option<String>,
    pub received_at: Option<String>,
    pub request_id: Option<String>,
    pub status_code: Option<i64>,
    pub source_user_name: Option<String>,
    pub source_pid: Option<i64>,
    pub source_process_name: Option<String>,
    pub source_process_description: Option<String>,
    pub attributes: Option<String>,
}

convert_fields!(
    LogRecord,
    {
        id, agg_version, bot, level, message, event_at, received_at, request_id, status_code,
        source_user_name, source_pid, source_process_name, source_process_description, attributes
    }
    from search_log_record::LogRecordFields,
    search_log_records_filtered::LogRecordFields,
    search_log_records_filtered_page::LogRecordFields,
    get_log_record::LogRecordFields,
    create_log_record::LogRecordFields,
    update_log_record::LogRecordFields,
);
convert_fields!(
    update_log_record::_UpdateLogRecordInput,
    {
        id, bot, level, message, event_at, received_at, request_id, status_code,
        source_user_name, source_pid, source_process_name, source_process_description, attributes
    }
    from LogRecordUpdate
);
sort_input!(search_log_record);
convert_fields!(
    search_log_records_filtered_page::Variables,
    {
        cond, limit, bot, level0, level1, level2, level3, level4, level5, request_id, contains,
        from, to, before
    }
    from search_log_records_filtered::Variables
);

/// A record's `_CreateLogRecordInput`, borrowed from the [`NewLogRecord`] and its bot's id:
/// the one mapping every create path serializes (one record, a batch, and the packet that
/// stores a batch with its deliveries), so a batch is never copied to be sent.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateLogRecordInput<'a> {
    bot: &'a str,
    level: &'a str,
    message: &'a str,
    event_at: &'a str,
    received_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_user_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_pid: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_process_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_process_description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<&'a str>,
}

impl<'a> CreateLogRecordInput<'a> {
    pub(super) fn new(bot: &'a str, record: &'a NewLogRecord) -> Self {
        Self {
            bot,
            level: &record.level,
            message: &record.message,
            event_at: &record.event_at,
            received_at: &record.received_at,
            request_id: record.request_id.as_deref(),
            status_code: record.status_code,
            source_user_name: record.source_user_name.as_deref(),
            source_pid: record.source_pid,
            source_process_name: record.source_process_name.as_deref(),
            source_process_description: record.source_process_description.as_deref(),
            attributes: record.attributes.as_deref(),
        }
    }
}

/// The variables of `CreateLogRecord` (one input) and `CreateManyLogRecord` (a list of them),
/// borrowed; only the test-support creates send these (the gateway's own ingest is
/// [`super::ingest`]).
#[cfg(any(test, feature = "test-support"))]
#[derive(serde::Serialize)]
pub(super) struct CreateVariables<'a, I> {
    pub key: &'a str,
    pub input: I,
}

/// The most distinct levels one filtered search takes (placeholders `${level0}`..`${level5}`).
pub const MAX_FILTER_LEVELS: usize = 6;

/// Which of a bot's records to read: newest first, one page below an id cursor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogRecordFilter {
    /// The bot's id.
    pub bot: String,
    /// Levels to include; empty means all. At most [`MAX_FILTER_LEVELS`] distinct ones.
    pub levels: Vec<String>,
    /// Only records with `eventAt >= from` (a `_DateTime`).
    pub from: Option<String>,
    /// Only records with `eventAt < to` (a `_DateTime`).
    pub to: Option<String>,
    pub request_id: Option<String>,
    /// Only records whose message contains this text (case-sensitive, as `$like` is).
    pub contains: Option<String>,
    /// The cursor: only records with a smaller id, i.e. the previous page's `next_cursor`.
    pub before: Option<String>,
    /// Page size, at least 1.
    pub limit: i64,
    /// Whether the page's `count` is wanted: counting costs a search of every match.
    pub with_count: bool,
}

/// One page of a filtered search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecordPage {
    pub records: Vec<LogRecord>,
    /// How many records match from the cursor on (this page included); 0 unless the filter
    /// asked `with_count`.
    pub count: i64,
    /// The cursor for the next page, when there are more records.
    pub next_cursor: Option<String>,
}

// Values for variables whose filter is off: list-form @strExpr arguments need non-null
// variables, but a placeholder that is not in `cond` never takes part in the match.
const UNUSED_TEXT: &str = "";
const UNUSED_DATETIME: &str = "1970-01-01T00:00:00.000";
const UNUSED_ID: i64 = 0;

impl LogRecordFilter {
    /// The condition, made of fixed clauses that name placeholders only: caller values are
    /// passed as variables, so no input can change what the condition means.
    pub fn cond(&self) -> String {
        self.cond_with_levels(&self.distinct_levels())
    }

    /// [`cond`](Self::cond), given the filter's distinct levels.
    fn cond_with_levels(&self, levels: &[&str]) -> String {
        let mut clauses = vec!["it.bot == ${bot}".to_owned()];
        if !levels.is_empty() {
            let placeholders: Vec<String> = (0..levels.len())
                .map(|index| format!("${{level{index}}}"))
                .collect();
            clauses.push(format!("it.level $in [{}]", placeholders.join(", ")));
        }
        if self.from.is_some() {
            clauses.push("it.eventAt >= ${from}".into());
        }
        if self.to.is_some() {
            clauses.push("it.eventAt < ${to}".into());
        }
        if self.request_id.is_some() {
            clauses.push("it.requestId == ${requestId}".into());
        }
        if self.contains.is_some() {
            clauses.push("it.message $like ${contains}".into());
        }
        if self.before.is_some() {
            clauses.push("it.$id < ${before}".into());
        }
        clauses.join(" && ")
    }

    fn distinct_levels(&self) -> Vec<&str> {
        let mut levels: Vec<&str> = Vec::new();
        for level in &self.levels {
            if !levels.contains(&level.as_str()) {
                levels.push(level);
            }
        }
        levels
    }

    fn variables(&self) -> Result<search_log_records_filtered::Variables, DataSpaceError> {
        if self.limit < 1 {
            return Err(DataSpaceError::Invalid(format!(
                "a page holds at least one record, not {}",
                self.limit
            )));
        }
        let levels = self.distinct_levels();
        if levels.len() > MAX_FILTER_LEVELS {
            return Err(DataSpaceError::Invalid(format!(
                "at most {MAX_FILTER_LEVELS} levels can be filtered on, not {}",
                levels.len()
            )));
        }
        let level = |index: usize| levels.get(index).unwrap_or(&UNUSED_TEXT).to_string();
        let before = match &self.before {
            None => UNUSED_ID,
            Some(cursor) => cursor
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| {
                    DataSpaceError::Invalid(format!("cursor {cursor:?} is not a record id"))
                })?,
        };
        Ok(search_log_records_filtered::Variables {
            cond: self.cond_with_levels(&levels),
            // One more than the page: whether it exists says if there is a next page.
            limit: self.limit.saturating_add(1),
            bot: self.bot.clone(),
            level0: level(0),
            level1: level(1),
            level2: level(2),
            level3: level(3),
            level4: level(4),
            level5: level(5),
            request_id: self.request_id.clone().unwrap_or_default(),
            contains: self
                .contains
                .as_deref()
                .map(like_contains)
                .unwrap_or_default(),
            from: self.from.clone().unwrap_or_else(|| UNUSED_DATETIME.into()),
            to: self.to.clone().unwrap_or_else(|| UNUSED_DATETIME.into()),
            before,
        })
    }
}

/// Whether `id` is a record id as DataSpace gives them: digits only, within `Long`.
fn is_record_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|byte| byte.is_ascii_digit()) && id.parse::<i64>().is_ok()
}

/// A record as a direct search answers it: the row as its entity's JSON.
fn record_from_row(
    row: serde_json::Map<String, serde_json::Value>,
) -> Result<LogRecord, DataSpaceError> {
    serde_json::from_value::<search_log_records_filtered::LogRecordFields>(
        serde_json::Value::Object(row),
    )
    .map(LogRecord::from)
    .map_err(|error| DataSpaceError::Invalid(format!("a stored record is unreadable: {error}")))
}

/// A `$like` pattern matching text that contains `text` literally: DataSpace's `$like` uses
/// `ESCAPE '\'`, so the wildcards `%` and `_` (and `\` itself) in the text are escaped.
pub(crate) fn like_contains(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

impl DataSpaceClient {
    /// One page of a bot's records, newest first, as [`LogRecordFilter`] selects them.
    pub async fn search_log_records(
        &self,
        filter: &LogRecordFilter,
    ) -> Result<LogRecordPage, DataSpaceError> {
        let variables = filter.variables()?;
        let (mut records, count): (Vec<LogRecord>, i64) = if let Some(direct) = &self.direct {
            self.search_log_records_directly(direct, variables, filter.with_count)
                .await?
        } else if filter.with_count {
            let found = self
                .run::<SearchLogRecordsFiltered>(variables, Retry::Safe)
                .await?
                .search_log_record;
            (
                found.elems.into_iter().map(LogRecord::from).collect(),
                found.count,
            )
        } else {
            let found = self
                .run::<SearchLogRecordsFilteredPage>(variables.into(), Retry::Safe)
                .await?
                .search_log_record;
            (found.elems.into_iter().map(LogRecord::from).collect(), 0)
        };
        let more = records.len() as i64 > filter.limit;
        records.truncate(filter.limit as usize);
        let next_cursor = more
            .then(|| records.last().map(|record| record.id.clone()))
            .flatten();
        Ok(LogRecordPage {
            records,
            count,
            next_cursor,
        })
    }

    /// The page of [`DataSpaceClient::search_log_records`] from the embedded DataSpace of
    /// this process, without a document: the same condition, with the values the query's
    /// `@strExpr` would give its placeholders (`queries/log_record.graphql`), the same sort and
    /// limit, counted under the query's name.
    async fn search_log_records_directly(
        &self,
        direct: &Arc<dyn DirectDataSpace>,
        variables: search_log_records_filtered::Variables,
        with_count: bool,
    ) -> Result<(Vec<LogRecord>, i64), DataSpaceError> {
        let operation = match with_count {
            true => search_log_records_filtered::OPERATION_NAME,
            false => search_log_records_filtered_page::OPERATION_NAME,
        };
        let search_log_records_filtered::Variables {
            cond,
            limit,
            bot,
            level0,
            level1,
            level2,
            level3,
            level4,
            level5,
            request_id,
            contains,
            from,
            to,
            before,
        } = variables;
        let placeholders = [
            ("bot", Placeholder::Text(bot)),
            ("level0", Placeholder::Text(level0)),
            ("level1", Placeholder::Text(level1)),
            ("level2", Placeholder::Text(level2)),
            ("level3", Placeholder::Text(level3)),
            ("level4", Placeholder::Text(level4)),
            ("level5", Placeholder::Text(level5)),
            ("requestId", Placeholder::Text(request_id)),
            ("contains", Placeholder::Text(contains)),
            ("from", Placeholder::DateTime(from)),
            ("to", Placeholder::DateTime(to)),
            ("before", Placeholder::Long(before)),
        ];
        let search = || async {
            let found = direct
                .search(DirectSearch {
                    class: "LogRecord",
                    cond: &cond,
                    placeholders: placeholders.to_vec(),
                    sort: vec![("it.$id", true)],
                    limit,
                    with_count,
                })
                .await?;
            let records = found
                .0
                .into_iter()
                .map(record_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            Ok((records, found.1.unwrap_or_default()))
        };
        self.run_direct(operation, Retry::Safe, search).await
    }

    /// Records matching a program-written condition (see [`Search`]).
    pub async fn search_log_records_by(
        &self,
        search: Search,
    ) -> Result<Page<LogRecord>, DataSpaceError> {
        let variables = search_log_record::Variables {
            cond: search.cond,
            limit: search.limit,
            offset: search.offset,
            sort: sort_variable(search.sort),
        };
        let found = self.run::<SearchLogRecord>(variables, Retry::Safe).await?;
        let found = found.search_log_record;
        Ok(Page::convert(found.elems, found.count))
    }

    /// The records with these ids (ids as DataSpace gave them: digits only; any other is
    /// left out), in id order.
    pub async fn log_records_by_ids(
        &self,
        ids: &[String],
    ) -> Result<Vec<LogRecord>, DataSpaceError> {
        let mut records = Vec::with_capacity(ids.len());
        let ids: Vec<&String> = ids.iter().filter(|id| is_record_id(id)).collect();
        for chunk in ids.chunks(500) {
            // Only digits reach the condition, so it can be written here.
            let list = chunk
                .iter()
                .map(|id| format!("'{id}'"))
                .collect::<Vec<_>>()
                .join(", ");
            let page = self
                .search_log_records_by(Search {
                    cond: Some(format!("it.$id $in [{list}]")),
                    limit: Some(chunk.len() as i64),
                    offset: None,
                    sort: vec![super::SortBy::asc("it.$id")],
                })
                .await?;
            records.extend(page.elems);
        }
        Ok(records)
    }

    /// The record with this id, if any.
    pub async fn get_log_record(&self, id: &str) -> Result<Option<LogRecord>, DataSpaceError> {
        // Directly, a search of one id on a reader (the signed call is a packet, which takes
        // the writer); any other text goes the signed way, to be answered as DataSpace does.
        if let Some(direct) = &self.direct
            && is_record_id(id)
        {
            let search = || async {
                let found = direct
                    .search(DirectSearch {
                        class: "LogRecord",
                        cond: "it.$id == ${id}",
                        placeholders: vec![("id", Placeholder::Text(id.to_owned()))],
                        sort: Vec::new(),
                        limit: 1,
                        with_count: false,
                    })
                    .await?;
                found.0.into_iter().next().map(record_from_row).transpose()
            };
            return self
                .run_direct(get_log_record::OPERATION_NAME, Retry::Safe, search)
                .await;
        }
        let variables = get_log_record::Variables {
            id: id.to_owned(),
            fail_on_empty: false,
        };
        let data = self.run::<GetLogRecord>(variables, Retry::Safe).await?;
        let found = data.packet.and_then(|packet| packet.get_log_record);
        Ok(found.map(LogRecord::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> LogRecordFilter {
        LogRecordFilter {
            bot: "7".into(),
            limit: 10,
            ..Default::default()
        }
    }

    #[test]
    fn the_condition_names_only_placeholders_of_the_filters_in_use() {
        assert_eq!(filter().cond(), "it.bot == ${bot}");
        let full = LogRecordFilter {
            levels: vec!["error".into(), "warning".into(), "error".into()],
            from: Some("2024-01-01T00:00:00".into()),
            to: Some("2024-02-01T00:00:00".into()),
            request_id: Some("RP1' || 1==1 || '".into()),
            contains: Some("50%_off".into()),
            before: Some("42".into()),
            ..filter()
        };
        assert_eq!(
            full.cond(),
            "it.bot == ${bot} && it.level $in [${level0}, ${level1}] \
             && it.eventAt >= ${from} && it.eventAt < ${to} && it.requestId == ${requestId} \
             && it.message $like ${contains} && it.$id < ${before}"
        );
        let variables = full.variables().unwrap();
        assert_eq!(
            (variables.level0.as_str(), variables.level1.as_str()),
            ("error", "warning")
        );
        assert_eq!(variables.level2, "");
        assert_eq!(variables.request_id, "RP1' || 1==1 || '");
        assert_eq!(variables.contains, r"%50\%\_off%");
        assert_eq!(variables.before, 42);
    }

    #[test]
    fn bad_pages_and_cursors_are_refused_before_any_call() {
        let zero = LogRecordFilter {
            limit: 0,
            ..filter()
        };
        assert!(matches!(zero.variables(), Err(DataSpaceError::Invalid(_))));
        for cursor in ["", "abc", "-1", "0", "1 || 1"] {
            let bad = LogRecordFilter {
                before: Some(cursor.into()),
                ..filter()
            };
            assert!(
                matches!(bad.variables(), Err(DataSpaceError::Invalid(_))),
                "{cursor}"
            );
        }
        let many = LogRecordFilter {
            levels: (0..7).map(|n| format!("l{n}")).collect(),
            ..filter()
        };
        assert!(matches!(many.variables(), Err(DataSpaceError::Invalid(_))));
    }

    #[test]
    fn contains_escapes_like_wildcards() {
        assert_eq!(like_contains("abc"), "%abc%");
        assert_eq!(like_contains(r"a\b%c_"), r"%a\\b\%c\_%");
    }
}
