//! `logbot-gateway sign`: the tool to reach for when the gateway answers 401. It signs exactly
//! as the official signer would and prints the resulting headers.

use crate::apig::{AppCredentials, SigningRequest, sign};
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SignArgs {
    /// App key (Access).
    #[arg(long, env = "APP_KEY")]
    key: String,
    /// App secret.
    #[arg(long, env = "APP_SECRET", hide_env_values = true)]
    secret: String,
    /// HTTP method.
    #[arg(long, short = 'X', default_value = "GET")]
    method: String,
    /// Full URL, e.g. https://host/path?query.
    #[arg(long)]
    url: String,
    /// A header to sign, as 'Name: value'; repeatable.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// The request body, as text.
    #[arg(long, short = 'd', conflicts_with = "data_file")]
    data: Option<String>,
    /// Read the request body from a file (bytes as they are).
    #[arg(long, value_name = "PATH")]
    data_file: Option<std::path::PathBuf>,
    /// Use this X-Sdk-Date (YYYYMMDDTHHMMSSZ) instead of the current time.
    #[arg(long, value_name = "YYYYMMDDTHHMMSSZ")]
    date: Option<String>,
    /// Print the canonical request and the string to sign to stderr.
    #[arg(long, short = 'v')]
    verbose: bool,
}

pub fn run(args: SignArgs) -> ExitCode {
    match sign_and_render(args) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("logbot-gateway sign: {message}");
            ExitCode::from(2)
        }
    }
}

fn sign_and_render(args: SignArgs) -> Result<String, String> {
    let mut headers = Vec::with_capacity(args.headers.len() + 1);
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("header {header:?} is not of the form 'Name: value'"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("header {header:?} has an empty name"));
        }
        // Like a dict, the same name given twice keeps the last value.
        match headers
            .iter_mut()
            .find(|(existing, _): &&mut (String, String)| existing == name)
        {
            Some(entry) => entry.1 = value.to_owned(),
            None => headers.push((name.to_owned(), value.to_owned())),
        }
    }
    let body = match (&args.data, &args.data_file) {
        (Some(text), _) => text.clone().into_bytes(),
        (None, Some(path)) => std::fs::read(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?,
        (None, None) => Vec::new(),
    };
    let mut request = SigningRequest::from_url(&args.method, &args.url, headers);
    if let Some(date) = args.date {
        request.set_header("X-Sdk-Date", date);
    }
    let credentials = AppCredentials::new(args.key, args.secret);
    let trace = sign(&mut request, &body, &credentials, chrono::Utc::now())
        .map_err(|error| error.to_string())?;
    if args.verbose {
        eprintln!("--- canonical request ---\n{}", trace.canonical_request);
        eprintln!("--- string to sign ---\n{}", trace.string_to_sign);
    }
    // The reference signer also sets content-length after signing; it is not signed.
    request.set_header("content-length", body.len().to_string());
    let headers: serde_json::Map<String, serde_json::Value> = request
        .headers
        .into_iter()
        .map(|(name, value)| (name, serde_json::Value::String(value)))
        .collect();
    serde_json::to_string_pretty(&headers).map_err(|error| error.to_string())
}
