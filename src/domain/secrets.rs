//! Token hashing: what is stored instead of a token, and how a presented token is checked.
//!
//! Tokens are never stored. A bot's auth token and a user's `X-User-Token` are kept as
//! lower-case hex SHA-256 over a fixed prefix plus the token; the prefixes differ per kind, so
//! a hash of one kind can never be replayed as the other. Matching recomputes the hash and
//! compares it in constant time, so response timing does not reveal how much of it matched.
//!
//! The tokens are high-entropy secrets chosen by machines or admins, not passwords people
//! reuse, so a fast hash is the right tool: a lookup must be cheap on every request.

use crate::domain::names::{AuthToken, UserToken};
use md5::Md5;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Domain-separation prefix of a bot auth token's hash.
pub const AUTH_TOKEN_HASH_PREFIX: &str = "logbot-gateway:auth-token:v1:";
/// Domain-separation prefix of a user token's hash.
pub const USER_TOKEN_HASH_PREFIX: &str = "logbot-gateway:user-token:v1:";

fn prefixed_sha256_hex(prefix: &str, value: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prefix.as_bytes());
    hasher.update(value.as_bytes());
    hex::encode(hasher.finalize())
}

/// Constant-time comparison of our lower-case hex hash with a stored one (case-insensitive,
/// surrounding white space ignored: the stored text came through a database and a config file).
fn hash_matches(computed: &str, stored_hash: &str) -> bool {
    let stored = stored_hash.trim().to_ascii_lowercase();
    computed.as_bytes().ct_eq(stored.as_bytes()).into()
}

/// What is stored as a bot's `authTokenHash`.
pub fn hash_auth_token(token: &AuthToken) -> String {
    prefixed_sha256_hex(AUTH_TOKEN_HASH_PREFIX, token.expose_secret())
}

/// Whether `token` is the one whose hash is `stored_hash`, compared in constant time.
pub fn auth_token_matches(token: &AuthToken, stored_hash: &str) -> bool {
    hash_matches(&hash_auth_token(token), stored_hash)
}

/// The LoggerBot client's `X-User-Token`: lower-case md5 hex of `username + password`.
pub fn user_token(username: &str, password: &str) -> String {
    let mut hasher = Md5::new();
    hasher.update(username.as_bytes());
    hasher.update(password.as_bytes());
    hex::encode(hasher.finalize())
}

/// What is stored as a user's `tokenHash`, from the user token (md5 hex, any case).
pub fn hash_user_token(md5_hex: &str) -> String {
    prefixed_sha256_hex(USER_TOKEN_HASH_PREFIX, &md5_hex.trim().to_ascii_lowercase())
}

