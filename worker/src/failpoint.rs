//! Crash points for the tests that kill a worker at an exact moment (between
//! a Kafka produce and the state write, say): when `UPDRAFT_FAILPOINT` names
//! the point, the process exits there at once, as `kill -9` would, running no
//! clean-up. Unset (always, outside those tests), a check costs one lookup.

use std::sync::OnceLock;

/// Exits the process when `UPDRAFT_FAILPOINT` is `name`.
pub fn hit(name: &str) {
    static POINT: OnceLock<Option<String>> = OnceLock::new();
    let point = POINT.get_or_init(|| std::env::var("UPDRAFT_FAILPOINT").ok());
    if point.as_deref() == Some(name) {
        eprintln!("updraft: failpoint {name} reached: exiting now (UPDRAFT_FAILPOINT)");
        std::process::exit(86);
    }
}
