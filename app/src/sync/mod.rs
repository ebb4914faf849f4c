//! Segment-to-group sync (SPEC 5): keeps every enrolment method instance's effects equal to what
//! its rules demand, in the caller's transaction, one set-based statement per rule and instance.
//!
//! - `segment_sync` (course C, segment S, optional group G, removal action): every member of S
//!   holds an active enrolment in C through the instance (and is in G through it); a former member
//!   is unenrolled or, with `suspend`, kept suspended.
//! - `segment_to_group` (C, S, G): G holds, through the instance, exactly the members of S with an
//!   active enrolment in C (by any method).
//!
//! Rows an instance creates carry its id (enrolments.instance_id, group_members.origin_instance_id),
//! so manual ones are never touched. `segment_sync` instances are applied before `segment_to_group`
//! ones, because the enrolments of the first are inputs of the second.
use crate::entities::enrol_instance;
use crate::error::AppError;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Statement, TransactionTrait, Value,
};
use serde::{Deserialize, Serialize};

use crate::courses::{EnrolMethodKind, EnrolmentStatus, RemovalAction};

/// What a sync pass changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    pub enrolments_added: u64,
    pub enrolments_reactivated: u64,
    pub enrolments_removed: u64,
    pub enrolments_suspended: u64,
    pub group_memberships_added: u64,
    pub group_memberships_removed: u64,
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        *self == Drift::default()
    }

    pub fn add(&mut self, o: Drift) {
        self.enrolments_added += o.enrolments_added;
        self.enrolments_reactivated += o.enrolments_reactivated;
        self.enrolments_removed += o.enrolments_removed;
        self.enrolments_suspended += o.enrolments_suspended;
        self.group_memberships_added += o.group_memberships_added;
        self.group_memberships_removed += o.group_memberships_removed;
    }
}

/// Begins the transaction of a change that runs the sync, holding the write lock uploads take
/// (`crate::db::lock_for_write`). The rules read rows other changes write (a group rule reads
/// segment members and enrolments), so two such changes at once under READ COMMITTED could each
/// miss the other's row: "enrol u" and "add u to the segment" would leave u enrolled and a member
/// yet outside the group. One lock for every such change (not one per course or segment) is what
/// uploads already rely on; these changes are small, so waiting is brief. On SQLite taking it first
/// also spares the "database is locked" that a transaction which read before writing gets.
pub async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, AppError> {
    let txn = db.begin().await?;
    crate::db::lock_for_write(&txn).await?;
    Ok(txn)
}

/// `sql` with its `?n` placeholders written for the backend (`db::placeholder`), bound to
/// `values`. The statements below are raw because the builder cannot say them (INSERT … SELECT
/// … ON CONFLICT, correlated NOT EXISTS); every value, the stored states included, is bound.
fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let mut text = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '?' {
            text.push(c);
            continue;
        }
        let mut n = 0usize;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            n = n * 10 + d as usize;
            chars.next();
        }
        text.push_str(&crate::db::placeholder(backend, n));
    }
    Statement::from_sql_and_values(backend, text, values)
}

/// Runs a rule statement; returns rows affected.
async fn exec(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Result<u64, AppError> {
    let st = statement(db.get_database_backend(), sql, values);
    Ok(db.execute(st).await?.rows_affected())
}

/// The stored text of a state, bound as a value rather than written into the SQL.
fn stored(state: impl ActiveEnum<Value = String>) -> Value {
    state.to_value().into()
}

fn active() -> Value {
    stored(EnrolmentStatus::Active)
}

fn now() -> Value {
    chrono::Utc::now().into()
}

/// Which way a change moved segment memberships or enrolments. Every rule is monotone: a
/// membership or active enrolment gained can only add enrolments and group memberships, one lost
/// can only take them away. So a pass after a change that only added skips the statements that
/// remove (on a large segment each is a scan of the instance's rows), and the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// Only gained (members added, users enrolled or reactivated).
    In,
    /// Only lost (members removed, users unenrolled or suspended).
    Out,
    /// Either, or unknown: every statement runs.
    Both,
}

impl Moved {
    fn adds(self) -> bool {
        self != Moved::Out
    }
    fn removes(self) -> bool {
        self != Moved::In
    }
}

/// Brings one instance's effects in line with its rule.
pub async fn apply_instance(
    db: &impl ConnectionTrait,
    inst: &enrol_instance::Model,
) -> Result<Drift, AppError> {
    apply_instance_for(db, inst, None, Moved::Both).await
}

