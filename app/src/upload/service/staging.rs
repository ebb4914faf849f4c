//! Staging: a file arriving from the browser in chunks, kept in the database so any server
//! process can commit it, consumed inside its commit.
use super::commit::clean_file_name;
use crate::entities::{upload_stage, upload_stage_chunk};
use crate::error::AppError;
use crate::upload::parse::{FileError, MAX_FILE_BYTES};
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

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
    let mut broken = None;
    for (i, c) in chunks.into_iter().enumerate() {
        if c.seq != i as i32 {
            broken = Some("Part of the file did not arrive; upload it again.");
            break;
        }
        bytes.extend_from_slice(&c.data);
    }
    if broken.is_none() && bytes.len() as i64 != meta.size {
        broken = Some("The file did not arrive whole; upload it again.");
    }
    if let Some(why) = broken {
        // A commit of the same stage can consume it between the two reads above: then the
        // stage is gone (not found), not broken.
        own_stage(db, stage, admin).await?;
        return Err(AppError::Invalid(why.into()));
    }
    Ok((meta.file_name, bytes))
}
