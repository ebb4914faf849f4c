//! User reads: the shared search, the listing and the username suggestions.
use crate::domain::Page;
use crate::entities::{segment_member, user};
use crate::error::AppError;
use crate::search;
use crate::users::UserSummary;
use sea_orm::{
    Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    Select,
};

#[derive(Debug, FromQueryResult)]
struct Row {
    id: i32,
    username: String,
    firstname: String,
    lastname: String,
    email: String,
    suspended: bool,
    segments: i64,
}

/// Users whose username, names or email contain `search` (trimmed; all users when empty): the
/// one search of every user listing.
pub fn matching(q: Select<user::Entity>, search: &str) -> Select<user::Entity> {
    let term = search.trim();
    if term.is_empty() {
        return q;
    }
    q.filter(
        Condition::any()
            .add(search::contains(
                (user::Entity, user::Column::Username),
                term,
            ))
            .add(search::contains(
                (user::Entity, user::Column::Firstname),
                term,
            ))
            .add(search::contains(
                (user::Entity, user::Column::Lastname),
                term,
            ))
            .add(search::contains((user::Entity, user::Column::Email), term)),
    )
}

pub struct Query;

impl Query {
    pub async fn list(
        db: &impl ConnectionTrait,
        search: &str,
        page: u64,
        per_page: u64,
    ) -> Result<Page<UserSummary>, AppError> {
        crate::db::page_of(
            db,
            matching(user::Entity::find(), search),
            |q| {
                q.select_only()
                    .columns([
                        user::Column::Id,
                        user::Column::Username,
                        user::Column::Firstname,
                        user::Column::Lastname,
                        user::Column::Email,
                        user::Column::Suspended,
                    ])
                    .column_as(
                        crate::db::count_related(segment_member::Column::UserId, user::Column::Id),
                        "segments",
                    )
                    .order_by_asc(user::Column::Username)
            },
            page,
            per_page,
            |r: Row| UserSummary {
                id: r.id,
                username: r.username,
                firstname: r.firstname,
                lastname: r.lastname,
                email: r.email,
                suspended: r.suspended,
                segments: r.segments,
            },
        )
        .await
    }

    /// Up to `limit` usernames starting with `prefix` (the "add member" suggestions).
    pub async fn suggest(
        db: &impl ConnectionTrait,
        prefix: &str,
        limit: u64,
    ) -> Result<Vec<String>, AppError> {
        let prefix = prefix.trim();
        if prefix.is_empty() {
            return Ok(Vec::new());
        }
        Ok(user::Entity::find()
            .select_only()
            .column(user::Column::Username)
            .filter(search::starts_with(
                (user::Entity, user::Column::Username),
                prefix,
            ))
            .order_by_asc(user::Column::Username)
            .limit(limit)
            .into_tuple::<String>()
            .all(db)
            .await?)
    }
}
