use sea_orm::entity::prelude::*;

/// An enrolment method instance of a course: `manual`, `segment_sync` or `segment_to_group`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrol_instances")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub course_id: i32,
    pub kind: String,
    pub segment_id: Option<i32>,
    pub group_id: Option<i32>,
    pub removal_action: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
