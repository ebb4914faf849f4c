//! The `batch_id` indexes of the membership tables hold only the rows an upload or import made.
//! Rows made by hand or by an enrolment method carry no batch (NULL), and the sync writes
//! hundreds of thousands of them at once; a full index paid an entry per such row that no query
//! reads (every batch query asks `batch_id = ?` or `IN (...)`, which both databases match to a
//! `batch_id IS NOT NULL` partial index).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 3] = ["segment_members", "group_members", "enrolments"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        // Drop and create in one call, so on one connection: another pooled SQLite connection
        // can still hold the dropped index in its schema and refuse the create. `IF EXISTS`:
        // SQLite runs a migration outside a transaction, so a run cut off between the two
        // statements is not recorded and must be able to run again.
        for t in TABLES {
            db.execute_unprepared(&format!(
                "DROP INDEX IF EXISTS idx_{t}_batch; \
                 CREATE INDEX idx_{t}_batch ON {t} (batch_id) WHERE batch_id IS NOT NULL"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for t in TABLES {
            db.execute_unprepared(&format!(
                "DROP INDEX IF EXISTS idx_{t}_batch; CREATE INDEX idx_{t}_batch ON {t} (batch_id)"
            ))
            .await?;
        }
        Ok(())
    }
}
