//! Keeping a flooded chat readable: several waiting records in one message (coalescing), or,
//! past `[delivery] digest_after`, one digest that counts them and says how to query them. A
//! mute's summary is a digest of what arrived while the chat was muted.
//!
//! These build texts only; the worker decides which one a chat gets and marks the deliveries
//! a message carries as sent together.

use super::message::{MESSAGE_LIMIT, escape_html, level_label, push_escaped};
use crate::dataspace::operations::LogRecord;
use crate::domain::level::LogLevel;
use crate::domain::messenger::Messenger;

/// The longest text of one record in a coalesced message or a digest's first/last line: the
/// point is a readable overview; the whole record is one `logs` query away.
const COMPACT_TEXT_CHARS: usize = 300;

fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

fn esc(messenger: Messenger, text: &str) -> String {
    match messenger {
        Messenger::Telegram => escape_html(text),
        Messenger::Vk => text.to_owned(),
    }
}

fn bold(messenger: Messenger, text: String) -> String {
    match messenger {
        Messenger::Telegram => format!("<b>{text}</b>"),
        Messenger::Vk => text,
    }
}

fn code(messenger: Messenger, text: String) -> String {
    match messenger {
        Messenger::Telegram => format!("<code>{text}</code>"),
        Messenger::Vk => text,
    }
}

/// `2026-11-22T10:00:03.120` as `10:00:03` (the date is in the query the digest gives).
fn clock(stored: &str) -> &str {
    stored.get(11..19).unwrap_or(stored)
}

/// One record on one line: level, time, request and status when present, the text cut short.
pub fn compact_line(messenger: Messenger, record: &LogRecord) -> String {
    let (mark, level) = level_label(&record.level);
    let mut line = format!(
        "{mark} {} {}",
        bold(messenger, esc(messenger, &level)),
        clock(&record.event_at)
    );
    if let Some(request) = record.request_id.as_deref().filter(|id| !id.is_empty()) {
        line.push_str(&format!(" · {}", code(messenger, esc(messenger, request))));
    }
    if let Some(status) = record.status_code {
        line.push_str(&format!(" · {status}"));
    }
    line.push_str(" — ");
    let html = messenger == Messenger::Telegram;
    let mut chars = record.message.chars();
    for character in chars.by_ref().take(COMPACT_TEXT_CHARS) {
        // One line per record: line breaks inside a record become spaces.
        let character = if character.is_control() {
            ' '
        } else {
            character
        };
        push_escaped(&mut line, character, html);
    }
    if chars.next().is_some() {
        line.push('…');
    }
    line
}

/// The header of a coalesced message.
fn coalesced_header(messenger: Messenger, bot_name: &str, count: usize) -> String {
    format!(
        "{} · {count} records",
        bold(messenger, esc(messenger, bot_name))
    )
}

/// How many of `lines` (in order) fit in one message, at least one.
pub fn coalesce_count(messenger: Messenger, bot_name: &str, lines: &[String]) -> usize {
    let header = units(&coalesced_header(messenger, bot_name, lines.len()));
    let mut used = header;
    let mut count = 0;
    for line in lines {
        let cost = 1 + units(line);
        if used + cost > MESSAGE_LIMIT {
            break;
        }
        used += cost;
        count += 1;
    }
    count.max(1)
}

/// One message carrying `lines`, which [`coalesce_count`] said fit.
pub fn coalesced(messenger: Messenger, bot_name: &str, lines: &[String]) -> String {
    let mut text = coalesced_header(messenger, bot_name, lines.len());
    for line in lines {
        text.push('\n');
        text.push_str(line);
    }
    text
}

/// `1234567` as `1,234,567`.
pub fn thousands(number: usize) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Why a digest is sent: a backlog, or the end of a mute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestKind {
    Backlog,
    MuteSummary,
}

