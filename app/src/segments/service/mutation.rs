//! Segment writes: create / update / delete and membership changes. Every membership change
//! re-syncs the segment's enrolment methods in the caller's transaction (`crate::sync`).
use crate::domain::{SegmentDraft, Username};
use crate::entities::{segment, segment_member, user};
use crate::error::AppError;
use crate::sync::Moved;
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    SqlErr,
};

/// What adding one member by hand did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddMemberOutcome {
    Added,
    AlreadyMember,
}

pub struct Mutation;

impl Mutation {
    pub async fn create(db: &impl ConnectionTrait, draft: &SegmentDraft) -> Result<i32, AppError> {
        let now = Utc::now();
        let model = segment::ActiveModel {
            id_number: Set(draft.id_number.as_str().to_string()),
            name: Set(draft.name.as_str().to_string()),
            description: Set(draft.description.clone()),
            visible: Set(draft.visible),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        match segment::Entity::insert(model).exec(db).await {
            Ok(res) => Ok(res.last_insert_id),
            Err(e) => Err(id_number_conflict(e, draft)),
        }
    }

    pub async fn update(
        db: &impl ConnectionTrait,
        id: i32,
        draft: &SegmentDraft,
    ) -> Result<(), AppError> {
        let existing = segment::Entity::find_by_id(id)
            .one(db)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("Segment {id}")))?;
        let mut model: segment::ActiveModel = existing.into();
        model.id_number = Set(draft.id_number.as_str().to_string());
        model.name = Set(draft.name.as_str().to_string());
        model.description = Set(draft.description.clone());
        model.visible = Set(draft.visible);
        model.updated_at = Set(Utc::now());
        model
            .update(db)
            .await
            .map(|_| ())
            .map_err(|e| id_number_conflict(e, draft))
    }

    /// Deletes a segment and, through the schema's cascades, its memberships and instances.
    pub async fn delete(db: &impl ConnectionTrait, id: i32) -> Result<(), AppError> {
        // The instances using the segment go with it (schema cascade), taking the enrolments and
        // group memberships they made; courses they fed enrolments to are then re-synced.
        let courses = crate::sync::courses_of_segments(db, &[id]).await?;
        let res = segment::Entity::delete_by_id(id).exec(db).await?;
        if res.rows_affected == 0 {
            return Err(AppError::NotFound(format!("Segment {id}")));
        }
        crate::sync::courses_changed(db, &courses).await?;
        Ok(())
    }

    /// Adds many users to a segment in one statement; returns how many were new members.
    pub async fn add_members(
        db: &impl ConnectionTrait,
        segment_id: i32,
        user_ids: &[i32],
    ) -> Result<u64, AppError> {
        if user_ids.is_empty() {
            return Ok(0);
        }
        refuse_if_automated(db, segment_id).await?;
        let now = Utc::now();
        let mut added = 0;
        // Bounded chunks keep each statement under SQLite's bound-parameter limit.
        for chunk in user_ids.chunks(5_000) {
            let rows = chunk.iter().map(|&user_id| segment_member::ActiveModel {
                segment_id: Set(segment_id),
                user_id: Set(user_id),
                added_at: Set(now),
                batch_id: Set(None),
            });
            added += segment_member::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([
                        segment_member::Column::SegmentId,
                        segment_member::Column::UserId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(db)
                .await?;
        }
        if added > 0 {
            // Only these users' rows can be out of line: a one-user add to a large segment
            // costs O(1), not O(segment).
            crate::sync::segments_changed_by(db, &[segment_id], user_ids.to_vec(), Moved::In)
                .await?;
        }
        Ok(added)
    }

    /// Adds one user, named by username, to a segment (the members page).
    pub async fn add_member_by_username(
        db: &impl ConnectionTrait,
        segment_id: i32,
        username: &str,
    ) -> Result<AddMemberOutcome, AppError> {
        let name = Username::parse(username).map_err(|e| AppError::Invalid(e.to_string()))?;
        segment::Entity::find_by_id(segment_id)
            .one(db)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("Segment {segment_id}")))?;
        let user = user::Entity::find()
            .filter(user::Column::Username.eq(name.as_str()))
            .one(db)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("User \"{name}\"")))?;
        Ok(match Self::add_members(db, segment_id, &[user.id]).await? {
            0 => AddMemberOutcome::AlreadyMember,
            _ => AddMemberOutcome::Added,
        })
    }

    /// Removes users from a segment; returns how many memberships existed and were removed.
    pub async fn remove_members(
        db: &impl ConnectionTrait,
        segment_id: i32,
        user_ids: &[i32],
    ) -> Result<u64, AppError> {
        refuse_if_automated(db, segment_id).await?;
        let mut removed = 0;
        for chunk in user_ids.chunks(5_000) {
            removed += segment_member::Entity::delete_many()
                .filter(segment_member::Column::SegmentId.eq(segment_id))
                .filter(segment_member::Column::UserId.is_in(chunk.iter().copied()))
                .exec(db)
                .await?
                .rows_affected;
        }
        if removed > 0 {
            crate::sync::segments_changed_by(db, &[segment_id], user_ids.to_vec(), Moved::Out)
                .await?;
        }
        Ok(removed)
    }
}

/// Members of an automated segment come from its rules only (SPEC 8).
async fn refuse_if_automated(db: &impl ConnectionTrait, segment_id: i32) -> Result<(), AppError> {
    let automated = segment::Entity::find_by_id(segment_id)
        .one(db)
        .await?
        .is_some_and(|s| s.rules.is_some());
    if automated {
        return Err(AppError::Conflict(
            "This segment is automated: its members come from its rules. Change the rules, or make it manual first."
                .into(),
        ));
    }
    Ok(())
}

fn id_number_conflict(err: sea_orm::DbErr, draft: &SegmentDraft) -> AppError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(format!(
            "A segment with ID number \"{}\" already exists.",
            draft.id_number
        )),
        _ => err.into(),
    }
}
