//! Server functions of the upload page: thin wrappers over `service`, each behind
//! `require_admin`. The browser asks only what it cannot know, in batches; the functions that
//! carry a batch send it through `browser::BlobBodies` (Chromium sends a large body fast only as
//! a `Blob`).
use super::types::{BatchRow, CommitResult, Pairs, SegmentFound, UserLookup};
use super::UploadOptions;
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::{Json, MultipartData, MultipartFormData, Postcard};

/// Most usernames (or segment ids) one look-up may ask about; the page sends more in several
/// calls.
pub const LOOKUP_BATCH: usize = 25_000;
/// Segments whose members number at most this (in total), and no more than the file's names,
/// are sent whole instead of user by user. A whole read costs the server about half what asking
/// user by user costs per membership (SQLite, 1M memberships: 0.12 s whole against 0.25 s for
/// 200,000 users holding them all), so only the answer's size bounds it: two million pairs, a
/// few megabytes packed, no more than the per-user answers of a file that large could carry.
pub const MEMBERSHIPS_WHOLE: usize = 2_000_000;
/// Look-up calls the page keeps in flight at once.
pub const LOOKUP_CONCURRENCY: usize = 4;
/// Bytes per uploaded chunk.
pub const CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// The enrolments and group memberships a commit would cause (SPEC 5), for one batch of the
/// preview's new memberships in segments that enrolment methods follow; nothing is kept.
#[server(prefix = "/api", endpoint = "upload_effects", input = Json, client = super::browser::BlobBodies)]
pub async fn upload_effects(
    existing: Vec<(i32, i32)>,
    new: Vec<(i32, String)>,
) -> Result<(u64, u64), AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    if existing.len() + new.len() > EFFECTS_BATCH {
        return Err(AppError::Invalid(format!(
            "Ask about at most {EFFECTS_BATCH} memberships at a time."
        )));
    }
    let d = super::service::simulate_effects(&db, &existing, &new).await?;
    Ok((
        d.enrolments_added + d.enrolments_reactivated,
        d.group_memberships_added,
    ))
}

/// Memberships per effects call.
pub const EFFECTS_BATCH: usize = 50_000;

/// The refusal of a look-up about more than `LOOKUP_BATCH` segments.
#[cfg(feature = "ssr")]
fn at_most_a_batch_of_segments(segments: usize) -> Result<(), AppError> {
    if segments > LOOKUP_BATCH {
        return Err(AppError::Invalid(format!(
            "Ask about at most {LOOKUP_BATCH} segments at a time."
        )));
    }
    Ok(())
}

/// Segment ids and member counts for the ID numbers a file names (exact match).
#[server(prefix = "/api", endpoint = "upload_segments", input = Json, client = super::browser::BlobBodies)]
pub async fn upload_segments(id_numbers: Vec<String>) -> Result<Vec<SegmentFound>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    at_most_a_batch_of_segments(id_numbers.len())?;
    super::service::lookup_segments_with_counts(&db, &id_numbers).await
}

/// All memberships of small segments (at most `MEMBERSHIPS_WHOLE` in total, at most
/// `LOOKUP_BATCH` segments a call). The answer is postcard (see `upload_users`): a re-upload's
/// million pairs, delta-coded, are mostly one byte each instead of two or more of JSON text.
#[server(prefix = "/api", endpoint = "upload_memberships", input = Json, output = Postcard, client = super::browser::BlobBodies)]
pub async fn upload_memberships(segment_ids: Vec<i32>) -> Result<Pairs, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    at_most_a_batch_of_segments(segment_ids.len())?;
    let at_most = MEMBERSHIPS_WHOLE as u64 + 1;
    let pairs = super::service::segment_memberships(&db, &segment_ids, at_most).await?;
    if pairs.len() > MEMBERSHIPS_WHOLE {
        return Err(AppError::Invalid(
            "Those segments are too large to send whole.".into(),
        ));
    }
    Ok(Pairs(pairs))
}

/// Which of a batch of usernames exist (ids aligned with the question), their memberships in
/// the file's segments, and their details when an "existing user details" mode needs them.
/// The names come as one text, one per line (no username holds a line break): the page builds
/// it with one copy and the server reads it without a string per name.
///
/// Question and answer travel as postcard bytes, not JSON text: the answers are under half the
/// size (a million names' ids: 3.0 MB against 6.9 MB), and neither side escapes or scans a
/// 675 KB question as a JSON string.
#[server(prefix = "/api", endpoint = "upload_users", input = Postcard, output = Postcard, client = super::browser::BlobBodies)]
pub async fn upload_users(
    usernames: String,
    segment_ids: Vec<i32>,
    details: bool,
) -> Result<UserLookup, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    let usernames: Vec<&str> = match usernames.as_str() {
        "" => vec![],
        text => text.split('\n').collect(),
    };
    if usernames.len() > LOOKUP_BATCH || segment_ids.len() > LOOKUP_BATCH {
        return Err(AppError::Invalid(format!(
            "Ask about at most {LOOKUP_BATCH} names at a time."
        )));
    }
    // The server's directory of usernames when it has one (`users::service::Directory`).
    let directory = leptos::prelude::use_context::<crate::users::service::Directory>();
    super::service::lookup_users(&db, directory.as_ref(), &usernames, &segment_ids, details).await
}

