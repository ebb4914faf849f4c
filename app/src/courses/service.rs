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
    let now = Utc::now();
    let mut changed = 0;
    // Bounded chunks keep every statement under SQLite's bound-parameter limit.
    for chunk in user_ids.chunks(5_000) {
        changed += enrolment::Entity::update_many()
            .col_expr(
                enrolment::Column::Status,
                sea_orm::sea_query::Expr::value("active"),
            )
            .filter(enrolment::Column::InstanceId.eq(manual))
            .filter(enrolment::Column::UserId.is_in(chunk.iter().copied()))
            .filter(enrolment::Column::Status.ne("active"))
            .exec(db)
            .await?
            .rows_affected;
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
    let mut removed = 0;
    for chunk in user_ids.chunks(5_000) {
        removed += enrolment::Entity::delete_many()
            .filter(enrolment::Column::InstanceId.eq(manual))
            .filter(enrolment::Column::UserId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?
            .rows_affected;
    }
    sync::courses_changed(db, &[course_id]).await?;
    Ok(removed)
}

/// Suspends or reactivates manual enrolments; returns how many of the users have one.
pub async fn set_manual_status(
    db: &impl ConnectionTrait,
    course_id: i32,
    user_ids: &[i32],
    status: ManualStatus,
) -> Result<u64, AppError> {
    let manual = manual_instance(db, course_id).await?;
    let status = status.as_str();
    let mut changed = 0;
    for chunk in user_ids.chunks(5_000) {
        changed += enrolment::Entity::update_many()
            .col_expr(
                enrolment::Column::Status,
                sea_orm::sea_query::Expr::value(status),
            )
            .filter(enrolment::Column::InstanceId.eq(manual))
            .filter(enrolment::Column::UserId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?
            .rows_affected;
    }
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

// ---- queries for the course pages ----

use super::{CourseRow, GroupMemberRow, GroupRow, InstanceRow, ManualStatus, ParticipantRow};
use crate::domain::Page;
use crate::entities::user;
use sea_orm::{QueryOrder, QuerySelect};

#[derive(Debug, sea_orm::FromQueryResult)]
struct CourseQ {
    id: i32,
    shortname: String,
    fullname: String,
    participants: i64,
    groups: i64,
}

fn course_rows(q: sea_orm::Select<course::Entity>) -> sea_orm::Select<course::Entity> {
    use sea_orm::sea_query::Expr;
    q.select_only()
        .columns([course::Column::Id, course::Column::Shortname, course::Column::Fullname])
        .column_as(Expr::cust("(SELECT COUNT(DISTINCT e.user_id) FROM enrolments e WHERE e.course_id = courses.id)"), "participants")
        .column_as(Expr::cust("(SELECT COUNT(*) FROM course_groups g WHERE g.course_id = courses.id)"), "groups")
}

fn to_row(c: CourseQ) -> CourseRow {
    CourseRow {
        id: c.id,
        shortname: c.shortname,
        fullname: c.fullname,
        participants: c.participants,
        groups: c.groups,
    }
}

pub async fn list_courses(
    db: &impl ConnectionTrait,
    search: &str,
    page: u64,
    per_page: u64,
) -> Result<Page<CourseRow>, AppError> {
    let mut q = course::Entity::find();
    if !search.trim().is_empty() {
        q = q.filter(
            sea_orm::Condition::any()
                .add(crate::search::contains(
                    (course::Entity, course::Column::Shortname),
                    search.trim(),
                ))
                .add(crate::search::contains(
                    (course::Entity, course::Column::Fullname),
                    search.trim(),
                )),
        );
    }
    crate::db::page_of(
        db,
        q,
        |q| course_rows(q).order_by_asc(course::Column::Fullname),
        page,
        per_page,
        to_row,
    )
    .await
}

pub async fn get_course(db: &impl ConnectionTrait, id: i32) -> Result<CourseRow, AppError> {
    course_rows(course::Entity::find_by_id(id))
        .into_model::<CourseQ>()
        .one(db)
        .await?
        .map(to_row)
        .ok_or_else(|| AppError::NotFound(format!("Course {id}")))
}

pub async fn update_course(
    db: &impl ConnectionTrait,
    id: i32,
    shortname: &str,
    fullname: &str,
) -> Result<(), AppError> {
    let res = course::Entity::update_many()
        .col_expr(
            course::Column::Shortname,
            sea_orm::sea_query::Expr::value(shortname.trim()),
        )
        .col_expr(
            course::Column::Fullname,
            sea_orm::sea_query::Expr::value(fullname.trim()),
        )
        .filter(course::Column::Id.eq(id))
        .exec(db)
        .await;
    match res {
        Ok(r) if r.rows_affected == 0 => Err(AppError::NotFound(format!("Course {id}"))),
        Ok(_) => Ok(()),
        Err(e) => Err(short_name_conflict(e, shortname)),
    }
}

fn group_name_conflict(e: sea_orm::DbErr, name: &str) -> AppError {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(format!(
            "This course already has a group named \"{}\".",
            name.trim()
        )),
        _ => e.into(),
    }
}

pub fn short_name_conflict(e: sea_orm::DbErr, shortname: &str) -> AppError {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(format!(
            "A course with short name \"{}\" already exists.",
            shortname.trim()
        )),
        _ => e.into(),
    }
}

pub async fn participants(
    db: &impl ConnectionTrait,
    course_id: i32,
    page: u64,
    per_page: u64,
) -> Result<Page<ParticipantRow>, AppError> {
    let base = user::Entity::find().filter(
        user::Column::Id.in_subquery(
            sea_orm::sea_query::Query::select()
                .column(enrolment::Column::UserId)
                .from(enrolment::Entity)
                .and_where(enrolment::Column::CourseId.eq(course_id))
                .to_owned(),
        ),
    );
    let users: Page<user::Model> = crate::db::page_of(
        db,
        base,
        |q| q.order_by_asc(user::Column::Username),
        page,
        per_page,
        |u| u,
    )
    .await?;
    let ids: Vec<i32> = users.items.iter().map(|u| u.id).collect();
    let enrolments = enrolment::Entity::find()
        .filter(enrolment::Column::CourseId.eq(course_id))
        .filter(enrolment::Column::UserId.is_in(ids))
        .all(db)
        .await?;
    let labels = instance_labels(db, course_id).await?;
    let manual = manual_instance_id(db, course_id).await?;
    Ok(users.map(|u| ParticipantRow {
        manual: enrolments
            .iter()
            .find(|e| e.user_id == u.id && Some(e.instance_id) == manual)
            .map(|e| ManualStatus::from_stored(&e.status)),
        methods: enrolments
            .iter()
            .filter(|e| e.user_id == u.id)
            .map(|e| {
                format!(
                    "{} ({})",
                    labels.get(&e.instance_id).cloned().unwrap_or_default(),
                    e.status
                )
            })
            .collect(),
        user_id: u.id,
        fullname: format!("{} {}", u.firstname, u.lastname).trim().to_string(),
        username: u.username,
    }))
}

/// The course's manual method, if it has one yet (reading never creates it).
async fn manual_instance_id(
    db: &impl ConnectionTrait,
    course_id: i32,
) -> Result<Option<i32>, AppError> {
    Ok(enrol_instance::Entity::find()
        .select_only()
        .column(enrol_instance::Column::Id)
        .filter(enrol_instance::Column::CourseId.eq(course_id))
        .filter(enrol_instance::Column::Kind.eq(MANUAL))
        .into_tuple()
        .one(db)
        .await?)
}

async fn instance_labels(
    db: &impl ConnectionTrait,
    course_id: i32,
) -> Result<std::collections::HashMap<i32, String>, AppError> {
    Ok(instance_rows(db, course_id, false)
        .await?
        .into_iter()
        .map(|i| (i.id, i.label))
        .collect())
}

pub async fn instances(
    db: &impl ConnectionTrait,
    course_id: i32,
) -> Result<Vec<InstanceRow>, AppError> {
    instance_rows(db, course_id, true).await
}

/// The course's instances with their segment and group names: a fixed number of queries
/// whatever the number of instances; the counts only when asked for.
async fn instance_rows(
    db: &impl ConnectionTrait,
    course_id: i32,
    with_counts: bool,
) -> Result<Vec<InstanceRow>, AppError> {
    use sea_orm::QuerySelect;
    use std::collections::HashMap;
    let list = enrol_instance::Entity::find()
        .filter(enrol_instance::Column::CourseId.eq(course_id))
        .order_by_asc(enrol_instance::Column::Id)
        .all(db)
        .await?;
    let segment_names: HashMap<i32, String> = segment::Entity::find()
        .select_only()
        .columns([segment::Column::Id, segment::Column::Name])
        .filter(segment::Column::Id.is_in(list.iter().filter_map(|i| i.segment_id)))
        .into_tuple::<(i32, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let group_names: HashMap<i32, String> = course_group::Entity::find()
        .select_only()
        .columns([course_group::Column::Id, course_group::Column::Name])
        .filter(course_group::Column::CourseId.eq(course_id))
        .into_tuple::<(i32, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let ids: Vec<i32> = list.iter().map(|i| i.id).collect();
    let (mut enrolled, mut grouped) = (HashMap::new(), HashMap::new());
    if with_counts && !ids.is_empty() {
        enrolled = enrolment::Entity::find()
            .select_only()
            .column(enrolment::Column::InstanceId)
            .column_as(enrolment::Column::UserId.count(), "n")
            .filter(enrolment::Column::InstanceId.is_in(ids.clone()))
            .group_by(enrolment::Column::InstanceId)
            .into_tuple::<(i32, i64)>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        grouped = group_member::Entity::find()
            .select_only()
            .column(group_member::Column::OriginInstanceId)
            .column_as(group_member::Column::UserId.count(), "n")
            .filter(group_member::Column::OriginInstanceId.is_in(ids))
            .group_by(group_member::Column::OriginInstanceId)
            .into_tuple::<(i32, i64)>()
            .all(db)
            .await?
            .into_iter()
            .collect();
    }
    Ok(list
        .into_iter()
        .map(|i| {
            let segment = i.segment_id.and_then(|s| segment_names.get(&s).cloned());
            let group = i.group_id.and_then(|g| group_names.get(&g).cloned());
            let label = match i.kind.as_str() {
                MANUAL => "Manual enrolments".to_string(),
                SEGMENT_SYNC => format!(
                    "User segment sync ({})",
                    segment.clone().unwrap_or_default()
                ),
                _ => format!(
                    "User segment members to group ({} → {})",
                    segment.clone().unwrap_or_default(),
                    group.clone().unwrap_or_default()
                ),
            };
            InstanceRow {
                enrolments: enrolled.get(&i.id).copied().unwrap_or(0),
                group_memberships: grouped.get(&i.id).copied().unwrap_or(0),
                id: i.id,
                kind: i.kind,
                label,
                segment,
                group,
                removal_action: i.removal_action,
            }
        })
        .collect())
}

pub async fn groups(db: &impl ConnectionTrait, course_id: i32) -> Result<Vec<GroupRow>, AppError> {
    let groups = course_group::Entity::find()
        .filter(course_group::Column::CourseId.eq(course_id))
        .order_by_asc(course_group::Column::Name)
        .all(db)
        .await?;
    let labels = instance_labels(db, course_id).await?;
    let targets: Vec<(Option<i32>, String)> = enrol_instance::Entity::find()
        .select_only()
        .columns([
            enrol_instance::Column::GroupId,
            enrol_instance::Column::Kind,
        ])
        .filter(enrol_instance::Column::CourseId.eq(course_id))
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<i32> = groups.iter().map(|g| g.id).collect();
    let mut members = group_member::Entity::find()
        .filter(group_member::Column::GroupId.is_in(ids))
        .find_also_related(user::Entity)
        .all(db)
        .await?;
    // By user, the hand-made row first, so each person becomes one row listing every origin.
    members.sort_by_key(|(m, _)| (m.user_id, m.origin_instance_id.is_some(), m.id));
    let methods = |g: i32, kind: &str| {
        targets
            .iter()
            .filter(|(group, k)| *group == Some(g) && k == kind)
            .count() as i64
    };
    Ok(groups
        .into_iter()
        .map(|g| {
            let mut rows: Vec<GroupMemberRow> = Vec::new();
            for (m, u) in members.iter().filter(|(m, _)| m.group_id == g.id) {
                let Some(u) = u else { continue };
                let origin = match m.origin_instance_id {
                    Some(i) => labels.get(&i).cloned().unwrap_or_default(),
                    None => "Added by hand".into(),
                };
                match rows.last_mut() {
                    Some(row) if row.user_id == u.id => {
                        row.origin = format!("{}; {origin}", row.origin);
                    }
                    _ => rows.push(GroupMemberRow {
                        user_id: u.id,
                        username: u.username.clone(),
                        origin,
                        manual: m.origin_instance_id.is_none(),
                    }),
                }
            }
            rows.sort_by(|a, b| a.username.cmp(&b.username));
            GroupRow {
                members_to_group_methods: methods(g.id, SEGMENT_TO_GROUP),
                sync_methods: methods(g.id, SEGMENT_SYNC),
                id: g.id,
                name: g.name,
                members: rows,
            }
        })
        .collect())
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
        .filter(enrol_instance::Column::Kind.eq(SEGMENT_TO_GROUP))
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
            sea_orm::sea_query::Expr::value(Option::<i32>::None),
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

pub async fn rename_group(
    db: &impl ConnectionTrait,
    group_id: i32,
    name: &str,
) -> Result<(), AppError> {
    let res = course_group::Entity::update_many()
        .col_expr(
            course_group::Column::Name,
            sea_orm::sea_query::Expr::value(name.trim()),
        )
        .filter(course_group::Column::Id.eq(group_id))
        .exec(db)
        .await;
    match res {
        Ok(_) => Ok(()),
        Err(e) => Err(group_name_conflict(e, name)),
    }
}

/// (id, "name (ID number)") of every segment, for the enrolment method form.
pub async fn segment_choices(db: &impl ConnectionTrait) -> Result<Vec<(i32, String)>, AppError> {
    Ok(segment::Entity::find()
        .order_by_asc(segment::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, format!("{} ({})", s.name, s.id_number)))
        .collect())
}

/// A user id from a username typed by the admin.
pub async fn user_id(db: &impl ConnectionTrait, username: &str) -> Result<i32, AppError> {
    let name =
        crate::domain::Username::parse(username).map_err(|e| AppError::Invalid(e.to_string()))?;
    user::Entity::find()
        .filter(user::Column::Username.eq(name.as_str()))
        .one(db)
        .await?
        .map(|u| u.id)
        .ok_or_else(|| AppError::NotFound(format!("User \"{name}\"")))
}
