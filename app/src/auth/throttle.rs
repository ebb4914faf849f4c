//! Sign-in rate limiting: failed attempts are counted per account name and per client address
//! in a sliding window; over the limit, sign-in is refused before the password is even checked,
//! so guessing costs the attacker time and the server no argon2 work.
//!
//! Only failures count, so an admin who signs in correctly is never slowed down, and a success
//! clears that account's failures (not the address's: one good account must not launder an
//! address that is guessing at others). Failures live in the site database, like sessions, so
//! every server process enforces the same limit and a restart does not reset it.
use crate::entities::sign_in_failure;
use crate::error::AppError;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend,
    DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
};
use std::net::IpAddr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_account: u64,
    pub per_address: u64,
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

/// The limits of one router (cheap to clone); the counts are in the database.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignInThrottle {
    limits: Limits,
}

/// Usernames are matched trimmed and case-insensitively, as sign-in itself does; anything
/// longer than a username can be is cut, so a hostile name cannot bloat the table.
fn account_key(username: &str) -> String {
    let name: String = username.trim().to_lowercase().chars().take(120).collect();
    format!("account:{name}")
}

fn address_key(ip: IpAddr) -> String {
    format!("address:{ip}")
}

/// Milliseconds since the Unix epoch (the table's time unit).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl SignInThrottle {
    pub fn new(limits: Limits) -> Self {
        Self { limits }
    }

    fn window_ms(&self) -> i64 {
        self.limits.window.as_millis() as i64
    }

    /// Failures of `key` inside the window ending at `now`, and the oldest one's time.
    async fn failures(
        &self,
        db: &impl ConnectionTrait,
        key: String,
        now: i64,
    ) -> Result<(u64, Option<i64>), AppError> {
        let row: Option<(i64, Option<i64>)> = sign_in_failure::Entity::find()
            .select_only()
            .column_as(sign_in_failure::Column::Id.count(), "n")
            .column_as(sign_in_failure::Column::AtMs.min(), "oldest")
            .filter(sign_in_failure::Column::Key.eq(key))
            .filter(sign_in_failure::Column::AtMs.gt(now - self.window_ms()))
            .into_tuple()
            .one(db)
            .await?;
        let (n, oldest) = row.unwrap_or((0, None));
        Ok((n as u64, oldest))
    }

    fn wait(&self, oldest: Option<i64>, now: i64) -> Duration {
        let left = oldest.map_or(0, |t| t + self.window_ms() - now).max(0);
        Duration::from_millis(left as u64)
    }

    /// Reserves one attempt, or refuses it. Check and record are one step: inside one
    /// transaction holding the throttle's lock, the window is counted and, under the limits,
    /// the attempt is recorded as a failure before the password is checked. So N simultaneous
    /// wrong passwords cannot all pass a check that none of them has yet recorded: at most the
    /// limit reach argon2. A correct password then takes its reservation back
    /// ([`Self::record_success`]).
    ///
    /// `Err(Refusal)` inside `Ok` when this attempt must be refused without checking the password.
    pub async fn reserve(
        &self,
        db: &DatabaseConnection,
        username: &str,
        address: Option<IpAddr>,
        now: i64,
    ) -> Result<Result<Attempt, Refusal>, AppError> {
        let txn = db.begin().await?;
        // The sweep is a write, so on SQLite it takes the write lock first thing (a transaction
        // that read first could not upgrade while another holds it); PostgreSQL takes an
        // advisory lock of its own, held until commit. Both serialize the count-and-record.
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(7431002)")
                .await?;
        }
        sign_in_failure::Entity::delete_many()
            .filter(sign_in_failure::Column::AtMs.lte(now - self.window_ms()))
            .exec(&txn)
            .await?;
        let account = account_key(username);
        let (n, oldest) = self.failures(&txn, account.clone(), now).await?;
        if n >= self.limits.per_account {
            return Ok(Err(Refusal::Account(self.wait(oldest, now))));
        }
        if let Some(ip) = address {
            let (n, oldest) = self.failures(&txn, address_key(ip), now).await?;
            if n >= self.limits.per_address {
                return Ok(Err(Refusal::Address(self.wait(oldest, now))));
            }
        }
        let mut ids = Vec::with_capacity(2);
        for key in std::iter::once(account).chain(address.map(address_key)) {
            let row = sign_in_failure::ActiveModel {
                key: Set(key),
                at_ms: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            ids.push(row.id);
        }
        txn.commit().await?;
        Ok(Ok(Attempt { ids }))
    }

    /// A correct password: clears the account's failures and takes back this attempt's
    /// address reservation (a success must not count against the address either).
    pub async fn record_success(
        &self,
        db: &impl ConnectionTrait,
        username: &str,
        attempt: Attempt,
    ) -> Result<(), AppError> {
        sign_in_failure::Entity::delete_many()
            .filter(
                sign_in_failure::Column::Key
                    .eq(account_key(username))
                    .or(sign_in_failure::Column::Id.is_in(attempt.ids)),
            )
            .exec(db)
            .await?;
        Ok(())
    }
}

