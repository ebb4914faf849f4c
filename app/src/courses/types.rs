//! What the course pages show.
use serde::{Deserialize, Serialize};

/// Enrolment method kinds (`enrol_instances.kind`).
pub const MANUAL: &str = "manual";
pub const SEGMENT_SYNC: &str = "segment_sync";
pub const SEGMENT_TO_GROUP: &str = "segment_to_group";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseRow {
    pub id: i32,
    pub shortname: String,
    pub fullname: String,
    pub participants: i64,
    pub groups: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantRow {
    pub user_id: i32,
    pub username: String,
    pub fullname: String,
    /// "Manual (active)", "User segment sync: Sales (suspended)", …
    pub methods: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRow {
    pub id: i32,
    pub kind: String,
    pub label: String,
    pub segment: Option<String>,
    pub group: Option<String>,
    pub removal_action: Option<String>,
    pub enrolments: i64,
    pub group_memberships: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRow {
    pub id: i32,
    pub name: String,
    pub members: Vec<GroupMemberRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMemberRow {
    pub user_id: i32,
    pub username: String,
    /// "Added by hand" or the instance's label.
    pub origin: String,
    pub manual: bool,
}
