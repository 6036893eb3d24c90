//! The `logbot-gateway` command line: one subcommand per tool.

mod dataspace;
mod sign;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "logbot-gateway",
    version,
    about = "GraphQL gateway for a logger bot"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign a request with APIG App authentication and print the headers to send, as JSON.
    Sign(sign::SignArgs),
    /// Run the local DataSpace (GraphQL over SQLite, APIG-signed) as a standalone server.
    Dataspace(dataspace::DataSpaceArgs),
}

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Sign(args) => sign::run(args),
        Command::Dataspace(args) => dataspace::run(args),
    }
}

/// Logs as text on a terminal; level from `RUST_LOG` (default info).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The multi-threaded runtime the servers run on.
fn runtime() -> tokio::runtime::Runtime {
    init_tracing();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

/// Resolves on Ctrl-C or SIGTERM (the function platform stops containers with SIGTERM).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
