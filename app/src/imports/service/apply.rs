//! Each kind's set-based apply and its exact undo. Group memberships and enrolments carry their
//! batch; segments and groups an import created or changed are recorded in `import_records`
//! with the fields they had, so undo deletes or restores exactly those.
use super::{CHUNK, JSON_CHUNK};
use crate::bulk::{CommitStep, Tracker};
use crate::courses::EnrolMethodKind;
use crate::db::{insert_json, JsonField};
use crate::entities::{
    course_group, enrol_instance, enrolment, group_member, import_record, segment, segment_member,
};
use crate::error::AppError;
use crate::imports::types::{Knowledge, UndoImpact};
use crate::imports::validate::Plan;
use crate::sync::Drift;
use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

const SEGMENT: &str = "segment";
const GROUP: &str = "group";
const CREATED: &str = "created";
const UPDATED: &str = "updated";

#[derive(Serialize, Deserialize, Clone, PartialEq)]
struct SegmentFields {
    name: String,
    description: String,
    visible: bool,
}

#[derive(Serialize, Deserialize, Clone, PartialEq)]
struct GroupFields {
    id_number: Option<String>,
    description: String,
}

/// An update's record: the fields before it and, since session 31, what it wrote. Undo restores
/// a field only while it still holds what the batch wrote, so a later change (by hand or by a
/// later import) stays; records without `after` restore as before.
#[derive(Serialize, Deserialize)]
struct UpdateRecord<F> {
    #[serde(flatten)]
    before: F,
    /// (Missing in older records: serde reads that as None.)
    after: Option<F>,
}

/// `before`'s value where `now` still holds what the batch wrote (or nothing says what it
/// wrote), else `now`.
fn restored<T: PartialEq + Clone>(now: &T, before: &T, after: Option<&T>) -> T {
    match after {
        Some(after) if after != now => now.clone(),
        _ => before.clone(),
    }
}

