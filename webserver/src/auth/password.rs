//! argon2 password hashes and random tokens: moved to `updraft_core::auth`
//! (the REST API checks the same passwords); re-exported for the pages.

pub use updraft_core::auth::password::*;
