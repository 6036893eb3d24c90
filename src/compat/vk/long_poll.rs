//! The Bots Long Poll loop: `groups.getLongPollServer`, then `a_check` requests forever, each
//! update handed to [`handle_event`](super::handle_event).

use super::{handle_event, http_client, vk_call};
use crate::app_state::AppState;
use serde_json::Value;
use std::time::Duration;

/// The running Bots Long Poll loop; stopped when dropped.
pub struct LongPoll {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LongPoll {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts Bots Long Poll when `[vk] long_poll` is on (the configuration already checked that
/// `access_token` and `group_id` are set). Keep the handle for as long as it should run.
pub fn spawn_long_poll(state: &AppState) -> Option<LongPoll> {
    let settings = &state.settings.vk;
    if !settings.long_poll {
        return None;
    }
    let state = state.clone();
    Some(LongPoll {
        task: tokio::spawn(async move { long_poll(state).await }),
    })
}

struct PollServer {
    server: String,
    key: String,
    ts: String,
}

async fn poll_server(state: &AppState) -> anyhow::Result<PollServer> {
    let group = state
        .settings
        .vk
        .group_id
        .ok_or_else(|| anyhow::anyhow!("[vk] group_id is not set"))?
        .to_string();
    let answer = vk_call(
        state,
        "groups.getLongPollServer",
        &[("group_id", group.as_str())],
    )
    .await?;
    let response = answer
        .get("response")
        .ok_or_else(|| anyhow::anyhow!("groups.getLongPollServer: no response"))?;
    let field = |name: &str| -> anyhow::Result<String> {
        match response.get(name) {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(Value::Number(number)) => Ok(number.to_string()),
            _ => anyhow::bail!("groups.getLongPollServer: no {name}"),
        }
    };
    Ok(PollServer {
        server: field("server")?,
        key: field("key")?,
        ts: field("ts")?,
    })
}

/// Pulls events forever: re-opens the server on `failed: 2|3`, takes the new `ts` on
/// `failed: 1`, and backs off (1 s doubling to 60 s) while VK or the network fails.
async fn long_poll(state: AppState) {
    const MAX_BACKOFF: Duration = Duration::from_secs(60);
    let client = http_client();
    let mut backoff = Duration::from_secs(1);
    loop {
        let mut server = match poll_server(&state).await {
            Ok(server) => server,
            Err(error) => {
                tracing::warn!(%error, "VK long poll: cannot open the server; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        tracing::info!("VK long poll: listening");
        loop {
            let url = match reqwest::Url::parse(&server.server) {
                Ok(mut url) => {
                    url.query_pairs_mut().extend_pairs([
                        ("act", "a_check"),
                        ("key", server.key.as_str()),
                        ("ts", server.ts.as_str()),
                        ("wait", "25"),
                    ]);
                    url
                }
                Err(error) => {
                    tracing::warn!(%error, "VK long poll: the server is not a URL");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    break;
                }
            };
            // reqwest's errors show their URL, and this one carries the Long Poll `key`.
            let answer = client
                .get(url)
                .send()
                .await
                .map_err(reqwest::Error::without_url);
            let answer: Value = match answer {
                Ok(response) => match response.json().await.map_err(reqwest::Error::without_url) {
                    Ok(answer) => answer,
                    Err(error) => {
                        tracing::warn!(%error, "VK long poll: unreadable answer");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                },
                Err(error) => {
                    tracing::warn!(%error, "VK long poll: request failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            let ts = match answer.get("ts") {
                Some(Value::String(ts)) => Some(ts.clone()),
                Some(Value::Number(ts)) => Some(ts.to_string()),
                _ => None,
            };
            match answer.get("failed").and_then(Value::as_i64) {
                None => {}
                Some(1) => {
                    if let Some(ts) = ts {
                        server.ts = ts;
                    }
                    continue;
                }
                Some(_) => break,
            }
            backoff = Duration::from_secs(1);
            if let Some(ts) = ts {
                server.ts = ts;
            }
            // One id per poll cycle: the DataSpace calls of its updates send it.
            let cycle = crate::request_id::background("vk-poll");
            let updates = answer
                .get("updates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            crate::request_id::within(cycle, async {
                for update in updates {
                    if let Err(error) = handle_event(&state, update).await {
                        tracing::warn!(%error, "VK long poll: event not handled");
                    }
                }
            })
            .await;
        }
    }
}
