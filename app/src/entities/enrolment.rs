use sea_orm::entity::prelude::*;

/// The column type: shared with the pages, so it is defined (with its `DeriveActiveEnum`) in
/// `courses::types`, which the browser build also compiles.
pub use crate::courses::EnrolmentStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrolments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub instance_id: i32,
    pub course_id: i32,
    pub user_id: i32,
    pub status: EnrolmentStatus,
    pub created_at: DateTimeUtc,
    /// The import batch that made it (SPEC 7), for undo.
    pub batch_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
