//! argon2 password hashes (PHC strings) and random tokens.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

/// The argon2id PHC string of a password.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing the password: {e}"))
}

/// Whether `password` matches the PHC string `hash` (a malformed hash
/// matches nothing).
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// 32 random bytes from the OS, hex: session tokens, CSRF tokens,
/// generated passwords.
pub fn random_token() -> String {
    let (a, b) = (
        argon2::password_hash::generate_salt(),
        argon2::password_hash::generate_salt(),
    );
    let mut out = hex::encode(a);
    out.push_str(&hex::encode(b));
    out
}

/// What is stored of a session token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Invariant: a stored hash verifies its own password and nothing else.
    #[test]
    fn hash_verifies_only_its_password() {
        let h = hash_password("s3cret").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("s3creT", &h));
        assert!(!verify_password("s3cret", "not a hash"));
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
