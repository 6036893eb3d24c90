//! Differential test: random requests signed by the official Python signer (PyPI
//! apigateway-sdk-python 1.0.0) and by ours must agree byte for byte. The package is installed
//! into `target/official-signer` on first use (PyPI is reachable from every machine we build on).

use logbot_gateway::apig::{AppCredentials, SigningRequest, sign};
use serde::Deserialize;
use std::path::PathBuf;
use std::process::Command;

#[derive(Debug, Deserialize)]
struct Case {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: String,
    date: String,
    key: String,
    secret: String,
    canonical_request: String,
    string_to_sign: String,
    authorization: String,
}

fn official_signer_path() -> PathBuf {
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/official-signer");
    if !target.join("apigateway_sdk_python/signer.py").exists() {
        let status = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
            ])
            .args(["--target"])
            .arg(&target)
            .arg("apigateway-sdk-python==1.0.0")
            .status()
            .expect("python3 with pip is installed");
        assert!(
            status.success(),
            "installing apigateway-sdk-python from PyPI failed"
        );
    }
    target
}

#[test]
fn random_requests_sign_exactly_like_the_official_signer() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/support/official_signer.py"
    );
    let output = Command::new("python3")
        .env("PYTHONPATH", official_signer_path())
        .args([script, "400", "20261122"])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cases: Vec<Case> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(cases.len(), 400);
    for case in cases {
        let mut headers = case.headers.clone();
        headers.push(("X-Sdk-Date".into(), case.date.clone()));
        let mut request = SigningRequest::from_url(&case.method, &case.url, headers);
        let trace = sign(
            &mut request,
            case.body.as_bytes(),
            &AppCredentials::new(&case.key, &case.secret),
            chrono::Utc::now(),
        )
        .unwrap();
        assert_eq!(
            trace.canonical_request, case.canonical_request,
            "{} {}",
            case.method, case.url
        );
        assert_eq!(trace.string_to_sign, case.string_to_sign, "{}", case.url);
        assert_eq!(trace.authorization, case.authorization, "{}", case.url);
    }
}
