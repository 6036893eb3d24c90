//! The signing middleware against a loopback server that verifies every request with `verify`.

use crate::support::signing::verify_received;
use axum::{Router, body::Bytes, extract::Request, http::StatusCode, routing::any};
use logbot_gateway::apig::{AppCredentials, KeyRing, SigningMiddleware};

/// Starts a server that answers 200 with the verified key and the body it saw, or 401 with
/// the verification error.
async fn verifying_server() -> String {
    let keys = KeyRing::new().with("mw-key", "mw-secret");
    let app = Router::new().fallback(any(move |request: Request| {
        let keys = keys.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            match verify_received(&parts, &body, &keys) {
                Ok(key) => (
                    StatusCode::OK,
                    format!("{key}|{}", String::from_utf8_lossy(&body)),
                ),
                Err(error) => (StatusCode::UNAUTHORIZED, error.to_string()),
            }
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

fn client(secret: &str) -> reqwest_middleware::ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(SigningMiddleware::new(AppCredentials::new(
            "mw-key", secret,
        )))
        .build()
}

#[tokio::test]
async fn get_with_a_query_is_signed_and_verified() {
    let base = verifying_server().await;
    let response = client("mw-secret")
        .get(format!("{base}/v1/search/my%20file?b=2&a=%D0%96&a=1&q=a+b"))
        .header("X-Request-ID", "  req-7 ")
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(text, "mw-key|");
}

#[tokio::test]
async fn post_with_a_utf8_json_body_is_signed_over_the_exact_bytes() {
    let base = verifying_server().await;
    let body = serde_json::json!({"query": "mutation { sendLog(message: \"Привет, мир 😀\") }"});
    let response = client("mw-secret")
        .post(format!("{base}/graphql"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(text, format!("mw-key|{body}"));
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_the_server() {
    let base = verifying_server().await;
    let response = client("not-the-secret")
        .post(format!("{base}/graphql"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.text().await.unwrap(),
        "the signature does not match"
    );
}
