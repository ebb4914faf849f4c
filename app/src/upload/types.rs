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
    /// Appends the answer about the next `asked` names. An answer is aligned with its question;
    /// a short or long one is cut to it so it cannot shift the answers after it.
    pub fn append(&mut self, mut reply: UserLookup, asked: usize) {
        let details = !reply.details.is_empty();
        reply.ids.resize(asked, 0);
        self.ids.extend(reply.ids);
        if details {
            // Earlier answers without details are padded, so details stay aligned with ids.
            self.details
                .resize(self.ids.len() - asked, Default::default());
            reply.details.resize(asked, Default::default());
            self.details.extend(reply.details);
        }
        self.memberships.extend(reply.memberships);
    }

    /// Makes this answer, about all of a file's names in `Parsed::usernames()` order, what
    /// `known` holds about its users: the vectors are moved, no name is hashed.
    pub fn add_to(self, known: &mut super::validate::Knowledge) {
        known.users = super::validate::KnownUsers {
            ids: self.ids,
            details: self.details,
        };
        known.memberships.extend(self.memberships);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::validate::Knowledge;

    #[test]
    fn a_short_or_long_answer_does_not_shift_the_answers_after_it() {
        let answer = |ids: &[i32], details: bool| UserLookup {
            ids: ids.to_vec(),
            details: if details {
                ids.iter()
                    .map(|i| [format!("F{i}"), String::new(), String::new()])
                    .collect()
            } else {
                vec![]
            },
            memberships: vec![],
        };
        let mut all = UserLookup::default();
        all.append(answer(&[1], true), 2); // one id short
        all.append(answer(&[3, 4, 99], true), 2); // one id too many
        all.append(answer(&[5], true), 1);
        assert_eq!(all.ids, [1, 0, 3, 4, 5]);
        let mut known = Knowledge::default();
        all.add_to(&mut known);
        assert_eq!(known.users.found(), 4);
        assert_eq!(known.users.get(3).unwrap().id, 4);
        assert_eq!(known.users.get(3).unwrap().firstname, "F4");
        assert_eq!(known.users.get(4).unwrap().firstname, "F5");
        assert_eq!(known.users.get(1), None);
    }
}
