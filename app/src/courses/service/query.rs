//! Course-side reads for the course pages: courses with counts, participants, groups with their
//! members' origins, enrolment methods with labels and counts. A fixed number of queries per page,
//! whatever the number of rows.
use crate::courses::{
    CourseRow, EnrolMethodKind, GroupMemberRow, GroupRow, InstanceRow, ParticipantRow,
    SegmentChoice,
};
use crate::domain::Page;
use crate::entities::{
    course, course_group, enrol_instance, enrolment, group_member, segment, user,
};
use crate::error::AppError;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

#[derive(Debug, sea_orm::FromQueryResult)]
struct CourseQ {
    id: i32,
    shortname: String,
    fullname: String,
    participants: i64,
    groups: i64,
}

fn course_rows(q: sea_orm::Select<course::Entity>) -> sea_orm::Select<course::Entity> {
    use crate::db::{count_distinct_related, count_related};
    use crate::entities::{course_group, enrolment};
    q.select_only()
        .columns([
            course::Column::Id,
            course::Column::Shortname,
            course::Column::Fullname,
        ])
        .column_as(
            count_distinct_related(
                enrolment::Column::CourseId,
                enrolment::Column::UserId,
                course::Column::Id,
            ),
            "participants",
        )
        .column_as(
            count_related(course_group::Column::CourseId, course::Column::Id),
            "groups",
        )
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
            .map(|e| e.status),
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
        .filter(enrol_instance::Column::Kind.eq(EnrolMethodKind::Manual))
        .into_tuple()
        .one(db)
        .await?)
}

async fn instance_labels(
    db: &impl ConnectionTrait,
    course_id: i32,
) -> Result<HashMap<i32, String>, AppError> {
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
            let label = match i.kind {
                EnrolMethodKind::Manual => "Manual enrolments".to_string(),
                EnrolMethodKind::SegmentSync => format!(
                    "User segment sync ({})",
                    segment.clone().unwrap_or_default()
                ),
                EnrolMethodKind::SegmentToGroup => format!(
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
    let targets: Vec<(Option<i32>, EnrolMethodKind)> = enrol_instance::Entity::find()
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
    let methods = |g: i32, kind: EnrolMethodKind| {
        targets
            .iter()
            .filter(|(group, k)| *group == Some(g) && *k == kind)
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
                members_to_group_methods: methods(g.id, EnrolMethodKind::SegmentToGroup),
                sync_methods: methods(g.id, EnrolMethodKind::SegmentSync),
                id: g.id,
                name: g.name,
                members: rows,
            }
        })
        .collect())
}

/// Every segment, by name, for the enrolment method form.
pub async fn segment_choices(db: &impl ConnectionTrait) -> Result<Vec<SegmentChoice>, AppError> {
    Ok(segment::Entity::find()
        .order_by_asc(segment::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|s| SegmentChoice {
            id: s.id,
            label: format!("{} ({})", s.name, s.id_number),
        })
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
