//! `logbot-gateway add-user USERNAME [--bot NAME]`: creates a user of `/send_logs`, the
//! password read from stdin, against the configured DataSpace (the embedded one when no URL is
//! set, started for the command and stopped after it).

use crate::server::Gateway;
use clap::Args;
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct AddUserArgs {
    /// The name the LoggerBot client sends as `data.user`.
    username: String,
    /// The bot the user's records go to (else `[send_logs] default_bot`).
    #[arg(long, value_name = "NAME")]
    bot: Option<String>,
}

/// The password: stdin up to the end, one trailing line break removed.
fn read_password() -> std::io::Result<String> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password for the new user (end with Enter, then Ctrl-D): ");
    }
    let mut text = String::new();
    stdin.read_to_string(&mut text)?;
    let trimmed = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    Ok(trimmed.to_owned())
}

pub fn run(config: Option<&Path>, args: AddUserArgs) -> ExitCode {
    let settings = match super::serve::load(config) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let password = match read_password() {
        Ok(password) => password,
        Err(error) => {
            eprintln!("logbot-gateway add-user: cannot read the password from stdin: {error}");
            return ExitCode::from(2);
        }
    };
    // Only what goes wrong; the embedded DataSpace's start-up lines are noise here.
    super::init_tracing_with("warn", false);
    super::runtime().block_on(async move {
        let mut gateway = match Gateway::build(&settings).await {
            Ok(gateway) => gateway,
            Err(error) => {
                eprintln!("logbot-gateway add-user: {error}");
                return ExitCode::FAILURE;
            }
        };
        let result = gateway
            .state
            .service
            .create_log_user(&args.username, &password, args.bot.as_deref())
            .await;
        if let Some(embedded) = gateway.embedded.take() {
            embedded.stop().await;
        }
        match result {
            Ok(user) => {
                let bot = args
                    .bot
                    .as_deref()
                    .or(settings.send_logs.default_bot.as_deref())
                    .map(|bot| format!("records go to bot {bot}"))
                    .unwrap_or_else(|| {
                        "bound to no bot, and [send_logs] default_bot is not set: /send_logs will refuse it".into()
                    });
                println!("created user {:?}; {bot}", user.username);
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("logbot-gateway add-user: {error}");
                ExitCode::FAILURE
            }
        }
    })
}
