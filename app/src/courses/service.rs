//! Course-side mutations. Every one that changes enrolments or instances re-syncs the affected
//! instances in the same transaction (`crate::sync`).
use crate::entities::{course, course_group, enrol_instance, enrolment, group_member, segment};
use crate::error::AppError;
use crate::sync::{self, Drift, MANUAL, SEGMENT_SYNC, SEGMENT_TO_GROUP};
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

pub async fn create_course(
    db: &impl ConnectionTrait,
    shortname: &str,
    fullname: &str,
) -> Result<i32, AppError> {
    Ok(course::Entity::insert(course::ActiveModel {
        shortname: Set(shortname.trim().to_string()),
        fullname: Set(fullname.trim().to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id)
}

pub async fn create_group(
    db: &impl ConnectionTrait,
    course_id: i32,
    name: &str,
) -> Result<i32, AppError> {
    Ok(course_group::Entity::insert(course_group::ActiveModel {
        course_id: Set(course_id),
        name: Set(name.trim().to_string()),
        id_number: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id)
}

/// The course's manual enrolment method, created on first use.
pub async fn manual_instance(db: &impl ConnectionTrait, course_id: i32) -> Result<i32, AppError> {
    if let Some(m) = enrol_instance::Entity::find()
        .filter(enrol_instance::Column::CourseId.eq(course_id))
        .filter(enrol_instance::Column::Kind.eq(MANUAL))
        .one(db)
        .await?
    {
        return Ok(m.id);
    }
    insert_instance(db, course_id, MANUAL, None, None, None).await
}

async fn insert_instance(
    db: &impl ConnectionTrait,
    course_id: i32,
    kind: &str,
    segment_id: Option<i32>,
    group_id: Option<i32>,
    removal_action: Option<&str>,
) -> Result<i32, AppError> {
    Ok(enrol_instance::Entity::insert(enrol_instance::ActiveModel {
        course_id: Set(course_id),
        kind: Set(kind.to_string()),
        segment_id: Set(segment_id),
        group_id: Set(group_id),
        removal_action: Set(removal_action.map(str::to_string)),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id)
}

/// Enrols users by hand (active); returns how many were newly enrolled or reactivated.
pub async fn enrol(
    db: &impl ConnectionTrait,
    course_id: i32,
    user_ids: &[i32],
) -> Result<u64, AppError> {
    let manual = manual_instance(db, course_id).await?;
    let mut changed = enrolment::Entity::update_many()
        .col_expr(
            enrolment::Column::Status,
            sea_orm::sea_query::Expr::value("active"),
        )
        .filter(enrolment::Column::InstanceId.eq(manual))
        .filter(enrolment::Column::UserId.is_in(user_ids.iter().copied()))
        .filter(enrolment::Column::Status.ne("active"))
        .exec(db)
        .await?
        .rows_affected;
    let now = Utc::now();
    for chunk in user_ids.chunks(5_000) {
        changed += enrolment::Entity::insert_many(chunk.iter().map(|&u| enrolment::ActiveModel {
            instance_id: Set(manual),
            course_id: Set(course_id),
            user_id: Set(u),
            status: Set("active".into()),
            created_at: Set(now),
            ..Default::default()
        }))
        .on_conflict(
            OnConflict::columns([enrolment::Column::InstanceId, enrolment::Column::UserId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    sync::courses_changed(db, &[course_id]).await?;
    Ok(changed)
}

/// Removes manual enrolments (other methods' enrolments are theirs to manage).
pub async fn unenrol(
    db: &impl ConnectionTrait,
    course_id: i32,
    user_ids: &[i32],
) -> Result<u64, AppError> {
    let manual = manual_instance(db, course_id).await?;
    let removed = enrolment::Entity::delete_many()
        .filter(enrolment::Column::InstanceId.eq(manual))
        .filter(enrolment::Column::UserId.is_in(user_ids.iter().copied()))
        .exec(db)
        .await?
        .rows_affected;
    sync::courses_changed(db, &[course_id]).await?;
    Ok(removed)
}

/// Suspends (or reactivates) manual enrolments.
pub async fn set_manual_status(
    db: &impl ConnectionTrait,
    course_id: i32,
    user_ids: &[i32],
    active: bool,
) -> Result<u64, AppError> {
    let manual = manual_instance(db, course_id).await?;
    let status = if active { "active" } else { "suspended" };
    let changed = enrolment::Entity::update_many()
        .col_expr(
            enrolment::Column::Status,
            sea_orm::sea_query::Expr::value(status),
        )
        .filter(enrolment::Column::InstanceId.eq(manual))
        .filter(enrolment::Column::UserId.is_in(user_ids.iter().copied()))
        .exec(db)
        .await?
        .rows_affected;
    sync::courses_changed(db, &[course_id]).await?;
    Ok(changed)
}

/// Group for a "User segment sync" instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncGroup {
    None,
    Existing(i32),
    /// Create (or reuse) a group named after the segment.
    NamedAfterSegment,
}

async fn check_group(
    db: &impl ConnectionTrait,
    course_id: i32,
    group_id: i32,
) -> Result<(), AppError> {
    match course_group::Entity::find_by_id(group_id).one(db).await? {
        Some(g) if g.course_id == course_id => Ok(()),
        _ => Err(AppError::Invalid(
            "That group is not in this course.".into(),
        )),
    }
}

/// Adds "User segment members to group" and backfills it.
pub async fn add_segment_to_group(
    db: &impl ConnectionTrait,
    course_id: i32,
    segment_id: i32,
    group_id: i32,
) -> Result<(i32, Drift), AppError> {
    check_group(db, course_id, group_id).await?;
    let id = insert_instance(
        db,
        course_id,
        SEGMENT_TO_GROUP,
        Some(segment_id),
        Some(group_id),
        None,
    )
    .await?;
    let inst = enrol_instance::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal("instance vanished".into()))?;
    let drift = sync::apply_instance(db, &inst).await?;
    Ok((id, drift))
}

/// Adds "User segment sync" and backfills it (enrolments, then the course's group methods).
pub async fn add_segment_sync(
    db: &impl ConnectionTrait,
    course_id: i32,
    segment_id: i32,
    group: SyncGroup,
    suspend_on_removal: bool,
) -> Result<(i32, Drift), AppError> {
    let group_id = match group {
        SyncGroup::None => None,
        SyncGroup::Existing(g) => {
            check_group(db, course_id, g).await?;
            Some(g)
        }
        SyncGroup::NamedAfterSegment => {
            let seg = segment::Entity::find_by_id(segment_id)
                .one(db)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("Segment {segment_id}")))?;
            let existing = course_group::Entity::find()
                .filter(course_group::Column::CourseId.eq(course_id))
                .filter(course_group::Column::Name.eq(seg.name.clone()))
                .one(db)
                .await?;
            Some(match existing {
                Some(g) => g.id,
                None => create_group(db, course_id, &seg.name).await?,
            })
        }
    };
    let action = if suspend_on_removal {
        "suspend"
    } else {
        "unenrol"
    };
    let id = insert_instance(
        db,
        course_id,
        SEGMENT_SYNC,
        Some(segment_id),
        group_id,
        Some(action),
    )
    .await?;
    let inst = enrol_instance::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal("instance vanished".into()))?;
    let mut drift = sync::apply_instance(db, &inst).await?;
    let more = sync::courses_changed(db, &[course_id]).await?;
    drift.group_memberships_added += more.group_memberships_added;
    drift.group_memberships_removed += more.group_memberships_removed;
    Ok((id, drift))
}

/// Deletes an instance with everything it made, then re-syncs the course's group methods.
pub async fn delete_instance(db: &impl ConnectionTrait, instance_id: i32) -> Result<(), AppError> {
    let inst = enrol_instance::Entity::find_by_id(instance_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("Enrolment method {instance_id}")))?;
    // Explicit deletes (not only cascades) so the effect does not depend on foreign-key settings.
    group_member::Entity::delete_many()
        .filter(group_member::Column::OriginInstanceId.eq(instance_id))
        .exec(db)
        .await?;
    enrolment::Entity::delete_many()
        .filter(enrolment::Column::InstanceId.eq(instance_id))
        .exec(db)
        .await?;
    enrol_instance::Entity::delete_by_id(instance_id)
        .exec(db)
        .await?;
    sync::courses_changed(db, &[inst.course_id]).await?;
    Ok(())
}

/// Adds a user to a group by hand.
pub async fn add_group_member(
    db: &impl ConnectionTrait,
    group_id: i32,
    user_id: i32,
) -> Result<(), AppError> {
    group_member::Entity::insert(group_member::ActiveModel {
        group_id: Set(group_id),
        user_id: Set(user_id),
        origin_instance_id: Set(None),
        added_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(OnConflict::new().do_nothing().to_owned())
    .do_nothing()
    .exec(db)
    .await?;
    Ok(())
}
