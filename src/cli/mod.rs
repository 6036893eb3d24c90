//! The `logbot-gateway` command line: one subcommand per tool.

mod add_user;
mod dataspace;
mod serve;
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
    /// Configuration file (default: $LOGBOT_CONFIG, else /app/config/properties.ini if present).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<std::path::PathBuf>,
    /// What to do; without one, the gateway is served.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the GraphQL API (the default).
    Serve,
    /// Print the effective configuration, secrets redacted, and exit (2 if it is invalid).
    CheckConfig,
    /// Sign a request with APIG App authentication and print the headers to send, as JSON.
    Sign(sign::SignArgs),
    /// Run the local DataSpace (GraphQL over SQLite, APIG-signed) as a standalone server.
    Dataspace(dataspace::DataSpaceArgs),
    /// Create a /send_logs user; the password is read from stdin.
    AddUser(add_user::AddUserArgs),
}

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let config = cli.config.as_deref();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve::serve(config),
        Command::CheckConfig => serve::check_config(config),
        Command::Sign(args) => sign::run(args),
        Command::Dataspace(args) => dataspace::run(args),
        Command::AddUser(args) => add_user::run(config, args),
    }
}

/// Logs at `level` (overridden by `RUST_LOG`), as JSON lines in containers.
fn init_tracing_with(level: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// The multi-threaded runtime the servers run on. Each subcommand sets up its logging first.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

/// Resolves on Ctrl-C or SIGTERM (the function platform stops containers with SIGTERM).
///
/// The handlers are installed by this call, not when the future is first awaited: a SIGTERM
/// that arrives while the server is still starting (or is serving but the caller has not yet
/// reached its `await`) would otherwise kill the process instead of stopping it. Call it
/// inside the runtime.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (interrupt, terminate) = signals;
            let next = |stream: Option<tokio::signal::unix::Signal>| async move {
                match stream {
                    Some(mut stream) => {
                        stream.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = next(interrupt) => {}
                _ = next(terminate) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