/// Applies `plan` in the caller's transaction and runs the section 5 sync for the courses whose
/// enrolments changed. `known` holds the stored fields that updates replace (recorded for undo).
pub async fn apply(
    db: &impl ConnectionTrait,
    plan: &Plan,
    known: &Knowledge,
    batch_id: Option<i32>,
    progress: &Tracker,
) -> Result<Drift, AppError> {
    let now = Utc::now();
    let mut writes = progress.writes(
        plan.segments.len() + plan.groups.len() + plan.enrolments.len() + plan.members.len(),
    );
    // What undo needs: (entity, id, action, the fields before as JSON text).
    let mut records: Vec<(&str, i32, &str, Option<String>)> = Vec::new();
    let before = |b: Option<serde_json::Value>| b.map(|b| b.to_string());

    // Segments: new ones inserted from JSON, their ids read back by ID number.
    let created: Vec<_> = plan
        .segments
        .iter()
        .filter(|s| s.existing.is_none())
        .map(|s| (&s.id_number, &s.name, &s.description, s.visible))
        .collect();
    for chunk in created.chunks(JSON_CHUNK) {
        insert_json(
            db,
            "segments",
            &[
                ("id_number", JsonField::Text),
                ("name", JsonField::Text),
                ("description", JsonField::Text),
                ("visible", JsonField::Bool),
            ],
            vec![("created_at", now.into()), ("updated_at", now.into())],
            chunk,
            "",
        )
        .await?;
    }
    if batch_id.is_some() {
        for chunk in created.chunks(CHUNK) {
            let ids: Vec<(i32,)> = crate::db::tuples(
                db,
                sea_orm::sea_query::Query::select()
                    .column(segment::Column::Id)
                    .from(segment::Entity)
                    .and_where(segment::Column::IdNumber.is_in(chunk.iter().map(|s| s.0.clone()))),
                &["id"],
            )
            .await?;
            records.extend(ids.into_iter().map(|(id,)| (SEGMENT, id, CREATED, None)));
        }
    }
    // Updates: one statement per chunk, not one per segment.
    let updated: Vec<_> = plan
        .segments
        .iter()
        .filter(|s| s.existing.is_some())
        .collect();
    for chunk in updated.chunks(CHUNK / 8) {
        let rows = chunk
            .iter()
            .map(|s| {
                vec![
                    s.existing.unwrap_or_default().into(),
                    s.name.clone().into(),
                    s.description.clone().into(),
                    s.visible.into(),
                ]
            })
            .collect();
        crate::db::update_rows(
            db,
            "segments",
            &["name", "description", "visible"],
            Some(("updated_at", now.into())),
            rows,
        )
        .await?;
    }
    for s in updated {
        let fields = known.segments.get(&s.id_number).map(|f| UpdateRecord {
            before: SegmentFields {
                name: f.name.clone(),
                description: f.description.clone(),
                visible: f.visible,
            },
            after: Some(SegmentFields {
                name: s.name.clone(),
                description: s.description.clone(),
                visible: s.visible,
            }),
        });
        records.push((
            SEGMENT,
            s.existing.unwrap_or_default(),
            UPDATED,
            before(fields.and_then(|b| serde_json::to_value(b).ok())),
        ));
    }

    writes.wrote(plan.segments.len());
    // Course groups, keyed by (course, name): inserted from JSON, then their ids read back in
    // one pass over the courses' groups (an IN over names and courses together would make the
    // database probe every pair).
    let created: Vec<_> = plan
        .groups
        .iter()
        .filter(|g| g.existing.is_none())
        .collect();
    let rows: Vec<_> = created
        .iter()
        .map(|g| (g.course_id, &g.name, &g.id_number, &g.description))
        .collect();
    for chunk in rows.chunks(JSON_CHUNK) {
        insert_json(
            db,
            "course_groups",
            &[
                ("course_id", JsonField::Int),
                ("name", JsonField::Text),
                ("id_number", JsonField::Text),
                ("description", JsonField::Text),
            ],
            vec![("created_at", now.into())],
            chunk,
            "",
        )
        .await?;
    }
    if !created.is_empty() && batch_id.is_some() {
        let wanted: std::collections::HashSet<(i32, &str)> = created
            .iter()
            .map(|g| (g.course_id, g.name.as_str()))
            .collect();
        let mut courses: Vec<i32> = created.iter().map(|g| g.course_id).collect();
        courses.sort_unstable();
        courses.dedup();
        for chunk in courses.chunks(CHUNK) {
            let found: Vec<(i32, i32, String)> = crate::db::tuples(
                db,
                sea_orm::sea_query::Query::select()
                    .columns([
                        course_group::Column::Id,
                        course_group::Column::CourseId,
                        course_group::Column::Name,
                    ])
                    .from(course_group::Entity)
                    .and_where(course_group::Column::CourseId.is_in(chunk.iter().copied())),
                &["id", "course_id", "name"],
            )
            .await?;
            records.extend(
                found
                    .into_iter()
                    .filter(|(_, c, n)| wanted.contains(&(*c, n.as_str())))
                    .map(|(id, _, _)| (GROUP, id, CREATED, None)),
            );
        }
    }
    let stored: HashMap<i32, _> = known.groups.iter().map(|g| (g.id, g)).collect();
    let updated: Vec<_> = plan
        .groups
        .iter()
        .filter(|g| g.existing.is_some())
        .collect();
    for chunk in updated.chunks(CHUNK / 8) {
        let rows = chunk
            .iter()
            .map(|g| {
                vec![
                    g.existing.unwrap_or_default().into(),
                    g.id_number.clone().into(),
                    g.description.clone().into(),
                ]
            })
            .collect();
        crate::db::update_rows(
            db,
            "course_groups",
            &["id_number", "description"],
            None,
            rows,
        )
        .await?;
    }
    for g in updated {
        let id = g.existing.unwrap_or_default();
        let fields = stored.get(&id).map(|f| UpdateRecord {
            before: GroupFields {
                id_number: f.id_number.clone(),
                description: f.description.clone(),
            },
            after: Some(GroupFields {
                id_number: g.id_number.clone(),
                description: g.description.clone(),
            }),
        });
        records.push((
            GROUP,
            id,
            UPDATED,
            before(fields.and_then(|b| serde_json::to_value(b).ok())),
        ));
    }
    if let Some(batch) = batch_id {
        for chunk in records.chunks(JSON_CHUNK) {
            insert_json(
                db,
                "import_records",
                &[
                    ("entity", JsonField::Text),
                    ("target_id", JsonField::Int),
                    ("action", JsonField::Text),
                    ("previous", JsonField::JsonText),
                ],
                vec![("batch_id", batch.into())],
                chunk,
                "",
            )
            .await?;
        }
    }

    writes.wrote(plan.groups.len());
    // Enrolments through each course's manual method (created on first use).
    let mut manual: HashMap<i32, i32> = HashMap::new();
    let mut courses: Vec<i32> = plan.enrolments.iter().map(|e| e.course_id).collect();
    courses.sort_unstable();
    courses.dedup();
    for c in courses {
        manual.insert(c, crate::courses::service::manual_instance(db, c).await?);
    }
    let batch: sea_orm::Value = batch_id.into();
    for chunk in plan.enrolments.chunks(JSON_CHUNK) {
        let rows: Vec<(i32, i32, i32, crate::courses::EnrolmentStatus)> = chunk
            .iter()
            .map(|e| (manual[&e.course_id], e.course_id, e.user_id, e.status))
            .collect();
        insert_json(
            db,
            "enrolments",
            &[
                ("instance_id", JsonField::Int),
                ("course_id", JsonField::Int),
                ("user_id", JsonField::Int),
                ("status", JsonField::Text),
            ],
            vec![("created_at", now.into()), ("batch_id", batch.clone())],
            &rows,
            "ON CONFLICT (instance_id, user_id) DO NOTHING",
        )
        .await?;
        writes.wrote(chunk.len());
    }
    // Group memberships by hand: no enrolment method owns them, so none removes them.
    for chunk in plan.members.chunks(JSON_CHUNK) {
        insert_json(
            db,
            "group_members",
            &[("group_id", JsonField::Int), ("user_id", JsonField::Int)],
            vec![("added_at", now.into()), ("batch_id", batch.clone())],
            chunk,
            "ON CONFLICT DO NOTHING",
        )
        .await?;
        writes.wrote(chunk.len());
    }
    progress.step(CommitStep::Syncing);
    let mut courses: Vec<i32> = manual.into_keys().collect();
    courses.sort_unstable();
    // Only these users' enrolments changed: the sync runs for them (issue 13).
    let users: Vec<i32> = plan.enrolments.iter().map(|e| e.user_id).collect();
    crate::sync::courses_changed_by(db, &courses, users, crate::sync::Moved::In).await
}

