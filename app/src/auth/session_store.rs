//! A tower-sessions store kept in the site's own database through SeaORM, so that several
//! `server` processes behind a load balancer see the same sign-ins.
use crate::entities::session;
use async_trait::async_trait;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, ExpiredDeletion, Result, SessionStore};

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

impl DbSessionStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // Ids are random 128-bit values; a collision is vanishingly rare but must not hijack
        // another session, so pick a fresh id until the insert finds it free.
        loop {
            let inserted = session::Entity::insert(active(record)?)
                .on_conflict(
                    OnConflict::column(session::Column::Id)
                        .do_nothing()
                        .to_owned(),
                )
                .do_nothing()
                .exec(&self.db)
                .await
                .map_err(backend)?;
            match inserted {
                sea_orm::TryInsertResult::Inserted(_) => return Ok(()),
                _ => record.id = Id::default(),
            }
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        session::Entity::insert(active(record)?)
            .on_conflict(
                OnConflict::column(session::Column::Id)
                    .update_columns([session::Column::Data, session::Column::ExpiresAt])
                    .to_owned(),
            )
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let Some(row) = session::Entity::find_by_id(id.to_string())
            .filter(session::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data).map_err(|e| Error::Decode(e.to_string()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp(row.expires_at)
            .map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        session::Entity::delete_by_id(id.to_string())
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> Result<()> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

fn active(record: &Record) -> Result<session::ActiveModel> {
    Ok(session::ActiveModel {
        id: Set(record.id.to_string()),
        data: Set(serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?),
        expires_at: Set(record.expiry_date.unix_timestamp()),
    })
}
