//! Checks on a GraphQL document before async-graphql executes it, shared by HTTP and WebSocket:
//! the document's size and shape ([`crate::graphql_document`], before async-graphql parses
//! it), the operation chosen (and whether this transport may run it), aliases and root fields.
//! Depth and complexity are async-graphql's own validation (set in [`super::build_schema`]).
//!
//! Also the marker that tells a transport whether a failed request got past validation: the
//! spec answers a document that never executed (parse or validation failure) differently from
//! one whose execution raised errors, and async-graphql's `Response` does not say which.

use super::documents::ParsedDocuments;
use crate::graphql_document::{self, DocumentCaps, Refusal};
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{ServerError, ValidationResult};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// `extensions.code` of a request refused by a limit.
pub const LIMIT_EXCEEDED: &str = "LIMIT_EXCEEDED";
/// `extensions.code` of a document that does not parse.
pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// `extensions.code` of a document that does not validate against the schema.
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

/// The document limits (from `[limits]`).
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    pub aliases: usize,
    pub root_fields: usize,
    pub depth: usize,
    pub complexity: usize,
    /// `__schema` / `__type` allowed.
    pub introspection: bool,
    /// Size and shape of the raw document.
    pub document: DocumentCaps,
}

/// Which operation types a transport runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// HTTP GET: queries only (a GET must not change anything, and a browser sends one
    /// cross-site without asking).
    QueriesOnly,
    /// HTTP POST: queries and mutations; subscriptions need the WebSocket.
    QueriesAndMutations,
    /// WebSocket: everything.
    All,
}

/// Why a document was refused before execution.
#[derive(Debug)]
pub enum DocumentRefusal {
    /// Parse, operation selection or a limit: a GraphQL error with this code.
    Invalid { code: &'static str, message: String },
    /// A mutation over GET (405) or a subscription over HTTP.
    WrongTransport {
        operation: OperationType,
        message: String,
    },
}

impl DocumentRefusal {
    fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { code, .. } => code,
            Self::WrongTransport { .. } => "OPERATION_NOT_ALLOWED",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::Invalid { message, .. } | Self::WrongTransport { message, .. } => message,
        }
    }
}

/// Parses the request's document (kept in the request, so async-graphql does not parse it
/// again; taken from `documents` when the same text was parsed before), picks the operation
/// and checks it against the transport and the limits.
pub fn inspect(
    request: &mut async_graphql::Request,
    allowed: Allowed,
    limits: &DocumentLimits,
    documents: &ParsedDocuments,
) -> Result<OperationType, DocumentRefusal> {
    let operation_name = request.operation_name.clone();
    match documents.get(&request.query) {
        // The same text passed the scan under the same limits.
        Some(parsed) => request.set_parsed_query(parsed),
        None => {
            let tokens =
                graphql_document::scan(&request.query, &limits.document).map_err(refusal)?;
            let parsed = async_graphql::parser::parse_query(&request.query)
                .map_err(|error| parse_failed(error.into()))?;
            documents.keep(&request.query, &parsed, tokens);
            request.set_parsed_query(parsed);
        }
    }
    // Set above: async-graphql does not parse it again.
    let document = request.parsed_query().map_err(parse_failed)?;
    let expansion = graphql_document::expand(document, &limits.document).map_err(refusal)?;
    let (operation_type, selection_set) = select_operation(document, operation_name.as_deref())?;
    match (allowed, operation_type) {
        (Allowed::QueriesOnly, OperationType::Mutation) => {
            return Err(DocumentRefusal::WrongTransport {
                operation: operation_type,
                message: "mutations are not allowed over GET; send them with POST".into(),
            });
        }
        (Allowed::QueriesOnly | Allowed::QueriesAndMutations, OperationType::Subscription) => {
            return Err(DocumentRefusal::WrongTransport {
                operation: operation_type,
                message: "subscriptions need the WebSocket transport: connect to /graphql with \
                          the graphql-transport-ws subprotocol"
                    .into(),
            });
        }
        _ => {}
    }
    let aliases = count_aliases(document);
    if aliases > limits.aliases {
        return Err(DocumentRefusal::invalid(
            LIMIT_EXCEEDED,
            format!(
                "the document uses {aliases} aliases; the limit is {}",
                limits.aliases
            ),
        ));
    }
    let facts = expansion.facts(selection_set);
    if !limits.introspection && facts.introspection {
        return Err(DocumentRefusal::invalid(
            VALIDATION_FAILED,
            "introspection (__schema, __type) is disabled on this deployment ([graphql] introspection)",
        ));
    }
    let root_fields = facts.root_fields;
    if root_fields > limits.root_fields {
        return Err(DocumentRefusal::invalid(
            LIMIT_EXCEEDED,
            format!(
                "the operation selects {root_fields} root fields; the limit is {}",
                limits.root_fields
            ),
        ));
    }
    Ok(operation_type)
}

