//! Course server functions: each `admin_db()` first (the access check), then the service; those
//! that change enrolments or groups run in the sync transaction (`crate::sync::begin`).
use super::{
    CourseRow, EnrolMethodKind, GroupRow, InstanceRow, ParticipantRow, RemovalAction,
    SegmentChoice, SyncGroup,
};
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::{service, EnrolmentStatus};

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
    let (db, _) = crate::ssr::admin_db().await?;
    let txn = crate::sync::begin(&db).await?;
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
    let (db, _) = crate::ssr::admin_db().await?;
    let txn = crate::sync::begin(&db).await?;
    service::unenrol(&txn, course_id, &[user_id]).await?;
    txn.commit().await?;
    Ok(())
}

#[server(prefix = "/api", endpoint = "suspend_participant")]
pub async fn suspend_participant(course_id: i32, user_id: i32) -> Result<(), AppError> {
    set_manual_status(course_id, user_id, EnrolmentStatus::Suspended).await
}

#[server(prefix = "/api", endpoint = "reactivate_participant")]
pub async fn reactivate_participant(course_id: i32, user_id: i32) -> Result<(), AppError> {
    set_manual_status(course_id, user_id, EnrolmentStatus::Active).await
}

/// Suspends or reactivates a manual enrolment; the sync then moves the user out of (or back
/// into) the groups that "User segment members to group" methods fill from active enrolments.
#[cfg(feature = "ssr")]
async fn set_manual_status(
    course_id: i32,
    user_id: i32,
    to: EnrolmentStatus,
) -> Result<(), AppError> {
    let (db, admin) = crate::ssr::admin_db().await?;
    let txn = crate::sync::begin(&db).await?;
    let changed = service::set_manual_status(&txn, course_id, &[user_id], to).await?;
    if changed == 0 {
        // Nothing to commit: the user has no manual enrolment here (methods manage theirs).
        return Err(AppError::NotFound("A manual enrolment of that user".into()));
    }
    txn.commit().await?;
    tracing::info!(admin = %admin.username, course = course_id, user = user_id, ?to, "manual enrolment status set");
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
    let (db, _) = crate::ssr::admin_db().await?;
    let txn = crate::sync::begin(&db).await?;
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
pub async fn segment_choices() -> Result<Vec<SegmentChoice>, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    service::segment_choices(&db).await
}

/// Adds an enrolment method from the add-method form: `group` must name a group for "User
/// segment members to group"; `removal` is absent for it (its select is disabled) and defaults to
/// unenrol.
#[server(prefix = "/api", endpoint = "add_enrol_method")]
pub async fn add_enrol_method(
    course_id: i32,
    method: EnrolMethodKind,
    segment_id: i32,
    group: SyncGroup,
    removal: Option<RemovalAction>,
) -> Result<String, AppError> {
    let (db, admin) = crate::ssr::admin_db().await?;
    let txn = crate::sync::begin(&db).await?;
    let (_, drift) = match (method, group) {
        (EnrolMethodKind::SegmentToGroup, SyncGroup::Existing(g)) => {
            service::add_segment_to_group(&txn, course_id, segment_id, g).await?
        }
        (EnrolMethodKind::SegmentToGroup, _) => {
            return Err(AppError::Invalid(
                "Choose the group to link the segment to.".into(),
            ))
        }
        (EnrolMethodKind::SegmentSync, group) => {
            let suspend = removal == Some(RemovalAction::Suspend);
            service::add_segment_sync(&txn, course_id, segment_id, group, suspend).await?
        }
        // The manual method is created on first use, never added.
        (EnrolMethodKind::Manual, _) => {
            return Err(AppError::Invalid("Unknown enrolment method.".into()))
        }
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
    let (db, _) = crate::ssr::admin_db().await?;
    let txn = crate::sync::begin(&db).await?;
    service::delete_instance(&txn, instance_id).await?;
    txn.commit().await?;
    Ok(())
}
