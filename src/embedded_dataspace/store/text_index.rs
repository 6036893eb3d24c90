//! The trigram index of log messages: how new records enter it, and the FTS5 query that finds
//! the candidates of a `contains` in it.
//!
//! New records enter it once per transaction, just before the commit, not row by row from a
//! trigger: FTS5 flushes the terms it holds pending at every savepoint, and a group-committed
//! call has a savepoint per packet, so each packet wrote a small segment and started merging
//! the segments (perf of `/send_logs` at c=50 with the index: 76% of the gateway's CPU in
//! `sqlite3VtabSavepoint` -> `fts5IndexMerge`, about 1 ms a record). The writer's own TEMP
//! trigger notes each new record's id; a packet rolled back takes its notes with it.
//!
//! FTS5 reads the posting list of every term of a query. A phrase of all of a literal's
//! trigrams reads, for "seed record 4242 of", the lists of "see", "rec", " of" and the rest,
//! each as long as the store (10.6M entries), to find one record: 345 ms p50. The rarest few
//! trigrams find nearly the same rows from their short lists, and the LIKE the search keeps on
//! each candidate makes the result exact whatever the index query selects, so only the speed
//! depends on the choice.
//!
//! How rare a trigram is comes from the first [`PROBE_ROWS`] entries of its list, read in
//! rowid order: the further apart they lie, the sparser the list. FTS5's own counts (the
//! `fts5vocab` table) read the whole list to count it: 840 ms for four trigrams at 10M.

use super::StoreError;
use crate::embedded_dataspace::cond::phrase;
use crate::embedded_dataspace::model::quoted;
use rusqlite::Connection;
use std::cmp::Reverse;

/// On the writer connection only (TEMP objects are the connection's own): the ids of the
/// records created since the last [`index_new_records`].
pub(super) const NOTE_NEW_RECORDS: &str = "CREATE TEMP TABLE IF NOT EXISTS \"trigram_pending\" (\"id\" INTEGER PRIMARY KEY);
    CREATE TEMP TRIGGER IF NOT EXISTS \"trigram_pending_insert\" AFTER INSERT ON main.\"LogRecord\" BEGIN
        INSERT OR IGNORE INTO \"trigram_pending\" (\"id\") VALUES (new.\"id\");
    END;";

/// Indexes the records noted since the last call that still exist (one created and deleted
/// again in the transaction is not), in the caller's transaction, before it commits.
pub(super) fn index_new_records(connection: &Connection) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO main.\"LogRecord_message_trigram\" (rowid, \"message\") \
             SELECT \"id\", \"message\" FROM main.\"LogRecord\" WHERE \"id\" IN (SELECT \"id\" FROM \"trigram_pending\")",
        )?
        .execute([])?;
    connection
        .prepare_cached("DELETE FROM \"trigram_pending\"")?
        .execute([])?;
    Ok(())
}

/// Entries read from each probed trigram's list.
const PROBE_ROWS: i64 = 16;
/// Trigrams probed at most, spread over a longer literal, so a long `contains` costs a bounded
/// number of probes.
const MAX_PROBES: usize = 24;
/// Trigrams the query asks for. A Python check on 10M seed records ("seed record 4242 of",
/// with the LIKE on each candidate): 148 ms with the two rarest, 8 with three, 3.5 with four,
/// 9.5 with five; other texts were fastest with three.
const RAREST: usize = 3;
/// When even the rarest trigram has a probed entry in at least one row of this many, every
/// trigram is in most records; the phrase then lets FTS5 check their positions in the index
/// rather than the LIKE read each candidate row.
const DENSE_SPAN_PER_ROW: i64 = 8;

/// How common a trigram's list is, rarest first when sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rarity {
    /// Fewer than [`PROBE_ROWS`] rows have it: exactly this many.
    Few(i64),
    /// Its first [`PROBE_ROWS`] rows spread over this many rowids (more is rarer).
    Spread(Reverse<i64>),
}

