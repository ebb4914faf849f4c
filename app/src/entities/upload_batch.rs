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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
