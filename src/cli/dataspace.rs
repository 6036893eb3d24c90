//! `logbot-gateway dataspace`: the local DataSpace as a standalone server.

use crate::apig::KeyRing;
use crate::embedded_dataspace::{LocalDataSpace, LocalOptions, ReadLimits};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct DataSpaceArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// SQLite file (created with its directory if missing).
    #[arg(long, default_value = "data/dataspace.sqlite")]
    db: PathBuf,
    /// App key whose signatures are accepted.
    #[arg(long, env = "APP_KEY")]
    key: Option<String>,
    /// App secret for that key.
    #[arg(long, env = "APP_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Print the served schema (SDL) and exit.
    #[arg(long)]
    print_schema: bool,
}

pub fn run(args: DataSpaceArgs) -> ExitCode {
    if args.print_schema {
        print!("{}", crate::embedded_dataspace::served_sdl());
        return ExitCode::SUCCESS;
    }
    let (key, secret) = match (args.key, args.secret) {
        (Some(key), Some(secret)) if !key.is_empty() && !secret.is_empty() => (key, secret),
        (None, None) => {
            let key = uuid::Uuid::new_v4().to_string();
            let secret = uuid::Uuid::new_v4().to_string();
            eprintln!(
                "no APP_KEY/APP_SECRET given; generated for this run:\n  APP_KEY={key}\n  APP_SECRET={secret}"
            );
            (key, secret)
        }
        _ => {
            eprintln!(
                "logbot-gateway dataspace: give both --key and --secret (or APP_KEY and APP_SECRET), or neither"
            );
            return ExitCode::from(2);
        }
    };
    let options = LocalOptions {
        listen: args.listen,
        db_path: args.db,
        keys: KeyRing::new().with(key, secret),
        reads: ReadLimits::default(),
        durability: Default::default(),
        contains_index: Default::default(),
    };
    // Logs as text; level from `RUST_LOG` (default info).
    super::init_tracing_with("info", false);
    super::runtime().block_on(async move {
        match LocalDataSpace::start(options).await {
            Ok(running) => {
                eprintln!("local DataSpace serving {}", running.url);
                let url = running.url.clone();
                tokio::select! {
                    _ = running.wait() => {}
                    _ = super::shutdown_signal() => eprintln!("stopping {url}"),
                }
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("logbot-gateway dataspace: {error}");
                ExitCode::from(1)
            }
        }
    })
}
