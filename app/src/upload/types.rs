//! Results the server sends to the page.
use super::report::PackedOutcomes;
use super::validate::Summary;
use super::UploadOptions;
use serde::{Deserialize, Serialize};

/// What a commit (or dry run) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitResult {
    pub batch_id: Option<i32>,
    pub summary: Summary,
    pub rows: u32,
    pub outcomes: PackedOutcomes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRow {
    pub id: i32,
    pub created_at: String,
    pub admin: Option<String>,
    pub file_name: String,
    /// `users` for the membership upload, or the import kind (SPEC 7).
    pub kind: String,
    /// The upload's options (None for an import: see `import_options`).
    pub options: Option<UploadOptions>,
    pub summary: Option<Summary>,
    pub import_options: Option<crate::imports::ImportOptions>,
    pub import_summary: Option<crate::imports::ImportSummary>,
    pub undone_at: Option<String>,
    /// Memberships (or, for an import, records) from this batch that still exist: what undo takes back.
    pub still_present: i64,
}

/// One segment a file names that exists: what the page needs to plan its other look-ups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentFound {
    /// The ID number as the file wrote it (an exact match).
    pub id_number: String,
    pub id: i32,
    /// Its current member count: decides whether its memberships are sent whole.
    pub members: i64,
    /// Whether an enrolment method follows it, so the commit has sync effects to preview.
    pub followed: bool,
    /// Whether rules fill it (SPEC 8): a file cannot add members to it.
    #[serde(default)]
    pub automated: bool,
}

/// The server's answer about one batch of usernames, aligned with the question so the reply
/// stays small: a million usernames cost a few megabytes of ids, not their echo.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLookup {
    /// The user's id for each asked username, 0 where no such user exists.
    pub ids: Vec<i32>,
    /// `[firstname, lastname, email]` for each asked username, when details were asked for.
    pub details: Vec<[String; 3]>,
    /// Existing (segment id, user id) memberships of the found users in the asked segments.
    pub memberships: Vec<(i32, i32)>,
}

impl UserLookup {
    /// Adds this answer about `usernames` (the names asked, in order) to `known`.
    pub fn add_to(self, known: &mut super::validate::Knowledge, usernames: &[String]) {
        known.users.reserve(self.ids.len());
        for (i, (name, &id)) in usernames.iter().zip(&self.ids).enumerate() {
            if id == 0 {
                continue;
            }
            let [firstname, lastname, email] = self.details.get(i).cloned().unwrap_or_default();
            let user = super::validate::KnownUser {
                id,
                firstname,
                lastname,
                email,
            };
            known.users.insert(name.clone(), user);
        }
        known.memberships.extend(self.memberships);
    }
}
