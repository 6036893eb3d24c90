//! The GraphQL document checks (`src/api/limits.rs`, `inspect`, with `src/graphql_document`):
//! the pre-parse scan, parse, fragment expansion, operation selection, transport rules,
//! aliases, introspection and root fields, on any document.
//!
//! Beyond "no panic": the work is linear in the document's size. Each input's thread CPU time
//! (not wall time, so a loaded machine does not trip it) must stay under a fixed allowance plus
//! a per-byte one; a document whose fragments fan out exponentially fails this at once. A
//! refusal always has a code and a message, and over GET a mutation is never let through. The
//! parsed documents are shared across inputs, as a process shares them, and each input is
//! inspected twice: the second time (its parsed form kept, when it parsed) gives the same
//! outcome.
#![no_main]

use async_graphql::parser::types::OperationType;
use libfuzzer_sys::fuzz_target;
use logbot_gateway::api::documents::ParsedDocuments;
use logbot_gateway::api::limits::{Allowed, DocumentLimits, inspect};
use logbot_gateway::graphql_document::DocumentCaps;
use std::sync::LazyLock;
use std::time::Duration;

static DOCUMENTS: LazyLock<ParsedDocuments> =
    LazyLock::new(|| ParsedDocuments::with_capacity(1024 * 1024));

/// CPU time a document of any size may take, plus what each byte may add. Generous: a linear
/// inspection takes about a microsecond per byte.
const BASE: Duration = Duration::from_millis(50);
const PER_BYTE: Duration = Duration::from_micros(25);

fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    // An operation name after a NUL, when there is one.
    let (query, operation_name) = match text.split_once('\0') {
        Some((query, name)) => (query, Some(name)),
        None => (text, None),
    };
    let allowed = match flags % 3 {
        0 => Allowed::QueriesOnly,
        1 => Allowed::QueriesAndMutations,
        _ => Allowed::All,
    };
    let limits = DocumentLimits {
        aliases: 30,
        root_fields: 20,
        depth: 12,
        complexity: 500,
        introspection: flags & 0x80 != 0,
        document: DocumentCaps {
            nesting: 64,
            tokens: 20_000,
            operations: 50,
            fragments: 200,
            variables: 100,
            selections: 2000,
        },
    };
    let request = || {
        let request = async_graphql::Request::new(query);
        match operation_name {
            Some(name) => request.operation_name(name),
            None => request,
        }
    };
    let started = thread_cpu_time();
    let outcome = inspect(&mut request(), allowed, &limits, &DOCUMENTS);
    let spent = thread_cpu_time() - started;
    let again = inspect(&mut request(), allowed, &limits, &DOCUMENTS);
    assert_eq!(
        again.as_ref().map_err(|refusal| refusal.code()),
        outcome.as_ref().map_err(|refusal| refusal.code()),
        "inspected again"
    );
    let allowance = BASE + PER_BYTE * u32::try_from(data.len()).unwrap_or(u32::MAX);
    assert!(
        spent <= allowance,
        "inspecting {} bytes took {spent:?} of CPU (allowance {allowance:?})",
        data.len()
    );
    match outcome {
        Ok(operation) => {
            if allowed == Allowed::QueriesOnly {
                assert_eq!(operation, OperationType::Query);
            }
            if allowed != Allowed::All {
                assert_ne!(operation, OperationType::Subscription);
            }
        }
        Err(refusal) => {
            assert!(!refusal.code().is_empty());
            assert!(!refusal.message().is_empty());
        }
    }
});
