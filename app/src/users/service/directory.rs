//! The site's usernames and ids held in memory, for the upload page's name look-ups (issue 13: a
//! million names asked a batch at a time was 0.6-1.0 s of the server's time, most of it SQLite
//! walking the username index once per name; a hash look-up in memory is a few percent of that).
//!
//! Why it can be trusted, without a trigger on every insert:
//! - a name it holds is answered only while `username_epoch` (bumped by triggers when a user is
//!   deleted or renamed, migration m0007) has the value it was built at; otherwise the whole
//!   question goes to the database and a rebuild starts in the background;
//! - a name it does not hold is asked of the database, so a user made since (or one the build
//!   missed) is still found; users with ids past the highest it holds are added in the background;
//! - a highest id lower than the one it holds (a database restored or swapped under a running
//!   server) makes it stale too; the epoch starts at a random value, so a table made again does
//!   not match by chance.
//!
//! So its answers are the database's, read a moment earlier at most (as any read racing a write;
//! a batch's held names and missed names are read a moment apart). Only the preview asks it; a
//! commit reads the database inside its own transaction.
use crate::db::{ids_in_order, tuples, JSON_LOOKUP_CHUNK};
use crate::entities::user;
use rustc_hash::FxBuildHasher;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement,
};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// Users read per statement while building (keyset pages by id).
const PAGE: u64 = 50_000;
/// New users added to the held snapshot under its lock; more are added to a copy, so look-ups
/// do not wait on a million-user commit's tail.
const SMALL_TAIL: usize = 1_000;

/// A handle on one database's directory; clones share it.
#[derive(Clone)]
pub struct Directory(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    snapshot: RwLock<Option<Snapshot>>,
    refreshing: AtomicBool,
}

impl Inner {
    // A poisoned lock still holds a whole snapshot: every change to one is a single assignment
    // or `add`, whose table stays consistent if it stops part way.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<Snapshot>> {
        self.snapshot.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Option<Snapshot>> {
        self.snapshot.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The names as read at `epoch`, every user up to id `max_id` (and possibly some beyond).
#[derive(Clone)]
struct Snapshot {
    epoch: i64,
    max_id: i32,
    /// Every name back to back; the table holds (start, length, id) into it, so a million names
    /// cost their bytes and 12 bytes each, not an allocation each.
    names: String,
    table: hashbrown::HashTable<(u32, u32, i32)>,
}

impl Snapshot {
    fn new(epoch: i64, capacity: usize) -> Self {
        Snapshot {
            epoch,
            max_id: 0,
            names: String::new(),
            table: hashbrown::HashTable::with_capacity(capacity),
        }
    }

    /// Whether the database, at `epoch` with `max_id` its highest user id, still holds what this
    /// snapshot does (ids only fall by a delete, which moves the epoch, or a restore).
    fn current_at(&self, epoch: i64, max_id: i32) -> bool {
        self.epoch == epoch && self.max_id <= max_id
    }

    fn get(&self, name: &str) -> Option<i32> {
        let names = &self.names;
        self.table
            .find(hash(name), |e| held(names, e) == name)
            .map(|&(_, _, id)| id)
    }

    fn add(&mut self, users: Vec<(i32, String)>) {
        let Snapshot {
            names,
            table,
            max_id,
            ..
        } = self;
        // Reserved at once: grown by doubling, a million names held up to twice their bytes.
        names.reserve(users.iter().map(|u| u.1.len()).sum());
        for (id, name) in users {
            *max_id = (*max_id).max(id);
            // Past 4 GiB of names the rest stay unheld: they are asked of the database.
            let (Ok(start), Ok(_)) = (
                u32::try_from(names.len()),
                u32::try_from(names.len() + name.len()),
            ) else {
                continue;
            };
            let h = hash(&name);
            // Not expected (a name is unique, and a rename moves the epoch), but the newer row
            // wins.
            if let Some(e) = table.find_mut(h, |e| held(names, e) == name) {
                e.2 = id;
                continue;
            }
            names.push_str(&name);
            let names = &*names;
            table.insert_unique(h, (start, name.len() as u32, id), |e| hash(held(names, e)));
        }
    }
}

fn hash(name: &str) -> u64 {
    FxBuildHasher.hash_one(name)
}

/// The name a table entry points at.
fn held<'a>(names: &'a str, &(start, len, _): &(u32, u32, i32)) -> &'a str {
    &names[start as usize..(start + len) as usize]
}

impl Directory {
    /// An empty directory of `db`'s users: the first look-up is answered by the database and
    /// starts the build (or call `refresh_in_background` to start it now).
    pub fn new(db: DatabaseConnection) -> Self {
        Directory(Arc::new(Inner {
            db,
            snapshot: RwLock::new(None),
            refreshing: AtomicBool::new(false),
        }))
    }

    /// The id of the user named by each of `names` (normalised usernames), 0 where none is, in
    /// `names`' order: what `ids_by_name` answers, from memory where it can.
    pub async fn ids(&self, names: &[&str]) -> Result<Vec<i32>, DbErr> {
        let db = &self.0.db;
        let (epoch, max_id) = current(db).await?;
        let mut ids = vec![0; names.len()];
        let mut missed: Vec<usize> = Vec::new();
        // The guard is let go before any `await` (the future must stay `Send`).
        let held_to = {
            let snapshot = self.0.read();
            snapshot
                .as_ref()
                .filter(|s| s.current_at(epoch, max_id))
                .map(|s| {
                    for (i, name) in names.iter().enumerate() {
                        match s.get(name) {
                            Some(id) => ids[i] = id,
                            None => missed.push(i),
                        }
                    }
                    s.max_id
                })
        };
        match held_to {
            Some(held) if held >= max_id => {}
            Some(_) => self.refresh_in_background(),
            None => {
                self.refresh_in_background();
                return ids_by_name(db, names).await;
            }
        }
        let asked: Vec<&str> = missed.iter().map(|&i| names[i]).collect();
        for (&i, id) in missed.iter().zip(ids_by_name(db, &asked).await?) {
            ids[i] = id;
        }
        Ok(ids)
    }

