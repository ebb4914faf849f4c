//! Segment automation (SPEC 8, issue 12): custom profile fields, their values per user, and the
//! rule set of an automated segment.
//!
//! Values live in one narrow table keyed (field, user), with a case-folded copy indexed as
//! (field_id, folded, user_id): a rule "department equals sales" over a million users is one index
//! range scan, and every rule compiles to one set-based statement (`automation::rules`). Dates are
//! stored as YYYY-MM-DD, so comparing text compares dates; checkboxes as "1" / "0".
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProfileFields {
    Table,
    Id,
    Shortname,
    Name,
    Kind,
    Options,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UserProfileValues {
    Table,
    FieldId,
    UserId,
    Value,
    Folded,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Segments {
    Table,
    Rules,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ProfileFields::Table)
                .col(pk_auto(ProfileFields::Id))
                .col(string_len_uniq(ProfileFields::Shortname, 100))
                .col(string_len(ProfileFields::Name, 254))
                // text, menu, checkbox or date.
                .col(string_len(ProfileFields::Kind, 16))
                // A menu's options, in order.
                .col(json_null(ProfileFields::Options))
                .col(timestamp_with_time_zone(ProfileFields::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(UserProfileValues::Table)
                .col(integer(UserProfileValues::FieldId))
                .col(integer(UserProfileValues::UserId))
                .col(text(UserProfileValues::Value))
                .col(text(UserProfileValues::Folded))
                .primary_key(
                    Index::create()
                        .col(UserProfileValues::FieldId)
                        .col(UserProfileValues::UserId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_profile_values_field")
                        .from(UserProfileValues::Table, UserProfileValues::FieldId)
                        .to(ProfileFields::Table, ProfileFields::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_profile_values_user")
                        .from(UserProfileValues::Table, UserProfileValues::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_profile_values_field_folded")
                .table(UserProfileValues::Table)
                .col(UserProfileValues::FieldId)
                .col(UserProfileValues::Folded)
                .col(UserProfileValues::UserId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_profile_values_user")
                .table(UserProfileValues::Table)
                .col(UserProfileValues::UserId)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Segments::Table)
                // NULL: a manual segment; otherwise its rule set (SPEC 8).
                .add_column(json_null(Segments::Rules))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(UserProfileValues::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ProfileFields::Table).to_owned())
            .await
    }
}