/// One reserved sign-in attempt: the failure rows recorded for it until it proves correct.
#[derive(Debug)]
#[must_use = "a correct password must give its reservation back"]
pub struct Attempt {
    ids: Vec<i32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::DatabaseConnection;

    async fn db() -> DatabaseConnection {
        crate::db::connect_and_migrate("sqlite::memory:")
            .await
            .unwrap()
    }

    fn throttle() -> SignInThrottle {
        SignInThrottle::new(Limits {
            per_account: 3,
            per_address: 5,
            window: Duration::from_secs(60),
        })
    }

    async fn reserve(
        t: &SignInThrottle,
        db: &DatabaseConnection,
        name: &str,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Result<Attempt, Refusal> {
        t.reserve(db, name, ip, now).await.unwrap()
    }

    #[tokio::test]
    async fn an_account_is_locked_after_its_limit_and_freed_when_the_window_passes() {
        let (db, t) = (db().await, throttle());
        let t0 = 1_000_000;
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for i in 0..3 {
            // Each reserved attempt that never proves correct counts as a failure.
            assert!(
                reserve(&t, &db, "Admin", Some(a), t0).await.is_ok(),
                "attempt {i}"
            );
        }
        // Same account from another address and another spelling: still locked.
        let refused = reserve(&t, &db, " admin ", Some(b), t0 + 10_000).await;
        assert_eq!(
            refused.unwrap_err(),
            Refusal::Account(Duration::from_secs(50))
        );
        assert_eq!(
            Refusal::Account(Duration::from_secs(50)).message(),
            "Too many failed sign-ins for this account. Try again in 1 minute."
        );
        // A refused attempt records nothing: only the 3 account and 3 address rows exist.
        assert_eq!(
            sign_in_failure::Entity::find()
                .all(&db)
                .await
                .unwrap()
                .len(),
            6
        );
        // Another account from the first address is not locked (address limit is 5).
        assert!(reserve(&t, &db, "bob", Some(a), t0).await.is_ok());
        assert!(reserve(&t, &db, "admin", Some(b), t0 + 60_000)
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn an_address_guessing_at_many_accounts_is_refused() {
        let (db, t) = (db().await, throttle());
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        for i in 0..5 {
            assert!(reserve(&t, &db, &format!("user{i}"), Some(a), 0)
                .await
                .is_ok());
        }
        assert!(matches!(
            reserve(&t, &db, "someone-else", Some(a), 0).await,
            Err(Refusal::Address(_))
        ));
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        assert!(reserve(&t, &db, "someone-else", Some(other), 0)
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn success_clears_the_account_and_its_own_reservation_and_old_failures_are_swept() {
        let (db, t) = (db().await, throttle());
        let a: IpAddr = "192.0.2.9".parse().unwrap();
        let _ = reserve(&t, &db, "admin", Some(a), 0).await.unwrap();
        let _ = reserve(&t, &db, "admin", Some(a), 0).await.unwrap();
        let good = reserve(&t, &db, "ADMIN", Some(a), 0).await.unwrap();
        t.record_success(&db, "ADMIN", good).await.unwrap();
        // The account is cleared; the address keeps its 2 failures, not the success.
        let left = sign_in_failure::Entity::find().all(&db).await.unwrap();
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(left.iter().all(|f| f.key == "address:192.0.2.9"));
        for name in ["admin", "admin", "x"] {
            let _ = reserve(&t, &db, name, Some(a), 0).await.unwrap();
        }
        assert!(matches!(
            reserve(&t, &db, "y", Some(a), 0).await,
            Err(Refusal::Address(_))
        ));
        // An attempt a window later sweeps the expired ones.
        let _ = reserve(&t, &db, "z", None, 60_000).await.unwrap();
        let left = sign_in_failure::Entity::find().all(&db).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].key, "account:z");
    }
}
