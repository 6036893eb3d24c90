//! The real Redis for the cross-replica tests: 127.0.0.1:6379, or `LOGBOT_TEST_REDIS_URL`.
//!
//! Without a reachable Redis those tests are skipped (the Docker build has none), unless
//! `LOGBOT_TEST_REQUIRE_REDIS=1` (set by `.ci/run`), which makes them fail instead.

use std::time::Duration;

/// The Redis URL when Redis answers; `None` (the caller skips) when it does not.
pub fn url_or_skip() -> Option<String> {
    let url = std::env::var("LOGBOT_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let reachable = redis::Client::open(url.as_str()).is_ok_and(|client| {
        client
            .get_connection_with_timeout(Duration::from_secs(2))
            .is_ok()
    });
    if reachable {
        return Some(url);
    }
    assert_ne!(
        std::env::var("LOGBOT_TEST_REQUIRE_REDIS").as_deref(),
        Ok("1"),
        "Redis at {url} is not reachable and LOGBOT_TEST_REQUIRE_REDIS=1"
    );
    eprintln!("skipped: Redis at {url} is not reachable");
    None
}

/// A channel and key prefix of one's own, so that parallel runs on one Redis do not cross.
pub fn unique_prefix() -> String {
    format!("logbot-test-{}:", uuid::Uuid::new_v4())
}
