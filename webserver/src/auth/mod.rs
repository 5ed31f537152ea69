//! Who is signed in and what they may do: password hashing, session
//! cookies, CSRF tokens, and the role × action permission table.

pub mod cookies;
pub mod ip_throttle;
pub mod login;
pub mod password;
pub mod permissions;
pub mod session;

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
