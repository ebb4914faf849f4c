//! An index on `enrolments.user_id`: the imports' look-ups ask "which of these users are enrolled
//! where" by user (one probe per user instead of one per user and course), and deleting a user
//! cascades to its enrolments without scanning the table.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("idx_enrolments_user")
                .table(Alias::new("enrolments"))
                .col(Alias::new("user_id"))
                .col(Alias::new("course_id"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_enrolments_user")
                .table(Alias::new("enrolments"))
                .to_owned(),
        )
        .await
    }
}
