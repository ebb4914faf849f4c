//! What the segment pages receive from the server (serde wire types).
use serde::{Deserialize, Serialize};

/// A segment with its member count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentSummary {
    pub id: i32,
    pub id_number: String,
    pub name: String,
    pub description: String,
    pub visible: bool,
    pub members: i64,
    /// Whether rules fill it (SPEC 8).
    #[serde(default)]
    pub automated: bool,
}

/// One member of a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub user_id: i32,
    pub username: String,
    pub fullname: String,
    pub email: String,
}
