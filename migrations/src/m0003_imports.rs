//! The bulk imports of SPEC 7 (issue 11): every batch says which import made it, group
//! memberships and enrolments made by an import carry their batch (undo removes exactly those),
//! course groups get a description, and segments or groups an import created or changed are
//! recorded with their previous fields, so undo can delete or restore them.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UploadBatches {
    Table,
    Id,
    Kind,
}

#[derive(DeriveIden)]
enum CourseGroups {
    Table,
    Description,
}

#[derive(DeriveIden)]
enum GroupMembers {
    Table,
    BatchId,
}

#[derive(DeriveIden)]
enum Enrolments {
    Table,
    BatchId,
}

#[derive(DeriveIden)]
enum ImportRecords {
    Table,
    Id,
    BatchId,
    Entity,
    TargetId,
    Action,
    Previous,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table(UploadBatches::Table)
                // `users` for the membership upload of SPEC 2-4; the SPEC 7 kinds otherwise.
                .add_column(string_len(UploadBatches::Kind, 32).default("users"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(CourseGroups::Table)
                .add_column(text(CourseGroups::Description).default(""))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(GroupMembers::Table)
                .add_column(integer_null(GroupMembers::BatchId))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Enrolments::Table)
                .add_column(integer_null(Enrolments::BatchId))
                .to_owned(),
        )
        .await?;
        for (name, table, col) in [
            (
                "idx_group_members_batch",
                GroupMembers::Table.into_iden(),
                GroupMembers::BatchId.into_iden(),
            ),
            (
                "idx_enrolments_batch",
                Enrolments::Table.into_iden(),
                Enrolments::BatchId.into_iden(),
            ),
        ] {
            m.create_index(Index::create().name(name).table(table).col(col).to_owned())
                .await?;
        }
        m.create_table(
            Table::create()
                .table(ImportRecords::Table)
                .col(pk_auto(ImportRecords::Id))
                .col(integer(ImportRecords::BatchId))
                // `segment` or `group`.
                .col(string_len(ImportRecords::Entity, 16))
                .col(integer(ImportRecords::TargetId))
                // `created` or `updated`.
                .col(string_len(ImportRecords::Action, 16))
                // The fields an update replaced, as they were.
                .col(json_null(ImportRecords::Previous))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_import_records_batch")
                        .from(ImportRecords::Table, ImportRecords::BatchId)
                        .to(UploadBatches::Table, UploadBatches::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_import_records_batch")
                .table(ImportRecords::Table)
                .col(ImportRecords::BatchId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ImportRecords::Table).to_owned())
            .await
    }
}
