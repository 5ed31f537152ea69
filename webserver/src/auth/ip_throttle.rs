//! Sign-in throttling per client address, on top of the per-account lock
//! (`users::record_failure`): one address guessing many usernames is
//! stopped too. After [`MAX_FAILURES`] failed sign-ins from one address
//! within [`WINDOW`], that address is refused (429) until the oldest of
//! them leaves the window.
//!
//! In memory, per webserver process: a restart forgets the counts, and
//! several webservers count separately (each still limits). The address is
//! the TCP peer's; behind a reverse proxy every user shares the proxy's, so
//! raise the limit there (`X-Forwarded-For` is not trusted: any client can
//! send it).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// Failed sign-ins allowed from one address within [`WINDOW`].
pub const MAX_FAILURES: usize = 20;
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked before stale ones are swept (bounds the memory).
const SWEEP_AT: usize = 10_000;

#[derive(Debug)]
pub struct IpThrottle {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl Default for IpThrottle {
    fn default() -> Self {
        Self::new(MAX_FAILURES, WINDOW)
    }
}

impl IpThrottle {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` while `ip` is refused: how long until it may try again.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self.lock();
        let Some(times) = map.get_mut(&ip) else {
            return Ok(());
        };
        self.forget_old(times, now);
        if times.len() < self.max_failures {
            return Ok(());
        }
        let oldest = times.front().copied().unwrap_or(now);
        Err(self.window.saturating_sub(now.duration_since(oldest)))
    }

    /// Counts a failed sign-in from `ip`.
    pub fn record_failure(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= SWEEP_AT {
            map.retain(|_, times| {
                self.forget_old(times, now);
                !times.is_empty()
            });
        }
        let times = map.entry(ip).or_default();
        self.forget_old(times, now);
        times.push_back(now);
    }

    pub fn limits(&self) -> (usize, Duration) {
        (self.max_failures, self.window)
    }

    fn forget_old(&self, times: &mut VecDeque<Instant>, now: Instant) {
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, VecDeque<Instant>>> {
        // A panic while holding the lock leaves only counts behind: go on.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The client's address, when the server records it (`serve` does, through
/// `ConnectInfo`); `None` otherwise (router tests without it).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Invariant: an address is refused after N failures and only that one.
    #[test]
    fn refuses_an_address_after_n_failures() {
        let t = IpThrottle::new(3, Duration::from_secs(60));
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..3 {
            assert!(t.check(a).is_ok());
            t.record_failure(a);
        }
        let wait = t.check(a).expect_err("refused after 3");
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(t.check(b).is_ok());
    }

    #[test]
    fn failures_leave_the_window() {
        let t = IpThrottle::new(2, Duration::from_millis(30));
        let a: IpAddr = [10, 0, 0, 1].into();
        t.record_failure(a);
        t.record_failure(a);
        assert!(t.check(a).is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(t.check(a).is_ok());
    }
}
