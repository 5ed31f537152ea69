//! Who may sign in and what they may do, shared by the web UI (sessions)
//! and the REST API (tokens): argon2 password hashes, the throttled
//! credential check, and the role × action permission table.

pub mod credentials;
pub mod password;
pub mod permissions;