fn refusal(refusal: Refusal) -> DocumentRefusal {
    match refusal {
        Refusal::Limit(message) => DocumentRefusal::invalid(LIMIT_EXCEEDED, message),
        Refusal::Cycle(message) => DocumentRefusal::invalid(VALIDATION_FAILED, message),
    }
}

fn parse_failed(error: ServerError) -> DocumentRefusal {
    DocumentRefusal::invalid(PARSE_FAILED, parse_message(&error))
}

/// pest's multi-line report as one line: what was expected, and where.
fn parse_message(error: &ServerError) -> String {
    let expected = error
        .message
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("= "))
        .unwrap_or(error.message.trim());
    match error.locations.first() {
        Some(at) => format!(
            "the document does not parse at line {}, column {}: {expected}",
            at.line, at.column
        ),
        None => format!("the document does not parse: {expected}"),
    }
}

fn select_operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Result<(OperationType, &'a SelectionSet), DocumentRefusal> {
    let operation = match (&document.operations, name) {
        (DocumentOperations::Single(operation), None) => operation,
        (DocumentOperations::Single(_), Some(name)) => {
            return Err(DocumentRefusal::invalid(
                VALIDATION_FAILED,
                format!("the document has no operation named \"{name}\""),
            ));
        }
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).ok_or_else(|| {
                DocumentRefusal::invalid(
                    VALIDATION_FAILED,
                    format!("the document has no operation named \"{name}\""),
                )
            })?
        }
        (DocumentOperations::Multiple(operations), None) => {
            if operations.len() == 1 {
                operations.values().next().expect("one operation")
            } else {
                return Err(DocumentRefusal::invalid(
                    VALIDATION_FAILED,
                    "the document has several operations: say which with operationName",
                ));
            }
        }
    };
    Ok((operation.node.ty, &operation.node.selection_set.node))
}

fn count_aliases(document: &ExecutableDocument) -> usize {
    fn walk(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()) + walk(&field.node.selection_set.node)
                }
                Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, operation)| walk(&operation.node.selection_set.node))
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|fragment| walk(&fragment.node.selection_set.node))
        .sum();
    operations + fragments
}

/// Put into a request's data; set once the request passed validation.
#[derive(Clone, Default)]
pub struct Validated(Arc<AtomicBool>);

impl Validated {
    pub fn passed(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The schema extension that sets [`Validated`] and names the limit a validation error is
/// about.
pub struct ValidationMarker {
    pub limits: DocumentLimits,
}

impl ExtensionFactory for ValidationMarker {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidationMarkerExtension {
            limits: self.limits,
        })
    }
}

struct ValidationMarkerExtension {
    limits: DocumentLimits,
}

#[async_trait::async_trait]
impl Extension for ValidationMarkerExtension {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        match next.run(ctx).await {
            Ok(result) => {
                if let Some(marker) = ctx.data_opt::<Validated>() {
                    marker.0.store(true, Ordering::Release);
                }
                Ok(result)
            }
            Err(errors) => Err(errors
                .into_iter()
                .map(|error| explain_validation_error(error, &self.limits))
                .collect()),
        }
    }
}

fn explain_validation_error(mut error: ServerError, limits: &DocumentLimits) -> ServerError {
    let code = if error.message.starts_with("Query is nested too deep") {
        error.message = format!(
            "the query is nested deeper than the limit of {} levels",
            limits.depth
        );
        LIMIT_EXCEEDED
    } else if error.message.starts_with("Query is too complex") {
        error.message = format!(
            "the query is more complex than the limit of {}",
            limits.complexity
        );
        LIMIT_EXCEEDED
    } else {
        VALIDATION_FAILED
    };
    set_code(&mut error, code);
    error
}