/// ` AND {col} IN (the ids of one bound JSON array)`: a statement limited to the users of a
/// change, its one placeholder numbered after `values`; empty for a whole-segment pass. One value
/// however many users: an `IN (?, ?, …)` list bound one per user, in passes of 1,000 below 20,000
/// users and a whole-segment pass above, made a 25,000-user change to a large segment cost
/// O(segment).
fn scoped(
    backend: DatabaseBackend,
    col: &str,
    scope: Option<&[i32]>,
    values: &mut Vec<Value>,
) -> String {
    let Some(users) = scope else {
        return String::new();
    };
    values.push(crate::db::json_list(users).into());
    let list = crate::db::json_ids(backend, &format!("?{}", values.len()));
    format!(" AND {col} IN ({list})")
}

/// `apply_instance` for `scope`'s users only (None: everyone), after a change that moved them
/// `moved`'s way. Exact for a change that touched only those users' rows: every rule relates one
/// user's membership to that user's enrolment and group rows, so other users' rows, already in
/// line, stay so.
async fn apply_instance_for(
    db: &impl ConnectionTrait,
    inst: &enrol_instance::Model,
    scope: Option<&[i32]>,
    moved: Moved,
) -> Result<Drift, AppError> {
    let mut d = Drift::default();
    let backend = db.get_database_backend();
    let (Some(segment), i, course) = (inst.segment_id, inst.id, inst.course_id) else {
        return Ok(d);
    };
    match inst.kind {
        EnrolMethodKind::SegmentSync => {
            if moved.adds() {
                let mut v = vec![i.into(), segment.into(), active()];
                let s = scoped(backend, "user_id", scope, &mut v);
                d.enrolments_reactivated = exec(
                    db,
                    &format!(
                        "UPDATE enrolments SET status = ?3 WHERE instance_id = ?1 AND status <> ?3{s} \
                         AND user_id IN (SELECT user_id FROM segment_members WHERE segment_id = ?2)"
                    ),
                    v,
                )
                .await?;
                // In user order: PostgreSQL otherwise inserts in the hash order of the scope's
                // list, a random walk over the indexes (30% slower at 25,000 users).
                let mut v = vec![i.into(), course.into(), now(), segment.into(), active()];
                let s = scoped(backend, "sm.user_id", scope, &mut v);
                d.enrolments_added = exec(
                    db,
                    &format!(
                        "INSERT INTO enrolments (instance_id, course_id, user_id, status, created_at) \
                         SELECT ?1, ?2, sm.user_id, ?5, ?3 FROM segment_members sm WHERE sm.segment_id = ?4{s} \
                         ORDER BY sm.user_id ON CONFLICT DO NOTHING"
                    ),
                    v,
                )
                .await?;
                if let Some(group) = inst.group_id {
                    let mut v = vec![group.into(), i.into(), now(), segment.into()];
                    let s = scoped(backend, "sm.user_id", scope, &mut v);
                    d.group_memberships_added = exec(
                        db,
                        &format!(
                            "INSERT INTO group_members (group_id, user_id, origin_instance_id, added_at) \
                             SELECT ?1, sm.user_id, ?2, ?3 FROM segment_members sm WHERE sm.segment_id = ?4{s} \
                             ORDER BY sm.user_id ON CONFLICT DO NOTHING"
                        ),
                        v,
                    )
                    .await?;
                }
            }
            if moved.removes() {
                // NOT EXISTS, not NOT IN: PostgreSQL plans it as an anti-join (NOT IN's NULL rules
                // forbid that and make it quadratic on large segments).
                let gone = "NOT EXISTS (SELECT 1 FROM segment_members sm WHERE sm.segment_id = ?2 AND sm.user_id = enrolments.user_id)";
                if inst.removal_action == Some(RemovalAction::Suspend) {
                    let mut v = vec![
                        i.into(),
                        segment.into(),
                        stored(EnrolmentStatus::Suspended),
                        active(),
                    ];
                    let s = scoped(backend, "user_id", scope, &mut v);
                    d.enrolments_suspended = exec(
                        db,
                        &format!("UPDATE enrolments SET status = ?3 WHERE instance_id = ?1 AND status = ?4{s} AND {gone}"),
                        v,
                    )
                    .await?;
                } else {
                    let mut v = vec![i.into(), segment.into()];
                    let s = scoped(backend, "user_id", scope, &mut v);
                    d.enrolments_removed = exec(
                        db,
                        &format!("DELETE FROM enrolments WHERE instance_id = ?1{s} AND {gone}"),
                        v,
                    )
                    .await?;
                }
                // The instance's group rows follow segment membership (also under `suspend`),
                // and go from any group it no longer points at.
                let mut v = vec![i.into(), inst.group_id.unwrap_or(0).into(), segment.into()];
                let s = scoped(backend, "user_id", scope, &mut v);
                d.group_memberships_removed = exec(
                    db,
                    &format!(
                        "DELETE FROM group_members WHERE origin_instance_id = ?1{s} AND (group_id <> ?2 OR NOT EXISTS \
                         (SELECT 1 FROM segment_members sm WHERE sm.segment_id = ?3 AND sm.user_id = group_members.user_id))"
                    ),
                    v,
                )
                .await?;
            }
        }
        EnrolMethodKind::SegmentToGroup => {
            let Some(group) = inst.group_id else {
                return Ok(d);
            };
            if moved.adds() {
                let enrolled = "EXISTS (SELECT 1 FROM enrolments e WHERE e.course_id = ?5 AND e.user_id = sm.user_id AND e.status = ?6)";
                let mut v = vec![
                    group.into(),
                    i.into(),
                    now(),
                    segment.into(),
                    course.into(),
                    active(),
                ];
                let s = scoped(backend, "sm.user_id", scope, &mut v);
                d.group_memberships_added = exec(
                    db,
                    &format!(
                        "INSERT INTO group_members (group_id, user_id, origin_instance_id, added_at) \
                         SELECT ?1, sm.user_id, ?2, ?3 FROM segment_members sm WHERE sm.segment_id = ?4{s} AND {enrolled} \
                         ORDER BY sm.user_id ON CONFLICT DO NOTHING"
                    ),
                    v,
                )
                .await?;
            }
            if moved.removes() {
                let mut v = vec![
                    i.into(),
                    group.into(),
                    segment.into(),
                    course.into(),
                    active(),
                ];
                let s = scoped(backend, "user_id", scope, &mut v);
                d.group_memberships_removed = exec(
                    db,
                    &format!(
                        "DELETE FROM group_members WHERE origin_instance_id = ?1{s} AND (group_id <> ?2 OR NOT EXISTS \
                         (SELECT 1 FROM segment_members sm WHERE sm.segment_id = ?3 AND sm.user_id = group_members.user_id AND EXISTS \
                          (SELECT 1 FROM enrolments e WHERE e.course_id = ?4 AND e.user_id = sm.user_id AND e.status = ?5)))"
                    ),
                    v,
                )
                .await?;
            }
        }
        EnrolMethodKind::Manual => {}
    }
    Ok(d)
}

