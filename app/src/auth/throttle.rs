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
use sea_orm::sea_query::Expr;
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

    /// Of `key`, inside the window ending at `now`: failures, the oldest one's time, and the
    /// attempts whose password is being checked right now. One statement, so a pending attempt
    /// turning into a failure meanwhile is counted once (two statements under READ COMMITTED
    /// could each miss it). An attempt still pending after `PENDING_MS` never came back (its
    /// process died): a failure.
    async fn counts(
        &self,
        db: &impl ConnectionTrait,
        key: &str,
        now: i64,
    ) -> Result<Counts, AppError> {
        let pending = pending_key(key);
        let rows: Vec<(String, i64)> = sign_in_failure::Entity::find()
            .select_only()
            .columns([sign_in_failure::Column::Key, sign_in_failure::Column::AtMs])
            .filter(sign_in_failure::Column::Key.is_in([key.to_string(), pending.clone()]))
            .filter(sign_in_failure::Column::AtMs.gt(now - self.window_ms()))
            .into_tuple()
            .all(db)
            .await?;
        let mut c = Counts::default();
        for (k, at) in rows {
            if k == pending && at > now - PENDING_MS {
                c.pending += 1;
            } else {
                c.failures += 1;
                c.oldest = Some(c.oldest.map_or(at, |o: i64| o.min(at)));
            }
        }
        Ok(c)
    }

    fn wait(&self, oldest: Option<i64>, now: i64) -> Duration {
        let left = oldest.map_or(0, |t| t + self.window_ms() - now).max(0);
        Duration::from_millis(left as u64)
    }

    /// Reserves one attempt, or refuses it. Check and record are one step: inside one
    /// transaction holding the throttle's lock, failures and attempts still being checked are
    /// counted and, under the limits, this attempt is recorded as pending before its password
    /// is checked. So of N simultaneous wrong passwords at most the limit reach argon2. When
    /// only pending attempts fill the limit, this one waits for them to be decided instead of
    /// being refused: simultaneous correct sign-ins are never turned away. The caller then
    /// records the outcome ([`Self::record_failure`] or [`Self::record_success`]).
    ///
    /// `Err(Refusal)` inside `Ok` when this attempt must be refused without checking the password.
    pub async fn reserve(
        &self,
        db: &DatabaseConnection,
        username: &str,
        address: Option<IpAddr>,
        now: i64,
    ) -> Result<Result<Attempt, Refusal>, AppError> {
        let started = std::time::Instant::now();
        let keys: Vec<(String, u64, bool)> =
            std::iter::once((account_key(username), self.limits.per_account, true))
                .chain(address.map(|ip| (address_key(ip), self.limits.per_address, false)))
                .collect();
        loop {
            let now = now + started.elapsed().as_millis() as i64;
            let txn = db.begin().await?;
            // The sweep is a write, so on SQLite it takes the write lock first thing (a
            // transaction that read first could not upgrade while another holds it); PostgreSQL
            // takes an advisory lock of its own, held until commit. Both serialize the
            // count-and-record.
            if txn.get_database_backend() == DatabaseBackend::Postgres {
                txn.execute_unprepared("SELECT pg_advisory_xact_lock(7431002)")
                    .await?;
            }
            sign_in_failure::Entity::delete_many()
                .filter(sign_in_failure::Column::AtMs.lte(now - self.window_ms()))
                .exec(&txn)
                .await?;
            let mut busy = false;
            for (key, limit, is_account) in &keys {
                let c = self.counts(&txn, key, now).await?;
                if c.failures >= *limit {
                    let wait = self.wait(c.oldest, now);
                    return Ok(Err(if *is_account {
                        Refusal::Account(wait)
                    } else {
                        Refusal::Address(wait)
                    }));
                }
                busy |= c.failures + c.pending >= *limit;
            }
            if busy {
                txn.commit().await?;
                if started.elapsed() > Duration::from_millis(PENDING_MS as u64) {
                    return Err(AppError::TooManyRequests(
                        "Too many sign-ins are being checked at once. Please try again.".into(),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
                continue;
            }
            let mut rows = Vec::with_capacity(keys.len());
            for (key, _, _) in &keys {
                let row = sign_in_failure::ActiveModel {
                    key: Set(pending_key(key)),
                    at_ms: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                rows.push((row.id, key.clone()));
            }
            txn.commit().await?;
            return Ok(Ok(Attempt { rows }));
        }
    }

    /// A wrong password: the attempt's pending rows become failures.
    pub async fn record_failure(
        &self,
        db: &impl ConnectionTrait,
        attempt: Attempt,
    ) -> Result<(), AppError> {
        for (id, key) in attempt.rows {
            sign_in_failure::Entity::update_many()
                .col_expr(sign_in_failure::Column::Key, Expr::value(key))
                .filter(sign_in_failure::Column::Id.eq(id))
                .exec(db)
                .await?;
        }
        Ok(())
    }

    /// A correct password: clears the account's failures and takes back this attempt's
    /// pending rows (a success counts against neither the account nor the address).
    pub async fn record_success(
        &self,
        db: &impl ConnectionTrait,
        username: &str,
        attempt: Attempt,
    ) -> Result<(), AppError> {
        let ids: Vec<i32> = attempt.rows.iter().map(|(id, _)| *id).collect();
        sign_in_failure::Entity::delete_many()
            .filter(
                sign_in_failure::Column::Key
                    .eq(account_key(username))
                    .or(sign_in_failure::Column::Id.is_in(ids)),
            )
            .exec(db)
            .await?;
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Counts {
    failures: u64,
    oldest: Option<i64>,
    pending: u64,
}

/// How long an attempt may stay pending (its password being checked) before it counts as a
/// failure: far longer than argon2 takes, so only an attempt whose process died reaches it.
const PENDING_MS: i64 = 30_000;

fn pending_key(key: &str) -> String {
    format!("pending:{key}")
}

/// One reserved sign-in attempt: the failure rows recorded for it until it proves correct.
#[derive(Debug)]
#[must_use = "the outcome must be recorded: record_failure or record_success"]
pub struct Attempt {
    /// Each pending row's id and the key it becomes if the password is wrong.
    rows: Vec<(i32, String)>,
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

    /// A wrong password: reserve, then record the failure.
    async fn fail(
        t: &SignInThrottle,
        db: &DatabaseConnection,
        name: &str,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Result<(), Refusal> {
        let attempt = t.reserve(db, name, ip, now).await.unwrap()?;
        t.record_failure(db, attempt).await.unwrap();
        Ok(())
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
                fail(&t, &db, "Admin", Some(a), t0).await.is_ok(),
                "attempt {i}"
            );
        }
        // Same account from another address and another spelling: still locked.
        let refused = fail(&t, &db, " admin ", Some(b), t0 + 10_000).await;
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
        assert!(fail(&t, &db, "bob", Some(a), t0).await.is_ok());
        assert!(fail(&t, &db, "admin", Some(b), t0 + 60_000).await.is_ok());
    }

    #[tokio::test]
    async fn an_address_guessing_at_many_accounts_is_refused() {
        let (db, t) = (db().await, throttle());
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        for i in 0..5 {
            assert!(fail(&t, &db, &format!("user{i}"), Some(a), 0).await.is_ok());
        }
        assert!(matches!(
            fail(&t, &db, "someone-else", Some(a), 0).await,
            Err(Refusal::Address(_))
        ));
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        assert!(fail(&t, &db, "someone-else", Some(other), 0).await.is_ok());
    }

    #[tokio::test]
    async fn success_clears_the_account_and_its_own_reservation_and_old_failures_are_swept() {
        let (db, t) = (db().await, throttle());
        let a: IpAddr = "192.0.2.9".parse().unwrap();
        fail(&t, &db, "admin", Some(a), 0).await.unwrap();
        fail(&t, &db, "admin", Some(a), 0).await.unwrap();
        let good = t.reserve(&db, "ADMIN", Some(a), 0).await.unwrap().unwrap();
        t.record_success(&db, "ADMIN", good).await.unwrap();
        // The account is cleared; the address keeps its 2 failures, not the success.
        let left = sign_in_failure::Entity::find().all(&db).await.unwrap();
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(left.iter().all(|f| f.key == "address:192.0.2.9"));
        for name in ["admin", "admin", "x"] {
            fail(&t, &db, name, Some(a), 0).await.unwrap();
        }
        assert!(matches!(
            fail(&t, &db, "y", Some(a), 0).await,
            Err(Refusal::Address(_))
        ));
        // An attempt a window later sweeps the expired ones.
        fail(&t, &db, "z", None, 60_000).await.unwrap();
        let left = sign_in_failure::Entity::find().all(&db).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].key, "account:z");
    }
}
