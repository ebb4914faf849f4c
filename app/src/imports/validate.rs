//! The row rules of the four imports (SPEC 7): one pure function per kind, run in the browser on
//! the preview and again on the server inside the commit's transaction, over the same
//! `Knowledge`. Validation yields each row's outcomes, the summary, and the `Plan`: exactly the
//! writes a commit makes (so "preview equals commit" holds by construction).
use super::options::{ImportKind, ImportMode, ImportOptions, NotEnrolled};
use super::table::{Col, Table, TableRow};
use super::types::{GroupFacts, Knowledge};
use crate::courses::EnrolmentStatus;
use crate::domain::{DisplayName, SegmentDraft, SegmentIdNumber, Username};
use crate::upload::Level;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use strum::IntoStaticStr;

/// Row codes of SPEC 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ImportCode {
    MissingIdnumber,
    MissingName,
    InvalidField,
    InvalidVisible,
    SegmentExists,
    DuplicateIdnumber,
    Unchanged,
    UnknownCourse,
    MissingGroupname,
    GroupExists,
    DuplicateGroup,
    GroupidnumberTaken,
    MissingUsername,
    InvalidUsername,
    UnknownUser,
    UnknownGroup,
    NotEnrolled,
    TooManyFields,
    AlreadyInGroup,
    DuplicatePair,
    InvalidStatus,
    AlreadyEnrolled,
}

impl ImportCode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn level(self) -> Level {
        match self {
            ImportCode::Unchanged
            | ImportCode::AlreadyInGroup
            | ImportCode::DuplicatePair
            | ImportCode::AlreadyEnrolled => Level::Info,
            _ => Level::Error,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub code: ImportCode,
    /// The header name of the cell it is about ("" for the row as a whole).
    pub column: String,
    pub value: String,
    pub message: String,
}

/// One data row's outcomes; `key` is what the row is about (an ID number, a group, a username).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowResult {
    pub line: u32,
    pub key: String,
    pub outcomes: Vec<Outcome>,
}

impl RowResult {
    pub fn has_error(&self) -> bool {
        self.outcomes.iter().any(|o| o.code.level() == Level::Error)
    }
}

/// SPEC 7's summary: `rows`, `rows_ok`, `rows_with_errors` and the kind's own keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub rows: u64,
    pub rows_ok: u64,
    pub rows_with_errors: u64,
    #[serde(flatten)]
    pub counts: BTreeMap<String, u64>,
}

impl ImportSummary {
    pub fn get(&self, key: &str) -> u64 {
        self.counts.get(key).copied().unwrap_or(0)
    }

    fn bump(&mut self, key: &str) {
        *self.counts.entry(key.to_string()).or_default() += 1;
    }

    pub fn set(&mut self, key: &str, value: u64) {
        self.counts.insert(key.to_string(), value);
    }
}

impl ImportKind {
    /// The summary keys besides `rows`, `rows_ok` and `rows_with_errors`, in SPEC 7's order.
    pub fn summary_keys(self) -> &'static [&'static str] {
        match self {
            ImportKind::Segments => &["segments_created", "segments_updated"],
            ImportKind::Groups => &["groups_created", "groups_updated"],
            ImportKind::GroupMembers => &[
                "group_memberships_added",
                "already_in_group",
                "duplicate_pairs",
                "enrolments_added",
            ],
            ImportKind::Enrolments => &[
                "enrolments_added",
                "already_enrolled",
                "duplicate_pairs",
                "group_memberships_added",
            ],
        }
    }
}

/// A segment to create (`existing` None) or to update, with all its fields as they will be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentWrite {
    pub existing: Option<i32>,
    pub id_number: String,
    pub name: String,
    pub description: String,
    pub visible: bool,
}

/// A course group to create (`existing` None) or to update, with its fields as they will be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupWrite {
    pub existing: Option<i32>,
    pub course_id: i32,
    pub name: String,
    pub id_number: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnrolmentWrite {
    pub course_id: i32,
    pub user_id: i32,
    pub status: EnrolmentStatus,
}

