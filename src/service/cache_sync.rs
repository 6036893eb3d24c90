//! Keeps the DataSpace client's read caches (see `dataspace::read_cache`) in step across
//! replicas: what this replica's writes clear is published on [`CACHE_CHANNEL`], and what any
//! replica publishes there is cleared here. A replica that misses messages (Redis away, or
//! this listener lagging) clears everything it holds; the caches' expiry covers the rest.

use crate::bus::{Bus, CACHE_CHANNEL};
use crate::dataspace::{Cached, DataSpaceClient};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

/// Starts the two relays; they end when the runtime does.
pub fn spawn(client: &DataSpaceClient, bus: &Bus) -> [JoinHandle<()>; 2] {
    let mut local = client.cache_changes();
    let outgoing = {
        let bus = bus.clone();
        tokio::spawn(async move {
            loop {
                match local.recv().await {
                    Ok(cached) => {
                        if let Err(error) = bus.publish(CACHE_CHANNEL, cached.as_str()).await {
                            tracing::warn!(%error, cache = cached.as_str(), "cache change not published: other replicas see it when their entries expire");
                        }
                    }
                    // Which changes were missed is unknown: tell the others to clear all.
                    Err(RecvError::Lagged(_)) => {
                        for cached in Cached::ALL {
                            let _ = bus.publish(CACHE_CHANNEL, cached.as_str()).await;
                        }
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        })
    };
    let mut remote = bus.subscribe(CACHE_CHANNEL);
    let client = client.clone();
    let incoming = tokio::spawn(async move {
        loop {
            match remote.recv().await {
                Ok(name) => match Cached::parse(&name) {
                    Some(cached) => client.forget(cached),
                    None => tracing::debug!(%name, "unknown cache named on the bus"),
                },
                Err(RecvError::Lagged(_)) => Cached::ALL.into_iter().for_each(|c| client.forget(c)),
                Err(RecvError::Closed) => return,
            }
        }
    });
    [outgoing, incoming]
}
