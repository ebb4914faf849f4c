//! The whole domain of SPEC.md section 1: users and their sign-in accounts, sessions, segments and
//! members, courses, groups, enrolment method instances, enrolments, group members with origin,
//! upload batches and the changes they made.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    Firstname,
    Lastname,
    Email,
    Suspended,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    UserId,
    PasswordHash,
    SiteAdmin,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    Data,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Segments {
    Table,
    Id,
    IdNumber,
    Name,
    Description,
    Visible,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SegmentMembers {
    Table,
    SegmentId,
    UserId,
    AddedAt,
    BatchId,
}

#[derive(DeriveIden)]
enum Courses {
    Table,
    Id,
    Shortname,
    Fullname,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CourseGroups {
    Table,
    Id,
    CourseId,
    Name,
    IdNumber,
    CreatedAt,
}

#[derive(DeriveIden)]
enum EnrolInstances {
    Table,
    Id,
    CourseId,
    Kind,
    SegmentId,
    GroupId,
    RemovalAction,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Enrolments {
    Table,
    Id,
    InstanceId,
    CourseId,
    UserId,
    Status,
    CreatedAt,
}

#[derive(DeriveIden)]
enum GroupMembers {
    Table,
    Id,
    GroupId,
    UserId,
    OriginInstanceId,
    AddedAt,
}

#[derive(DeriveIden)]
enum UploadBatches {
    Table,
    Id,
    AdminUserId,
    CreatedAt,
    FileName,
    Options,
    Counts,
    UndoneAt,
    UndoneBy,
}

#[derive(DeriveIden)]
enum UploadStages {
    Table,
    Id,
    AdminUserId,
    CreatedAt,
    FileName,
    Size,
}

#[derive(DeriveIden)]
enum UploadStageChunks {
    Table,
    StageId,
    Seq,
    Data,
}

#[derive(DeriveIden)]
enum UploadChanges {
    Table,
    Id,
    BatchId,
    Kind,
    UserId,
    SegmentId,
    Detail,
}

fn fk(
    name: &str,
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .to_owned()
}

fn index(
    name: &str,
    table: impl IntoIden + 'static,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(Alias::new(*c));
    }
    if unique {
        idx.unique();
    }
    idx.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, SetNull};

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(pk_auto(Users::Id))
                .col(string_len_uniq(Users::Username, 100))
                .col(string_len(Users::Firstname, 100).default(""))
                .col(string_len(Users::Lastname, 100).default(""))
                .col(string_len(Users::Email, 254).default(""))
                .col(boolean(Users::Suspended).default(false))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Accounts::Table)
                .col(integer(Accounts::UserId).primary_key())
                .col(string(Accounts::PasswordHash))
                .col(boolean(Accounts::SiteAdmin).default(false))
                .col(timestamp_with_time_zone(Accounts::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_accounts_user",
                    (Accounts::Table, Accounts::UserId),
                    (Users::Table, Users::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;

        // tower-sessions records, kept in the site's own database so several server processes
        // behind a load balancer share sign-ins.
        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(string_len(Sessions::Id, 64).primary_key())
                .col(text(Sessions::Data))
                .col(big_integer(Sessions::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_sessions_expires",
            Sessions::Table,
            &["expires_at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(UploadBatches::Table)
                .col(pk_auto(UploadBatches::Id))
                .col(integer_null(UploadBatches::AdminUserId))
                .col(timestamp_with_time_zone(UploadBatches::CreatedAt))
                .col(string_len(UploadBatches::FileName, 255))
                .col(json(UploadBatches::Options))
                .col(json(UploadBatches::Counts))
                .col(timestamp_with_time_zone_null(UploadBatches::UndoneAt))
                .col(integer_null(UploadBatches::UndoneBy))
                .foreign_key(&mut fk(
                    "fk_upload_batches_admin",
                    (UploadBatches::Table, UploadBatches::AdminUserId),
                    (Users::Table, Users::Id),
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Segments::Table)
                .col(pk_auto(Segments::Id))
                .col(string_len_uniq(Segments::IdNumber, 100))
                .col(string_len(Segments::Name, 254))
                .col(text(Segments::Description).default(""))
                .col(boolean(Segments::Visible).default(true))
                .col(timestamp_with_time_zone(Segments::CreatedAt))
                .col(timestamp_with_time_zone(Segments::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SegmentMembers::Table)
                .col(integer(SegmentMembers::SegmentId))
                .col(integer(SegmentMembers::UserId))
                .col(timestamp_with_time_zone(SegmentMembers::AddedAt))
                // The upload batch that added it (NULL when added by hand), so undo removes
                // exactly what a batch added and still exists.
                .col(integer_null(SegmentMembers::BatchId))
                .primary_key(
                    Index::create()
                        .col(SegmentMembers::SegmentId)
                        .col(SegmentMembers::UserId),
                )
                .foreign_key(&mut fk(
                    "fk_segment_members_segment",
                    (SegmentMembers::Table, SegmentMembers::SegmentId),
                    (Segments::Table, Segments::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_segment_members_user",
                    (SegmentMembers::Table, SegmentMembers::UserId),
                    (Users::Table, Users::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_segment_members_batch",
                    (SegmentMembers::Table, SegmentMembers::BatchId),
                    (UploadBatches::Table, UploadBatches::Id),
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_segment_members_batch",
            SegmentMembers::Table,
            &["batch_id"],
            false,
        ))
        .await?;
        // "Which segments is this user in" (sync triggers, user pages).
        m.create_index(index(
            "idx_segment_members_user",
            SegmentMembers::Table,
            &["user_id", "segment_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Courses::Table)
                .col(pk_auto(Courses::Id))
                .col(string_len_uniq(Courses::Shortname, 100))
                .col(string_len(Courses::Fullname, 254))
                .col(timestamp_with_time_zone(Courses::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(CourseGroups::Table)
                .col(pk_auto(CourseGroups::Id))
                .col(integer(CourseGroups::CourseId))
                .col(string_len(CourseGroups::Name, 254))
                .col(string_len_null(CourseGroups::IdNumber, 100))
                .col(timestamp_with_time_zone(CourseGroups::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_course_groups_course",
                    (CourseGroups::Table, CourseGroups::CourseId),
                    (Courses::Table, Courses::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "uq_course_groups_name",
            CourseGroups::Table,
            &["course_id", "name"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(EnrolInstances::Table)
                .col(pk_auto(EnrolInstances::Id))
                .col(integer(EnrolInstances::CourseId))
                // manual | segment_sync | segment_to_group
                .col(string_len(EnrolInstances::Kind, 32))
                .col(integer_null(EnrolInstances::SegmentId))
                .col(integer_null(EnrolInstances::GroupId))
                // unenrol | suspend (segment_sync only)
                .col(string_len_null(EnrolInstances::RemovalAction, 16))
                .col(timestamp_with_time_zone(EnrolInstances::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_enrol_instances_course",
                    (EnrolInstances::Table, EnrolInstances::CourseId),
                    (Courses::Table, Courses::Id),
                    Cascade,
                ))
                // Deleting a segment deletes its instances; the sync module removes their
                // effects first, in the same transaction.
                .foreign_key(&mut fk(
                    "fk_enrol_instances_segment",
                    (EnrolInstances::Table, EnrolInstances::SegmentId),
                    (Segments::Table, Segments::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_enrol_instances_group",
                    (EnrolInstances::Table, EnrolInstances::GroupId),
                    (CourseGroups::Table, CourseGroups::Id),
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_enrol_instances_segment",
            EnrolInstances::Table,
            &["segment_id"],
            false,
        ))
        .await?;
        m.create_index(index(
            "idx_enrol_instances_course",
            EnrolInstances::Table,
            &["course_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Enrolments::Table)
                .col(pk_auto(Enrolments::Id))
                .col(integer(Enrolments::InstanceId))
                // Denormalised from the instance so "active in course C" is one index probe.
                .col(integer(Enrolments::CourseId))
                .col(integer(Enrolments::UserId))
                // active | suspended
                .col(string_len(Enrolments::Status, 16))
                .col(timestamp_with_time_zone(Enrolments::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_enrolments_instance",
                    (Enrolments::Table, Enrolments::InstanceId),
                    (EnrolInstances::Table, EnrolInstances::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_enrolments_course",
                    (Enrolments::Table, Enrolments::CourseId),
                    (Courses::Table, Courses::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_enrolments_user",
                    (Enrolments::Table, Enrolments::UserId),
                    (Users::Table, Users::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "uq_enrolments_instance_user",
            Enrolments::Table,
            &["instance_id", "user_id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "idx_enrolments_course_user",
            Enrolments::Table,
            &["course_id", "user_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(GroupMembers::Table)
                .col(pk_auto(GroupMembers::Id))
                .col(integer(GroupMembers::GroupId))
                .col(integer(GroupMembers::UserId))
                // NULL = added by hand; otherwise the enrolment method instance that added it.
                .col(integer_null(GroupMembers::OriginInstanceId))
                .col(timestamp_with_time_zone(GroupMembers::AddedAt))
                .foreign_key(&mut fk(
                    "fk_group_members_group",
                    (GroupMembers::Table, GroupMembers::GroupId),
                    (CourseGroups::Table, CourseGroups::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_group_members_user",
                    (GroupMembers::Table, GroupMembers::UserId),
                    (Users::Table, Users::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_group_members_origin",
                    (GroupMembers::Table, GroupMembers::OriginInstanceId),
                    (EnrolInstances::Table, EnrolInstances::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        // One membership per (group, user, origin); NULL origins are distinct in a plain unique
        // index, so the manual origin is folded to 0 (both SQLite and PostgreSQL accept this).
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_group_members_origin ON group_members \
                 (group_id, user_id, COALESCE(origin_instance_id, 0))",
            )
            .await?;
        m.create_index(index(
            "idx_group_members_user",
            GroupMembers::Table,
            &["user_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(UploadChanges::Table)
                .col(pk_auto(UploadChanges::Id))
                .col(integer(UploadChanges::BatchId))
                // membership_added | user_created | user_updated
                .col(string_len(UploadChanges::Kind, 32))
                .col(integer(UploadChanges::UserId))
                .col(integer_null(UploadChanges::SegmentId))
                // Previous field values for user_updated, so undo can tell what it changed.
                .col(json_null(UploadChanges::Detail))
                .foreign_key(&mut fk(
                    "fk_upload_changes_batch",
                    (UploadChanges::Table, UploadChanges::BatchId),
                    (UploadBatches::Table, UploadBatches::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_upload_changes_batch",
            UploadChanges::Table,
            &["batch_id", "kind"],
            false,
        ))
        .await?;
        // A file on its way from the browser, in chunks; kept in the database so that any server
        // process behind a load balancer can take the commit.
        m.create_table(
            Table::create()
                .table(UploadStages::Table)
                .col(string_len(UploadStages::Id, 64).primary_key())
                .col(integer_null(UploadStages::AdminUserId))
                .col(timestamp_with_time_zone(UploadStages::CreatedAt))
                .col(string_len(UploadStages::FileName, 255))
                .col(big_integer(UploadStages::Size))
                .foreign_key(&mut fk(
                    "fk_upload_stages_admin",
                    (UploadStages::Table, UploadStages::AdminUserId),
                    (Users::Table, Users::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(UploadStageChunks::Table)
                .col(string_len(UploadStageChunks::StageId, 64))
                .col(integer(UploadStageChunks::Seq))
                .col(blob(UploadStageChunks::Data))
                .primary_key(
                    Index::create()
                        .col(UploadStageChunks::StageId)
                        .col(UploadStageChunks::Seq),
                )
                .foreign_key(&mut fk(
                    "fk_upload_stage_chunks_stage",
                    (UploadStageChunks::Table, UploadStageChunks::StageId),
                    (UploadStages::Table, UploadStages::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "upload_stage_chunks",
            "upload_stages",
            "upload_changes",
            "group_members",
            "enrolments",
            "enrol_instances",
            "course_groups",
            "courses",
            "segment_members",
            "segments",
            "upload_batches",
            "sessions",
            "accounts",
            "users",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned())
                .await?;
        }
        Ok(())
    }
}
