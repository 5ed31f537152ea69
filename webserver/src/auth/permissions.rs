//! The role × action table: moved to `updraft_core::auth::permissions` (the
//! REST API asks the same table); re-exported for the pages.

pub use updraft_core::auth::permissions::*;
