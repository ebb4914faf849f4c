//! What the course pages show and send: wire types shared by browser and server (serde), and the
//! course side's states. The states are also the column types of `entities::enrol_instance` and
//! `entities::enrolment` (SeaORM `DeriveActiveEnum`, server only), so one enum carries a state
//! from the row to the page; their text is the text stored in the database.
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An enrolment method's kind (`enrol_instances.kind`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(32))",
        rename_all = "snake_case"
    )
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum EnrolMethodKind {
    /// Enrolments made by hand; one per course, created on first use.
    Manual,
    /// "User segment sync": enrols a segment's members.
    SegmentSync,
    /// "User segment members to group": fills a group with the enrolled members of a segment.
    SegmentToGroup,
}

/// State of an enrolment (`enrolments.status`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(16))",
        rename_all = "snake_case"
    )
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum EnrolmentStatus {
    Active,
    Suspended,
}

/// The participants page's name for the status of a manual enrolment.
pub type ManualStatus = EnrolmentStatus;

/// What a "User segment sync" method does to the enrolment of a member who leaves the segment
/// (`enrol_instances.removal_action`; NULL for the other kinds).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(
        rs_type = "String",
        db_type = "String(sea_orm::sea_query::StringLen::N(16))",
        rename_all = "snake_case"
    )
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RemovalAction {
    Unenrol,
    Suspend,
}

impl EnrolMethodKind {
    /// The stored text, which is also the form value.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl EnrolmentStatus {
    /// The stored text, which is also the form value.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl RemovalAction {
    /// The stored text, which is also the form value.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The group of a new enrolment method, as the add-method form's group select sends it: a group
/// id, `new` (a group named after the segment, created or reused) or empty (no group; "User
/// segment sync" only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SyncGroup {
    None,
    Existing(i32),
    /// Create (or reuse) a group named after the segment.
    NamedAfterSegment,
}

impl fmt::Display for SyncGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncGroup::None => Ok(()),
            SyncGroup::Existing(id) => write!(f, "{id}"),
            SyncGroup::NamedAfterSegment => f.write_str("new"),
        }
    }
}

impl FromStr for SyncGroup {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" => Ok(SyncGroup::None),
            "new" => Ok(SyncGroup::NamedAfterSegment),
            id => id
                .parse()
                .map(SyncGroup::Existing)
                .map_err(|_| "Unknown group choice.".to_string()),
        }
    }
}

impl TryFrom<String> for SyncGroup {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<SyncGroup> for String {
    fn from(g: SyncGroup) -> Self {
        g.to_string()
    }
}

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
    pub manual: Option<EnrolmentStatus>,
}

/// A segment as the add-method form offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentChoice {
    pub id: i32,
    /// "name (ID number)".
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRow {
    pub id: i32,
    pub kind: EnrolMethodKind,
    pub label: String,
    pub segment: Option<String>,
    pub group: Option<String>,
    pub removal_action: Option<RemovalAction>,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The text is what the database holds today (migration m0001), so no row needs rewriting.
    #[test]
    fn states_keep_their_stored_text() {
        use EnrolMethodKind::*;
        for (kind, text) in [
            (Manual, "manual"),
            (SegmentSync, "segment_sync"),
            (SegmentToGroup, "segment_to_group"),
        ] {
            assert_eq!(kind.as_str(), text);
            assert_eq!(text.parse::<EnrolMethodKind>(), Ok(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{text}\""));
            #[cfg(feature = "ssr")]
            assert_eq!(sea_orm::ActiveEnum::to_value(&kind), text);
        }
        for (status, text) in [
            (EnrolmentStatus::Active, "active"),
            (EnrolmentStatus::Suspended, "suspended"),
        ] {
            assert_eq!(status.to_string(), text);
            #[cfg(feature = "ssr")]
            assert_eq!(sea_orm::ActiveEnum::to_value(&status), text);
        }
        for (action, text) in [
            (RemovalAction::Unenrol, "unenrol"),
            (RemovalAction::Suspend, "suspend"),
        ] {
            assert_eq!(action.to_string(), text);
            #[cfg(feature = "ssr")]
            assert_eq!(sea_orm::ActiveEnum::to_value(&action), text);
        }
    }

    #[test]
    fn the_group_choice_round_trips_through_its_form_value() {
        for g in [
            SyncGroup::None,
            SyncGroup::NamedAfterSegment,
            SyncGroup::Existing(42),
        ] {
            assert_eq!(g.to_string().parse::<SyncGroup>(), Ok(g));
        }
        assert_eq!("".parse::<SyncGroup>(), Ok(SyncGroup::None));
        assert_eq!("new".parse::<SyncGroup>(), Ok(SyncGroup::NamedAfterSegment));
        assert!("newer".parse::<SyncGroup>().is_err());
    }
}