/// Applies these instances, `segment_sync` ones first.
async fn apply_all(
    db: &impl ConnectionTrait,
    instances: Vec<enrol_instance::Model>,
) -> Result<Drift, AppError> {
    apply_all_for(db, instances, None, Moved::Both).await
}

async fn apply_all_for(
    db: &impl ConnectionTrait,
    mut instances: Vec<enrol_instance::Model>,
    scope: Option<&[i32]>,
    moved: Moved,
) -> Result<Drift, AppError> {
    instances.sort_by_key(|i| (i.kind != EnrolMethodKind::SegmentSync, i.id));
    let mut total = Drift::default();
    for inst in &instances {
        total.add(apply_instance_for(db, inst, scope, moved).await?);
    }
    Ok(total)
}

/// After members of these segments changed: their instances, then the `segment_to_group`
/// instances of every course whose enrolments those instances may have changed.
pub async fn segments_changed(
    db: &impl ConnectionTrait,
    segment_ids: &[i32],
) -> Result<Drift, AppError> {
    segments_changed_for(db, segment_ids, None, Moved::Both).await
}

/// `segments_changed` after a change to these users' memberships only (SPEC 8's per-user
/// recompute), moved `moved`'s way: each rule runs for them alone, so a one-user change costs
/// O(1), not O(segment).
pub async fn segments_changed_for(
    db: &impl ConnectionTrait,
    segment_ids: &[i32],
    users: Option<&[i32]>,
    moved: Moved,
) -> Result<Drift, AppError> {
    if segment_ids.is_empty() {
        return Ok(Drift::default());
    }
    let direct = enrol_instance::Entity::find()
        .filter(enrol_instance::Column::SegmentId.is_in(segment_ids.iter().copied()))
        .all(db)
        .await?;
    let courses: Vec<i32> = direct
        .iter()
        .filter(|i| i.kind == EnrolMethodKind::SegmentSync)
        .map(|i| i.course_id)
        .collect();
    let mut all = direct;
    if !courses.is_empty() {
        let more = enrol_instance::Entity::find()
            .filter(enrol_instance::Column::Kind.eq(EnrolMethodKind::SegmentToGroup))
            .filter(enrol_instance::Column::CourseId.is_in(courses))
            .all(db)
            .await?;
        for m in more {
            if !all.iter().any(|i| i.id == m.id) {
                all.push(m);
            }
        }
    }
    apply_all_for(db, all, users, moved).await
}

