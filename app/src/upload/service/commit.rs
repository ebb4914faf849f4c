//! The membership upload as a kind of the bulk engine (`crate::bulk`): its parse, look-ups,
//! validation, previewed effects and set-based apply. The engine owns the transaction, the
//! write lock, the staged file, the history batch and the dry run; the CLI and the page both
//! come through `run`.
use super::effects::preview_effects;
use super::lookup::{followed_segments, load_knowledge};
use super::{UploadError, CHUNK, LOOKUP_CHUNK};
use crate::bulk::{checkpoint, BulkKind, CommitStep, RunMode, Tracker};
use crate::entities::{upload_change, upload_stage, user, user_profile_value};
use crate::error::AppError;
use crate::upload::parse::{parse, Parsed};
use crate::upload::validate::{validate, Knowledge, KnownUser, Report, UserRef};
use crate::upload::UploadOptions;
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QuerySelect, Value,
};
use std::collections::HashMap;

/// `upload_batches.kind` of the membership upload.
pub const USERS: &str = "users";

/// The membership upload (SPEC 2-4): `username,cohort1,…` with user details and profile fields.
pub struct Memberships;

impl BulkKind for Memberships {
    type Options = UploadOptions;
    /// The parsed file and its distinct usernames (worked out before the write lock is taken).
    type Table = Parsed;
    type Known = Knowledge;
    type Report = Report;
    /// Its effects are in the report's summary.
    type Effects = ();

    fn name(_: &UploadOptions) -> &'static str {
        USERS
    }

    fn parse(bytes: &[u8], options: &UploadOptions) -> Result<Self::Table, UploadError> {
        let parsed = parse(bytes, options.delimiter, options.encoding)?;
        Ok(parsed)
    }

    async fn look_up(
        txn: &DatabaseTransaction,
        parsed: &Self::Table,
        options: &UploadOptions,
    ) -> Result<Knowledge, UploadError> {
        let mut known = load_knowledge(txn, parsed, options.updates_details()).await?;
        if !parsed.profile_fields.is_empty() {
            known.profile_fields = crate::automation::service::fields(txn).await?;
            let defined: Vec<String> = known
                .profile_fields
                .iter()
                .map(|f| f.shortname.clone())
                .collect();
            crate::upload::parse::unknown_profile_fields(parsed, &defined)?;
        }
        Ok(known)
    }

    fn validate(table: &Self::Table, options: &UploadOptions, known: &Knowledge) -> Report {
        validate(table, options, known)
    }

    /// The page's own steps (the same batches, tried and rolled back), and like the page only
    /// for the segments enrolment methods follow: the others cannot cause any.
    async fn preview_effects(
        db: &DatabaseConnection,
        _: &UploadOptions,
        known: &Knowledge,
        report: &mut Report,
    ) -> Result<(), AppError> {
        let segments: Vec<i32> = known.segments.values().copied().collect();
        let followed = followed_segments(db, &segments).await?;
        let (enrolments, groups) = preview_effects(db, report, &followed).await?;
        report.summary.enrolments_added = enrolments;
        report.summary.group_memberships_added = groups;
        Ok(())
    }

    async fn apply(
        txn: &DatabaseTransaction,
        report: &mut Report,
        options: &UploadOptions,
        _: &Knowledge,
        batch_id: i32,
        progress: &Tracker,
    ) -> Result<(), AppError> {
        apply(txn, report, options, batch_id, progress).await
    }

    fn counts(report: &Report) -> serde_json::Value {
        serde_json::to_value(report.summary).unwrap_or_default()
    }
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
    let mode = if dry_run {
        RunMode::DryRun
    } else {
        RunMode::Commit
    };
    let done =
        crate::bulk::run::<Memberships>(db, bytes, file_name, options, admin, mode, None).await?;
    Ok((done.table, done.report, done.batch_id))
}

/// Commits a file staged by the browser (see `bulk::run` for what staging guarantees).
pub async fn commit_staged(
    db: &DatabaseConnection,
    stage: &str,
    admin: i32,
    options: UploadOptions,
) -> Result<(Parsed, Report, Option<i32>), UploadError> {
    let done = crate::bulk::commit_staged::<Memberships>(db, stage, admin, options).await?;
    Ok((done.table, done.report, done.batch_id))
}

/// Memberships per `db::insert_json` statement (one bound text each, so no parameter limit).
const MEMBERSHIP_CHUNK: usize = 25_000;

/// Applies a validated report, set-based; the summary is corrected to what the statements did
/// (another admin's concurrent commit may have added some of the same memberships).
async fn apply(
    txn: &impl ConnectionTrait,
    report: &mut Report,
    options: &UploadOptions,
    batch_id: i32,
    progress: &Tracker,
) -> Result<(), AppError> {
    let now = Utc::now();
    let mut writes = progress.writes(
        report.new_users.len()
            + report.updates.len()
            + report.additions.len()
            + report.profile_values.len(),
    );
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
        writes.wrote(chunk.len());
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
        writes.wrote(chunk.len());
    }

    let resolve = |u: UserRef| match u {
        UserRef::Existing(id) => id,
        UserRef::New(slot) => new_ids[slot as usize],
    };
    // 3. Memberships, marked with the batch so undo removes exactly these.
    let mut added = 0;
    for (i, chunk) in report.additions.chunks(MEMBERSHIP_CHUNK).enumerate() {
        if i == 1 {
            checkpoint("memberships_started").await;
        }
        let pairs: Vec<(i32, i32)> = chunk.iter().map(|&(s, u)| (s, resolve(u))).collect();
        added += crate::db::insert_id_pairs(
            txn,
            "segment_members",
            ("segment_id", "user_id"),
            vec![("added_at", now.into()), ("batch_id", batch_id.into())],
            &pairs,
            "ON CONFLICT (segment_id, user_id) DO NOTHING",
        )
        .await?;
        writes.wrote(chunk.len());
    }
    report.summary.memberships_added = added;
    checkpoint("memberships_added").await;

    // 4. Profile values (SPEC 8), under the existing-details mode: new users' are inserted,
    // "override" replaces stored ones, "fill in missing" only adds where none is stored.
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
        writes.wrote(chunk.len());
    }
    // 5. The enrolment methods that follow these segments (SPEC 5), in the same transaction.
    progress.step(CommitStep::Syncing);
    // Only these users' memberships changed: the sync runs for them (issue 13).
    let mut touched: Vec<i32> = report.additions.iter().map(|(s, _)| *s).collect();
    touched.sort_unstable();
    touched.dedup();
    let users: Vec<i32> = report.additions.iter().map(|&(_, u)| resolve(u)).collect();
    let drift =
        crate::sync::segments_changed_by(txn, &touched, users, crate::sync::Moved::In).await?;
    report.summary.enrolments_added = drift.enrolments_added + drift.enrolments_reactivated;
    report.summary.group_memberships_added = drift.group_memberships_added;
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
