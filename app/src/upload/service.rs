//! The commit side of bulk uploads: what the database knows about a file, the set-based apply in
//! one transaction, undo, history, and the staging of files sent by the browser in chunks.
//! The CLI and the page both come through `run`.
use super::parse::{parse, FileError, Parsed, MAX_FILE_BYTES};
pub use super::types::{BatchRow, CommitResult, UserLookup};
use super::validate::{validate, Knowledge, KnownUser, Report, UserRef};
use super::UploadOptions;
use crate::entities::{
    segment, segment_member, upload_batch, upload_change, upload_stage, upload_stage_chunk, user,
};
use crate::error::AppError;
use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict, Query as SqlQuery};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait, Value,
};
use std::collections::HashMap;

/// Rows per multi-row statement: under SQLite's bound-parameter limit for every table here.
const CHUNK: usize = 5_000;
/// Names per IN (…) look-up.
const LOOKUP_CHUNK: usize = 5_000;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("{0}")]
    File(#[from] FileError),
    #[error("{0}")]
    App(#[from] AppError),
}

impl From<sea_orm::DbErr> for UploadError {
    fn from(e: sea_orm::DbErr) -> Self {
        UploadError::App(e.into())
    }
}

/// The sync effects (SPEC 5) that adding these memberships would cause, computed exactly: the
/// memberships (and any new users) are written, the sync runs, and the transaction is rolled back.
/// `existing`: (segment id, user id); `new`: (segment id, username of a user the commit creates).
pub async fn simulate_effects(
    db: &DatabaseConnection,
    existing: &[(i32, i32)],
    new: &[(i32, String)],
) -> Result<crate::sync::Drift, AppError> {
    let txn = db.begin().await?;
    let now = Utc::now();
    let mut pairs: Vec<(i32, i32)> = existing.to_vec();
    let mut names: Vec<String> = new.iter().map(|(_, u)| u.clone()).collect();
    names.sort();
    names.dedup();
    for chunk in names.chunks(1_000) {
        user::Entity::insert_many(
            chunk
                .iter()
                .map(|u| user::ActiveModel::new_user(u, "", "", "", now)),
        )
        .on_conflict(
            OnConflict::column(user::Column::Username)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    let mut ids: HashMap<String, i32> = HashMap::new();
    for chunk in names.chunks(LOOKUP_CHUNK) {
        let found: Vec<(String, i32)> = user::Entity::find()
            .select_only()
            .columns([user::Column::Username, user::Column::Id])
            .filter(user::Column::Username.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(&txn)
            .await?;
        ids.extend(found);
    }
    pairs.extend(
        new.iter()
            .filter_map(|(s, u)| ids.get(u).map(|id| (*s, *id))),
    );
    for chunk in pairs.chunks(CHUNK) {
        let mut insert = SqlQuery::insert();
        insert.into_table(segment_member::Entity).columns([
            segment_member::Column::SegmentId,
            segment_member::Column::UserId,
            segment_member::Column::AddedAt,
        ]);
        for &(s, u) in chunk {
            insert.values_panic([s.into(), u.into(), now.into()]);
        }
        insert.on_conflict(
            OnConflict::columns([
                segment_member::Column::SegmentId,
                segment_member::Column::UserId,
            ])
            .do_nothing()
            .to_owned(),
        );
        txn.execute(txn.get_database_backend().build(&insert))
            .await?;
    }
    let mut segments: Vec<i32> = pairs.iter().map(|p| p.0).collect();
    segments.sort_unstable();
    segments.dedup();
    let drift = crate::sync::segments_changed(&txn, &segments).await?;
    txn.rollback().await?;
    Ok(drift)
}

/// The enrolments (added or reactivated) and group memberships committing `report` would cause
/// through the methods that follow `segments`: the page's batches, each simulated on its own.
pub async fn preview_effects(
    db: &DatabaseConnection,
    report: &Report,
    segments: &[i32],
) -> Result<(u64, u64), AppError> {
    let (mut enrolments, mut groups) = (0, 0);
    for (existing, new) in
        super::report::effect_batches(report, segments, super::api::EFFECTS_BATCH)
    {
        let drift = simulate_effects(db, &existing, &new).await?;
        enrolments += drift.enrolments_added + drift.enrolments_reactivated;
        groups += drift.group_memberships_added;
    }
    Ok((enrolments, groups))
}

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
) -> Result<Vec<(String, i32, i64, bool)>, AppError> {
    let mut out = Vec::new();
    for chunk in id_numbers.chunks(LOOKUP_CHUNK) {
        let found: Vec<(String, i32, i64, i64)> = segment::Entity::find()
            .select_only()
            .columns([segment::Column::IdNumber, segment::Column::Id])
            .column_as(
                Expr::cust(
                    "(SELECT COUNT(*) FROM segment_members sm WHERE sm.segment_id = segments.id)",
                ),
                "members",
            )
            // An integer, not a bare EXISTS: SQLite has no boolean column type to decode.
            .column_as(
                Expr::cust(
                    "(SELECT COUNT(*) FROM enrol_instances i WHERE i.segment_id = segments.id)",
                ),
                "methods",
            )
            .filter(segment::Column::IdNumber.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(
            found
                .into_iter()
                .map(|(n, id, members, methods)| (n, id, members, methods > 0)),
        );
    }
    Ok(out)
}

/// Every membership of these segments: cheaper than asking user by user when the segments are
/// smaller than the file.
pub async fn segment_memberships(
    db: &impl ConnectionTrait,
    segment_ids: &[i32],
) -> Result<Vec<(i32, i32)>, AppError> {
    Ok(segment_member::Entity::find()
        .select_only()
        .columns([
            segment_member::Column::SegmentId,
            segment_member::Column::UserId,
        ])
        .filter(segment_member::Column::SegmentId.is_in(segment_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?)
}

/// Which of these (normalised) usernames exist, their details if asked, and their memberships
/// in the given segments: bounded IN (…) look-ups, two columns unless details are needed.
pub async fn lookup_users(
    db: &impl ConnectionTrait,
    usernames: &[String],
    segment_ids: &[i32],
    details: bool,
) -> Result<UserLookup, AppError> {
    let mut found: HashMap<String, (i32, [String; 3])> = HashMap::with_capacity(usernames.len());
    for chunk in usernames.chunks(LOOKUP_CHUNK) {
        let names = chunk.iter().cloned();
        if details {
            for u in user::Entity::find()
                .filter(user::Column::Username.is_in(names))
                .all(db)
                .await?
            {
                found.insert(u.username, (u.id, [u.firstname, u.lastname, u.email]));
            }
        } else {
            let rows: Vec<(i32, String)> = user::Entity::find()
                .select_only()
                .columns([user::Column::Id, user::Column::Username])
                .filter(user::Column::Username.is_in(names))
                .into_tuple()
                .all(db)
                .await?;
            found.extend(
                rows.into_iter()
                    .map(|(id, name)| (name, (id, Default::default()))),
            );
        }
    }
    let mut reply = UserLookup {
        ids: usernames
            .iter()
            .map(|u| found.get(u).map_or(0, |f| f.0))
            .collect(),
        ..Default::default()
    };
    if details {
        reply.details = usernames
            .iter()
            .map(|u| found.get(u).map(|f| f.1.clone()).unwrap_or_default())
            .collect();
    }
    if !segment_ids.is_empty() {
        let ids: Vec<i32> = reply.ids.iter().copied().filter(|&id| id != 0).collect();
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let pairs: Vec<(i32, i32)> = segment_member::Entity::find()
                .select_only()
                .columns([
                    segment_member::Column::SegmentId,
                    segment_member::Column::UserId,
                ])
                .filter(segment_member::Column::SegmentId.is_in(segment_ids.iter().copied()))
                .filter(segment_member::Column::UserId.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(db)
                .await?;
            reply.memberships.extend(pairs);
        }
    }
    Ok(reply)
}

/// Everything the database knows about a file's names, with details (the commit path).
pub async fn load_knowledge(
    db: &impl ConnectionTrait,
    usernames: &[String],
    id_numbers: &[String],
) -> Result<Knowledge, AppError> {
    let mut known = Knowledge::default();
    known
        .segments
        .extend(lookup_segments(db, id_numbers).await?);
    let segment_ids: Vec<i32> = known.segments.values().copied().collect();
    let reply = lookup_users(db, usernames, &segment_ids, true).await?;
    reply.add_to(&mut known, usernames);
    Ok(known)
}

/// Parses, validates against the database and (unless `dry_run`) applies, all in one
/// transaction: the batch is applied whole or not at all.
pub async fn run(
    db: &DatabaseConnection,
    bytes: &[u8],
    file_name: &str,
    options: UploadOptions,
    admin: Option<i32>,
    dry_run: bool,
) -> Result<(Parsed, Report, Option<i32>), UploadError> {
    run_inner(db, bytes, file_name, options, admin, dry_run, None).await
}

/// Commits a file staged by the browser. The stage is consumed inside the commit's transaction:
/// if the commit fails or the server dies, the file is still staged and the admin can retry;
/// a second commit of the same stage (a double click, two tabs) is refused, not applied twice.
pub async fn commit_staged(
    db: &DatabaseConnection,
    stage: &str,
    admin: i32,
    options: UploadOptions,
) -> Result<(Parsed, Report, Option<i32>), UploadError> {
    let (name, bytes) = stage_read(db, stage, admin).await?;
    run_inner(db, &bytes, &name, options, Some(admin), false, Some(stage)).await
}

async fn run_inner(
    db: &DatabaseConnection,
    bytes: &[u8],
    file_name: &str,
    options: UploadOptions,
    admin: Option<i32>,
    dry_run: bool,
    stage: Option<&str>,
) -> Result<(Parsed, Report, Option<i32>), UploadError> {
    let parsed = parse(bytes, options.delimiter, options.encoding)?;
    let names = parsed.distinct_usernames();
    let txn = db.begin().await?;
    if !dry_run {
        // Bulk changes run one at a time, so what is validated below is what gets applied.
        crate::db::lock_for_write(&txn).await?;
        if let Some(stage) = stage {
            let consumed = upload_stage::Entity::delete_by_id(stage.to_string())
                .exec(&txn)
                .await?
                .rows_affected;
            if consumed == 0 {
                return Err(AppError::Conflict(
                    "This file has already been committed. See Upload history for the result."
                        .into(),
                )
                .into());
            }
        }
    }
    let known = load_knowledge(&txn, &names, &parsed.segment_ids).await?;
    let mut report = validate(&parsed, &options, &known);
    if dry_run {
        txn.rollback().await?;
        // The dry run is the CLI's preview: it reports the sync effects the page previews, by
        // the page's own steps (the same batches, tried and rolled back).
        let segments: Vec<i32> = known.segments.values().copied().collect();
        let (enrolments, groups) = preview_effects(db, &report, &segments).await?;
        report.summary.enrolments_added = enrolments;
        report.summary.group_memberships_added = groups;
        return Ok((parsed, report, None));
    }
    let batch_id = upload_batch::Entity::insert(upload_batch::ActiveModel {
        admin_user_id: Set(admin),
        created_at: Set(Utc::now()),
        file_name: Set(clean_file_name(file_name)),
        options: Set(serde_json::to_value(options).unwrap_or_default()),
        counts: Set(serde_json::Value::Null),
        undone_at: Set(None),
        undone_by: Set(None),
        ..Default::default()
    })
    .exec(&txn)
    .await?
    .last_insert_id;
    checkpoint("batch_created").await;
    apply(&txn, &mut report, batch_id).await?;
    upload_batch::Entity::update_many()
        .col_expr(
            upload_batch::Column::Counts,
            Expr::value(serde_json::to_value(report.summary).unwrap_or_default()),
        )
        .filter(upload_batch::Column::Id.eq(batch_id))
        .exec(&txn)
        .await?;
    checkpoint("before_commit").await;
    txn.commit().await?;
    checkpoint("after_commit").await;
    tracing::info!(
        batch = batch_id,
        rows = report.summary.rows,
        added = report.summary.memberships_added,
        "upload committed"
    );
    Ok((parsed, report, Some(batch_id)))
}

/// Applies a validated report, set-based; the summary is corrected to what the statements did
/// (another admin's concurrent commit may have added some of the same memberships).
async fn apply(
    txn: &impl ConnectionTrait,
    report: &mut Report,
    batch_id: i32,
) -> Result<(), AppError> {
    let now = Utc::now();
    // 1. New users.
    let mut created = 0;
    for chunk in report.new_users.chunks(1_000) {
        created += user::Entity::insert_many(chunk.iter().map(|u| {
            user::ActiveModel::new_user(&u.username, &u.firstname, &u.lastname, &u.email, now)
        }))
        .on_conflict(
            OnConflict::column(user::Column::Username)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    }
    let mut new_ids: Vec<i32> = Vec::with_capacity(report.new_users.len());
    if !report.new_users.is_empty() {
        let mut by_name: HashMap<String, i32> = HashMap::new();
        for chunk in report.new_users.chunks(LOOKUP_CHUNK) {
            let found: Vec<(String, i32)> = user::Entity::find()
                .select_only()
                .columns([user::Column::Username, user::Column::Id])
                .filter(user::Column::Username.is_in(chunk.iter().map(|u| u.username.clone())))
                .into_tuple()
                .all(txn)
                .await?;
            by_name.extend(found);
        }
        for u in &report.new_users {
            new_ids.push(
                *by_name
                    .get(&u.username)
                    .ok_or_else(|| AppError::Internal("created user not found".into()))?,
            );
        }
        record_changes(
            txn,
            batch_id,
            "user_created",
            new_ids.iter().map(|&id| (id, None)),
        )
        .await?;
    }
    report.summary.users_created = created;
    checkpoint("users_created").await;

    // 2. Changed details, one statement per chunk.
    for chunk in report.updates.chunks(1_000) {
        update_users(txn, chunk.iter().map(|u| (u.user_id, &u.after)), now).await?;
        record_changes(
            txn,
            batch_id,
            "user_updated",
            chunk.iter().map(|u| (u.user_id, Some(serde_json::json!({"before": {
                "firstname": u.before.firstname, "lastname": u.before.lastname, "email": u.before.email,
            }})))),
        )
        .await?;
    }

    // 3. Memberships, marked with the batch so undo removes exactly these.
    let mut added = 0;
    for (i, chunk) in report.additions.chunks(CHUNK).enumerate() {
        if i == 1 {
            checkpoint("memberships_started").await;
        }
        let mut insert = SqlQuery::insert();
        insert.into_table(segment_member::Entity).columns([
            segment_member::Column::SegmentId,
            segment_member::Column::UserId,
            segment_member::Column::AddedAt,
            segment_member::Column::BatchId,
        ]);
        for &(segment_id, user) in chunk {
            let user_id = match user {
                UserRef::Existing(id) => id,
                UserRef::New(slot) => new_ids[slot as usize],
            };
            insert.values_panic([
                segment_id.into(),
                user_id.into(),
                now.into(),
                batch_id.into(),
            ]);
        }
        insert.on_conflict(
            OnConflict::columns([
                segment_member::Column::SegmentId,
                segment_member::Column::UserId,
            ])
            .do_nothing()
            .to_owned(),
        );
        added += txn
            .execute(txn.get_database_backend().build(&insert))
            .await?
            .rows_affected();
    }
    report.summary.memberships_added = added;
    checkpoint("memberships_added").await;

    // 4. The enrolment methods that follow these segments (SPEC 5), in the same transaction.
    let mut touched: Vec<i32> = report.additions.iter().map(|(s, _)| *s).collect();
    touched.sort_unstable();
    touched.dedup();
    let drift = crate::sync::segments_changed(txn, &touched).await?;
    report.summary.enrolments_added = drift.enrolments_added + drift.enrolments_reactivated;
    report.summary.group_memberships_added = drift.group_memberships_added;
    checkpoint("synced").await;
    Ok(())
}

/// Fault injection for the crash-safety test: with `CONSOLE_PAUSE_AT=<point>` the commit stops
/// at that point, writes the point's name to `CONSOLE_PAUSE_MARK`, and waits there to be killed.
/// Unset (always, outside that test), it costs one cached lookup.
async fn checkpoint(point: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let at = AT.get_or_init(|| std::env::var("CONSOLE_PAUSE_AT").ok());
    if at.as_deref() != Some(point) {
        return;
    }
    tracing::warn!(point, "paused for fault injection");
    if let Ok(mark) = std::env::var("CONSOLE_PAUSE_MARK") {
        let _ = std::fs::write(mark, point);
    }
    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
}

/// `UPDATE users … FROM (VALUES …)`: one statement for many users (SQLite ≥ 3.33 and PostgreSQL).
async fn update_users<'a>(
    txn: &impl ConnectionTrait,
    rows: impl Iterator<Item = (i32, &'a KnownUser)>,
    now: chrono::DateTime<Utc>,
) -> Result<(), AppError> {
    let backend = txn.get_database_backend();
    let mut values: Vec<Value> = vec![now.into()];
    let mut tuples = Vec::new();
    for (id, u) in rows {
        let mut ph = Vec::with_capacity(4);
        for v in [
            Value::from(id),
            u.firstname.clone().into(),
            u.lastname.clone().into(),
            u.email.clone().into(),
        ] {
            values.push(v);
            ph.push(placeholder(backend, values.len()));
        }
        tuples.push(format!(
            "(CAST({} AS INTEGER), {}, {}, {})",
            ph[0], ph[1], ph[2], ph[3]
        ));
    }
    if tuples.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE users SET firstname = v.column2, lastname = v.column3, email = v.column4, updated_at = {} \
         FROM (VALUES {}) AS v WHERE users.id = v.column1",
        placeholder(backend, 1),
        tuples.join(", ")
    );
    txn.execute(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}

fn placeholder(backend: DatabaseBackend, n: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_string(),
    }
}

async fn record_changes(
    txn: &impl ConnectionTrait,
    batch_id: i32,
    kind: &str,
    rows: impl Iterator<Item = (i32, Option<serde_json::Value>)>,
) -> Result<(), AppError> {
    let rows: Vec<_> = rows
        .map(|(user_id, detail)| upload_change::ActiveModel {
            batch_id: Set(batch_id),
            kind: Set(kind.to_string()),
            user_id: Set(user_id),
            segment_id: Set(None),
            detail: Set(detail),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(CHUNK / 2) {
        upload_change::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.trim().is_empty() {
        "upload.csv".into()
    } else {
        cleaned
    }
}

/// Undoes a batch: removes the memberships it added that still exist. Returns how many.
pub async fn undo(
    db: &impl ConnectionTrait,
    batch_id: i32,
    admin: Option<i32>,
) -> Result<u64, AppError> {
    // Claim the batch first, so two admins undoing at once cannot both proceed.
    let claimed = upload_batch::Entity::update_many()
        .col_expr(upload_batch::Column::UndoneAt, Expr::value(Utc::now()))
        .col_expr(upload_batch::Column::UndoneBy, Expr::value(admin))
        .filter(upload_batch::Column::Id.eq(batch_id))
        .filter(upload_batch::Column::UndoneAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    if claimed == 0 {
        return Err(
            match upload_batch::Entity::find_by_id(batch_id).one(db).await? {
                None => AppError::NotFound(format!("Upload batch {batch_id}")),
                Some(_) => {
                    AppError::Conflict(format!("Upload batch {batch_id} has already been undone."))
                }
            },
        );
    }
    let segments: Vec<i32> = segment_member::Entity::find()
        .select_only()
        .column(segment_member::Column::SegmentId)
        .distinct()
        .filter(segment_member::Column::BatchId.eq(batch_id))
        .into_tuple()
        .all(db)
        .await?;
    let removed = segment_member::Entity::delete_many()
        .filter(segment_member::Column::BatchId.eq(batch_id))
        .exec(db)
        .await?
        .rows_affected;
    crate::sync::segments_changed(db, &segments).await?;
    tracing::info!(batch = batch_id, removed, "upload undone");
    Ok(removed)
}

pub async fn history(
    db: &impl ConnectionTrait,
    page: u64,
    per_page: u64,
) -> Result<crate::domain::Page<BatchRow>, AppError> {
    let batches: crate::domain::Page<upload_batch::Model> = crate::db::page_of(
        db,
        upload_batch::Entity::find(),
        |q| q.order_by_desc(upload_batch::Column::Id),
        page,
        per_page,
        |b| b,
    )
    .await?;
    let admin_ids: Vec<i32> = batches
        .items
        .iter()
        .filter_map(|b| b.admin_user_id)
        .collect();
    let names: HashMap<i32, String> = user::Entity::find()
        .select_only()
        .columns([user::Column::Id, user::Column::Username])
        .filter(user::Column::Id.is_in(admin_ids))
        .into_tuple::<(i32, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    // One grouped count for the page, not one query per batch.
    let present: HashMap<i32, i64> = segment_member::Entity::find()
        .select_only()
        .column(segment_member::Column::BatchId)
        .column_as(segment_member::Column::UserId.count(), "n")
        .filter(segment_member::Column::BatchId.is_in(batches.items.iter().map(|b| b.id)))
        .group_by(segment_member::Column::BatchId)
        .into_tuple::<(i32, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(batches.map(|b| BatchRow {
        still_present: present.get(&b.id).copied().unwrap_or(0),
        id: b.id,
        created_at: b.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        admin: b.admin_user_id.and_then(|id| names.get(&id).cloned()),
        file_name: b.file_name,
        options: serde_json::from_value(b.options).ok(),
        summary: serde_json::from_value(b.counts).ok(),
        undone_at: b
            .undone_at
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
    }))
}

// ---- staging: a file arriving from the browser in chunks ----

pub const STAGE_CHUNK_MAX: usize = 8 * 1024 * 1024;

pub async fn stage_begin(
    db: &impl ConnectionTrait,
    admin: i32,
    file_name: &str,
    size: u64,
) -> Result<String, AppError> {
    if size as usize > MAX_FILE_BYTES {
        return Err(AppError::Invalid(
            FileError::TooLarge {
                size,
                max: MAX_FILE_BYTES as u64,
            }
            .to_string(),
        ));
    }
    // Abandoned uploads are cleared after a day.
    upload_stage::Entity::delete_many()
        .filter(upload_stage::Column::CreatedAt.lt(Utc::now() - chrono::Duration::days(1)))
        .exec(db)
        .await?;
    let id = format!("{:032x}", rand::random::<u128>());
    upload_stage::Entity::insert(upload_stage::ActiveModel {
        id: Set(id.clone()),
        admin_user_id: Set(Some(admin)),
        created_at: Set(Utc::now()),
        file_name: Set(clean_file_name(file_name)),
        size: Set(size as i64),
    })
    .exec(db)
    .await?;
    Ok(id)
}

async fn own_stage(
    db: &impl ConnectionTrait,
    stage: &str,
    admin: i32,
) -> Result<upload_stage::Model, AppError> {
    upload_stage::Entity::find_by_id(stage.to_string())
        .filter(upload_stage::Column::AdminUserId.eq(admin))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("That upload".into()))
}

pub async fn stage_chunk(
    db: &impl ConnectionTrait,
    stage: &str,
    admin: i32,
    seq: i32,
    data: Vec<u8>,
) -> Result<(), AppError> {
    if data.len() > STAGE_CHUNK_MAX || !(0..=(MAX_FILE_BYTES / 1024) as i32).contains(&seq) {
        return Err(AppError::Invalid(
            "That upload chunk is too large or out of order.".into(),
        ));
    }
    own_stage(db, stage, admin).await?;
    upload_stage_chunk::Entity::insert(upload_stage_chunk::ActiveModel {
        stage_id: Set(stage.to_string()),
        seq: Set(seq),
        data: Set(data),
    })
    .on_conflict(
        OnConflict::columns([
            upload_stage_chunk::Column::StageId,
            upload_stage_chunk::Column::Seq,
        ])
        .update_column(upload_stage_chunk::Column::Data)
        .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// Reassembles a staged file, checking it arrived whole. The stage stays until a commit
/// consumes it (or it expires after a day).
pub async fn stage_read(
    db: &impl ConnectionTrait,
    stage: &str,
    admin: i32,
) -> Result<(String, Vec<u8>), AppError> {
    let meta = own_stage(db, stage, admin).await?;
    let chunks = upload_stage_chunk::Entity::find()
        .filter(upload_stage_chunk::Column::StageId.eq(stage))
        .order_by_asc(upload_stage_chunk::Column::Seq)
        .all(db)
        .await?;
    let mut bytes = Vec::with_capacity(meta.size as usize);
    for (i, c) in chunks.into_iter().enumerate() {
        if c.seq != i as i32 {
            return Err(AppError::Invalid(
                "Part of the file did not arrive; upload it again.".into(),
            ));
        }
        bytes.extend_from_slice(&c.data);
    }
    if bytes.len() as i64 != meta.size {
        return Err(AppError::Invalid(
            "The file did not arrive whole; upload it again.".into(),
        ));
    }
    Ok((meta.file_name, bytes))
}
