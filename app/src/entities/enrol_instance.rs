use sea_orm::entity::prelude::*;

/// The column types: shared with the pages, so they are defined (with their `DeriveActiveEnum`)
/// in `courses::types`, which the browser build also compiles.
pub use crate::courses::{EnrolMethodKind, RemovalAction};

/// An enrolment method instance of a course: `manual`, `segment_sync` or `segment_to_group`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrol_instances")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub course_id: i32,
    pub kind: EnrolMethodKind,
    pub segment_id: Option<i32>,
    pub group_id: Option<i32>,
    /// `segment_sync` only.
    pub removal_action: Option<RemovalAction>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
