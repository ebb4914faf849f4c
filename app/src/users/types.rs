//! What the users page receives from the server (serde wire types).
use serde::{Deserialize, Serialize};

/// A user with the number of segments they belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i32,
    pub username: String,
    pub firstname: String,
    pub lastname: String,
    pub email: String,
    pub suspended: bool,
    pub segments: i64,
    /// Profile field values (SPEC 8): (field name, value), by field shortname.
    #[serde(default)]
    pub profile: Vec<(String, String)>,
}
