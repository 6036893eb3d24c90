//! The parameters of a GraphQL request (`query`, `operationName`, `variables`, `extensions`),
//! read from a JSON object or a GET query string and checked.

use super::Failure;
use crate::api::ApiSchema;
use crate::api::apq::{self, ApqError};
use serde_json::{Map, Value};

/// The parameters of one GraphQL request, checked.
#[derive(Debug, Default)]
pub struct Params {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub variables: Option<Map<String, Value>>,
    pub extensions: Option<Map<String, Value>>,
}

impl Params {
    /// From a JSON object (a POST body, a WebSocket `subscribe` payload).
    pub fn from_json(value: Value) -> Result<Self, String> {
        let Value::Object(mut object) = value else {
            return Err(
                "a GraphQL request must be a JSON object with a \"query\" (a string)".into(),
            );
        };
        let query = match object.remove("query") {
            None | Some(Value::Null) => None,
            Some(Value::String(query)) => Some(query),
            Some(other) => {
                return Err(format!(
                    "\"query\" must be a string, not {}",
                    crate::json::kind(&other)
                ));
            }
        };
        let operation_name = match object.remove("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name),
            Some(other) => {
                return Err(format!(
                    "\"operationName\" must be a string, not {}",
                    crate::json::kind(&other)
                ));
            }
        };
        Ok(Self {
            query,
            operation_name,
            variables: map_param("variables", object.remove("variables"))?,
            extensions: map_param("extensions", object.remove("extensions"))?,
        })
    }

    /// From a GET query string; `variables` and `extensions` are JSON text.
    pub fn from_query_string(query_string: &str) -> Result<Self, String> {
        let mut params = Self::default();
        for (key, value) in form_urlencoded::parse(query_string.as_bytes()) {
            match key.as_ref() {
                "query" => params.query = Some(value.into_owned()),
                "operationName" if !value.is_empty() => {
                    params.operation_name = Some(value.into_owned())
                }
                "variables" | "extensions" if !value.is_empty() => {
                    let parsed: Value = serde_json::from_str(&value)
                        .map_err(|error| format!("\"{key}\" is not JSON: {error}"))?;
                    let map = map_param(&key, Some(parsed))?;
                    if key == "variables" {
                        params.variables = map;
                    } else {
                        params.extensions = map;
                    }
                }
                _ => {}
            }
        }
        Ok(params)
    }

    /// The async-graphql request, the query taken from the persisted queries when the request
    /// uses APQ (with the query to register once it passed the checks, when one was sent).
    pub(super) fn into_request(
        self,
        schema: &ApiSchema,
    ) -> Result<(async_graphql::Request, Option<apq::Pending>), Failure> {
        let (query, pending) = match schema
            .persisted_queries()
            .resolve(self.query.as_deref(), self.extensions.as_ref())
        {
            Ok(Some(resolved)) => (resolved.query().to_string(), resolved.pending()),
            Ok(None) => (
                self.query.ok_or_else(|| {
                    Failure::bad_request(
                        "the request has no \"query\": send the GraphQL document as a string",
                    )
                })?,
                None,
            ),
            Err(ApqError::NotFound) => return Err(Failure::persisted_query_not_found()),
            Err(ApqError::Invalid(message)) => return Err(Failure::bad_request(message)),
        };
        let mut request = async_graphql::Request::new(query);
        if let Some(name) = self.operation_name {
            request = request.operation_name(name);
        }
        if let Some(variables) = self.variables {
            request = request.variables(async_graphql::Variables::from_json(Value::Object(
                variables,
            )));
        }
        Ok((request, pending))
    }
}

fn map_param(name: &str, value: Option<Value>) -> Result<Option<Map<String, Value>>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(format!(
            "\"{name}\" must be a map (a JSON object), not {}",
            crate::json::kind(&other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameters_are_checked() {
        assert!(Params::from_json(json!({"query": 1})).is_err());
        assert!(Params::from_json(json!({"query": "{a}", "variables": "x"})).is_err());
        assert!(Params::from_json(json!({"query": "{a}", "extensions": [1]})).is_err());
        assert!(Params::from_json(json!({"query": "{a}", "operationName": false})).is_err());
        let params = Params::from_json(
            json!({"query": "{a}", "variables": null, "operationName": null, "extensions": null}),
        )
        .unwrap();
        assert_eq!(params.query.as_deref(), Some("{a}"));
        let params =
            Params::from_query_string("query=%7Ba%7D&variables=%7B%22x%22%3A1%7D").unwrap();
        assert_eq!(params.variables.unwrap()["x"], 1);
        assert!(Params::from_query_string("query=x&variables=%5B%5D").is_err());
    }
}
