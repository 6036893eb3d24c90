//! Parsed documents by their text. An app sends the same document every time with new
//! variables, and its parse was about 5% of the CPU of a GraphQL `sendLogs` (perf,
//! 2026-12-06); a copy of the parsed form costs a fraction of that. Bounded by
//! `[limits] parsed_documents_bytes` of document text, oldest out (the parsed form of a
//! document takes a few times its text).

use super::byte_bounded::ByteBounded;
use async_graphql::parser::types::ExecutableDocument;
use std::sync::Arc;

pub struct ParsedDocuments {
    documents: ByteBounded<Arc<ExecutableDocument>>,
}

impl ParsedDocuments {
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            documents: ByteBounded::with_capacity(bytes),
        }
    }

    /// A copy of the parsed form of `text`, when it is kept.
    pub fn get(&self, text: &str) -> Option<ExecutableDocument> {
        self.documents
            .get(text)
            .map(|document| ExecutableDocument::clone(&document))
    }

    /// Keeps the parsed form of `text`.
    pub fn keep(&self, text: &str, document: &ExecutableDocument) {
        self.documents
            .insert(text, Arc::new(document.clone()), text.len());
    }
}