    /// How many names the directory holds and about how many bytes they take (names, table).
    pub fn footprint(&self) -> (usize, usize) {
        self.0.read().as_ref().map_or((0, 0), |s| {
            // A slot of 12 bytes and a control byte per bucket (hashbrown's layout).
            let table = s.table.capacity() * 8 / 7 * 13;
            (s.table.len(), s.names.capacity() + table)
        })
    }

    /// Starts `refresh` on its own task unless one is under way.
    pub fn refresh_in_background(&self) {
        if self.0.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        /// Lowers the flag however the refresh ends, a panic included.
        struct Done(Directory);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0 .0.refreshing.store(false, Ordering::Release);
            }
        }
        let this = Done(self.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            match this.0.refresh().await {
                Ok(held) => tracing::info!(
                    names = held,
                    ms = started.elapsed().as_millis() as u64,
                    "user directory refreshed"
                ),
                Err(e) => tracing::warn!(error = %e, "could not refresh the user directory"),
            }
            drop(this);
        });
    }

    /// Brings the directory up to the database: the users past the highest id it holds, or all
    /// of them again when a user was deleted or renamed since it was built. Returns how many
    /// names it holds.
    pub async fn refresh(&self) -> Result<usize, DbErr> {
        let db = &self.0.db;
        // The epoch is read before the users: a change after this read moves it past the value
        // kept, so the next look-up sees the directory as stale, never the other way round.
        let (epoch, max_id) = current(db).await?;
        let held = |s: &Snapshot| s.current_at(epoch, max_id);
        let from = self.0.read().as_ref().filter(|s| held(s)).map(|s| s.max_id);
        let len = |snapshot: &Option<Snapshot>| snapshot.as_ref().map_or(0, |s| s.table.len());
        let Some(from) = from else {
            let users = users_after(db, 0).await?;
            let fresh = in_blocking(Snapshot::new(epoch, users.len()), users).await?;
            let held = fresh.table.len();
            *self.0.write() = Some(fresh);
            return Ok(held);
        };
        let users = users_after(db, from).await?;
        // Still the snapshot the tail was read past (another refresh may have moved it on, and
        // holds these users then).
        let same = |s: &Snapshot| held(s) && s.max_id == from;
        if users.len() <= SMALL_TAIL {
            let mut snapshot = self.0.write();
            if let Some(s) = snapshot.as_mut().filter(|s| same(s)) {
                s.add(users);
            }
            return Ok(len(&snapshot));
        }
        let copy = self.0.read().as_ref().filter(|s| same(s)).cloned();
        if let Some(copy) = copy {
            let grown = in_blocking(copy, users).await?;
            let mut snapshot = self.0.write();
            if snapshot.as_ref().is_some_and(same) {
                *snapshot = Some(grown);
            }
        }
        Ok(len(&self.0.read()))
    }
}

/// `snapshot` with `users` added, on a thread that may block: a million names take a few
/// hundred milliseconds, which would hold up one of the server's request workers.
async fn in_blocking(mut snapshot: Snapshot, users: Vec<(i32, String)>) -> Result<Snapshot, DbErr> {
    tokio::task::spawn_blocking(move || {
        snapshot.add(users);
        snapshot
    })
    .await
    .map_err(|e| DbErr::Custom(format!("building the user directory: {e}")))
}

/// The id of the user named by each of `names` (normalised usernames), 0 where none is, in
/// `names`' order, from the database: one statement per `JSON_LOOKUP_CHUNK` names (none for
/// none). No name is sent back or hashed.
pub async fn ids_by_name(db: &impl ConnectionTrait, names: &[&str]) -> Result<Vec<i32>, DbErr> {
    let mut ids = Vec::with_capacity(names.len());
    for chunk in names.chunks(JSON_LOOKUP_CHUNK) {
        ids.extend(ids_in_order(db, "users", "username", chunk).await?);
    }
    Ok(ids)
}

/// The epoch and the highest user id, in one statement.
async fn current(db: &impl ConnectionTrait) -> Result<(i64, i32), DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one(Statement::from_string(
            backend,
            "SELECT (SELECT epoch FROM username_epoch WHERE id = 1) AS epoch, \
             (SELECT COALESCE(MAX(id), 0) FROM users) AS max_id",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("no epoch row".into()))?;
    Ok((row.try_get("", "epoch")?, row.try_get("", "max_id")?))
}

/// Every user whose id is past `after`, a page at a time.
async fn users_after(
    db: &impl ConnectionTrait,
    mut after: i32,
) -> Result<Vec<(i32, String)>, DbErr> {
    let mut users = Vec::new();
    loop {
        let select = user::Entity::find()
            .select_only()
            .columns([user::Column::Id, user::Column::Username])
            .filter(user::Column::Id.gt(after))
            .order_by_asc(user::Column::Id)
            .limit(PAGE)
            .into_query();
        let page: Vec<(i32, String)> = tuples(db, &select, &["id", "username"]).await?;
        // The page's rows are the next PAGE ids whatever order the fold kept them in.
        let Some(last) = page.iter().map(|u| u.0).max() else {
            break;
        };
        let full = page.len() as u64 == PAGE;
        users.extend(page);
        after = last;
        if !full {
            break;
        }
    }
    Ok(users)
}
