//! What a chat sees: a record rendered for the messenger's text format, split at its length
//! limit.
//!
//! Telegram gets HTML (`parse_mode=HTML`): only the header carries tags, and the record's own
//! text is escaped (`&`, `<`, `>`), so nothing a sender writes can open a tag or break the
//! message. VK has no markup: plain text. Both cap a message at 4096 characters; a longer one is
//! sent as numbered parts, cut between characters (never inside an escape), at a line break or
//! a space when one is near the end of the part.

use crate::dataspace::operations::LogRecord;
use crate::domain::level::LogLevel;
use crate::domain::messenger::Messenger;
use std::borrow::Cow;

/// The longest message either messenger accepts, in characters. Counted here in UTF-16 code
/// units of the text as sent, which is never less than what Telegram counts.
pub const MESSAGE_LIMIT: usize = 4096;

/// Room kept for a part number (`[12/34]` plus a line break).
const PART_LABEL_ROOM: usize = 12;

/// Escapes text for Telegram's HTML parse mode.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        push_escaped(&mut escaped, character, true);
    }
    escaped
}

pub(super) fn push_escaped(out: &mut String, character: char, html: bool) {
    match character {
        '&' if html => out.push_str("&amp;"),
        '<' if html => out.push_str("&lt;"),
        '>' if html => out.push_str("&gt;"),
        other => out.push(other),
    }
}

fn escaped_units(character: char, html: bool) -> usize {
    match character {
        '&' if html => 5,
        '<' | '>' if html => 4,
        other => other.len_utf16(),
    }
}

pub(super) fn level_label(level: &str) -> (&'static str, Cow<'static, str>) {
    let parsed = LogLevel::parse_name(level).ok();
    let mark = match parsed {
        Some(LogLevel::Debug) => "⚪",
        Some(LogLevel::Info) => "🔵",
        Some(LogLevel::Warning) => "🟠",
        Some(LogLevel::Error) => "🔴",
        Some(LogLevel::Critical) => "🆘",
        None => "•",
    };
    // A known level's name is upper-case already.
    let name = parsed.map_or_else(
        || Cow::Owned(level.to_uppercase()),
        |level| Cow::Borrowed(level.as_str()),
    );
    (mark, name)
}

/// `2026-11-22T08:00:00.000` as `2026-11-22 08:00:00 UTC` (milliseconds kept when not zero).
fn event_time(stored: &str) -> String {
    let trimmed = stored.strip_suffix(".000").unwrap_or(stored);
    format!("{} UTC", trimmed.replacen('T', " ", 1))
}

/// The record as the parts to send, in order.
pub fn render(messenger: Messenger, bot_name: &str, record: &LogRecord) -> Vec<String> {
    let html = messenger == Messenger::Telegram;
    let text = |value: &str| {
        if html {
            escape_html(value)
        } else {
            value.to_owned()
        }
    };
    let bold = |value: String| {
        if html {
            format!("<b>{value}</b>")
        } else {
            value
        }
    };
    let code = |value: String| {
        if html {
            format!("<code>{value}</code>")
        } else {
            value
        }
    };
    let (mark, level) = level_label(&record.level);
    let mut header = format!(
        "{mark} {} · {}\n🕒 {}",
        bold(text(&level)),
        bold(text(bot_name)),
        text(&event_time(&record.event_at))
    );
    let mut details = Vec::new();
    if let Some(request_id) = record.request_id.as_deref().filter(|id| !id.is_empty()) {
        details.push(format!("request {}", code(text(request_id))));
    }
    if let Some(status) = record.status_code {
        details.push(format!("status {}", code(status.to_string())));
    }
    if !details.is_empty() {
        header.push_str("\n🔎 ");
        header.push_str(&details.join(" · "));
    }
    split(&header, &record.message, html, MESSAGE_LIMIT)
}