/// Sets `extensions.code` unless the error already has one.
pub fn set_code(error: &mut ServerError, code: &str) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DocumentLimits = DocumentLimits {
        aliases: 2,
        root_fields: 2,
        depth: 5,
        complexity: 50,
        introspection: false,
        document: DocumentCaps {
            nesting: 16,
            tokens: 1000,
            operations: 4,
            fragments: 8,
            variables: 4,
            selections: 100,
        },
    };

    fn check(query: &str, allowed: Allowed) -> Result<OperationType, DocumentRefusal> {
        inspect(
            &mut async_graphql::Request::new(query),
            allowed,
            &LIMITS,
            &ParsedDocuments::with_capacity(1 << 16),
        )
    }

    #[test]
    fn mutations_are_refused_over_get_only() {
        assert!(matches!(
            check("mutation { a }", Allowed::QueriesOnly),
            Err(DocumentRefusal::WrongTransport { .. })
        ));
        assert!(check("mutation { a }", Allowed::QueriesAndMutations).is_ok());
        assert!(check("subscription { a }", Allowed::All).is_ok());
    }

    #[test]
    fn aliases_and_root_fields_are_counted_through_fragments() {
        let refused = check(
            "{ a: x b: x ...F } fragment F on Query { c: x }",
            Allowed::All,
        )
        .unwrap_err();
        assert_eq!(refused.code(), LIMIT_EXCEEDED);
        assert!(refused.message().contains("3 aliases"), "{refused:?}");
        let refused = check("{ x y ...F } fragment F on Query { z }", Allowed::All).unwrap_err();
        assert!(refused.message().contains("3 root fields"), "{refused:?}");
    }

    #[test]
    fn introspection_is_refused_when_off() {
        let refused = check(
            "{ ...F } fragment F on Query { __schema { a } }",
            Allowed::All,
        )
        .unwrap_err();
        assert!(refused.message().contains("introspection"), "{refused:?}");
        assert!(check("{ __typename }", Allowed::All).is_ok());
    }

    #[test]
    fn an_unknown_operation_name_is_explained() {
        let mut request = async_graphql::Request::new("query A { x }").operation_name("B");
        let refused = inspect(
            &mut request,
            Allowed::All,
            &LIMITS,
            &ParsedDocuments::with_capacity(1 << 16),
        )
        .unwrap_err();
        assert!(refused.message().contains("\"B\""));
    }

    #[test]
    fn a_document_parsed_before_is_checked_as_the_first_time() {
        let documents = ParsedDocuments::with_capacity(1 << 16);
        let inspect_twice = |query: &str, allowed| {
            let first = inspect(
                &mut async_graphql::Request::new(query),
                allowed,
                &LIMITS,
                &documents,
            );
            let mut again = async_graphql::Request::new(query);
            let second = inspect(&mut again, allowed, &LIMITS, &documents);
            (first, second, again)
        };
        let (first, second, mut again) =
            inspect_twice("mutation { a }", Allowed::QueriesAndMutations);
        assert!(first.is_ok() && second.is_ok());
        assert!(documents.get("mutation { a }").is_some(), "kept");
        assert!(
            again.parsed_query().is_ok(),
            "the request carries its parsed form"
        );
        // Kept, and still refused where the transport or the limits say so.
        let (first, second, _) = inspect_twice("mutation { a }", Allowed::QueriesOnly);
        assert!(matches!(first, Err(DocumentRefusal::WrongTransport { .. })));
        assert!(matches!(
            second,
            Err(DocumentRefusal::WrongTransport { .. })
        ));
        let (first, second, _) = inspect_twice("{ a: x b: x c: x }", Allowed::All);
        assert_eq!(first.unwrap_err().code(), LIMIT_EXCEEDED);
        assert_eq!(second.unwrap_err().code(), LIMIT_EXCEEDED);
        // A document that does not parse is not kept.
        let (first, second, _) = inspect_twice("{ a", Allowed::All);
        assert_eq!(first.unwrap_err().code(), PARSE_FAILED);
        assert_eq!(second.unwrap_err().code(), PARSE_FAILED);
        assert!(documents.get("{ a").is_none());
    }
}
