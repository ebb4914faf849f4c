//! What the database knows about a file's names: the engine's one look-up, answered for the
//! page (in batches) and for the commit (whole, inside its transaction).
use super::CHUNK;
use crate::db::{int_pairs, tuples};
use crate::entities::{course, course_group, enrolment, group_member, segment, user};
use crate::error::AppError;
use crate::imports::types::{GroupFacts, Knowledge, Questions, SegmentFacts};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
use std::collections::HashSet;

pub async fn look_up(db: &impl ConnectionTrait, q: &Questions) -> Result<Knowledge, AppError> {
    let mut k = Knowledge::default();
    for chunk in q.usernames.chunks(CHUNK) {
        let select = user::Entity::find()
            .select_only()
            .columns([user::Column::Username, user::Column::Id])
            .filter(user::Column::Username.is_in(chunk.iter().cloned()))
            .into_query();
        k.users
            .extend(tuples::<(String, i32)>(db, &select, &["username", "id"]).await?);
    }
    for chunk in q.courses.chunks(CHUNK) {
        let found: Vec<(String, i32)> = course::Entity::find()
            .select_only()
            .columns([course::Column::Shortname, course::Column::Id])
            .filter(course::Column::Shortname.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        k.courses.extend(found);
    }
    for chunk in q.segments.chunks(CHUNK) {
        let found = segment::Entity::find()
            .filter(segment::Column::IdNumber.is_in(chunk.iter().cloned()))
            .all(db)
            .await?;
        k.segments.extend(found.into_iter().map(|s| {
            let facts = SegmentFacts {
                id: s.id,
                name: s.name,
                description: s.description,
                visible: s.visible,
            };
            (s.id_number, facts)
        }));
    }
    let mut course_ids: Vec<i32> = q.course_ids.clone();
    course_ids.extend(k.courses.values().copied());
    course_ids.sort_unstable();
    course_ids.dedup();
    for chunk in course_ids.chunks(CHUNK) {
        let groups = course_group::Entity::find()
            .filter(course_group::Column::CourseId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        k.groups.extend(groups.into_iter().map(|g| GroupFacts {
            id: g.id,
            course_id: g.course_id,
            name: g.name,
            id_number: g.id_number,
            description: g.description,
        }));
    }
    let user_ids: Vec<i32> = k.users.values().copied().collect();
    let groups: HashSet<i32> = k.groups.iter().map(|g| g.id).collect();
    let courses: HashSet<i32> = course_ids.iter().copied().collect();
    // By user (each table's user index), the courses and groups filtered here: an IN over
    // courses (or groups) and users together makes the database probe every pair.
    for users in user_ids.chunks(CHUNK) {
        if !courses.is_empty() {
            let select = enrolment::Entity::find()
                .select_only()
                .columns([enrolment::Column::CourseId, enrolment::Column::UserId])
                .filter(enrolment::Column::UserId.is_in(users.iter().copied()))
                .into_query();
            let found = int_pairs(db, &select, ["course_id", "user_id"]).await?;
            k.enrolled
                .extend(found.into_iter().filter(|(c, _)| courses.contains(c)));
        }
        if !groups.is_empty() {
            let select = group_member::Entity::find()
                .select_only()
                .columns([group_member::Column::GroupId, group_member::Column::UserId])
                .filter(group_member::Column::UserId.is_in(users.iter().copied()))
                .into_query();
            let found = int_pairs(db, &select, ["group_id", "user_id"]).await?;
            k.members
                .extend(found.into_iter().filter(|(g, _)| groups.contains(g)));
        }
    }
    Ok(k)
}