/// Whether an `X-User-Token` header value matches a stored `tokenHash`, in constant time.
/// Anything that is not 32 hex digits never matches.
pub fn user_token_matches(given_header: &str, stored_hash: &str) -> bool {
    match UserToken::parse(given_header) {
        Ok(token) => hash_matches(&hash_user_token(token.expose_secret()), stored_hash),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256_hex(data: &str) -> String {
        hex::encode(Sha256::digest(data.as_bytes()))
    }

    #[test]
    fn auth_token_hash_is_prefixed_sha256() {
        let token = AuthToken::parse("s3cret-token").unwrap();
        let hash = hash_auth_token(&token);
        assert_eq!(hash.len(), 64);
        assert!(
            hash.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(
            hash,
            sha256_hex("logbot-gateway:auth-token:v1:s3cret-token")
        );
        assert_ne!(hash, sha256_hex("s3cret-token"));
        // Deterministic.
        assert_eq!(hash, hash_auth_token(&token));
    }

    #[test]
    fn auth_token_round_trip() {
        let token = AuthToken::parse("s3cret-token").unwrap();
        let stored = hash_auth_token(&token);
        assert!(auth_token_matches(&token, &stored));
        assert!(auth_token_matches(&token, &stored.to_ascii_uppercase()));
        assert!(auth_token_matches(&token, &format!(" {stored}\n")));
    }

    #[test]
    fn auth_token_wrong_values_do_not_match() {
        let token = AuthToken::parse("s3cret-token").unwrap();
        let stored = hash_auth_token(&token);
        for other in [
            "s3cret-tokeN",
            "s3cret-token2",
            "s3cret-toke",
            "S3CRET-TOKEN",
        ] {
            let other = AuthToken::parse(other).unwrap();
            assert!(!auth_token_matches(&other, &stored));
        }
        // Malformed or truncated stored hashes never match.
        assert!(!auth_token_matches(&token, ""));
        assert!(!auth_token_matches(&token, &stored[..63]));
        assert!(!auth_token_matches(&token, &format!("{stored}0")));
        let mut flipped = stored.clone().into_bytes();
        flipped[63] = if flipped[63] == b'0' { b'1' } else { b'0' };
        assert!(!auth_token_matches(
            &token,
            std::str::from_utf8(&flipped).unwrap()
        ));
        // The raw token, or its plain sha256, is not the stored form.
        assert!(!auth_token_matches(&token, "s3cret-token"));
        assert!(!auth_token_matches(&token, &sha256_hex("s3cret-token")));
    }

    #[test]
    fn unicode_auth_token_hashes_its_utf8() {
        let token = AuthToken::parse("пароль-токен").unwrap();
        assert_eq!(
            hash_auth_token(&token),
            sha256_hex("logbot-gateway:auth-token:v1:пароль-токен")
        );
    }

    #[test]
    fn user_token_is_md5_of_username_and_password() {
        // python: hashlib.md5(("alice" + "secret").encode()).hexdigest()
        assert_eq!(
            user_token("alice", "secret"),
            "c4e31313222cf05fcdd1fc068af5570e"
        );
        // md5("") is well known.
        assert_eq!(user_token("", ""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(user_token("ab", "c"), user_token("a", "bc"));
        assert_eq!(user_token("ab", "c"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn user_token_hash_round_trip() {
        let header = user_token("alice", "secret");
        let stored = hash_user_token(&header);
        assert_eq!(stored.len(), 64);
        assert_eq!(
            stored,
            sha256_hex(&format!("logbot-gateway:user-token:v1:{header}"))
        );
        assert!(user_token_matches(&header, &stored));
        assert!(user_token_matches(&header.to_ascii_uppercase(), &stored));
        assert!(user_token_matches(&format!(" {header} "), &stored));
        assert_eq!(hash_user_token(&header.to_ascii_uppercase()), stored);
    }

    #[test]
    fn user_token_wrong_values_do_not_match() {
        let stored = hash_user_token(&user_token("alice", "secret"));
        assert!(!user_token_matches(&user_token("alice", "Secret"), &stored));
        assert!(!user_token_matches(&user_token("bob", "secret"), &stored));
        for malformed in [
            "",
            "alice",
            "c4e31313222cf05fcdd1fc068af5570",
            "c4e31313222cf05fcdd1fc068af5570e0",
            "c4e31313222cf05fcdd1fc068af5570g",
            "' OR 1=1 --",
            "%",
        ] {
            assert!(!user_token_matches(malformed, &stored), "{malformed:?}");
        }
        assert!(!user_token_matches(&user_token("alice", "secret"), ""));
    }

    #[test]
    fn kinds_are_domain_separated() {
        // The same text hashed as an auth token and as a user token gives different hashes.
        let text = "c4e31313222cf05fcdd1fc068af5570e";
        let auth = AuthToken::parse(text).unwrap();
        assert_ne!(hash_auth_token(&auth), hash_user_token(text));
        assert!(!user_token_matches(text, &hash_auth_token(&auth)));
        assert!(!auth_token_matches(&auth, &hash_user_token(text)));
    }
}
