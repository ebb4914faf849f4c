//! Profile fields and users' values.
use crate::automation::rules::{is_user_column, valid_shortname, FieldKind, ProfileField};
use crate::entities::{profile_field, user_profile_value};
use crate::error::AppError;
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

fn to_field(m: profile_field::Model) -> ProfileField {
    ProfileField {
        id: m.id,
        kind: m.kind.parse().unwrap_or(FieldKind::Text),
        options: m
            .options
            .and_then(|o| serde_json::from_value(o).ok())
            .unwrap_or_default(),
        shortname: m.shortname,
        name: m.name,
    }
}

/// Every profile field, by shortname.
pub async fn fields(db: &impl ConnectionTrait) -> Result<Vec<ProfileField>, AppError> {
    Ok(profile_field::Entity::find()
        .order_by_asc(profile_field::Column::Shortname)
        .all(db)
        .await?
        .into_iter()
        .map(to_field)
        .collect())
}

/// Creates a field; a menu needs its options (distinct, case-insensitively).
pub async fn create_field(
    db: &impl ConnectionTrait,
    shortname: &str,
    name: &str,
    kind: FieldKind,
    options: &[String],
) -> Result<ProfileField, AppError> {
    let shortname = shortname.trim();
    if !valid_shortname(shortname) {
        return Err(AppError::Invalid(
            "A shortname is lowercase letters, digits and _ (at most 100).".into(),
        ));
    }
    if is_user_column(shortname) {
        return Err(AppError::Invalid(format!(
            "\"{shortname}\" is a user column that rules already read; choose another shortname."
        )));
    }
    let name = crate::domain::DisplayName::parse(name)
        .map_err(|e| AppError::Invalid(format!("Field name: {e}")))?;
    let options: Vec<String> = options
        .iter()
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .collect();
    if kind == FieldKind::Menu {
        let mut folded: Vec<String> = options.iter().map(|o| o.to_lowercase()).collect();
        folded.sort();
        folded.dedup();
        if options.is_empty() || folded.len() != options.len() {
            return Err(AppError::Invalid(
                "A menu needs its options, each different.".into(),
            ));
        }
    }
    let model = profile_field::ActiveModel {
        shortname: Set(shortname.to_string()),
        name: Set(name.as_str().to_string()),
        kind: Set(<&str>::from(kind).to_string()),
        options: Set((kind == FieldKind::Menu).then(|| serde_json::json!(options))),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    let inserted = profile_field::Entity::insert(model)
        .exec_with_returning(db)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                AppError::Conflict(format!("A profile field \"{shortname}\" already exists."))
            }
            _ => e.into(),
        })?;
    Ok(to_field(inserted))
}

/// A user's values: (field shortname, value).
pub async fn user_values(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<(i32, String)>, AppError> {
    Ok(user_profile_value::Entity::find()
        .filter(user_profile_value::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.field_id, v.value))
        .collect())
}

/// Sets a user's values (an empty one removes it), then recomputes the automated segments for
/// that user, in the caller's transaction. Every value is checked first: one bad value changes
/// nothing.
pub async fn set_user_values(
    db: &impl ConnectionTrait,
    user_id: i32,
    values: &[(i32, String)],
) -> Result<crate::sync::Drift, AppError> {
    let all = fields(db).await?;
    let mut writes = Vec::new();
    for (field_id, raw) in values {
        let f = all
            .iter()
            .find(|f| f.id == *field_id)
            .ok_or_else(|| AppError::NotFound(format!("Profile field {field_id}")))?;
        writes.push((f.id, f.parse_value(raw).map_err(AppError::Invalid)?));
    }
    for (field_id, value) in writes {
        match value {
            None => {
                user_profile_value::Entity::delete_many()
                    .filter(user_profile_value::Column::FieldId.eq(field_id))
                    .filter(user_profile_value::Column::UserId.eq(user_id))
                    .exec(db)
                    .await?;
            }
            Some(v) => {
                user_profile_value::Entity::insert(user_profile_value::ActiveModel {
                    field_id: Set(field_id),
                    user_id: Set(user_id),
                    value: Set(v.value),
                    folded: Set(v.folded),
                })
                .on_conflict(
                    OnConflict::columns([
                        user_profile_value::Column::FieldId,
                        user_profile_value::Column::UserId,
                    ])
                    .update_columns([
                        user_profile_value::Column::Value,
                        user_profile_value::Column::Folded,
                    ])
                    .to_owned(),
                )
                .exec_without_returning(db)
                .await?;
            }
        }
    }
    super::users_changed(db, &[user_id]).await
}