/// Takes back an import batch (already claimed by `upload::service::undo`): the memberships and
/// enrolments it made that still exist, the segments and groups it created, and the fields it
/// changed. Returns how many rows it removed or restored.
pub async fn undo(db: &impl ConnectionTrait, batch_id: i32) -> Result<u64, AppError> {
    let mut changed = group_member::Entity::delete_many()
        .filter(group_member::Column::BatchId.eq(batch_id))
        .filter(group_member::Column::OriginInstanceId.is_null())
        .exec(db)
        .await?
        .rows_affected;
    let mut courses: Vec<i32> = enrolment::Entity::find()
        .select_only()
        .column(enrolment::Column::CourseId)
        .distinct()
        .filter(enrolment::Column::BatchId.eq(batch_id))
        .into_tuple()
        .all(db)
        .await?;
    changed += enrolment::Entity::delete_many()
        .filter(enrolment::Column::BatchId.eq(batch_id))
        .exec(db)
        .await?
        .rows_affected;
    let records = import_record::Entity::find()
        .filter(import_record::Column::BatchId.eq(batch_id))
        .all(db)
        .await?;
    let mut segment_updates = Vec::new();
    let mut group_updates = Vec::new();
    for r in records {
        match (r.entity.as_str(), r.action.as_str()) {
            // (Deleted since by hand: nothing left to take back.)
            (SEGMENT, CREATED)
                if segment::Entity::find_by_id(r.target_id)
                    .one(db)
                    .await?
                    .is_some() =>
            {
                crate::segments::service::Mutation::delete(db, r.target_id).await?;
                changed += 1;
            }
            (GROUP, CREATED) => {
                if let Some(g) = course_group::Entity::find_by_id(r.target_id)
                    .one(db)
                    .await?
                {
                    crate::courses::service::delete_group(db, r.target_id).await?;
                    courses.push(g.course_id);
                    changed += 1;
                }
            }
            (SEGMENT, UPDATED) => segment_updates.extend(record(r.target_id, r.previous)),
            (GROUP, UPDATED) => group_updates.extend(record(r.target_id, r.previous)),
            _ => {}
        }
    }
    changed += restore_segments(db, segment_updates).await?;
    changed += restore_groups(db, group_updates).await?;
    courses.sort_unstable();
    courses.dedup();
    crate::sync::courses_changed(db, &courses).await?;
    Ok(changed)
}

/// An update's record read back: (its target, what it found and wrote). None for a record this
/// code cannot read (nothing to restore then).
fn record<F: serde::de::DeserializeOwned>(
    target: i32,
    previous: Option<serde_json::Value>,
) -> Option<(i32, UpdateRecord<F>)> {
    let r = serde_json::from_value(previous?).ok()?;
    Some((target, r))
}

