//! The commit: parse, validate against the database and apply, set-based, in one transaction
//! under the write lock (whole or nothing); the CLI and the page both come through `run`.
use super::effects::preview_effects;
use super::lookup::{followed_segments, load_knowledge};
use super::staging::stage_read;
use super::{UploadError, CHUNK, LOOKUP_CHUNK};
use crate::entities::{
    segment_member, upload_batch, upload_change, upload_stage, user, user_profile_value,
};
use crate::error::AppError;
use crate::upload::parse::{parse, Parsed};
use crate::upload::validate::{validate, KnownUser, Report, UserRef};
use crate::upload::UploadOptions;
use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict, Query as SqlQuery};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, TransactionTrait, Value,
};
use std::collections::HashMap;

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
            consume_stage(&txn, stage).await?;
        }
    }
    let mut known = load_knowledge(&txn, &names, &parsed.segment_ids).await?;
    if !parsed.profile_fields.is_empty() {
        known.profile_fields = crate::automation::service::fields(&txn).await?;
        let defined: Vec<String> = known
            .profile_fields
            .iter()
            .map(|f| f.shortname.clone())
            .collect();
        crate::upload::parse::unknown_profile_fields(&parsed, &defined)?;
    }
    let mut report = validate(&parsed, &options, &known);
    if dry_run {
        txn.rollback().await?;
        // The dry run is the CLI's preview: it reports the sync effects the page previews, by
        // the page's own steps (the same batches, tried and rolled back), and like the page only
        // for the segments enrolment methods follow: the others cannot cause any.
        let segments: Vec<i32> = known.segments.values().copied().collect();
        let followed = followed_segments(db, &segments).await?;
        let (enrolments, groups) = preview_effects(db, &report, &followed).await?;
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
    apply(&txn, &mut report, &options, batch_id).await?;
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
    options: &UploadOptions,
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
    // 5. Profile values (SPEC 8), under the existing-details mode: new users' are inserted,
    // "override" replaces stored ones, "fill in missing" only adds where none is stored.
    let resolve = |u: UserRef| match u {
        UserRef::Existing(id) => id,
        UserRef::New(slot) => new_ids[slot as usize],
    };
    let overrides = options.existing_details == crate::upload::ExistingDetails::Override;
    for chunk in report.profile_values.chunks(1_000) {
        let rows = chunk.iter().map(|w| user_profile_value::ActiveModel {
            field_id: Set(w.field_id),
            user_id: Set(resolve(w.user)),
            value: Set(w.value.value.clone()),
            folded: Set(w.value.folded.clone()),
        });
        let keys = [
            user_profile_value::Column::FieldId,
            user_profile_value::Column::UserId,
        ];
        let conflict = if overrides {
            OnConflict::columns(keys)
                .update_columns([
                    user_profile_value::Column::Value,
                    user_profile_value::Column::Folded,
                ])
                .to_owned()
        } else {
            OnConflict::columns(keys).do_nothing().to_owned()
        };
        user_profile_value::Entity::insert_many(rows)
            .on_conflict(conflict)
            .exec_without_returning(txn)
            .await?;
    }
    // 6. Automated segments (SPEC 8) follow the users this file created or changed, in this
    // transaction, and the sync follows them. (Nothing to do, one query, when none exist.)
    let mut touched: Vec<i32> = report
        .profile_values
        .iter()
        .map(|w| resolve(w.user))
        .collect();
    touched.extend(new_ids.iter().copied());
    touched.extend(report.updates.iter().map(|u| u.user_id));
    touched.sort_unstable();
    touched.dedup();
    crate::automation::service::users_changed(txn, &touched).await?;
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
    let rows: Vec<Vec<Value>> = rows
        .map(|(id, u)| {
            vec![
                id.into(),
                u.firstname.clone().into(),
                u.lastname.clone().into(),
                u.email.clone().into(),
            ]
        })
        .collect();
    crate::db::update_rows(
        txn,
        "users",
        &["firstname", "lastname", "email"],
        Some(("updated_at", now.into())),
        rows,
    )
    .await?;
    Ok(())
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

pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.trim().is_empty() {
        "upload.csv".into()
    } else {
        cleaned
    }
}

/// Takes a staged file for a commit, inside the commit's transaction: a second commit of the
/// same stage (a double click, two tabs) finds it gone and is refused, not applied twice.
pub async fn consume_stage(txn: &impl ConnectionTrait, stage: &str) -> Result<(), AppError> {
    let consumed = upload_stage::Entity::delete_by_id(stage.to_string())
        .exec(txn)
        .await?
        .rows_affected;
    if consumed == 0 {
        return Err(AppError::Conflict(
            "This file has already been committed. See Upload history for the result.".into(),
        ));
    }
    Ok(())
}
