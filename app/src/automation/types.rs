//! Wire types of automation.
use serde::{Deserialize, Serialize};

/// What saving a rule set would do (SPEC 8's "approve changes"), or did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulePreview {
    pub added: u64,
    pub removed: u64,
    /// A few usernames of each, alphabetically.
    pub sample_added: Vec<String>,
    pub sample_removed: Vec<String>,
    /// SPEC 5 effects of the change.
    pub enrolments_added: u64,
    pub group_memberships_added: u64,
}