/// Exactly what a commit writes: built by validation, applied set-based by the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub segments: Vec<SegmentWrite>,
    pub groups: Vec<GroupWrite>,
    /// (group id, user id), added by hand (no enrolment method owns them).
    pub members: Vec<(i32, i32)>,
    /// Through each course's manual method.
    pub enrolments: Vec<EnrolmentWrite>,
}

/// One bar of the preview: what the file does to one segment, course or group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetBar {
    pub label: String,
    pub added: u64,
    pub info: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub rows: Vec<RowResult>,
    pub summary: ImportSummary,
    pub plan: Plan,
    pub targets: Vec<TargetBar>,
}

/// What to look up for `table`: the server is asked these, the page in batches.
pub fn questions(table: &Table) -> super::types::Questions {
    let mut q = super::types::Questions::default();
    let mut seen: HashSet<(u8, String)> = HashSet::new();
    for row in &table.rows {
        for (i, col) in table.columns.iter().enumerate() {
            let cell = row.cells[i].as_str();
            if cell.is_empty() {
                continue;
            }
            let (tag, list, value) = match col {
                Col::Username => match username(cell) {
                    Ok(u) => (0, &mut q.usernames, u),
                    Err(_) => continue,
                },
                Col::Course | Col::CourseN(_) => (1, &mut q.courses, cell.to_string()),
                Col::IdNumber => (2, &mut q.segments, cell.to_string()),
                _ => continue,
            };
            if seen.insert((tag, value.clone())) {
                list.push(value);
            }
        }
    }
    q
}

