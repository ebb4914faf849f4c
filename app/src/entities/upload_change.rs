use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "upload_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub batch_id: i32,
    pub kind: String,
    pub user_id: i32,
    pub segment_id: Option<i32>,
    pub detail: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