/// Puts back the segment fields a batch changed that still hold what it wrote: the segments read
/// in one query per chunk, the changed ones written by one statement per chunk. Returns how many.
async fn restore_segments(
    db: &impl ConnectionTrait,
    updates: Vec<(i32, UpdateRecord<SegmentFields>)>,
) -> Result<u64, AppError> {
    let mut rows = Vec::new();
    for chunk in updates.chunks(CHUNK) {
        // (Deleted since by hand: nothing left to restore.)
        let now: HashMap<i32, segment::Model> = segment::Entity::find()
            .filter(segment::Column::Id.is_in(chunk.iter().map(|u| u.0)))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        for (id, r) in chunk {
            let Some(now) = now.get(id) else { continue };
            let after = r.after.as_ref();
            let name = restored(&now.name, &r.before.name, after.map(|a| &a.name));
            let description = restored(
                &now.description,
                &r.before.description,
                after.map(|a| &a.description),
            );
            let visible = restored(&now.visible, &r.before.visible, after.map(|a| &a.visible));
            if (&name, &description, visible) != (&now.name, &now.description, now.visible) {
                rows.push(vec![
                    (*id).into(),
                    name.into(),
                    description.into(),
                    visible.into(),
                ]);
            }
        }
    }
    for chunk in rows.chunks(CHUNK / 8) {
        crate::db::update_rows(
            db,
            "segments",
            &["name", "description", "visible"],
            Some(("updated_at", Utc::now().into())),
            chunk.to_vec(),
        )
        .await?;
    }
    Ok(rows.len() as u64)
}

/// As `restore_segments`, for groups. An ID number that, once every restore is applied, another
/// group of the course would have too (the import refuses the same as `groupidnumber_taken`)
/// refuses the undo: the caller's transaction rolls back and nothing is undone.
async fn restore_groups(
    db: &impl ConnectionTrait,
    updates: Vec<(i32, UpdateRecord<GroupFields>)>,
) -> Result<u64, AppError> {
    // Each changed group: (its row now, the ID number and description it gets back).
    let mut restores: Vec<(course_group::Model, Option<String>, String)> = Vec::new();
    for chunk in updates.chunks(CHUNK) {
        let now: HashMap<i32, course_group::Model> = course_group::Entity::find()
            .filter(course_group::Column::Id.is_in(chunk.iter().map(|u| u.0)))
            .all(db)
            .await?
            .into_iter()
            .map(|g| (g.id, g))
            .collect();
        for (id, r) in chunk {
            let Some(now) = now.get(id) else { continue };
            let after = r.after.as_ref();
            let id_number = restored(
                &now.id_number,
                &r.before.id_number,
                after.map(|a| &a.id_number),
            );
            let description = restored(
                &now.description,
                &r.before.description,
                after.map(|a| &a.description),
            );
            if (&id_number, &description) != (&now.id_number, &now.description) {
                restores.push((now.clone(), id_number, description));
            }
        }
    }
    refuse_taken_group_id_numbers(db, &restores).await?;
    let rows: Vec<Vec<sea_orm::Value>> = restores
        .iter()
        .map(|(g, id_number, description)| {
            vec![
                g.id.into(),
                id_number.clone().into(),
                description.clone().into(),
            ]
        })
        .collect();
    for chunk in rows.chunks(CHUNK / 8) {
        crate::db::update_rows(
            db,
            "course_groups",
            &["id_number", "description"],
            None,
            chunk.to_vec(),
        )
        .await?;
    }
    Ok(rows.len() as u64)
}

/// Refuses restores after which two groups of a course would share an ID number: the groups of
/// the courses concerned are read once and the restores laid over them.
async fn refuse_taken_group_id_numbers(
    db: &impl ConnectionTrait,
    restores: &[(course_group::Model, Option<String>, String)],
) -> Result<(), AppError> {
    let mut courses: Vec<i32> = restores
        .iter()
        .filter(|(g, id_number, _)| id_number.is_some() && *id_number != g.id_number)
        .map(|(g, ..)| g.course_id)
        .collect();
    courses.sort_unstable();
    courses.dedup();
    // Every group of those courses with its ID number once the undo is done.
    let mut after: HashMap<i32, course_group::Model> = HashMap::new();
    for chunk in courses.chunks(CHUNK) {
        let groups = course_group::Entity::find()
            .filter(course_group::Column::CourseId.is_in(chunk.iter().copied()))
            .filter(course_group::Column::IdNumber.is_not_null())
            .all(db)
            .await?;
        after.extend(groups.into_iter().map(|g| (g.id, g)));
    }
    for (g, id_number, _) in restores {
        let mut held = g.clone();
        held.id_number = id_number.clone();
        after.insert(g.id, held);
    }
    let mut by_number: HashMap<(i32, &str), Vec<&course_group::Model>> = HashMap::new();
    for g in after.values() {
        if let Some(n) = g.id_number.as_deref() {
            by_number.entry((g.course_id, n)).or_default().push(g);
        }
    }
    for (g, id_number, _) in restores {
        let Some(n) = id_number
            .as_deref()
            .filter(|n| Some(*n) != g.id_number.as_deref())
        else {
            continue;
        };
        let other = by_number
            .get(&(g.course_id, n))
            .and_then(|holders| holders.iter().find(|o| o.id != g.id));
        if let Some(other) = other {
            return Err(AppError::Conflict(format!(
                "Undo would give group \"{}\" back the ID number \"{n}\", which group \"{}\" of its course would have too. Change one of them, then undo again; nothing was undone.",
                g.name, other.name
            )));
        }
    }
    Ok(())
}

