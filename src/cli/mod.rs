//! The `logbot-gateway` command line: one subcommand per tool.

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
}

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Sign(args) => sign::run(args),
    }
}
