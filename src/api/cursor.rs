//! Opaque Relay cursors holding a DataSpace id. Paging is keyset on the id, so a cursor stays
//! valid and pages stay stable while new records arrive.

use async_graphql::connection::CursorType;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdCursor(pub i64);

#[derive(Debug, thiserror::Error)]
#[error("after: not a cursor this API returned")]
pub struct BadCursor;

impl CursorType for IdCursor {
    type Error = BadCursor;

    fn decode_cursor(text: &str) -> Result<Self, Self::Error> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| BadCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| BadCursor)?;
        let id = text.strip_prefix("id:").ok_or(BadCursor)?;
        id.parse()
            .ok()
            .filter(|id| *id > 0)
            .map(IdCursor)
            .ok_or(BadCursor)
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("id:{}", self.0))
    }
}

impl IdCursor {
    pub fn of(id: &str) -> Self {
        Self(id.parse().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_text() {
        let cursor = IdCursor(42);
        assert_eq!(
            IdCursor::decode_cursor(&cursor.encode_cursor()).unwrap(),
            cursor
        );
        assert!(IdCursor::decode_cursor("42").is_err());
        assert!(IdCursor::decode_cursor(&URL_SAFE_NO_PAD.encode("id:-1")).is_err());
    }
}
