//! A `reqwest_middleware::Middleware` that signs each outgoing request over the exact body
//! bytes it carries, with `host` equal to the Host header that will be sent.

use super::signer::{AppCredentials, SignError, SigningRequest, sign};
use chrono::Utc;
use http::{Extensions, HeaderName, HeaderValue};
use reqwest_middleware::{Middleware, Next};
use std::sync::Arc;

/// Signs every request passing through the client.
#[derive(Clone, Debug)]
pub struct SigningMiddleware {
    credentials: Arc<AppCredentials>,
}

impl SigningMiddleware {
    pub fn new(credentials: AppCredentials) -> Self {
        Self {
            credentials: Arc::new(credentials),
        }
    }
}

/// The Host header hyper will send for this URL: the host, plus the port only when the URL
/// names a non-default one (`url` already drops `:443` for https and `:80` for http).
pub fn host_header_for(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// Signs a reqwest request in place.
pub fn sign_reqwest(
    request: &mut reqwest::Request,
    credentials: &AppCredentials,
) -> Result<(), SignError> {
    let body: &[u8] = match request.body() {
        None => &[],
        Some(body) => body.as_bytes().ok_or(SignError::StreamingBody)?,
    };
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let url = request.url();
    let mut signing = SigningRequest {
        method: request.method().as_str().to_owned(),
        host: host_header_for(url),
        raw_path: url.path().to_owned(),
        raw_query: url.query().unwrap_or_default().to_owned(),
        headers,
    };
    sign(&mut signing, body, credentials, Utc::now())?;

    // Write back every header as the signer left it (trimmed, plus date, host, authorization).
    let target = request.headers_mut();
    for (name, value) in &signing.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) else {
            continue;
        };
        if target.get(&name) != Some(&value) {
            target.insert(name, value);
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl Middleware for SigningMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        sign_reqwest(&mut request, &self.credentials)
            .map_err(|error| reqwest_middleware::Error::Middleware(error.into()))?;
        next.run(request, extensions).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ports_are_not_part_of_host() {
        let host = |url: &str| host_header_for(&reqwest::Url::parse(url).unwrap());
        assert_eq!(host("https://example.com:443/x"), "example.com");
        assert_eq!(host("http://example.com:80/x"), "example.com");
        assert_eq!(host("http://127.0.0.1:8081/graphql"), "127.0.0.1:8081");
        assert_eq!(host("http://[::1]:9/"), "[::1]:9");
    }
}