/// The memberships of these (known) users in these segments: after a stepped preview has asked
/// about every name, the segments whose memberships come user by user are asked by id, without
/// sending the names again. Postcard, as `upload_users`.
#[server(prefix = "/api", endpoint = "upload_user_memberships", input = Postcard, output = Postcard, client = super::browser::BlobBodies)]
pub async fn upload_user_memberships(
    user_ids: Vec<i32>,
    segment_ids: Vec<i32>,
) -> Result<Pairs, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    if user_ids.len() > LOOKUP_BATCH || segment_ids.len() > LOOKUP_BATCH {
        return Err(AppError::Invalid(format!(
            "Ask about at most {LOOKUP_BATCH} users and {LOOKUP_BATCH} segments at a time."
        )));
    }
    Ok(Pairs(
        super::service::user_memberships(&db, &user_ids, &segment_ids).await?,
    ))
}

#[server(prefix = "/api", endpoint = "upload_begin")]
pub async fn upload_begin(file_name: String, size: u64) -> Result<String, AppError> {
    let (db, admin) = crate::ssr::admin_db().await?;
    super::service::stage_begin(&db, admin.user_id, &file_name, size).await
}

/// One chunk of a staged file: multipart fields `stage`, `seq` and `data`.
#[server(prefix = "/api", endpoint = "upload_chunk", input = MultipartFormData)]
pub async fn upload_chunk(data: MultipartData) -> Result<(), AppError> {
    let (db, admin) = crate::ssr::admin_db().await?;
    let mut form = data
        .into_inner()
        .ok_or_else(|| AppError::Invalid("Expected a multipart form.".into()))?;
    let (mut stage, mut seq, mut bytes) = (None, None, None);
    let bad = |e: String| AppError::Invalid(format!("Unreadable upload chunk: {e}"));
    while let Some(field) = form.next_field().await.map_err(|e| bad(e.to_string()))? {
        match field.name().unwrap_or_default() {
            "stage" => stage = Some(field.text().await.map_err(|e| bad(e.to_string()))?),
            "seq" => {
                seq = field
                    .text()
                    .await
                    .map_err(|e| bad(e.to_string()))?
                    .parse::<i32>()
                    .ok()
            }
            "data" => {
                bytes = Some(
                    field
                        .bytes()
                        .await
                        .map_err(|e| bad(e.to_string()))?
                        .to_vec(),
                )
            }
            _ => {}
        }
    }
    match (stage, seq, bytes) {
        (Some(stage), Some(seq), Some(bytes)) => {
            super::service::stage_chunk(&db, &stage, admin.user_id, seq, bytes).await
        }
        _ => Err(AppError::Invalid(
            "An upload chunk needs stage, seq and data.".into(),
        )),
    }
}

/// Validates the staged file again against the database and applies it in one transaction.
#[server(prefix = "/api", endpoint = "upload_commit", input = Json)]
pub async fn upload_commit(
    stage: String,
    options: UploadOptions,
) -> Result<CommitResult, AppError> {
    use super::service::{commit_staged, UploadError};
    let (db, admin) = crate::ssr::admin_db().await?;
    match commit_staged(&db, &stage, admin.user_id, options).await {
        Ok((parsed, report, batch_id)) => Ok(CommitResult {
            batch_id,
            summary: report.summary,
            rows: parsed.rows.len() as u32,
            outcomes: super::report::PackedOutcomes::pack(&report),
        }),
        Err(UploadError::File(e)) => Err(AppError::Invalid(e.to_string())),
        Err(UploadError::App(e)) => Err(e),
    }
}

#[server(prefix = "/api", endpoint = "upload_history")]
pub async fn upload_history(page: u64) -> Result<Page<BatchRow>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    super::service::history(&db, page, 25).await
}

#[server(prefix = "/api", endpoint = "undo_batch")]
pub async fn undo_batch(id: i32) -> Result<u64, AppError> {
    use sea_orm::TransactionTrait;
    let (db, admin) = crate::ssr::admin_db().await?;
    let txn = db.begin().await?;
    crate::db::lock_for_write(&txn).await?;
    let removed = super::service::undo(&txn, id, Some(admin.user_id)).await?;
    txn.commit().await?;
    Ok(removed)
}