/// One message counting `records` (oldest first, at least one) by level, with the first and
/// the last, and the `logs` query that lists them all.
pub fn digest(
    messenger: Messenger,
    bot_name: &str,
    records: &[LogRecord],
    kind: DigestKind,
) -> String {
    let mut counts = [0usize; 5];
    let mut other = 0usize;
    for record in records {
        match LogLevel::parse_name(&record.level) {
            Ok(level) => counts[level as usize] += 1,
            Err(_) => other += 1,
        }
    }
    let mut parts: Vec<String> = LogLevel::ALL
        .iter()
        .rev()
        .filter(|level| counts[**level as usize] > 0)
        .map(|level| format!("{} {}", thousands(counts[*level as usize]), level.as_str()))
        .collect();
    if other > 0 {
        parts.push(format!("{} other", thousands(other)));
    }
    let counted = match parts.len() {
        0 => String::new(),
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{} and {last}", parts.join(", "))
        }
    };
    let (first, last) = (&records[0], &records[records.len() - 1]);
    let lead = match kind {
        DigestKind::Backlog => "",
        DigestKind::MuteSummary => "While this chat was muted: ",
    };
    let noun = if records.len() == 1 {
        "record"
    } else {
        "records"
    };
    let query = format!(
        "logs(filter: {{bot: \"{bot_name}\", from: \"{}Z\", to: \"{}Z\"}})",
        first.event_at, last.event_at
    );
    let mut text = format!(
        "{lead}{} {noun} from {} between {} and {}.",
        esc(messenger, &counted),
        bold(messenger, esc(messenger, bot_name)),
        clock(&first.event_at),
        clock(&last.event_at),
    );
    text.push_str(&format!("\nFirst: {}", compact_line(messenger, first)));
    if records.len() > 1 {
        text.push_str(&format!("\nLast: {}", compact_line(messenger, last)));
    }
    text.push_str(&format!(
        "\nSee: {}",
        code(messenger, esc(messenger, &query))
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: usize, level: &str, message: &str, at: &str) -> LogRecord {
        LogRecord {
            id: id.to_string(),
            agg_version: 1,
            bot: "1".into(),
            level: level.into(),
            message: message.into(),
            event_at: at.into(),
            received_at: at.into(),
            request_id: None,
            status_code: None,
            source_user_name: None,
            source_pid: None,
            source_process_name: None,
            source_process_description: None,
            attributes: None,
        }
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn a_digest_counts_by_level_and_names_the_query() {
        let mut records = Vec::new();
        for index in 0..1234 {
            records.push(record(
                index,
                "ERROR",
                "payment <failed>",
                "2026-11-22T10:00:03.000",
            ));
        }
        for index in 0..56 {
            records.push(record(
                2000 + index,
                "CRITICAL",
                "db down",
                "2026-11-22T10:04:59.000",
            ));
        }
        let text = digest(
            Messenger::Telegram,
            "billing",
            &records,
            DigestKind::Backlog,
        );
        assert!(
            text.starts_with("56 CRITICAL and 1,234 ERROR records from <b>billing</b> between 10:00:03 and 10:04:59."),
            "{text}"
        );
        assert!(
            text.contains("First: 🔴 <b>ERROR</b> 10:00:03 — payment &lt;failed&gt;"),
            "{text}"
        );
        assert!(
            text.contains("Last: 🆘 <b>CRITICAL</b> 10:04:59 — db down"),
            "{text}"
        );
        assert!(text.contains("logs(filter: {bot: \"billing\", from: \"2026-11-22T10:00:03.000Z\", to: \"2026-11-22T10:04:59.000Z\"})"), "{text}");
        let summary = digest(Messenger::Vk, "b", &records[..1], DigestKind::MuteSummary);
        assert!(
            summary.starts_with("While this chat was muted: 1 ERROR record from b"),
            "{summary}"
        );
        assert!(!summary.contains("Last:"));
    }

    #[test]
    fn coalescing_packs_lines_within_the_limit_in_order() {
        let long = "x".repeat(1000);
        let lines: Vec<String> = (0..30)
            .map(|index| {
                compact_line(
                    Messenger::Telegram,
                    &record(
                        index,
                        "ERROR",
                        &format!("{index} {long}"),
                        "2026-11-22T10:00:03.000",
                    ),
                )
            })
            .collect();
        let count = coalesce_count(Messenger::Telegram, "df", &lines);
        assert!(count > 5 && count < 30, "{count}");
        let text = coalesced(Messenger::Telegram, "df", &lines[..count]);
        assert!(units(&text) <= MESSAGE_LIMIT);
        assert!(text.find("— 0 ").unwrap() < text.find("— 1 ").unwrap());
        assert!(lines[0].ends_with('…'), "a long record is cut short");
        let huge = vec!["y".repeat(5000)];
        assert_eq!(
            coalesce_count(Messenger::Vk, "df", &huge),
            1,
            "one always goes"
        );
    }
}