/// A username as the console stores it (lowercase ASCII), or why not.
fn username(cell: &str) -> Result<String, String> {
    match Username::parse(cell) {
        Ok(u) if cell.is_ascii() => Ok(u.into_inner()),
        Ok(_) => Err("Usernames are ASCII letters, digits and . _ - @".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The outcomes of a row being built.
struct RowCheck {
    outcomes: Vec<Outcome>,
}

impl RowCheck {
    fn new() -> Self {
        Self {
            outcomes: Vec::new(),
        }
    }

    fn add(&mut self, code: ImportCode, column: Col, value: &str, message: impl Into<String>) {
        self.outcomes.push(Outcome {
            code,
            column: column.name(),
            value: value.to_string(),
            message: message.into(),
        });
    }

    fn errors(&self) -> bool {
        self.outcomes.iter().any(|o| o.code.level() == Level::Error)
    }
}

/// Free text of a stored field: at most `max` characters; control characters only as line
/// breaks or tabs where `multiline`.
fn text_problem(value: &str, max: usize, multiline: bool) -> Option<String> {
    if value.chars().count() > max {
        return Some(format!("Longer than {max} characters."));
    }
    let bad = |c: char| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'));
    value
        .chars()
        .any(bad)
        .then(|| "Contains control characters.".to_string())
}

/// `visible`: 1/0, yes/no, true/false in any case; empty means "not given".
fn visible(cell: &str) -> Result<Option<bool>, ()> {
    match cell.to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "1" | "yes" | "true" => Ok(Some(true)),
        "0" | "no" | "false" => Ok(Some(false)),
        _ => Err(()),
    }
}

/// Validates every row of `table` against `known`.
pub fn validate(table: &Table, options: &ImportOptions, known: &Knowledge) -> Report {
    let mut report = Report::default();
    for key in table.kind.summary_keys() {
        report.summary.set(key, 0);
    }
    let mut v = Validator {
        table,
        options,
        known,
        report: &mut report,
        seen_keys: HashMap::new(),
        group_ids: HashMap::new(),
        pairs: HashSet::new(),
        planned_enrolments: HashSet::new(),
        targets: BTreeMap::new(),
        groups_by_name: known
            .groups
            .iter()
            .map(|g| ((g.course_id, g.name.clone()), g))
            .collect(),
    };
    for row in &table.rows {
        let (key, check) = match table.kind {
            ImportKind::Segments => v.segment_row(row),
            ImportKind::Groups => v.group_row(row),
            ImportKind::GroupMembers => v.member_row(row),
            ImportKind::Enrolments => v.enrolment_row(row),
        };
        let result = RowResult {
            line: row.line,
            key,
            outcomes: check.outcomes,
        };
        v.report.summary.rows += 1;
        if result.has_error() {
            v.report.summary.rows_with_errors += 1;
        } else {
            v.report.summary.rows_ok += 1;
        }
        v.report.rows.push(result);
    }
    let targets = std::mem::take(&mut v.targets);
    report.targets = targets.into_values().collect();
    report
}

struct Validator<'a> {
    table: &'a Table,
    options: &'a ImportOptions,
    known: &'a Knowledge,
    report: &'a mut Report,
    /// Key of a segment or group → the line that first named it.
    seen_keys: HashMap<String, u32>,
    /// (course id, group ID number) → the group name the file gives it.
    group_ids: HashMap<(i32, String), String>,
    /// (target id, user id) pairs already met in the file.
    pairs: HashSet<(i32, i32)>,
    planned_enrolments: HashSet<(i32, i32)>,
    targets: BTreeMap<String, TargetBar>,
    groups_by_name: HashMap<(i32, String), &'a GroupFacts>,
}

impl Validator<'_> {
    fn bar(&mut self, label: &str) -> &mut TargetBar {
        self.targets
            .entry(label.to_string())
            .or_insert_with(|| TargetBar {
                label: label.to_string(),
                added: 0,
                info: 0,
                errors: 0,
            })
    }

    /// The user a row names, with its outcomes recorded.
    fn user(&self, row: &TableRow, check: &mut RowCheck) -> (String, Option<i32>) {
        let cell = self.table.cell(row, Col::Username);
        if cell.is_empty() {
            check.add(
                ImportCode::MissingUsername,
                Col::Username,
                "",
                "The username cell is empty.",
            );
            return (String::new(), None);
        }
        match username(cell) {
            Err(e) => {
                check.add(ImportCode::InvalidUsername, Col::Username, cell, e);
                (cell.to_string(), None)
            }
            Ok(name) => match self.known.users.get(&name) {
                Some(&id) => (name, Some(id)),
                None => {
                    check.add(
                        ImportCode::UnknownUser,
                        Col::Username,
                        cell,
                        format!("No user \"{name}\" exists."),
                    );
                    (name, None)
                }
            },
        }
    }

    fn course(&self, cell: &str, column: Col, check: &mut RowCheck) -> Option<i32> {
        if cell.is_empty() {
            check.add(
                ImportCode::UnknownCourse,
                column,
                "",
                "The course cell is empty.",
            );
            return None;
        }
        let id = self.known.courses.get(cell).copied();
        if id.is_none() {
            check.add(
                ImportCode::UnknownCourse,
                column,
                cell,
                format!("No course has the short name \"{cell}\"."),
            );
        }
        id
    }

    /// `key`: the column the row is known by, where the report shows the error.
    fn too_many_fields(&self, row: &TableRow, key: Col, check: &mut RowCheck) {
        if row.extra_cells > 0 {
            check.add(
                ImportCode::TooManyFields,
                key,
                "",
                format!(
                    "The row has {} more cell(s) than the header has columns.",
                    row.extra_cells
                ),
            );
        }
    }

    fn duplicate_of(&mut self, key: String, line: u32) -> Option<u32> {
        match self.seen_keys.get(&key) {
            Some(&first) => Some(first),
            None => {
                self.seen_keys.insert(key, line);
                None
            }
        }
    }

    fn segment_row(&mut self, row: &TableRow) -> (String, RowCheck) {
        let t = self.table;
        let mut check = RowCheck::new();
        let idn = t.cell(row, Col::IdNumber);
        let name = t.cell(row, Col::Name);
        let description = t.cell(row, Col::Description);
        let vis_cell = t.cell(row, Col::Visible);
        self.too_many_fields(row, Col::IdNumber, &mut check);
        let mut id_ok = false;
        if idn.is_empty() {
            check.add(
                ImportCode::MissingIdnumber,
                Col::IdNumber,
                "",
                "The idnumber cell is empty.",
            );
        } else if let Err(e) = SegmentIdNumber::parse(idn) {
            check.add(ImportCode::InvalidField, Col::IdNumber, idn, e.to_string());
        } else {
            id_ok = true;
        }
        if name.is_empty() {
            check.add(
                ImportCode::MissingName,
                Col::Name,
                "",
                "The name cell is empty.",
            );
        } else if let Err(e) = DisplayName::parse(name) {
            check.add(ImportCode::InvalidField, Col::Name, name, e.to_string());
        }
        if let Some(p) = text_problem(description, SegmentDraft::MAX_DESCRIPTION, true) {
            check.add(ImportCode::InvalidField, Col::Description, description, p);
        }
        let vis = match visible(vis_cell) {
            Ok(v) => v,
            Err(()) => {
                check.add(
                    ImportCode::InvalidVisible,
                    Col::Visible,
                    vis_cell,
                    "Write 1 or 0, yes or no, true or false.",
                );
                None
            }
        };
        if id_ok {
            if let Some(first) = self.duplicate_of(idn.to_string(), row.line) {
                check.add(
                    ImportCode::DuplicateIdnumber,
                    Col::IdNumber,
                    idn,
                    format!("Line {first} already has this ID number."),
                );
            }
        }
        if check.errors() {
            return (idn.to_string(), check);
        }
        let name = name.to_string();
        match self.known.segments.get(idn) {
            Some(_) if self.options.mode == ImportMode::CreateOnly => check.add(
                ImportCode::SegmentExists,
                Col::IdNumber,
                idn,
                "A segment with this ID number exists (choose \"Create new and update existing\" to update it).",
            ),
            Some(f) => {
                // An empty description or visible cell keeps what is stored.
                let write = SegmentWrite {
                    existing: Some(f.id),
                    id_number: idn.to_string(),
                    name,
                    description: if description.is_empty() {
                        f.description.clone()
                    } else {
                        description.to_string()
                    },
                    visible: vis.unwrap_or(f.visible),
                };
                if write.name == f.name
                    && write.description == f.description
                    && write.visible == f.visible
                {
                    check.add(
                        ImportCode::Unchanged,
                        Col::IdNumber,
                        idn,
                        "The segment already has these fields.",
                    );
                } else {
                    self.report.summary.bump("segments_updated");
                    self.report.plan.segments.push(write);
                }
            }
            None => {
                self.report.summary.bump("segments_created");
                self.report.plan.segments.push(SegmentWrite {
                    existing: None,
                    id_number: idn.to_string(),
                    name,
                    description: description.to_string(),
                    visible: vis.unwrap_or(true),
                });
            }
        }
        (idn.to_string(), check)
    }

    fn group_row(&mut self, row: &TableRow) -> (String, RowCheck) {
        let t = self.table;
        let mut check = RowCheck::new();
        let course_cell = t.cell(row, Col::Course);
        let name = t.cell(row, Col::GroupName);
        let idn = t.cell(row, Col::GroupIdNumber);
        let description = t.cell(row, Col::Description);
        let key = format!("{course_cell} / {name}");
        let course = self.course(course_cell, Col::Course, &mut check);
        self.too_many_fields(row, Col::GroupName, &mut check);
        if name.is_empty() {
            check.add(
                ImportCode::MissingGroupname,
                Col::GroupName,
                "",
                "The groupname cell is empty.",
            );
        } else if let Some(p) = text_problem(name, DisplayName::MAX_LEN, false) {
            check.add(ImportCode::InvalidField, Col::GroupName, name, p);
        }
        if let Some(p) = text_problem(idn, SegmentIdNumber::MAX_LEN, false) {
            check.add(ImportCode::InvalidField, Col::GroupIdNumber, idn, p);
        }
        if let Some(p) = text_problem(description, SegmentDraft::MAX_DESCRIPTION, true) {
            check.add(ImportCode::InvalidField, Col::Description, description, p);
        }
        let Some(course) = course else {
            self.bar(course_cell).errors += 1;
            return (key, check);
        };
        if !name.is_empty() {
            if let Some(first) = self.duplicate_of(format!("{course}\u{0}{name}"), row.line) {
                check.add(
                    ImportCode::DuplicateGroup,
                    Col::GroupName,
                    name,
                    format!("Line {first} already has this group."),
                );
            }
        }
        let existing = self
            .groups_by_name
            .get(&(course, name.to_string()))
            .copied();
        if !idn.is_empty() {
            let stored = self.known.groups.iter().find(|g| {
                g.course_id == course
                    && g.id_number.as_deref() == Some(idn)
                    && Some(g.id) != existing.map(|e| e.id)
            });
            let in_file = self
                .group_ids
                .get(&(course, idn.to_string()))
                .filter(|other| other.as_str() != name);
            if let Some(other) = stored
                .map(|g| g.name.as_str())
                .or(in_file.map(String::as_str))
            {
                check.add(
                    ImportCode::GroupidnumberTaken,
                    Col::GroupIdNumber,
                    idn,
                    format!("Group \"{other}\" of this course has this ID number."),
                );
            }
        }
        if check.errors() {
            self.bar(course_cell).errors += 1;
            return (key, check);
        }
        match existing {
            Some(_) if self.options.mode == ImportMode::CreateOnly => {
                check.add(
                    ImportCode::GroupExists,
                    Col::GroupName,
                    name,
                    "This course has a group with this name (choose \"Create new and update existing\" to update it).",
                );
                self.bar(course_cell).errors += 1;
            }
            Some(g) => {
                let write = GroupWrite {
                    existing: Some(g.id),
                    course_id: course,
                    name: name.to_string(),
                    id_number: if idn.is_empty() {
                        g.id_number.clone()
                    } else {
                        Some(idn.to_string())
                    },
                    description: if description.is_empty() {
                        g.description.clone()
                    } else {
                        description.to_string()
                    },
                };
                if write.id_number == g.id_number && write.description == g.description {
                    check.add(
                        ImportCode::Unchanged,
                        Col::GroupName,
                        name,
                        "The group already has these fields.",
                    );
                    self.bar(course_cell).info += 1;
                } else {
                    self.report.summary.bump("groups_updated");
                    self.report.plan.groups.push(write);
                    self.bar(course_cell).added += 1;
                }
            }
            None => {
                self.report.summary.bump("groups_created");
                self.report.plan.groups.push(GroupWrite {
                    existing: None,
                    course_id: course,
                    name: name.to_string(),
                    id_number: (!idn.is_empty()).then(|| idn.to_string()),
                    description: description.to_string(),
                });
                self.bar(course_cell).added += 1;
            }
        }
        // Only a group that will exist holds its ID number against later lines.
        if !check.errors() && !idn.is_empty() {
            self.group_ids
                .insert((course, idn.to_string()), name.to_string());
        }
        (key, check)
    }

    fn member_row(&mut self, row: &TableRow) -> (String, RowCheck) {
        let t = self.table;
        let mut check = RowCheck::new();
        let (key, user) = self.user(row, &mut check);
        let course_cell = t.cell(row, Col::Course);
        let course = self.course(course_cell, Col::Course, &mut check);
        self.too_many_fields(row, Col::Username, &mut check);
        let mut groups: Vec<(&str, i32)> = Vec::new();
        for (i, col) in t.columns.iter().enumerate() {
            let Col::Group(_) = col else { continue };
            let cell = row.cells[i].as_str();
            if cell.is_empty() {
                continue;
            }
            let Some(course) = course else { continue };
            match self.groups_by_name.get(&(course, cell.to_string())) {
                Some(g) => groups.push((cell, g.id)),
                None => check.add(
                    ImportCode::UnknownGroup,
                    *col,
                    cell,
                    format!("Course \"{course_cell}\" has no group \"{cell}\"."),
                ),
            }
        }
        let mut enrol = false;
        if let (Some(u), Some(c)) = (user, course) {
            let enrolled =
                self.known.enrolled.contains(&(c, u)) || self.planned_enrolments.contains(&(c, u));
            if !enrolled {
                match self.options.not_enrolled {
                    NotEnrolled::Error => check.add(
                        ImportCode::NotEnrolled,
                        Col::Course,
                        course_cell,
                        format!("{key} is not enrolled in \"{course_cell}\"."),
                    ),
                    NotEnrolled::Enrol => enrol = true,
                }
            }
        }
        let (Some(u), Some(c), false) = (user, course, check.errors()) else {
            for (name, _) in &groups {
                self.bar(&format!("{course_cell} / {name}")).errors += 1;
            }
            if groups.is_empty() {
                self.bar(course_cell).errors += 1;
            }
            return (key, check);
        };
        if enrol {
            self.planned_enrolments.insert((c, u));
            self.report.plan.enrolments.push(EnrolmentWrite {
                course_id: c,
                user_id: u,
                status: EnrolmentStatus::Active,
            });
            self.report.summary.bump("enrolments_added");
        }
        for (name, g) in groups {
            let label = format!("{course_cell} / {name}");
            if self.known.members.contains(&(g, u)) {
                check.add(
                    ImportCode::AlreadyInGroup,
                    Col::Username,
                    name,
                    format!("Already in group \"{name}\"."),
                );
                self.report.summary.bump("already_in_group");
                self.bar(&label).info += 1;
            } else if !self.pairs.insert((g, u)) {
                check.add(
                    ImportCode::DuplicatePair,
                    Col::Username,
                    name,
                    format!("An earlier line already adds this user to \"{name}\"."),
                );
                self.report.summary.bump("duplicate_pairs");
                self.bar(&label).info += 1;
            } else {
                self.report.plan.members.push((g, u));
                self.report.summary.bump("group_memberships_added");
                self.bar(&label).added += 1;
            }
        }
        (key, check)
    }

    fn enrolment_row(&mut self, row: &TableRow) -> (String, RowCheck) {
        let t = self.table;
        let mut check = RowCheck::new();
        let (key, user) = self.user(row, &mut check);
        self.too_many_fields(row, Col::Username, &mut check);
        let mut wanted: Vec<(&str, i32, EnrolmentStatus)> = Vec::new();
        for (i, col) in t.columns.iter().enumerate() {
            match *col {
                Col::CourseN(n) => {
                    let cell = row.cells[i].as_str();
                    if cell.is_empty() {
                        continue;
                    }
                    let status_cell = t.cell(row, Col::Status(n));
                    let status = match status_cell.to_ascii_lowercase().as_str() {
                        "" | "active" => Some(EnrolmentStatus::Active),
                        "suspended" => Some(EnrolmentStatus::Suspended),
                        _ => {
                            check.add(
                                ImportCode::InvalidStatus,
                                Col::Status(n),
                                status_cell,
                                "Write active or suspended (empty means active).",
                            );
                            None
                        }
                    };
                    match (self.course(cell, *col, &mut check), status) {
                        (Some(c), Some(s)) => wanted.push((cell, c, s)),
                        _ => self.bar(cell).errors += 1,
                    }
                }
                Col::Status(n) => {
                    let cell = row.cells[i].as_str();
                    if !cell.is_empty() && t.cell(row, Col::CourseN(n)).is_empty() {
                        check.add(
                            ImportCode::InvalidStatus,
                            *col,
                            cell,
                            format!("status{n} has no course{n} beside it."),
                        );
                    }
                }
                _ => {}
            }
        }
        let (Some(u), false) = (user, check.errors()) else {
            for (name, _, _) in &wanted {
                self.bar(name).errors += 1;
            }
            return (key, check);
        };
        for (name, c, status) in wanted {
            if self.known.enrolled.contains(&(c, u)) {
                check.add(
                    ImportCode::AlreadyEnrolled,
                    Col::Username,
                    name,
                    format!("Already enrolled in \"{name}\"; the enrolment is left as it is."),
                );
                self.report.summary.bump("already_enrolled");
                self.bar(name).info += 1;
            } else if !self.planned_enrolments.insert((c, u)) {
                check.add(
                    ImportCode::DuplicatePair,
                    Col::Username,
                    name,
                    format!("An earlier line already enrols this user in \"{name}\"."),
                );
                self.report.summary.bump("duplicate_pairs");
                self.bar(name).info += 1;
            } else {
                self.report.plan.enrolments.push(EnrolmentWrite {
                    course_id: c,
                    user_id: u,
                    status,
                });
                self.report.summary.bump("enrolments_added");
                self.bar(name).added += 1;
            }
        }
        (key, check)
    }
}
