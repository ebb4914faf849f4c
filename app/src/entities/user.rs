use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub username: String,
    pub firstname: String,
    pub lastname: String,
    pub email: String,
    pub suspended: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::segment_member::Entity")]
    SegmentMember,
    #[sea_orm(has_one = "super::account::Entity")]
    Account,
}

impl Related<super::segment_member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SegmentMember.def()
    }
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl ActiveModel {
    /// A new, active user (the username already normalised by the caller).
    pub fn new_user(
        username: &str,
        firstname: &str,
        lastname: &str,
        email: &str,
        now: DateTimeUtc,
    ) -> Self {
        use sea_orm::ActiveValue::Set;
        ActiveModel {
            username: Set(username.to_string()),
            firstname: Set(firstname.to_string()),
            lastname: Set(lastname.to_string()),
            email: Set(email.to_string()),
            suspended: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    }
}