/// Header plus body, in parts of at most `limit` UTF-16 units each; the body is escaped
/// here, character by character, so that a cut never falls inside an escape.
fn split(header: &str, body: &str, html: bool, limit: usize) -> Vec<String> {
    let header_units = header.encode_utf16().count();
    let whole_units: usize = body.chars().map(|c| escaped_units(c, html)).sum();
    if header_units + 2 + whole_units <= limit {
        let mut message = String::with_capacity(header.len() + 2 + body.len());
        message.push_str(header);
        message.push_str("\n\n");
        body.chars()
            .for_each(|c| push_escaped(&mut message, c, html));
        return vec![message];
    }
    let first_budget = limit
        .saturating_sub(header_units + 2 + PART_LABEL_ROOM)
        .max(1);
    let rest_budget = limit - PART_LABEL_ROOM;
    let mut chunks: Vec<String> = Vec::new();
    let characters: Vec<char> = body.chars().collect();
    let mut start = 0;
    while start < characters.len() {
        let budget = if chunks.is_empty() {
            first_budget
        } else {
            rest_budget
        };
        let mut units = 0;
        let mut end = start;
        while end < characters.len() {
            let next = escaped_units(characters[end], html);
            if units + next > budget {
                break;
            }
            units += next;
            end += 1;
        }
        if end == start {
            end = start + 1;
        }
        if end < characters.len() {
            // Prefer a line break, then a space, in the last fifth of the part.
            let floor = start + (end - start) * 4 / 5;
            let cut = (floor..end)
                .rev()
                .find(|&index| characters[index] == '\n')
                .or_else(|| (floor..end).rev().find(|&index| characters[index] == ' '));
            if let Some(cut) = cut {
                end = cut + 1;
            }
        }
        let mut chunk = String::new();
        characters[start..end]
            .iter()
            .for_each(|c| push_escaped(&mut chunk, *c, html));
        chunks.push(chunk);
        start = end;
    }
    let total = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(index, chunk)| {
            if index == 0 {
                format!("{header} [1/{total}]\n\n{chunk}")
            } else {
                format!("[{}/{total}]\n{chunk}", index + 1)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(message: &str) -> LogRecord {
        LogRecord {
            id: "1".into(),
            agg_version: 1,
            bot: "7".into(),
            level: "ERROR".into(),
            message: message.into(),
            event_at: "2026-11-22T08:00:00.000".into(),
            received_at: "2026-11-22T08:00:01.000".into(),
            request_id: Some("RP<1>".into()),
            status_code: Some(500),
            source_user_name: None,
            source_pid: None,
            source_process_name: None,
            source_process_description: None,
            attributes: None,
        }
    }

    #[test]
    fn telegram_messages_carry_the_header_and_escaped_text() {
        let parts = render(Messenger::Telegram, "df&co", &record("a < b && <b>x</b>"));
        assert_eq!(
            parts,
            vec![
                "🔴 <b>ERROR</b> · <b>df&amp;co</b>\n🕒 2026-11-22 08:00:00 UTC\n\
                 🔎 request <code>RP&lt;1&gt;</code> · status <code>500</code>\n\n\
                 a &lt; b &amp;&amp; &lt;b&gt;x&lt;/b&gt;"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn vk_messages_are_plain_text() {
        let mut bare = record("a < b");
        bare.request_id = None;
        bare.status_code = None;
        bare.level = "info".into();
        let parts = render(Messenger::Vk, "df", &bare);
        assert_eq!(
            parts,
            vec!["🔵 INFO · df\n🕒 2026-11-22 08:00:00 UTC\n\na < b"]
        );
    }

    #[test]
    fn long_messages_are_split_within_the_limit_without_cutting_an_escape() {
        let message = "<&>".repeat(3000) + &"word ".repeat(2000);
        let parts = render(Messenger::Telegram, "df", &record(&message));
        assert!(parts.len() > 3, "{}", parts.len());
        for part in &parts {
            assert!(part.encode_utf16().count() <= MESSAGE_LIMIT);
        }
        assert!(parts[0].contains(&format!("[1/{}]", parts.len())));
        assert!(parts[1].starts_with(&format!("[2/{}]\n", parts.len())));
        let mut body = parts[0].split_once("\n\n").unwrap().1.to_owned();
        for part in &parts[1..] {
            body.push_str(part.split_once('\n').unwrap().1);
        }
        assert_eq!(body, escape_html(&message));
    }
}
