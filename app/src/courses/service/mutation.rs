//! Course-side writes: courses, groups, enrolments and enrolment method instances. Every one that
//! changes enrolments, groups or instances re-syncs the affected instances in the caller's
//! transaction (`crate::sync`).
use crate::courses::{EnrolMethodKind, EnrolmentStatus, RemovalAction, SyncGroup};
use crate::entities::{course, course_group, enrol_instance, enrolment, group_member, segment};
use crate::error::AppError;
use crate::sync::{self, Drift};
use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    SqlErr,
};

pub async fn create_course(
    db: &impl ConnectionTrait,
    shortname: &str,
    fullname: &str,
) -> Result<i32, AppError> {
    course::Entity::insert(course::ActiveModel {
        shortname: Set(shortname.trim().to_string()),
        fullname: Set(fullname.trim().to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await
    .map(|r| r.last_insert_id)
    .map_err(|e| short_name_conflict(e, shortname))
}

pub async fn update_course(
    db: &impl ConnectionTrait,
    id: i32,
    shortname: &str,
    fullname: &str,
) -> Result<(), AppError> {
    let res = course::Entity::update_many()
        .col_expr(course::Column::Shortname, Expr::value(shortname.trim()))
        .col_expr(course::Column::Fullname, Expr::value(fullname.trim()))
        .filter(course::Column::Id.eq(id))
        .exec(db)
        .await;
    match res {
        Ok(r) if r.rows_affected == 0 => Err(AppError::NotFound(format!("Course {id}"))),
        Ok(_) => Ok(()),
        Err(e) => Err(short_name_conflict(e, shortname)),
    }
}

pub fn short_name_conflict(e: DbErr, shortname: &str) -> AppError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(format!(
            "A course with short name \"{}\" already exists.",
            shortname.trim()
        )),
        _ => e.into(),
    }
}

pub async fn create_group(
    db: &impl ConnectionTrait,
    course_id: i32,
    name: &str,
) -> Result<i32, AppError> {
    course_group::Entity::insert(course_group::ActiveModel {
        course_id: Set(course_id),
        name: Set(name.trim().to_string()),
        id_number: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await
    .map(|r| r.last_insert_id)
    .map_err(|e| group_name_conflict(e, name))
}

pub async fn rename_group(
    db: &impl ConnectionTrait,
    group_id: i32,
    name: &str,
) -> Result<(), AppError> {
    let res = course_group::Entity::update_many()
        .col_expr(course_group::Column::Name, Expr::value(name.trim()))
        .filter(course_group::Column::Id.eq(group_id))
        .exec(db)
        .await;
    match res {
        Ok(_) => Ok(()),
        Err(e) => Err(group_name_conflict(e, name)),
    }
}

fn group_name_conflict(e: DbErr, name: &str) -> AppError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(format!(
            "This course already has a group named \"{}\".",
            name.trim()
        )),
        _ => e.into(),
    }
}

/// Deletes a group. "User segment members to group" methods filling it go with it (they cannot
/// run without it, and leaving them would keep dead methods on the page), with their memberships;
/// "User segment sync" methods putting members in it keep enrolling, with no group. The page's
/// confirm step says both, with counts from `groups`.
pub async fn delete_group(db: &impl ConnectionTrait, group_id: i32) -> Result<(), AppError> {
    let course = course_group::Entity::find_by_id(group_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("Group {group_id}")))?
        .course_id;
    let fillers: Vec<i32> = enrol_instance::Entity::find()
        .select_only()
        .column(enrol_instance::Column::Id)
        .filter(enrol_instance::Column::GroupId.eq(group_id))
        .filter(enrol_instance::Column::Kind.eq(EnrolMethodKind::SegmentToGroup))
        .into_tuple()
        .all(db)
        .await?;
    remove_instances(db, &fillers).await?;
    group_member::Entity::delete_many()
        .filter(group_member::Column::GroupId.eq(group_id))
        .exec(db)
        .await?;
    // What is left pointing at the group is "User segment sync" (schema: SET NULL as well).
    enrol_instance::Entity::update_many()
        .col_expr(
            enrol_instance::Column::GroupId,
            Expr::value(Option::<i32>::None),
        )
        .filter(enrol_instance::Column::GroupId.eq(group_id))
        .exec(db)
        .await?;
    course_group::Entity::delete_by_id(group_id)
        .exec(db)
        .await?;
    sync::courses_changed(db, &[course]).await?;
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

pub async fn remove_group_member(
    db: &impl ConnectionTrait,
    group_id: i32,
    user_id: i32,
) -> Result<u64, AppError> {
    Ok(group_member::Entity::delete_many()
        .filter(group_member::Column::GroupId.eq(group_id))
        .filter(group_member::Column::UserId.eq(user_id))
        .filter(group_member::Column::OriginInstanceId.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// The course's manual enrolment method, created on first use.
pub async fn manual_instance(db: &impl ConnectionTrait, course_id: i32) -> Result<i32, AppError> {
    if let Some(m) = enrol_instance::Entity::find()
        .filter(enrol_instance::Column::CourseId.eq(course_id))
        .filter(enrol_instance::Column::Kind.eq(EnrolMethodKind::Manual))
        .one(db)
        .await?
    {
        return Ok(m.id);
    }
    insert_instance(db, course_id, EnrolMethodKind::Manual, None, None, None).await
}

async fn insert_instance(
    db: &impl ConnectionTrait,
    course_id: i32,
    kind: EnrolMethodKind,
    segment_id: Option<i32>,
    group_id: Option<i32>,
    removal_action: Option<RemovalAction>,
) -> Result<i32, AppError> {
    Ok(enrol_instance::Entity::insert(enrol_instance::ActiveModel {
        course_id: Set(course_id),
        kind: Set(kind),
        segment_id: Set(segment_id),
        group_id: Set(group_id),
        removal_action: Set(removal_action),
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
    let now = Utc::now();
    let mut changed = 0;
    // Bounded chunks keep every statement under SQLite's bound-parameter limit.
    for chunk in user_ids.chunks(5_000) {
        changed += enrolment::Entity::update_many()
            .col_expr(
                enrolment::Column::Status,
                Expr::value(EnrolmentStatus::Active),
            )
            .filter(enrolment::Column::InstanceId.eq(manual))
            .filter(enrolment::Column::UserId.is_in(chunk.iter().copied()))
            .filter(enrolment::Column::Status.ne(EnrolmentStatus::Active))
            .exec(db)
            .await?
            .rows_affected;
        changed += enrolment::Entity::insert_many(chunk.iter().map(|&u| enrolment::ActiveModel {
            instance_id: Set(manual),
            course_id: Set(course_id),
            user_id: Set(u),
            status: Set(EnrolmentStatus::Active),
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
    sync::courses_changed_by(db, &[course_id], user_ids.to_vec(), sync::Moved::In).await?;
    Ok(changed)
}

/// Removes manual enrolments (other methods' enrolments are theirs to manage).
pub async fn unenrol(
    db: &impl ConnectionTrait,
    course_id: i32,
    user_ids: &[i32],
) -> Result<u64, AppError> {
    let manual = manual_instance(db, course_id).await?;
    let mut removed = 0;
    for chunk in user_ids.chunks(5_000) {
        removed += enrolment::Entity::delete_many()
            .filter(enrolment::Column::InstanceId.eq(manual))
            .filter(enrolment::Column::UserId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?
            .rows_affected;
    }
    sync::courses_changed_by(db, &[course_id], user_ids.to_vec(), sync::Moved::Out).await?;
    Ok(removed)
}

/// Suspends or reactivates manual enrolments; returns how many of the users have one.
pub async fn set_manual_status(
    db: &impl ConnectionTrait,
    course_id: i32,
    user_ids: &[i32],
    status: EnrolmentStatus,
) -> Result<u64, AppError> {
    let manual = manual_instance(db, course_id).await?;
    let mut changed = 0;
    for chunk in user_ids.chunks(5_000) {
        changed += enrolment::Entity::update_many()
            .col_expr(enrolment::Column::Status, Expr::value(status))
            .filter(enrolment::Column::InstanceId.eq(manual))
            .filter(enrolment::Column::UserId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?
            .rows_affected;
    }
    let moved = if status == EnrolmentStatus::Active {
        sync::Moved::In
    } else {
        sync::Moved::Out
    };
    sync::courses_changed_by(db, &[course_id], user_ids.to_vec(), moved).await?;
    Ok(changed)
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
        EnrolMethodKind::SegmentToGroup,
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
        RemovalAction::Suspend
    } else {
        RemovalAction::Unenrol
    };
    let id = insert_instance(
        db,
        course_id,
        EnrolMethodKind::SegmentSync,
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
    remove_instances(db, &[instance_id]).await?;
    sync::courses_changed(db, &[inst.course_id]).await?;
    Ok(())
}

/// Deletes instances and the enrolments and group memberships they made (the caller re-syncs).
async fn remove_instances(db: &impl ConnectionTrait, ids: &[i32]) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    // Explicit deletes (not only cascades) so the effect does not depend on foreign-key settings.
    group_member::Entity::delete_many()
        .filter(group_member::Column::OriginInstanceId.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    enrolment::Entity::delete_many()
        .filter(enrolment::Column::InstanceId.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    enrol_instance::Entity::delete_many()
        .filter(enrol_instance::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}
