//! The server's integration tests, one binary (zero2prod's `tests/api/`): each module spawns the
//! real app or the real `server` binary on a fresh database (SQLite, or PostgreSQL with
//! `TEST_DATABASE_URL`). One binary links the whole app once instead of once per file.
mod common;

mod access;
mod automation;
mod cli;
mod concurrency;
mod courses;
mod crash;
mod directory;
mod hostile;
mod imports;
mod segments;
mod sync;
mod upload;
