//! The GraphiQL page a browser gets on `GET /graphql`.
//!
//! The page pins exact versions of its four asset files and carries their subresource-integrity
//! hashes, so whatever serves them (unpkg by default, or a host of the operator's choosing via
//! `[graphql] graphiql_assets_url`) cannot run anything else in a page that talks to the API.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, header};
use axum::response::{Html, IntoResponse, Response};
use reqwest::Url;

const TEMPLATE: &str = include_str!("graphiql.html");

/// One file the page loads: its path under the assets base (npm's `name@version/file` layout,
/// as unpkg and jsDelivr's `/npm/` serve it) and its SHA-384 integrity hash.
struct Asset {
    placeholder: &'static str,
    path: &'static str,
    integrity: &'static str,
}

/// The files, from the npm packages graphiql@4.1.2, react@18.3.1 and react-dom@18.3.1.
const ASSETS: [Asset; 4] = [
    Asset {
        placeholder: "graphiql_css",
        path: "graphiql@4.1.2/graphiql.min.css",
        integrity: "sha384-1el1QShFBnnXTx9x/Cprg82hZWKt0ry29OAYIXt05swbi0KcZDFoj0CWguMpopJr",
    },
    Asset {
        placeholder: "react_js",
        path: "react@18.3.1/umd/react.production.min.js",
        integrity: "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
    },
    Asset {
        placeholder: "react_dom_js",
        path: "react-dom@18.3.1/umd/react-dom.production.min.js",
        integrity: "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
    },
    Asset {
        placeholder: "graphiql_js",
        path: "graphiql@4.1.2/graphiql.min.js",
        integrity: "sha384-9XdHu7ajgGJziD4J1zNBKQ842Q/+zZfDv+ib1eMhZWBH6hPAs806x+Jbcf0yNO6B",
    },
];

/// Whether a GET should get the GraphiQL page: a browser's navigation (HTML first) with no
/// GraphQL parameters.
pub fn wants_graphiql(method: &Method, headers: &HeaderMap, query_string: Option<&str>) -> bool {
    method == Method::GET
        && query_string
            .is_none_or(|query| !query.contains("query=") && !query.contains("extensions="))
        && headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

/// The page, rendered once at startup: it only depends on the configured assets base.
#[derive(Clone)]
pub struct GraphiqlPage(Bytes);

impl GraphiqlPage {
    /// `assets_base` must end in `/` (the configuration makes sure of it).
    pub fn new(assets_base: &Url) -> Self {
        let mut page = TEMPLATE.replace("{{assets_base}}", &escape_attribute(assets_base.as_str()));
        for asset in &ASSETS {
            let url = assets_base
                .join(asset.path)
                .expect("an asset path joins any http(s) base");
            page = page
                .replace(
                    &format!("{{{{{}}}}}", asset.placeholder),
                    &escape_attribute(url.as_str()),
                )
                .replace(
                    &format!("{{{{{}_integrity}}}}", asset.placeholder),
                    asset.integrity,
                );
        }
        Self(Bytes::from(page))
    }

    /// The page; its bytes are shared, not copied.
    pub fn response(&self) -> Response {
        Html(self.0.clone()).into_response()
    }
}

/// Enough for a URL inside a double-quoted attribute or as element text.
fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled_with_pinned_urls_and_hashes() {
        let page = GraphiqlPage::new(&Url::parse("http://assets.test/npm/").unwrap()).0;
        let page = std::str::from_utf8(&page).unwrap();
        assert!(!page.contains("{{"), "{page}");
        assert!(page.contains(
            r#"src="http://assets.test/npm/graphiql@4.1.2/graphiql.min.js" integrity="sha384-9XdH"#
        ));
        assert!(page.contains(
            r#"href="http://assets.test/npm/graphiql@4.1.2/graphiql.min.css" integrity="sha384-1el1"#
        ));
        assert_eq!(page.matches("crossorigin=\"anonymous\"").count(), 4);
    }

    #[test]
    fn a_base_cannot_break_out_of_the_attribute() {
        let page = GraphiqlPage::new(&Url::parse("http://a.test/x'y/?a=1&b=\"<").unwrap()).0;
        let page = std::str::from_utf8(&page).unwrap();
        assert!(!page.contains("\"<"), "{page}");
        assert!(
            page.contains("data-assets=\"http://a.test/x'y/?a=1&amp;b=%22%3C\""),
            "{page}"
        );
    }
}
