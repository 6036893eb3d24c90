//! Every vector from the official signer, compared step by step, through the library and
//! through the `logbot-gateway sign` command.

use logbot_gateway::apig::{AppCredentials, SigningRequest, sign};
use serde::Deserialize;
use std::process::Command;

#[derive(Debug, Deserialize)]
struct VectorFile {
    vectors: Vec<Vector>,
}

#[derive(Debug, Deserialize)]
struct Vector {
    id: String,
    key: String,
    secret: String,
    method: String,
    url: String,
    headers_in: serde_json::Map<String, serde_json::Value>,
    x_sdk_date: String,
    body: String,
    signed_headers: String,
    canonical_request: String,
    string_to_sign: String,
    signature: String,
    headers_out: serde_json::Map<String, serde_json::Value>,
}

fn vectors() -> Vec<Vector> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/apig/vectors.json"
    );
    let text =
        std::fs::read_to_string(path).expect("tests/fixtures/apig/vectors.json is in the repo");
    let file: VectorFile = serde_json::from_str(&text).expect("vectors.json parses");
    assert!(!file.vectors.is_empty());
    file.vectors
}

fn headers_in(vector: &Vector) -> Vec<(String, String)> {
    vector
        .headers_in
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn every_vector_matches_step_by_step() {
    for vector in vectors() {
        let mut headers = headers_in(&vector);
        headers.push(("X-Sdk-Date".into(), vector.x_sdk_date.clone()));
        let mut request = SigningRequest::from_url(&vector.method, &vector.url, headers);
        let credentials = AppCredentials::new(&vector.key, &vector.secret);
        let trace = sign(
            &mut request,
            vector.body.as_bytes(),
            &credentials,
            chrono::Utc::now(),
        )
        .unwrap_or_else(|error| panic!("{}: {error}", vector.id));
        assert_eq!(
            trace.canonical_request, vector.canonical_request,
            "{}: canonical request",
            vector.id
        );
        assert_eq!(
            trace.signed_headers, vector.signed_headers,
            "{}: signed headers",
            vector.id
        );
        assert_eq!(
            trace.string_to_sign, vector.string_to_sign,
            "{}: string to sign",
            vector.id
        );
        assert_eq!(
            trace.signature, vector.signature,
            "{}: signature",
            vector.id
        );
        assert_eq!(
            Some(trace.authorization.as_str()),
            vector.headers_out["Authorization"].as_str(),
            "{}: Authorization",
            vector.id
        );
    }
}

#[test]
fn sign_command_prints_the_vector_headers() {
    for vector in vectors() {
        let mut command = Command::new(env!("CARGO_BIN_EXE_logbot-gateway"));
        command
            .env_remove("APP_KEY")
            .env_remove("APP_SECRET")
            .args(["sign", "--key", &vector.key, "--secret", &vector.secret])
            .args(["--method", &vector.method, "--url", &vector.url])
            .args(["--date", &vector.x_sdk_date, "--data", &vector.body]);
        for (name, value) in headers_in(&vector) {
            command.arg("-H").arg(format!("{name}: {value}"));
        }
        let output = command.output().expect("the binary runs");
        assert!(
            output.status.success(),
            "{}: {}",
            vector.id,
            String::from_utf8_lossy(&output.stderr)
        );
        let printed: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&output.stdout).expect("stdout is one JSON object");
        assert_eq!(
            printed, vector.headers_out,
            "{}: headers after signing",
            vector.id
        );
        let names: Vec<&String> = printed.keys().collect();
        let expected_names: Vec<&String> = vector.headers_out.keys().collect();
        assert_eq!(names, expected_names, "{}: header order", vector.id);
    }
}

#[test]
fn sign_command_verbose_shows_canonical_request_on_stderr() {
    let vector = &vectors()[0];
    let output = Command::new(env!("CARGO_BIN_EXE_logbot-gateway"))
        .args([
            "sign",
            "--key",
            &vector.key,
            "--secret",
            &vector.secret,
            "--url",
            &vector.url,
        ])
        .args(["--date", &vector.x_sdk_date, "--verbose"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains(&vector.canonical_request), "{stderr}");
    assert!(stderr.contains(&vector.string_to_sign), "{stderr}");
}

#[test]
fn sign_command_rejects_bad_input_clearly() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_logbot-gateway"))
            .args(["sign", "--key", "k", "--secret", "s", "--url", "http://h/"])
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&["-H", "no colon here"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Name: value"));
    let output = run(&["--date", "2024-01-15"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("YYYYMMDDTHHMMSSZ"));
}
