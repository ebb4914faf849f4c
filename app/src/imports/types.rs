//! Wire types of the imports: what the page asks the server (`Questions`), what it learns
//! (`Knowledge`), and what a commit returns. The server's commit asks the same questions of the
//! database directly and validates with the same `Knowledge`, so preview and commit agree.
use super::validate::{ImportSummary, RowResult};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// What a file names, for the server to look up. Usernames are asked in batches; the courses'
/// ids (learnt first) go with each batch so enrolments and group memberships come back too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Questions {
    pub usernames: Vec<String>,
    /// Course short names.
    pub courses: Vec<String>,
    /// Segment ID numbers.
    pub segments: Vec<String>,
    /// Courses (ids) whose groups, and the asked users' enrolments and memberships, are wanted.
    pub course_ids: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentFacts {
    pub id: i32,
    pub name: String,
    pub description: String,
    pub visible: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupFacts {
    pub id: i32,
    pub course_id: i32,
    pub name: String,
    pub id_number: Option<String>,
    pub description: String,
}

/// Everything validation needs to know about the database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Knowledge {
    /// Username → user id.
    pub users: HashMap<String, i32>,
    /// Course short name → course id.
    pub courses: HashMap<String, i32>,
    /// Segment ID number → its stored fields.
    pub segments: HashMap<String, SegmentFacts>,
    /// Every group of the asked courses.
    pub groups: Vec<GroupFacts>,
    /// (course id, user id) with an enrolment of any method and status.
    pub enrolled: HashSet<(i32, i32)>,
    /// (group id, user id) memberships, of any origin.
    pub members: HashSet<(i32, i32)>,
}

impl Knowledge {
    /// Adds another answer (a later batch) to this one.
    pub fn merge(&mut self, other: Knowledge) {
        self.users.extend(other.users);
        self.courses.extend(other.courses);
        self.segments.extend(other.segments);
        let have: HashSet<i32> = self.groups.iter().map(|g| g.id).collect();
        self.groups
            .extend(other.groups.into_iter().filter(|g| !have.contains(&g.id)));
        self.enrolled.extend(other.enrolled);
        self.members.extend(other.members);
    }
}

/// What a commit (or dry run) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportResult {
    pub batch_id: Option<i32>,
    pub summary: ImportSummary,
    pub rows: Vec<RowResult>,
    /// The section 5 effects of its enrolments.
    pub effects: Effects,
}

/// The enrolments and group memberships (SPEC 5) that an import's enrolments cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effects {
    pub enrolments: u64,
    pub group_memberships: u64,
}

#[cfg(feature = "ssr")]
impl From<crate::sync::Drift> for Effects {
    fn from(d: crate::sync::Drift) -> Self {
        Effects {
            enrolments: d.enrolments_added + d.enrolments_reactivated,
            group_memberships: d.group_memberships_added,
        }
    }
}

/// What undoing a `segments` or `groups` batch takes with it, for the confirm step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoImpact {
    pub deletes: u64,
    pub restores: u64,
    pub memberships: u64,
    pub enrolment_methods: u64,
    pub group_members: u64,
    pub enrolments: u64,
}
