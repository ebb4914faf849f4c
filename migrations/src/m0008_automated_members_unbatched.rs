//! Members of an automated segment belong to its rules, not to the upload that first added them
//! (SPEC 8): since session 31 automating a segment clears its members' `batch_id`, so undoing
//! that upload leaves them. This does the same for segments automated before, once. Idempotent:
//! a run cut off part way (SQLite runs a migration outside a transaction) can run again.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "UPDATE segment_members SET batch_id = NULL WHERE batch_id IS NOT NULL \
                 AND segment_id IN (SELECT id FROM segments WHERE rules IS NOT NULL)",
            )
            .await?;
        Ok(())
    }

    /// Which batch once added a member is not kept: nothing to put back.
    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
