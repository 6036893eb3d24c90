//! All integration tests, as modules of one test binary: one link instead of one per file
//! keeps a clean test build small and quick. Run one area with `cargo test --test it <module>::`.

mod support;

mod apig_middleware;
mod apig_official_signer;
mod apig_vectors;
mod apig_verify;
mod config;
mod dataspace_client;
mod dataspace_local;
mod dataspace_sdl;
mod dataspace_upgrade;
mod delivery_floods;
mod delivery_migration;
mod delivery_pruning;
mod delivery_queue;
mod delivery_replicas;
mod delivery_restart;
mod delivery_telegram;
mod delivery_vk;
mod doors_binary;
mod doors_function;
mod doors_limits;
mod doors_request_id;
mod doors_send_logs;
mod doors_vk;
mod doors_webpubsub;
mod faults_dataspace;
mod faults_doors;
mod faults_redis;
mod gateway;
mod graphql_documents;
mod hostile_connections;
mod hostile_dataspace;
mod hostile_doors;
mod hostile_function;
mod hostile_graphql;
mod hostile_telegram;
mod hostile_ws;
mod ingest_round_trips;
mod module_graph;
mod server_limits;
mod telegram_updates;
mod transport_http;
mod transport_redis;
mod transport_ws;
