//! User listing and look-ups.
use crate::domain::{Page, UserSummary};
use crate::entities::user;
use crate::error::AppError;
use crate::search;
use sea_orm::sea_query::Expr;
use sea_orm::{
    Condition, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
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

pub struct Query;

impl Query {
    pub async fn list(
        db: &impl ConnectionTrait,
        search: &str,
        page: u64,
        per_page: u64,
    ) -> Result<Page<UserSummary>, AppError> {
        let mut q = user::Entity::find();
        let term = search.trim();
        if !term.is_empty() {
            q = q.filter(
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
            );
        }
        let total = q.clone().count(db).await?;
        let page = page.max(1);
        let items = q
            .select_only()
            .columns([
                user::Column::Id,
                user::Column::Username,
                user::Column::Firstname,
                user::Column::Lastname,
                user::Column::Email,
                user::Column::Suspended,
            ])
            .column_as(
                Expr::cust("(SELECT COUNT(*) FROM segment_members sm WHERE sm.user_id = users.id)"),
                "segments",
            )
            .order_by_asc(user::Column::Username)
            .offset((page - 1) * per_page)
            .limit(per_page)
            .into_model::<Row>()
            .all(db)
            .await?
            .into_iter()
            .map(|r| UserSummary {
                id: r.id,
                username: r.username,
                firstname: r.firstname,
                lastname: r.lastname,
                email: r.email,
                suspended: r.suspended,
                segments: r.segments,
            })
            .collect();
        Ok(Page {
            items,
            total,
            page,
            per_page,
        })
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
