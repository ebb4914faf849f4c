//! Failed sign-ins, counted per account name and per client address (issue 5): kept in the site
//! database so every server process enforces one shared limit, and a restart does not reset it.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SignInFailures {
    Table,
    Id,
    Key,
    AtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SignInFailures::Table)
                .col(pk_auto(SignInFailures::Id))
                // "account:<name>" or "address:<ip>".
                .col(string_len(SignInFailures::Key, 160))
                // Unix milliseconds, like the session store's expiry: one portable type.
                .col(big_integer(SignInFailures::AtMs))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_sign_in_failures_key_at")
                .table(SignInFailures::Table)
                .col(SignInFailures::Key)
                .col(SignInFailures::AtMs)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_sign_in_failures_at")
                .table(SignInFailures::Table)
                .col(SignInFailures::AtMs)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SignInFailures::Table).to_owned())
            .await
    }
}
