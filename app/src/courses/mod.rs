//! Courses, course groups, enrolments and enrolment method instances: pages and server functions.
//! The logic lives in `service` (server only) and `crate::sync`.
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;

mod page;
#[cfg(feature = "ssr")]
pub mod service;
mod types;
pub use page::*;
pub use types::*;

#[server(prefix = "/api", endpoint = "list_courses")]
pub async fn list_courses(search: String, page: u64) -> Result<Page<CourseRow>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::list_courses(&db, &search, page, 25).await
}

#[server(prefix = "/api", endpoint = "get_course")]
pub async fn get_course(id: i32) -> Result<CourseRow, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::get_course(&db, id).await
}

#[cfg(feature = "ssr")]
fn course_fields(shortname: &str, fullname: &str) -> Result<(), AppError> {
    crate::domain::DisplayName::parse(shortname)
        .map_err(|e| AppError::Invalid(format!("Short name: {e}")))?;
    crate::domain::DisplayName::parse(fullname)
        .map_err(|e| AppError::Invalid(format!("Full name: {e}")))?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "create_course")]
pub async fn create_course(shortname: String, fullname: String) -> Result<(), AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    course_fields(&shortname, &fullname)?;
    let id = service::create_course(&db, &shortname, &fullname).await?;
    leptos_axum::redirect(&format!("/courses/{id}"));
    Ok(())
}

#[server(prefix = "/api", endpoint = "update_course")]
pub async fn update_course(id: i32, shortname: String, fullname: String) -> Result<(), AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    course_fields(&shortname, &fullname)?;
    service::update_course(&db, id, &shortname, &fullname).await?;
    leptos_axum::redirect(&format!("/courses/{id}"));
    Ok(())
}

#[server(prefix = "/api", endpoint = "course_participants")]
pub async fn course_participants(
    course_id: i32,
    page: u64,
) -> Result<Page<ParticipantRow>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::participants(&db, course_id, page, 50).await
}

#[server(prefix = "/api", endpoint = "enrol_user")]
pub async fn enrol_user(course_id: i32, username: String) -> Result<String, AppError> {
    use sea_orm::TransactionTrait;
    let (db, _) = crate::ssr::admin_db().await?;
    let txn = db.begin().await?;
    let user = service::user_id(&txn, &username).await?;
    let n = service::enrol(&txn, course_id, &[user]).await?;
    txn.commit().await?;
    let name = username.trim().to_lowercase();
    Ok(if n > 0 {
        format!("Enrolled {name}.")
    } else {
        format!("{name} is already enrolled by hand.")
    })
}

#[server(prefix = "/api", endpoint = "unenrol_user")]
pub async fn unenrol_user(course_id: i32, user_id: i32) -> Result<(), AppError> {
    use sea_orm::TransactionTrait;
    let (db, _) = crate::ssr::admin_db().await?;
    let txn = db.begin().await?;
    service::unenrol(&txn, course_id, &[user_id]).await?;
    txn.commit().await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "course_groups")]
pub async fn course_groups(course_id: i32) -> Result<Vec<GroupRow>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::groups(&db, course_id).await
}

#[server(prefix = "/api", endpoint = "add_course_group")]
pub async fn add_course_group(course_id: i32, name: String) -> Result<(), AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    crate::domain::DisplayName::parse(&name)
        .map_err(|e| AppError::Invalid(format!("Group name: {e}")))?;
    service::create_group(&db, course_id, &name)
        .await
        .map(|_| ())
}

#[server(prefix = "/api", endpoint = "rename_course_group")]
pub async fn rename_course_group(group_id: i32, name: String) -> Result<(), AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    crate::domain::DisplayName::parse(&name)
        .map_err(|e| AppError::Invalid(format!("Group name: {e}")))?;
    service::rename_group(&db, group_id, &name).await
}

#[server(prefix = "/api", endpoint = "delete_course_group")]
pub async fn delete_course_group(group_id: i32) -> Result<(), AppError> {
    use sea_orm::TransactionTrait;
    let (db, _) = crate::ssr::admin_db().await?;
    let txn = db.begin().await?;
    service::delete_group(&txn, group_id).await?;
    txn.commit().await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "add_group_member")]
pub async fn add_group_member(group_id: i32, username: String) -> Result<(), AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    let user = service::user_id(&db, &username).await?;
    service::add_group_member(&db, group_id, user).await
}

#[server(prefix = "/api", endpoint = "remove_group_member")]
pub async fn remove_group_member(group_id: i32, user_id: i32) -> Result<(), AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    match service::remove_group_member(&db, group_id, user_id).await? {
        0 => Err(AppError::Invalid("Only memberships added by hand can be removed by hand; the enrolment method manages the others.".into())),
        _ => Ok(()),
    }
}

#[server(prefix = "/api", endpoint = "course_instances")]
pub async fn course_instances(course_id: i32) -> Result<Vec<InstanceRow>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::instances(&db, course_id).await
}

#[server(prefix = "/api", endpoint = "segment_choices")]
pub async fn segment_choices() -> Result<Vec<(i32, String)>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::segment_choices(&db).await
}

/// Adds an enrolment method. `method`: "segment_to_group" or "segment_sync"; `group`: a group id,
/// "new" (named after the segment) or "" (none; sync only); `removal`: "unenrol" or "suspend" (absent for the group method: its select is disabled).
#[server(prefix = "/api", endpoint = "add_enrol_method")]
pub async fn add_enrol_method(
    course_id: i32,
    method: String,
    segment_id: i32,
    group: String,
    removal: Option<String>,
) -> Result<String, AppError> {
    use sea_orm::TransactionTrait;
    let (db, admin) = crate::ssr::admin_db().await?;
    let txn = db.begin().await?;
    let (_, drift) = match method.as_str() {
        SEGMENT_TO_GROUP => {
            let g = group.parse::<i32>().map_err(|_| {
                AppError::Invalid("Choose the group to link the segment to.".into())
            })?;
            service::add_segment_to_group(&txn, course_id, segment_id, g).await?
        }
        SEGMENT_SYNC => {
            let g = match group.as_str() {
                "" => service::SyncGroup::None,
                "new" => service::SyncGroup::NamedAfterSegment,
                id => service::SyncGroup::Existing(
                    id.parse()
                        .map_err(|_| AppError::Invalid("Unknown group choice.".into()))?,
                ),
            };
            service::add_segment_sync(
                &txn,
                course_id,
                segment_id,
                g,
                removal.as_deref() == Some("suspend"),
            )
            .await?
        }
        _ => return Err(AppError::Invalid("Unknown enrolment method.".into())),
    };
    txn.commit().await?;
    tracing::info!(admin = %admin.username, course = course_id, %method, "enrolment method added");
    Ok(format!(
        "Method added: {} enrolments and {} group memberships made for existing segment members.",
        drift.enrolments_added, drift.group_memberships_added
    ))
}

#[server(prefix = "/api", endpoint = "delete_enrol_method")]
pub async fn delete_enrol_method(instance_id: i32) -> Result<(), AppError> {
    use sea_orm::TransactionTrait;
    let (db, _) = crate::ssr::admin_db().await?;
    let txn = db.begin().await?;
    service::delete_instance(&txn, instance_id).await?;
    txn.commit().await?;
    Ok(())
}
