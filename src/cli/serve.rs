//! `logbot-gateway` / `logbot-gateway serve`: run the gateway; and `check-config`.

use crate::config::Settings;
use std::path::Path;
use std::process::ExitCode;

/// Exit code for a configuration error (start-up refused).
const CONFIG_ERROR: u8 = 2;

/// The settings, or the exit code after the configuration error is printed.
pub(super) fn load(config: Option<&Path>) -> Result<Settings, ExitCode> {
    Settings::from_process_env(config).map_err(|error| {
        eprintln!("logbot-gateway: configuration error: {error}");
        ExitCode::from(CONFIG_ERROR)
    })
}

pub fn serve(config: Option<&Path>) -> ExitCode {
    let settings = match load(config) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    super::init_tracing_with(
        &settings.log.level,
        settings.log.format == crate::config::LogFormat::Json,
    );
    crate::fd_limit::raise_and_report(
        settings.server.max_connections + settings.limits.ws_connections,
    );
    let runtime = super::runtime();
    let grace = settings.server.shutdown_grace;
    // The signal handlers go in first thing, before the gateway is built.
    let result =
        runtime.block_on(async { crate::server::run(settings, super::shutdown_signal()).await });
    // Dropping the runtime would wait for blocking tasks without end (a SQLite query that
    // outlived its request); they get one more grace.
    runtime.shutdown_timeout(grace);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("logbot-gateway: {error}");
            ExitCode::FAILURE
        }
    }
}

pub fn check_config(config: Option<&Path>) -> ExitCode {
    match load(config) {
        Ok(settings) => {
            print!("{}", settings.redacted());
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}
