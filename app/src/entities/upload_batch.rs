use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "upload_batches")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub admin_user_id: Option<i32>,
    pub created_at: DateTimeUtc,
    pub file_name: String,
    pub options: Json,
    pub counts: Json,
    pub undone_at: Option<DateTimeUtc>,
    pub undone_by: Option<i32>,
    /// `users` (SPEC 2-4) or an import kind of SPEC 7.
    pub kind: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
