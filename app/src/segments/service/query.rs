//! Segment reads: listings with member counts, one segment, members.
use crate::domain::Page;
use crate::entities::{segment, segment_member, user};
use crate::error::AppError;
use crate::search;
use crate::segments::{MemberRow, SegmentSummary};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Select,
};

#[derive(Debug, FromQueryResult)]
struct SummaryRow {
    id: i32,
    id_number: String,
    name: String,
    description: String,
    visible: bool,
    members: i64,
    rules: Option<serde_json::Value>,
}

impl From<SummaryRow> for SegmentSummary {
    fn from(r: SummaryRow) -> Self {
        SegmentSummary {
            id: r.id,
            id_number: r.id_number,
            name: r.name,
            description: r.description,
            visible: r.visible,
            members: r.members,
            automated: r.rules.is_some(),
        }
    }
}

/// The columns of a `SegmentSummary`, member count included.
fn with_member_counts(q: Select<segment::Entity>) -> Select<segment::Entity> {
    q.select_only()
        .columns([
            segment::Column::Id,
            segment::Column::IdNumber,
            segment::Column::Name,
            segment::Column::Description,
            segment::Column::Visible,
            segment::Column::Rules,
        ])
        .column_as(
            crate::db::count_related(segment_member::Column::SegmentId, segment::Column::Id),
            "members",
        )
}

pub struct Query;

impl Query {
    /// Segments whose name or ID number contains `search`, by name, with member counts.
    pub async fn list(
        db: &impl ConnectionTrait,
        search: &str,
        page: u64,
        per_page: u64,
    ) -> Result<Page<SegmentSummary>, AppError> {
        let mut q = segment::Entity::find();
        let term = search.trim();
        if !term.is_empty() {
            q = q.filter(
                Condition::any()
                    .add(search::contains(
                        (segment::Entity, segment::Column::Name),
                        term,
                    ))
                    .add(search::contains(
                        (segment::Entity, segment::Column::IdNumber),
                        term,
                    )),
            );
        }
        crate::db::page_of(
            db,
            q,
            |q| {
                with_member_counts(q)
                    .order_by_asc(segment::Column::Name)
                    .order_by_asc(segment::Column::Id)
            },
            page,
            per_page,
            |r: SummaryRow| r.into(),
        )
        .await
    }

    pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<SegmentSummary, AppError> {
        with_member_counts(segment::Entity::find_by_id(id))
            .into_model::<SummaryRow>()
            .one(db)
            .await?
            .map(Into::into)
            .ok_or_else(|| AppError::NotFound(format!("Segment {id}")))
    }

    /// Every segment, by ID number (CLI listing).
    pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<SegmentSummary>, AppError> {
        Ok(with_member_counts(segment::Entity::find())
            .order_by_asc(segment::Column::IdNumber)
            .into_model::<SummaryRow>()
            .all(db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Members of a segment, by username, optionally filtered.
    pub async fn members(
        db: &impl ConnectionTrait,
        segment_id: i32,
        search: &str,
        page: u64,
        per_page: u64,
    ) -> Result<Page<MemberRow>, AppError> {
        let q = crate::users::service::matching(
            user::Entity::find()
                .inner_join(segment_member::Entity)
                .filter(segment_member::Column::SegmentId.eq(segment_id)),
            search,
        );
        crate::db::page_of(
            db,
            q,
            |q| q.order_by_asc(user::Column::Username),
            page,
            per_page,
            |u: user::Model| MemberRow {
                user_id: u.id,
                fullname: format!("{} {}", u.firstname, u.lastname).trim().to_string(),
                username: u.username,
                email: u.email,
            },
        )
        .await
    }
}
