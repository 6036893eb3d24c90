//! Parsed documents by their text. An app sends the same document every time with new
//! variables, and its parse was about 5% of the CPU of a GraphQL `sendLogs` (perf,
//! 2026-12-06); a copy of the parsed form costs a fraction of that. Bounded by
//! `[limits] parsed_documents_bytes`, oldest out, each document counted by its text and an
//! estimate of its parsed form from its tokens (a document of one-letter fields takes over 100
//! times its text once parsed, so the text alone would not bound the memory).

use super::byte_bounded::ByteBounded;
use async_graphql::parser::types::ExecutableDocument;
use std::sync::Arc;

/// What a token of a document takes once parsed, about: the gateway's memory grew by 240-350
/// bytes per token with documents of 300 to 1,000 fields kept (2026-12-06, release build).
const PARSED_BYTES_PER_TOKEN: usize = 400;

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

    /// Keeps the parsed form of `text`, a document of `tokens` tokens.
    pub fn keep(&self, text: &str, document: &ExecutableDocument, tokens: usize) {
        let bytes = text.len() + tokens.saturating_mul(PARSED_BYTES_PER_TOKEN);
        self.documents
            .insert(text, Arc::new(document.clone()), bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(text).unwrap()
    }

    #[test]
    fn a_document_is_counted_by_its_tokens_not_only_its_text() {
        let documents = ParsedDocuments::with_capacity(100 * 1024);
        let small = "{ a }";
        documents.keep(small, &parsed(small), 3);
        assert!(documents.get(small).is_some());
        // 1,000 one-letter fields: 2 KB of text, about 400 KB once parsed.
        let wide = format!("{{ {} }}", "a ".repeat(1000));
        documents.keep(&wide, &parsed(&wide), 1002);
        assert!(documents.get(&wide).is_none(), "larger than the whole");
        assert!(documents.get(small).is_some());
    }
}
