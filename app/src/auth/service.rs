//! Accounts and passwords: argon2 hashing (off the async executor) and admin creation.
use crate::domain::Username;
use crate::entities::{account, user};
use crate::error::AppError;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::sync::OnceLock;

pub const MIN_PASSWORD_LEN: usize = 8;

/// The account behind a successful sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub user_id: i32,
    pub username: String,
    pub site_admin: bool,
}

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the username is unknown, so that a wrong username costs the
/// same time as a wrong password and sign-in does not reveal which usernames exist.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that never matches").unwrap_or_default())
}

/// Checks a username and password; `None` for any mismatch, without saying which part was wrong.
pub async fn verify_credentials(
    db: &impl ConnectionTrait,
    username: &str,
    password: &str,
) -> Result<Option<SignedIn>, AppError> {
    let found = match Username::parse(username) {
        Ok(name) => user::Entity::find()
            .filter(user::Column::Username.eq(name.as_str()))
            .find_also_related(account::Entity)
            .one(db)
            .await?
            .and_then(|(u, acc)| acc.map(|a| (u, a))),
        Err(_) => None,
    };
    let hash = found
        .as_ref()
        .map(|(_, a)| a.password_hash.clone())
        .unwrap_or_else(|| decoy_hash().to_string());
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(match found {
        Some((u, a)) if ok && !u.suspended => Some(SignedIn {
            user_id: u.id,
            username: u.username,
            site_admin: a.site_admin,
        }),
        _ => None,
    })
}

/// Creates the user if needed and gives it a site-admin account with this password
/// (`server create-admin`: create or reset).
pub async fn create_or_reset_admin(
    db: &impl ConnectionTrait,
    username: &str,
    password: &str,
) -> Result<i32, AppError> {
    let hash = admin_password_hash(password).await?;
    set_admin(db, username, hash).await
}

/// An admin password checked and hashed (Argon2, off the async threads): done before a
/// transaction takes the write lock, so no writer waits for the hash.
pub async fn admin_password_hash(password: &str) -> Result<String, AppError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AppError::Invalid(format!(
            "The password must have at least {MIN_PASSWORD_LEN} characters."
        )));
    }
    let owned = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&owned))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
}

/// `create_or_reset_admin` with the password already hashed.
pub async fn set_admin(
    db: &impl ConnectionTrait,
    username: &str,
    hash: String,
) -> Result<i32, AppError> {
    let username = Username::parse(username).map_err(|e| AppError::Invalid(e.to_string()))?;
    let now = Utc::now();
    user::Entity::insert(user::ActiveModel::new_user(
        username.as_str(),
        "Site",
        "Administrator",
        "",
        now,
    ))
    .on_conflict(
        OnConflict::column(user::Column::Username)
            .do_nothing()
            .to_owned(),
    )
    .do_nothing()
    .exec(db)
    .await?;
    let user = user::Entity::find()
        .filter(user::Column::Username.eq(username.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal("admin user vanished".into()))?;
    account::Entity::insert(account::ActiveModel {
        user_id: Set(user.id),
        password_hash: Set(hash),
        site_admin: Set(true),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(account::Column::UserId)
            .update_columns([
                account::Column::PasswordHash,
                account::Column::SiteAdmin,
                account::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    // A new user may match an automated segment's rules (SPEC 8: users created by the CLI too).
    crate::automation::service::users_changed(db, &[user.id]).await?;
    Ok(user.id)
}

/// What the access guard needs to know about the signed-in user id held by a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    SignedOut,
    NotAdmin,
    Admin(crate::domain::CurrentAdmin),
}

pub async fn access_for(
    db: &impl ConnectionTrait,
    user_id: Option<i32>,
) -> Result<Access, AppError> {
    let Some(user_id) = user_id else {
        return Ok(Access::SignedOut);
    };
    let found = user::Entity::find_by_id(user_id)
        .find_also_related(account::Entity)
        .one(db)
        .await?;
    Ok(match found {
        None | Some((_, None)) => Access::SignedOut,
        Some((u, Some(a))) if a.site_admin && !u.suspended => {
            Access::Admin(crate::domain::CurrentAdmin {
                user_id: u.id,
                username: u.username,
            })
        }
        Some(_) => Access::NotAdmin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert_ne!(a, b, "each hash has its own salt");
        assert!(a.starts_with("$argon2"));
        assert!(verify_password(&a, "correct horse"));
        assert!(!verify_password(&a, "correct horsE"));
        assert!(!verify_password("not a hash", "x"));
    }
}
