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
    /// "Manual enrolments (active)", "User segment sync (Sales) (suspended)", …
    pub methods: Vec<String>,
    /// The manual enrolment's state, if the user has one: it decides which of Unenrol,
    /// Suspend and Reactivate the page offers.
    pub manual: Option<ManualStatus>,
}

/// State of an enrolment (`enrolments.status`) as the pages act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ManualStatus {
    Active,
    Suspended,
}

impl ManualStatus {
    /// The stored `enrolments.status` text.
    pub fn as_str(self) -> &'static str {
        match self {
            ManualStatus::Active => "active",
            ManualStatus::Suspended => "suspended",
        }
    }

    pub fn from_stored(status: &str) -> Self {
        if status == "active" {
            ManualStatus::Active
        } else {
            ManualStatus::Suspended
        }
    }
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
    /// One row per person, whatever number of origins put them in the group.
    pub members: Vec<GroupMemberRow>,
    /// "User segment members to group" methods filling this group: deleting the group deletes them.
    pub members_to_group_methods: i64,
    /// "User segment sync" methods putting members in this group: they keep enrolling without it.
    pub sync_methods: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMemberRow {
    pub user_id: i32,
    pub username: String,
    /// Every origin, "; "-joined: "Added by hand" and / or the instances' labels.
    pub origin: String,
    /// Added by hand (among any other origins): the hand-made row can be removed.
    pub manual: bool,
}