/// Users per scoped pass (one bound JSON list of at most about 400 KB).
pub const SCOPE_CHUNK: usize = 50_000;

/// The passes a change to `users` needs: a scoped pass per `SCOPE_CHUNK` users, so a change
/// costs O(change), not O(segment), however many users it touched. Exact for the sync (see
/// `apply_instance_for`); automation's recompute scopes its passes the same way.
pub fn scopes(users: &[i32]) -> impl Iterator<Item = Option<&[i32]>> {
    users.chunks(SCOPE_CHUNK).map(Some)
}

/// `segments_changed_for` for these users' changed memberships: in the passes `scopes` gives,
/// or in one whole pass when the segments hold at most twice the memberships the change could
/// have touched (each user in each segment). A whole pass then reads at most twice those
/// memberships, and PostgreSQL runs it faster than scoped passes: 100,000 users filling an empty
/// segment synced at 0.77 of the ceiling's speed whole, 0.63-0.69 scoped (`bench-sync`). Only
/// a change of more than one pass is measured against the segments, so a smaller one never costs
/// O(segment).
pub async fn segments_changed_by(
    db: &impl ConnectionTrait,
    segment_ids: &[i32],
    mut users: Vec<i32>,
    moved: Moved,
) -> Result<Drift, AppError> {
    users.sort_unstable();
    users.dedup();
    if users.len() > SCOPE_CHUNK && !segment_ids.is_empty() {
        let members = count(
            db,
            &format!(
                "SELECT COUNT(*) FROM segment_members WHERE segment_id IN ({})",
                crate::db::json_ids(db.get_database_backend(), "?1")
            ),
            vec![crate::db::json_list(segment_ids).into()],
        )
        .await?;
        if members <= 2 * (users.len() * segment_ids.len()) as u64 {
            return segments_changed_for(db, segment_ids, None, moved).await;
        }
    }
    let mut drift = Drift::default();
    for scope in scopes(&users) {
        drift.add(segments_changed_for(db, segment_ids, scope, moved).await?);
    }
    Ok(drift)
}

/// `courses_changed_for` in the passes `scopes` gives for these users' changed enrolments.
pub async fn courses_changed_by(
    db: &impl ConnectionTrait,
    course_ids: &[i32],
    mut users: Vec<i32>,
    moved: Moved,
) -> Result<Drift, AppError> {
    users.sort_unstable();
    users.dedup();
    let mut drift = Drift::default();
    for scope in scopes(&users) {
        drift.add(courses_changed_for(db, course_ids, scope, moved).await?);
    }
    Ok(drift)
}

/// After enrolments in these courses changed (by any method).
pub async fn courses_changed(
    db: &impl ConnectionTrait,
    course_ids: &[i32],
) -> Result<Drift, AppError> {
    courses_changed_for(db, course_ids, None, Moved::Both).await
}

/// `courses_changed` after a change to these users' enrolments only, moved `moved`'s way.
pub async fn courses_changed_for(
    db: &impl ConnectionTrait,
    course_ids: &[i32],
    users: Option<&[i32]>,
    moved: Moved,
) -> Result<Drift, AppError> {
    if course_ids.is_empty() {
        return Ok(Drift::default());
    }
    let instances = enrol_instance::Entity::find()
        .filter(enrol_instance::Column::Kind.eq(EnrolMethodKind::SegmentToGroup))
        .filter(enrol_instance::Column::CourseId.is_in(course_ids.iter().copied()))
        .all(db)
        .await?;
    apply_all_for(db, instances, users, moved).await
}

