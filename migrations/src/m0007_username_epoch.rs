//! A counter of the changes to `users` that can make a remembered username wrong: a user
//! deleted (or all of them truncated) and a username or id changed. The page's name look-ups answer
//! from a directory of usernames kept in memory (`users::service::Directory`), which trusts what
//! it holds only while this counter has not moved. New users need no count: the directory sees
//! them by the highest id, and a name it does not hold is asked of the database anyway.
//!
//! The count starts at a random value, so a table made again (a database rebuilt under a running
//! server) does not match a count remembered from before. Not seen: SQLite's `INSERT OR REPLACE`
//! deletes without firing delete triggers (`recursive_triggers` is off); the app never replaces
//! a user.
//!
//! No insert trigger, on purpose: a row trigger on insert made 1,000,000 SQLite inserts 70%
//! slower (3.1-3.3 s against 5.2-5.3 s), and nothing the app does deletes or renames a user.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        // `IF NOT EXISTS` and `OR IGNORE`/`ON CONFLICT`: SQLite runs a migration outside a
        // transaction, so one cut off part way is not recorded and must be able to run again.
        let sql = match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                "CREATE TABLE IF NOT EXISTS username_epoch (id integer PRIMARY KEY, epoch bigint NOT NULL);
                 INSERT INTO username_epoch (id, epoch) VALUES (1, floor(random() * 1e12)::bigint)
                     ON CONFLICT (id) DO NOTHING;
                 CREATE OR REPLACE FUNCTION bump_username_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN UPDATE username_epoch SET epoch = epoch + 1 WHERE id = 1; RETURN NULL; END $$;
                 DROP TRIGGER IF EXISTS username_epoch_on_delete ON users;
                 CREATE TRIGGER username_epoch_on_delete AFTER DELETE OR TRUNCATE ON users
                     FOR EACH STATEMENT EXECUTE FUNCTION bump_username_epoch();
                 DROP TRIGGER IF EXISTS username_epoch_on_rename ON users;
                 CREATE TRIGGER username_epoch_on_rename AFTER UPDATE OF id, username ON users
                     FOR EACH STATEMENT EXECUTE FUNCTION bump_username_epoch();"
            }
            // SQLite has row triggers only; deletes and renames are rare, so that costs nothing
            // on the paths that matter.
            _ => {
                "CREATE TABLE IF NOT EXISTS username_epoch (id integer PRIMARY KEY, epoch bigint NOT NULL);
                 INSERT OR IGNORE INTO username_epoch (id, epoch) VALUES (1, abs(random()) % 1000000000000);
                 CREATE TRIGGER IF NOT EXISTS username_epoch_on_delete AFTER DELETE ON users
                 BEGIN UPDATE username_epoch SET epoch = epoch + 1 WHERE id = 1; END;
                 CREATE TRIGGER IF NOT EXISTS username_epoch_on_rename AFTER UPDATE OF id, username ON users
                 BEGIN UPDATE username_epoch SET epoch = epoch + 1 WHERE id = 1; END;"
            }
        };
        db.execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let sql = match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                "DROP TRIGGER IF EXISTS username_epoch_on_delete ON users;
                 DROP TRIGGER IF EXISTS username_epoch_on_rename ON users;
                 DROP FUNCTION IF EXISTS bump_username_epoch();
                 DROP TABLE IF EXISTS username_epoch;"
            }
            _ => {
                "DROP TRIGGER IF EXISTS username_epoch_on_delete;
                 DROP TRIGGER IF EXISTS username_epoch_on_rename;
                 DROP TABLE IF EXISTS username_epoch;"
            }
        };
        db.execute_unprepared(sql).await?;
        Ok(())
    }
}
