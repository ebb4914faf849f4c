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
        let mut page = crate::db::page_of(
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
                profile: Vec::new(),
            },
        )
        .await?;
        // One query for the page's profile values, not one per user.
        let ids: Vec<i32> = page.items.iter().map(|u| u.id).collect();
        let values = profile_values(db, &ids).await?;
        for u in &mut page.items {
            u.profile = values.get(&u.id).cloned().unwrap_or_default();
        }
        Ok(page)
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

/// (field name, value) per user, fields in shortname order.
async fn profile_values(
    db: &impl ConnectionTrait,
    users: &[i32],
) -> Result<std::collections::HashMap<i32, Vec<(String, String)>>, AppError> {
    use crate::entities::{profile_field, user_profile_value};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut out: std::collections::HashMap<i32, Vec<(String, String)>> = Default::default();
    if users.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i32, String, String)> = user_profile_value::Entity::find()
        .select_only()
        .column(user_profile_value::Column::UserId)
        .column(profile_field::Column::Name)
        .column(user_profile_value::Column::Value)
        .join(
            sea_orm::JoinType::InnerJoin,
            user_profile_value::Entity::belongs_to(profile_field::Entity)
                .from(user_profile_value::Column::FieldId)
                .to(profile_field::Column::Id)
                .into(),
        )
        .filter(user_profile_value::Column::UserId.is_in(users.iter().copied()))
        .order_by_asc(profile_field::Column::Shortname)
        .into_tuple()
        .all(db)
        .await?;
    for (user, name, value) in rows {
        out.entry(user).or_default().push((name, value));
    }
    Ok(out)
}
