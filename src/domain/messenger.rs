//! Which chat network a bot lives on.

use crate::domain::FieldError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The chat network a bot delivers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Messenger {
    Telegram,
    Vk,
}

impl Messenger {
    pub const ALL: [Messenger; 2] = [Messenger::Telegram, Messenger::Vk];

    /// `TELEGRAM` or `VK`, case-insensitive, surrounding white space ignored.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("TELEGRAM") {
            Ok(Messenger::Telegram)
        } else if trimmed.eq_ignore_ascii_case("VK") {
            Ok(Messenger::Vk)
        } else {
            let shown: String = trimmed.chars().take(32).collect();
            Err(FieldError::new(
                "messenger",
                format!("unknown messenger '{shown}'; expected TELEGRAM or VK"),
            ))
        }
    }

    /// The upper-case name, as stored and serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Messenger::Telegram => "TELEGRAM",
            Messenger::Vk => "VK",
        }
    }
}

impl fmt::Display for Messenger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Messenger {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Messenger {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Messenger {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Messenger::parse(&text).map_err(|e| serde::de::Error::custom(e.problem()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_in_any_case() {
        let table = [
            ("TELEGRAM", Messenger::Telegram),
            ("telegram", Messenger::Telegram),
            (" Telegram ", Messenger::Telegram),
            ("VK", Messenger::Vk),
            ("vk", Messenger::Vk),
            ("Vk", Messenger::Vk),
        ];
        for (text, want) in table {
            assert_eq!(Messenger::parse(text), Ok(want), "{text:?}");
            assert_eq!(text.parse::<Messenger>(), Ok(want));
        }
    }

    #[test]
    fn refuses_unknown() {
        for bad in ["", "tg", "whatsapp", "VKontakte", "TELEGRAM!"] {
            let err = Messenger::parse(bad).unwrap_err();
            assert_eq!(err.field(), "messenger");
            assert!(err.problem().contains("expected TELEGRAM or VK"), "{err}");
        }
    }

    #[test]
    fn names_round_trip() {
        for m in Messenger::ALL {
            assert_eq!(Messenger::parse(m.as_str()), Ok(m));
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
            assert_eq!(serde_json::from_str::<Messenger>(&json).unwrap(), m);
        }
        assert!(serde_json::from_str::<Messenger>("\"icq\"").is_err());
    }
}
