//! What the database knows about a file's names: segment ids and counts, existing users, their
//! details and memberships. Reads only; each statement takes its names or ids as one JSON list.
use super::LOOKUP_CHUNK;
use crate::db::{count_related, in_json, int_pairs, tuples, JsonField, JSON_LOOKUP_CHUNK};
use crate::entities::{enrol_instance, segment, segment_member, user};
use crate::error::AppError;
use crate::upload::types::{SegmentFound, UserLookup};
use crate::upload::validate::Knowledge;
use crate::upload::Parsed;
use crate::users::service::{ids_by_name, Directory};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QuerySelect,
    QueryTrait,
};
use std::collections::HashMap;

/// Segment ids for these ID numbers (exact match); unknown ones are absent.
pub async fn lookup_segments(
    db: &impl ConnectionTrait,
    id_numbers: &[String],
) -> Result<Vec<(String, i32)>, AppError> {
    let mut out = Vec::new();
    for chunk in id_numbers.chunks(LOOKUP_CHUNK) {
        let found: Vec<(String, i32)> = segment::Entity::find()
            .select_only()
            .columns([segment::Column::IdNumber, segment::Column::Id])
            .filter(segment::Column::IdNumber.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(found);
    }
    Ok(out)
}

/// Segment ids, member counts and whether enrolment methods follow them, for these ID numbers
/// (the page decides from the counts how to learn existing memberships, and from the flag whether
/// the commit has sync effects to preview).
pub async fn lookup_segments_with_counts(
    db: &impl ConnectionTrait,
    id_numbers: &[String],
) -> Result<Vec<SegmentFound>, AppError> {
    let mut out = Vec::new();
    for chunk in id_numbers.chunks(LOOKUP_CHUNK) {
        let found: Vec<(String, i32, Option<serde_json::Value>, i64, i64)> =
            segment::Entity::find()
                .select_only()
                .columns([
                    segment::Column::IdNumber,
                    segment::Column::Id,
                    segment::Column::Rules,
                ])
                .column_as(
                    count_related(segment_member::Column::SegmentId, segment::Column::Id),
                    "members",
                )
                // An integer, not a bare EXISTS: SQLite has no boolean column type to decode.
                .column_as(
                    count_related(enrol_instance::Column::SegmentId, segment::Column::Id),
                    "methods",
                )
                .filter(segment::Column::IdNumber.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(db)
                .await?;
        out.extend(
            found
                .into_iter()
                .map(|(id_number, id, rules, members, methods)| SegmentFound {
                    id_number,
                    id,
                    members,
                    followed: methods > 0,
                    automated: rules.is_some(),
                }),
        );
    }
    Ok(out)
}

/// (segment id, user id) of the memberships that meet `segments` (a condition on the segment),
/// for `int_pairs`.
fn members_where(segments: SimpleExpr) -> sea_orm::Select<segment_member::Entity> {
    segment_member::Entity::find()
        .select_only()
        .columns([
            segment_member::Column::SegmentId,
            segment_member::Column::UserId,
        ])
        .filter(segments)
}

/// Asked about more segments than this, SQLite reads each user's memberships in one range of
/// the (user, segment) index instead of probing it once per segment (see `user_memberships`).
const PROBES_PER_USER_MAX: usize = 3;

/// The memberships of these segments, at most `at_most` of them (a caller that refuses more
/// than a cap asks for one past it, so a huge segment is not read whole only to be refused):
/// cheaper than asking user by user when the segments are smaller than the file.
pub async fn segment_memberships(
    db: &impl ConnectionTrait,
    segment_ids: &[i32],
    at_most: u64,
) -> Result<Vec<(i32, i32)>, AppError> {
    let select =
        members_where(segment_member::Column::SegmentId.is_in(segment_ids.iter().copied()))
            .limit(at_most)
            .into_query();
    Ok(int_pairs(db, &select, ["segment_id", "user_id"]).await?)
}

/// Which of these (normalised) usernames exist, their details if asked, and their memberships
/// in the given segments: one statement per `JSON_LOOKUP_CHUNK` names, ids alone unless details
/// are needed. Ids alone come from `directory` when one is given (the preview's look-ups; a
/// commit reads its own transaction and gives none).
pub async fn lookup_users(
    db: &impl ConnectionTrait,
    directory: Option<&Directory>,
    usernames: &[&str],
    segment_ids: &[i32],
    details: bool,
) -> Result<UserLookup, AppError> {
    let backend = db.get_database_backend();
    let mut reply = UserLookup::default();
    if details {
        let mut found: HashMap<String, (i32, [String; 3])> =
            HashMap::with_capacity(usernames.len());
        for chunk in usernames.chunks(JSON_LOOKUP_CHUNK) {
            let select = user::Entity::find()
                .select_only()
                .columns([
                    user::Column::Id,
                    user::Column::Username,
                    user::Column::Firstname,
                    user::Column::Lastname,
                    user::Column::Email,
                ])
                .filter(in_json(backend, "username", JsonField::Text, chunk))
                .into_query();
            let rows: Vec<(i32, String, String, String, String)> = tuples(
                db,
                &select,
                &["id", "username", "firstname", "lastname", "email"],
            )
            .await?;
            found.extend(
                rows.into_iter()
                    .map(|(id, name, first, last, email)| (name, (id, [first, last, email]))),
            );
        }
        (reply.ids, reply.details) = usernames
            .iter()
            .map(|u| found.get(*u).map_or((0, Default::default()), |f| f.clone()))
            .unzip();
    } else if let Some(directory) = directory {
        reply.ids = directory.ids(usernames).await?;
    } else {
        reply.ids = ids_by_name(db, usernames).await?;
    }
    if !segment_ids.is_empty() {
        let ids: Vec<i32> = reply.ids.iter().copied().filter(|&id| id != 0).collect();
        reply.memberships = user_memberships(db, &ids, segment_ids).await?;
    }
    Ok(reply)
}

/// The (segment id, user id) memberships of these users in these segments: what `lookup_users`
/// adds to its answer, and `upload_user_memberships` asks alone once the users are known.
pub async fn user_memberships(
    db: &impl ConnectionTrait,
    user_ids: &[i32],
    segment_ids: &[i32],
) -> Result<Vec<(i32, i32)>, AppError> {
    if segment_ids.is_empty() {
        return Ok(vec![]);
    }
    let backend = db.get_database_backend();
    // SQLite probed the (user, segment) index once per user and segment: 20 probes a user for a
    // file of 20 segments. `segment_id + 0` leaves the index to the user alone, so a user's few
    // rows are read in one range and their segments checked there. Measured on 1M memberships
    // (25,000 users, SQLite): 30 ms whatever the segments, against 14, 31, 41 and 77 ms for 1,
    // 3, 5 and 10 segments probed (holding none of these users), and 70-115 against 220-270 ms
    // for 20 holding 5 of each user.
    let column = segment_member::Column::SegmentId;
    let segments = if backend == DatabaseBackend::Sqlite && segment_ids.len() > PROBES_PER_USER_MAX
    {
        Expr::expr(Expr::col(column).add(0)).is_in(segment_ids.iter().copied())
    } else {
        column.is_in(segment_ids.iter().copied())
    };
    let mut out = Vec::new();
    for chunk in user_ids.chunks(JSON_LOOKUP_CHUNK) {
        let select = members_where(segments.clone())
            .filter(in_json(backend, "user_id", JsonField::Int, chunk))
            .into_query();
        let pairs = int_pairs(db, &select, ["segment_id", "user_id"]).await?;
        out.extend(pairs);
    }
    Ok(out)
}

/// Everything the database knows about a file's names (the commit path), with the users' stored
/// details when the options update them (as the page asks).
pub async fn load_knowledge(
    db: &impl ConnectionTrait,
    parsed: &Parsed,
    details: bool,
) -> Result<Knowledge, AppError> {
    let usernames: Vec<&str> = parsed.usernames().collect();
    let id_numbers = &parsed.segment_ids;
    let mut known = Knowledge::default();
    for s in lookup_segments_with_counts(db, id_numbers).await? {
        if s.automated {
            known.automated.insert(s.id);
        }
        known.segments.insert(s.id_number, s.id);
    }
    let segment_ids: Vec<i32> = known.segments.values().copied().collect();
    let reply = lookup_users(db, None, &usernames, &segment_ids, details).await?;
    reply.add_to(&mut known);
    Ok(known)
}

/// Which of these segments an enrolment method follows (only they have sync effects).
pub async fn followed_segments(
    db: &impl ConnectionTrait,
    segment_ids: &[i32],
) -> Result<Vec<i32>, AppError> {
    let mut followed: Vec<i32> = Vec::new();
    for chunk in segment_ids.chunks(LOOKUP_CHUNK) {
        let found: Vec<Option<i32>> = enrol_instance::Entity::find()
            .select_only()
            .column(enrol_instance::Column::SegmentId)
            .filter(enrol_instance::Column::SegmentId.is_in(chunk.iter().copied()))
            .distinct()
            .into_tuple()
            .all(db)
            .await?;
        followed.extend(found.into_iter().flatten());
    }
    Ok(followed)
}