/// The MATCH query of `index` for rows that may contain `literal` (at least 3 characters):
/// the rarest trigrams of it, all required, or its phrase when all of them are common.
pub(super) fn match_query(
    connection: &Connection,
    index: &str,
    literal: &str,
) -> Result<String, StoreError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT rowid FROM {index} WHERE {index} MATCH ? ORDER BY rowid LIMIT {PROBE_ROWS}",
        index = quoted(index)
    ))?;
    let mut ranked = Vec::new();
    for trigram in probed_trigrams(literal) {
        let rowids = statement
            .query_map([phrase(&trigram)], |row| row.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let rarity = match (rowids.first(), rowids.last()) {
            (Some(first), Some(last)) if rowids.len() as i64 == PROBE_ROWS => {
                Rarity::Spread(Reverse(last - first + 1))
            }
            _ => Rarity::Few(rowids.len() as i64),
        };
        ranked.push((rarity, trigram));
    }
    ranked.sort();
    let all_common = match ranked.first() {
        Some((Rarity::Spread(Reverse(span)), _)) => *span <= PROBE_ROWS * DENSE_SPAN_PER_ROW,
        _ => false,
    };
    if all_common {
        return Ok(phrase(literal));
    }
    let rarest: Vec<String> = ranked
        .iter()
        .take(RAREST)
        .map(|(_, trigram)| phrase(trigram))
        .collect();
    Ok(rarest.join(" AND "))
}

/// The distinct trigrams of `literal`, at most [`MAX_PROBES`], spread evenly over it.
fn probed_trigrams(literal: &str) -> Vec<String> {
    let characters: Vec<char> = literal.chars().collect();
    let mut trigrams: Vec<String> = characters
        .windows(3)
        .map(|window| window.iter().collect())
        .collect();
    if trigrams.len() > MAX_PROBES {
        let step = trigrams.len() as f64 / MAX_PROBES as f64;
        trigrams = (0..MAX_PROBES)
            .map(|index| trigrams[(index as f64 * step) as usize].clone())
            .collect();
    }
    trigrams.sort();
    trigrams.dedup();
    trigrams
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_literal_is_probed_at_a_bounded_number_of_spread_trigrams() {
        assert_eq!(probed_trigrams("abcab"), ["abc", "bca", "cab"]);
        assert_eq!(probed_trigrams("ünï"), ["ünï"], "characters, not bytes");
        let long = (0..400)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let probed = probed_trigrams(&long);
        assert!(
            probed.len() <= MAX_PROBES && probed.len() > MAX_PROBES / 2,
            "{probed:?}"
        );
        assert!(probed.contains(&"0,1".to_owned()), "the start: {probed:?}");
    }

    fn index_of(messages: &[String]) -> Connection {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE VIRTUAL TABLE \"t\" USING fts5(\"message\", tokenize='trigram case_sensitive 1');",
            )
            .unwrap();
        for message in messages {
            connection
                .execute("INSERT INTO \"t\" (\"message\") VALUES (?)", [message])
                .unwrap();
        }
        connection
    }

    fn candidates(connection: &Connection, query: &str) -> Vec<String> {
        connection
            .prepare("SELECT \"message\" FROM \"t\" WHERE \"t\" MATCH ?")
            .unwrap()
            .query_map([query], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn the_query_asks_for_the_rarest_trigrams_or_the_phrase_when_all_are_common() {
        let messages: Vec<String> = (0..2000)
            .map(|n| format!("seed record {n} of the bench"))
            .collect();
        let connection = index_of(&messages);
        // "999" is in 2 of the 2,000 records (999, 1999) and "199" in 12: both are asked for,
        // with a third, and no trigram that every record has.
        let query = match_query(&connection, "t", "record 1999 of").unwrap();
        let asked: Vec<&str> = query.split(" AND ").collect();
        assert_eq!(asked.len(), RAREST, "{query}");
        for trigram in ["\"199\"", "\"999\""] {
            assert!(asked.contains(&trigram), "{query}");
        }
        for common in ["\"rec\"", "\" of\"", "\"ord\""] {
            assert!(!asked.contains(&common), "{query}");
        }
        let found = candidates(&connection, &query);
        assert_eq!(found, ["seed record 1999 of the bench"]);
        // Every trigram of "of the" is in every record: the phrase.
        assert_eq!(
            match_query(&connection, "t", "of the").unwrap(),
            "\"of the\""
        );
        // FTS5's own syntax and quotes are only characters of the text (a NUL never comes
        // here: `cond::translate::pure_contains`).
        for hostile in ["\" OR \"", "NEAR(a b)", "x*y^z", "\"\"\"\""] {
            let query = match_query(&connection, "t", hostile)
                .unwrap_or_else(|error| panic!("{hostile:?}: {error:?}"));
            assert!(
                candidates(&connection, &query).is_empty(),
                "{hostile:?}: {query}"
            );
        }
        // Trigrams no record has come first, and the query finds nothing.
        let absent = match_query(&connection, "t", "record zzz").unwrap();
        assert!(candidates(&connection, &absent).is_empty(), "{absent}");
    }
}
