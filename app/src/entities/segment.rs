use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "segments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub id_number: String,
    pub name: String,
    pub description: String,
    pub visible: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The rule set of an automated segment (SPEC 8); None for a manual one.
    pub rules: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::segment_member::Entity")]
    SegmentMember,
}

impl Related<super::segment_member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SegmentMember.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