/// The group memberships `courses_changed_by` would add after these enrolments (course, user,
/// status) were inserted through each course's manual method, counted without writing. It
/// mirrors the `segment_to_group` INSERT above on the state after the insert: a member of S is
/// added to G when, not yet in G through the instance, she holds an active enrolment in C, or
/// gets one from this list (active, and no row of the manual method's for her already, which
/// the insert would keep). Two counts per instance: members already active (drift the pass
/// would repair, over the same users as the commit's passes) and members the list makes active.
/// `enrolments` holds distinct (course, user) pairs. Writing and rolling back 100,000
/// enrolments to learn this cost half a second; the property test of the imports checks this
/// count against what the commit then does.
pub async fn group_memberships_from_enrolments(
    db: &impl ConnectionTrait,
    enrolments: &[(i32, i32, EnrolmentStatus)],
) -> Result<u64, AppError> {
    let mut courses: Vec<i32> = enrolments.iter().map(|e| e.0).collect();
    courses.sort_unstable();
    courses.dedup();
    if courses.is_empty() {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let json_ids = crate::db::json_ids(backend, "?1");
    let mut users: Vec<i32> = enrolments.iter().map(|e| e.1).collect();
    users.sort_unstable();
    users.dedup();
    let scope = crate::db::json_list(&users);
    // The courses' group rules and manual methods, in one query (by id, so a course's manual
    // method is its first, as `manual_instance` finds it).
    let (instances, manuals): (Vec<_>, Vec<_>) = enrol_instance::Entity::find()
        .filter(
            enrol_instance::Column::Kind
                .is_in([EnrolMethodKind::SegmentToGroup, EnrolMethodKind::Manual]),
        )
        .filter(enrol_instance::Column::CourseId.is_in(courses.iter().copied()))
        .order_by_asc(enrol_instance::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .partition(|i| i.kind == EnrolMethodKind::SegmentToGroup);
    let mut manual_of: std::collections::HashMap<i32, i32> = std::collections::HashMap::new();
    for m in manuals {
        manual_of.entry(m.course_id).or_insert(m.id);
    }
    let not_in_group = "NOT EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = ?2 \
                        AND gm.user_id = sm.user_id AND gm.origin_instance_id = ?3)";
    let active_in_course = "EXISTS (SELECT 1 FROM enrolments e WHERE e.course_id = ?4 \
                            AND e.user_id = sm.user_id AND e.status = ?5)";
    let mut added = 0u64;
    for inst in instances {
        let (Some(segment), Some(group)) = (inst.segment_id, inst.group_id) else {
            continue;
        };
        let course = inst.course_id;
        let manual = manual_of.get(&course).copied().unwrap_or(0);
        let values = |first: Value| {
            vec![
                first,
                group.into(),
                inst.id.into(),
                course.into(),
                active(),
                segment.into(),
                manual.into(),
            ]
        };
        // Members already active in C yet outside G: the commit's pass adds them too.
        let mut v = values(scope.clone().into());
        v.truncate(6);
        added += count(
            db,
            &format!(
                "SELECT COUNT(*) FROM segment_members sm WHERE sm.segment_id = ?6 AND sm.user_id IN ({json_ids}) \
                 AND {active_in_course} AND {not_in_group}"
            ),
            v,
        )
        .await?;
        // Members this list makes active in C.
        let fresh: Vec<i32> = enrolments
            .iter()
            .filter(|e| e.0 == course && e.2 == EnrolmentStatus::Active)
            .map(|e| e.1)
            .collect();
        if fresh.is_empty() {
            continue;
        }
        let fresh = crate::db::json_list(&fresh);
        added += count(
            db,
            &format!(
                "SELECT COUNT(DISTINCT sm.user_id) FROM segment_members sm \
                 WHERE sm.segment_id = ?6 AND sm.user_id IN ({json_ids}) \
                 AND NOT {active_in_course} AND {not_in_group} \
                 AND NOT EXISTS (SELECT 1 FROM enrolments e WHERE e.instance_id = ?7 AND e.user_id = sm.user_id)"
            ),
            values(fresh.into()),
        )
        .await?;
    }
    Ok(added)
}

async fn count(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Result<u64, AppError> {
    let st = statement(db.get_database_backend(), sql, values);
    let row = db
        .query_one(st)
        .await?
        .ok_or_else(|| AppError::Internal("a count returned no row".into()))?;
    Ok(row.try_get_by_index::<i64>(0)? as u64)
}

/// Courses whose segment-driven effects depend on these segments (read before deleting them).
pub async fn courses_of_segments(
    db: &impl ConnectionTrait,
    segment_ids: &[i32],
) -> Result<Vec<i32>, AppError> {
    let mut courses: Vec<i32> = enrol_instance::Entity::find()
        .filter(enrol_instance::Column::SegmentId.is_in(segment_ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|i| i.course_id)
        .collect();
    courses.sort_unstable();
    courses.dedup();
    Ok(courses)
}

/// `server sync`: recomputes every instance from scratch and reports the drift it fixed.
pub async fn repair(db: &impl ConnectionTrait) -> Result<Drift, AppError> {
    let instances = enrol_instance::Entity::find()
        .filter(enrol_instance::Column::Kind.is_in([
            EnrolMethodKind::SegmentSync,
            EnrolMethodKind::SegmentToGroup,
        ]))
        .order_by_asc(enrol_instance::Column::Id)
        .all(db)
        .await?;
    apply_all(db, instances).await
}

/// Every violation of SPEC 5's rules, as readable lines (empty when all hold). Used by tests
/// and by `server sync --check`.
pub async fn violations(db: &impl ConnectionTrait) -> Result<Vec<String>, AppError> {
    let checks = [
        ("segment member without its segment_sync enrolment",
         "SELECT COUNT(*) FROM enrol_instances i JOIN segment_members sm ON sm.segment_id = i.segment_id \
          WHERE i.kind = ?1 AND NOT EXISTS (SELECT 1 FROM enrolments e WHERE e.instance_id = i.id \
          AND e.user_id = sm.user_id AND e.status = ?2)"),
        ("segment member outside its segment_sync group",
         "SELECT COUNT(*) FROM enrol_instances i JOIN segment_members sm ON sm.segment_id = i.segment_id \
          WHERE i.kind = ?1 AND i.group_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM group_members g \
          WHERE g.origin_instance_id = i.id AND g.group_id = i.group_id AND g.user_id = sm.user_id)"),
        ("active segment_sync enrolment of a non-member",
         "SELECT COUNT(*) FROM enrolments e JOIN enrol_instances i ON i.id = e.instance_id WHERE i.kind = ?1 \
          AND e.status = ?2 AND NOT EXISTS (SELECT 1 FROM segment_members sm WHERE sm.segment_id = i.segment_id AND sm.user_id = e.user_id)"),
        ("enrolled segment member missing from a segment_to_group group",
         "SELECT COUNT(*) FROM enrol_instances i JOIN segment_members sm ON sm.segment_id = i.segment_id \
          WHERE i.kind = ?3 AND EXISTS (SELECT 1 FROM enrolments e WHERE e.course_id = i.course_id \
          AND e.user_id = sm.user_id AND e.status = ?2) AND NOT EXISTS (SELECT 1 FROM group_members g \
          WHERE g.group_id = i.group_id AND g.user_id = sm.user_id)"),
        ("instance-made group membership its rule no longer wants",
         "SELECT COUNT(*) FROM group_members g JOIN enrol_instances i ON i.id = g.origin_instance_id WHERE \
          (i.kind = ?3 AND NOT EXISTS (SELECT 1 FROM segment_members sm WHERE sm.segment_id = i.segment_id \
           AND sm.user_id = g.user_id AND EXISTS (SELECT 1 FROM enrolments e WHERE e.course_id = i.course_id \
           AND e.user_id = g.user_id AND e.status = ?2))) OR \
          (i.kind = ?1 AND NOT EXISTS (SELECT 1 FROM segment_members sm WHERE sm.segment_id = i.segment_id AND sm.user_id = g.user_id))"),
    ];
    let mut out = Vec::new();
    for (what, sql) in checks {
        let values = vec![
            stored(EnrolMethodKind::SegmentSync),
            active(),
            stored(EnrolMethodKind::SegmentToGroup),
        ];
        let row = db
            .query_one(statement(db.get_database_backend(), sql, values))
            .await?
            .ok_or_else(|| AppError::Internal("count returned nothing".into()))?;
        let n: i64 = row.try_get_by_index(0)?;
        if n > 0 {
            out.push(format!("{n} x {what}"));
        }
    }
    Ok(out)
}