/// What undoing a batch would take with it, for the history page's confirm step.
pub async fn undo_impact(db: &impl ConnectionTrait, batch_id: i32) -> Result<UndoImpact, AppError> {
    let records = import_record::Entity::find()
        .filter(import_record::Column::BatchId.eq(batch_id))
        .all(db)
        .await?;
    let ids = |entity: &str| -> Vec<i32> {
        records
            .iter()
            .filter(|r| r.entity == entity && r.action == CREATED)
            .map(|r| r.target_id)
            .collect()
    };
    let (segments, groups) = (ids(SEGMENT), ids(GROUP));
    let existing_segments = segment::Entity::find()
        .filter(segment::Column::Id.is_in(segments.clone()))
        .count(db)
        .await?;
    let existing_groups = course_group::Entity::find()
        .filter(course_group::Column::Id.is_in(groups.clone()))
        .count(db)
        .await?;
    Ok(UndoImpact {
        deletes: existing_segments + existing_groups,
        restores: records.iter().filter(|r| r.action == UPDATED).count() as u64,
        memberships: segment_member::Entity::find()
            .filter(segment_member::Column::SegmentId.is_in(segments.clone()))
            .count(db)
            .await?,
        enrolment_methods: enrol_instance::Entity::find()
            .filter(
                enrol_instance::Column::SegmentId
                    .is_in(segments)
                    .or(enrol_instance::Column::GroupId.is_in(groups.clone())),
            )
            .filter(enrol_instance::Column::Kind.ne(EnrolMethodKind::Manual))
            .count(db)
            .await?,
        group_members: group_member::Entity::find()
            .filter(
                group_member::Column::GroupId
                    .is_in(groups)
                    .or(group_member::Column::BatchId.eq(batch_id)),
            )
            .count(db)
            .await?,
        enrolments: enrolment::Entity::find()
            .filter(enrolment::Column::BatchId.eq(batch_id))
            .count(db)
            .await?,
    })
}

/// Per import batch, how many of its records still exist: group memberships, enrolments, and
/// segments or groups it created or changed (what undo would take back).
pub async fn still_present(
    db: &impl ConnectionTrait,
    batches: &[i32],
) -> Result<Vec<(i32, i64)>, AppError> {
    if batches.is_empty() {
        return Ok(Vec::new());
    }
    let mut counts: HashMap<i32, i64> = HashMap::new();
    let ids = || batches.iter().copied();
    let members: Vec<(Option<i32>, i64)> = group_member::Entity::find()
        .select_only()
        .column(group_member::Column::BatchId)
        .column_as(group_member::Column::Id.count(), "n")
        .filter(group_member::Column::BatchId.is_in(ids()))
        .group_by(group_member::Column::BatchId)
        .into_tuple()
        .all(db)
        .await?;
    let enrolments: Vec<(Option<i32>, i64)> = enrolment::Entity::find()
        .select_only()
        .column(enrolment::Column::BatchId)
        .column_as(enrolment::Column::Id.count(), "n")
        .filter(enrolment::Column::BatchId.is_in(ids()))
        .group_by(enrolment::Column::BatchId)
        .into_tuple()
        .all(db)
        .await?;
    let records: Vec<(i32, i64)> = import_record::Entity::find()
        .select_only()
        .column(import_record::Column::BatchId)
        .column_as(import_record::Column::Id.count(), "n")
        .filter(import_record::Column::BatchId.is_in(ids()))
        .group_by(import_record::Column::BatchId)
        .into_tuple()
        .all(db)
        .await?;
    for (b, n) in members.into_iter().chain(enrolments) {
        if let Some(b) = b {
            *counts.entry(b).or_default() += n;
        }
    }
    for (b, n) in records {
        *counts.entry(b).or_default() += n;
    }
    Ok(counts.into_iter().collect())
}
