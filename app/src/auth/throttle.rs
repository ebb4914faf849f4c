//! Sign-in rate limiting: failed attempts are counted per account name and per client address
//! in a sliding window; over the limit, sign-in is refused before the password is even checked,
//! so guessing costs the attacker time and the server no argon2 work.
//!
//! Only failures count, so an admin who signs in correctly is never slowed down, and a success
//! clears that account's failures (not the address's: one good account must not launder an
//! address that is guessing at others). Counters live in the process: behind several processes,
//! each enforces its own limit (documented in the README).
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_account: usize,
    pub per_address: usize,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Why a sign-in is refused, with how long until the oldest counted failure leaves the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Account(Duration),
    Address(Duration),
}

impl Refusal {
    pub fn message(self) -> String {
        let (what, wait) = match self {
            Refusal::Account(w) => ("for this account", w),
            Refusal::Address(w) => ("from your network address", w),
        };
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        format!("Too many failed sign-ins {what}. Try again in {minutes} {unit}.")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

/// Shared by every request of one router (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct SignInThrottle {
    limits: Limits,
    failures: Arc<Mutex<HashMap<Key, VecDeque<Instant>>>>,
}

/// Beyond this many tracked keys, expired ones are swept, so random usernames cannot grow
/// memory without bound.
const SWEEP_AT: usize = 10_000;

impl SignInThrottle {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            failures: Default::default(),
        }
    }

    /// Usernames are matched case-insensitively and trimmed, as sign-in itself does.
    fn account(username: &str) -> Key {
        Key::Account(username.trim().to_lowercase())
    }

    /// `Err` when this attempt must be refused without checking the password.
    pub fn check(
        &self,
        username: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<(), Refusal> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.limits.window;
        let mut over = |key: Key, limit: usize| -> Option<Duration> {
            let q = map.get_mut(&key)?;
            while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
                q.pop_front();
            }
            (q.len() >= limit).then(|| window.saturating_sub(now.duration_since(q[0])))
        };
        if let Some(wait) = over(Self::account(username), self.limits.per_account) {
            return Err(Refusal::Account(wait));
        }
        if let Some(ip) = address {
            if let Some(wait) = over(Key::Address(ip), self.limits.per_address) {
                return Err(Refusal::Address(wait));
            }
        }
        Ok(())
    }

    pub fn record_failure(&self, username: &str, address: Option<IpAddr>, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= SWEEP_AT {
            let window = self.limits.window;
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let mut push = |key: Key, limit: usize| {
            let q = map.entry(key).or_default();
            q.push_back(now);
            // Only the newest `limit` failures matter for the decision.
            while q.len() > limit {
                q.pop_front();
            }
        };
        push(Self::account(username), self.limits.per_account);
        if let Some(ip) = address {
            push(Key::Address(ip), self.limits.per_address);
        }
    }

    pub fn record_success(&self, username: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&Self::account(username));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> SignInThrottle {
        SignInThrottle::new(Limits {
            per_account: 3,
            per_address: 5,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn an_account_is_locked_after_its_limit_and_freed_when_the_window_passes() {
        let t = throttle();
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for i in 0..3 {
            assert_eq!(t.check("Admin", Some(a), t0), Ok(()), "attempt {i}");
            t.record_failure("Admin", Some(a), t0);
        }
        // Same account from another address and another spelling: still locked.
        let refused = t.check(" admin ", Some(b), t0 + Duration::from_secs(10));
        assert_eq!(refused, Err(Refusal::Account(Duration::from_secs(50))));
        assert_eq!(
            refused.unwrap_err().message(),
            "Too many failed sign-ins for this account. Try again in 1 minute."
        );
        // Another account from the first address is not locked (address limit is 5).
        assert_eq!(t.check("bob", Some(a), t0), Ok(()));
        assert_eq!(
            t.check("admin", Some(b), t0 + Duration::from_secs(60)),
            Ok(())
        );
    }

    #[test]
    fn an_address_guessing_at_many_accounts_is_refused() {
        let t = throttle();
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        for i in 0..5 {
            t.record_failure(&format!("user{i}"), Some(a), t0);
        }
        assert!(matches!(
            t.check("someone-else", Some(a), t0),
            Err(Refusal::Address(_))
        ));
        assert_eq!(
            t.check("someone-else", Some("192.0.2.8".parse().unwrap()), t0),
            Ok(())
        );
    }

    #[test]
    fn success_clears_the_account_but_not_the_address() {
        let t = throttle();
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.9".parse().unwrap();
        t.record_failure("admin", Some(a), t0);
        t.record_failure("admin", Some(a), t0);
        t.record_success("ADMIN");
        t.record_failure("admin", Some(a), t0);
        t.record_failure("admin", Some(a), t0);
        assert_eq!(t.check("admin", Some(a), t0), Ok(()));
        t.record_failure("x", Some(a), t0);
        assert!(matches!(
            t.check("y", Some(a), t0),
            Err(Refusal::Address(_))
        ));
    }
}
