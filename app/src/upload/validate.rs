//! Row validation (SPEC 3): one implementation, run in the browser for the preview and again on
//! the server, inside the commit's transaction, against what the database holds then.
use super::options::{ExistingDetails, UploadOptions, UploadType};
use super::parse::{Column, Parsed, Row, UsernameCell};
use crate::domain::is_valid_email;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

/// What the database knows about the usernames and segment ID numbers a file mentions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Knowledge {
    /// The existing users among the file's names, aligned with `Parsed::usernames()`.
    pub users: KnownUsers,
    /// Segment ID number (exact) to internal id.
    pub segments: FxHashMap<String, i32>,
    /// Existing (segment id, user id) memberships among those users and segments, as the
    /// look-ups answered them (in no order; a pair may come twice). Validation indexes them once
    /// (`Members`), so the page only appends what arrives.
    pub memberships: Vec<(i32, i32)>,
    /// Segments that rules fill (SPEC 8): no file adds members to them.
    #[serde(default)]
    pub automated: FxHashSet<i32>,
    /// The site's profile fields, when the file has `profile_field_…` columns (SPEC 8).
    #[serde(default)]
    pub profile_fields: Vec<crate::automation::ProfileField>,
}

/// What the database holds for each of a file's distinct usernames, in `Parsed::usernames()`
/// order: validation reaches a row's user by its index, and no name is hashed after the parse.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownUsers {
    /// The user's id for each name, 0 where no such user exists.
    pub ids: Vec<i32>,
    /// `[firstname, lastname, email]` for each name, when they were asked for (else empty).
    pub details: Vec<[String; 3]>,
}

impl KnownUsers {
    /// The users `find` gives for `parsed`'s names (tests and tools that know users by name).
    pub fn by_name(parsed: &Parsed, find: impl Fn(&str) -> Option<KnownUser>) -> Self {
        let (ids, details) = parsed
            .usernames()
            .map(|name| match find(name) {
                Some(u) => (u.id, [u.firstname, u.lastname, u.email]),
                None => (0, Default::default()),
            })
            .unzip();
        KnownUsers { ids, details }
    }

    /// The id of the user at `index` of the file's names, if one exists.
    pub fn id(&self, index: u32) -> Option<i32> {
        self.ids.get(index as usize).copied().filter(|&id| id != 0)
    }

    /// The user at `index`, with stored details when they were asked for.
    pub fn get(&self, index: u32) -> Option<KnownUser> {
        let id = self.id(index)?;
        let [firstname, lastname, email] = self
            .details
            .get(index as usize)
            .cloned()
            .unwrap_or_default();
        Some(KnownUser {
            id,
            firstname,
            lastname,
            email,
        })
    }

    /// How many of the names are existing users.
    pub fn found(&self) -> usize {
        self.ids.iter().filter(|&&id| id != 0).count()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownUser {
    pub id: i32,
    pub firstname: String,
    pub lastname: String,
    pub email: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Code {
    MissingUsername,
    InvalidUsername,
    UnknownUser,
    UserExists,
    MissingField,
    InvalidEmail,
    /// A firstname or lastname cell longer than `NAME_MAX_CHARS` or with control characters.
    InvalidName,
    UnknownSegment,
    TooManyFields,
    AlreadyMember,
    DuplicatePair,
    /// A cohort cell names an automated segment (SPEC 8).
    AutomatedSegment,
    /// A `profile_field_…` cell that is not a value of its field (SPEC 8).
    InvalidProfileValue,
}

/// Longest first or last name stored (the `users` columns hold 100 characters).
pub const NAME_MAX_CHARS: usize = 100;

fn is_valid_name(name: &str) -> bool {
    name.chars().count() <= NAME_MAX_CHARS && !name.chars().any(char::is_control)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    Error,
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Info => "info",
        }
    }
}

impl Code {
    /// (Packed outcomes index this list: new codes go at the end.)
    pub const ALL: [Code; 13] = [
        Code::MissingUsername,
        Code::InvalidUsername,
        Code::UnknownUser,
        Code::UserExists,
        Code::MissingField,
        Code::InvalidEmail,
        Code::UnknownSegment,
        Code::TooManyFields,
        Code::AlreadyMember,
        Code::DuplicatePair,
        Code::InvalidName,
        Code::AutomatedSegment,
        Code::InvalidProfileValue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::MissingUsername => "missing_username",
            Code::InvalidUsername => "invalid_username",
            Code::UnknownUser => "unknown_user",
            Code::UserExists => "user_exists",
            Code::MissingField => "missing_field",
            Code::InvalidEmail => "invalid_email",
            Code::InvalidName => "invalid_name",
            Code::UnknownSegment => "unknown_segment",
            Code::TooManyFields => "too_many_fields",
            Code::AlreadyMember => "already_member",
            Code::DuplicatePair => "duplicate_pair",
            Code::AutomatedSegment => "automated_segment",
            Code::InvalidProfileValue => "invalid_profile_value",
        }
    }

    pub fn level(self) -> Level {
        match self {
            Code::AlreadyMember | Code::DuplicatePair => Level::Info,
            _ => Level::Error,
        }
    }

    /// Whether an outcome of this code is about one segment cell.
    fn about_segment(self) -> bool {
        matches!(
            self,
            Code::UnknownSegment
                | Code::AutomatedSegment
                | Code::AlreadyMember
                | Code::DuplicatePair
        )
    }
}

/// One outcome of one row (`Report::row_start` says which). Text is looked up in the `Parsed`
/// file when shown. Twelve bytes, not 28: a file uploaded again has an outcome per segment cell
/// (already_member or duplicate_pair: five million for a million rows of five), and writing them
/// into fresh memory was most of validation's time (`bench-parse`'s re-upload, under `perf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub code: Code,
    /// The header column's index, or `NONE`.
    column: u32,
    /// The interned segment ID number of a segment outcome, the extra cells counted by
    /// too_many_fields, or `NONE`: no code has both.
    detail: u32,
}

// The size the comment above counts on.
const _: () = assert!(std::mem::size_of::<Outcome>() == 12);

impl Outcome {
    const NONE: u32 = u32::MAX;

    /// Keeps what `code` carries: a segment for a segment outcome, a count for too_many_fields.
    pub fn new(code: Code, column: Option<u32>, segment: Option<u32>, count: u32) -> Self {
        let detail = if code.about_segment() {
            segment.unwrap_or(Self::NONE)
        } else if code == Code::TooManyFields {
            count
        } else {
            Self::NONE
        };
        Outcome {
            code,
            column: column.unwrap_or(Self::NONE),
            detail,
        }
    }

    /// The header column the outcome is about (none for a column the file lacks).
    pub fn column(&self) -> Option<u32> {
        (self.column != Self::NONE).then_some(self.column)
    }

    /// The interned segment ID number of a segment outcome.
    pub fn segment(&self) -> Option<u32> {
        (self.code.about_segment() && self.detail != Self::NONE).then_some(self.detail)
    }

    /// The extra cells counted (too_many_fields; 0 otherwise).
    pub fn count(&self) -> u32 {
        match self.code {
            Code::TooManyFields => self.detail,
            _ => 0,
        }
    }
}

/// An outcome rendered for people and JSON (SPEC 6 `--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeView {
    pub code: String,
    pub level: String,
    pub column: Option<String>,
    pub value: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub rows: u64,
    pub rows_ok: u64,
    pub rows_with_errors: u64,
    pub users_created: u64,
    pub users_updated: u64,
    pub memberships_added: u64,
    pub already_members: u64,
    pub duplicate_pairs: u64,
    pub enrolments_added: u64,
    pub group_memberships_added: u64,
}

/// Per-segment preview bars: what the commit will do to each segment the file names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentBreakdown {
    pub id_number: String,
    pub known: bool,
    pub to_add: u64,
    pub already_members: u64,
    /// Rows naming this ID number when no such segment exists.
    pub unknown: u64,
}

/// A user the commit creates (first valid row that names it decides the details).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub firstname: String,
    pub lastname: String,
    pub email: String,
}

/// Final stored details for an existing user whose details change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserUpdate {
    pub user_id: i32,
    pub before: KnownUser,
    pub after: KnownUser,
}

/// Where a membership's user comes from: an existing user id or a user the commit creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserRef {
    Existing(i32),
    New(u32),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub summary: Summary,
    /// Grouped by row, rows in file order.
    pub outcomes: Vec<Outcome>,
    /// `outcomes[row_start[i]..row_start[i + 1]]` are row i's outcomes.
    pub row_start: Vec<u32>,
    /// Indices of rows with at least one error (the preview's error filter).
    pub error_rows: Vec<u32>,
    pub segments: Vec<SegmentBreakdown>,
    pub new_users: Vec<NewUser>,
    pub updates: Vec<UserUpdate>,
    /// Distinct new (segment id, user) memberships, in file order.
    pub additions: Vec<(i32, UserRef)>,
    /// Profile values to write (SPEC 8): new users' always; existing users' under
    /// "override" (replacing) or "fill in missing" (only where none is stored).
    pub profile_values: Vec<ProfileWrite>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileWrite {
    pub user: UserRef,
    pub field_id: i32,
    pub value: crate::automation::rules::StoredValue,
}

impl Report {
    pub fn row_outcomes(&self, row: usize) -> &[Outcome] {
        match (self.row_start.get(row), self.row_start.get(row + 1)) {
            (Some(&a), Some(&b)) => &self.outcomes[a as usize..b as usize],
            _ => &[],
        }
    }

    pub fn row_has_error(&self, row: usize) -> bool {
        self.row_outcomes(row)
            .iter()
            .any(|o| o.code.level() == Level::Error)
    }
}

/// Validates every row of `parsed` against `known` under `options`: a `Validation` in one step.
pub fn validate(parsed: &Parsed, options: &UploadOptions, known: &Knowledge) -> Report {
    Validation::new(parsed, options, known).finish()
}

/// The slot in `Report::new_users` of each of the file's names that is not a user yet.
const NOT_NEW: u32 = u32::MAX;

/// A validation run in steps of rows, in file order, so the page can let the browser draw and
/// answer between steps (a million-row file is a quarter of a second of validation). The report
/// is the same whatever the steps: rows are only ever validated in order.
pub struct Validation<'a> {
    parsed: &'a Parsed,
    options: &'a UploadOptions,
    known: &'a Knowledge,
    report: Report,
    seg_ids: Vec<Option<i32>>,
    profile_defs: Vec<Option<&'a crate::automation::ProfileField>>,
    new_user_slot: Vec<u32>,
    seen_pairs: PairSet,
    members: Members,
    /// Per existing user: stored details, details after the file, and which fields the file
    /// has already decided (the first valid row that gives a field wins, as for new users).
    updates: FxHashMap<i32, (KnownUser, KnownUser, Decided)>,
    update_order: Vec<i32>,
    /// The next row to validate.
    next: usize,
}

impl<'a> Validation<'a> {
    pub fn new(parsed: &'a Parsed, options: &'a UploadOptions, known: &'a Knowledge) -> Self {
        let mut report = Report {
            row_start: Vec::with_capacity(parsed.rows.len() + 1),
            segments: parsed
                .segment_ids
                .iter()
                .map(|id| SegmentBreakdown {
                    id_number: id.clone(),
                    known: known.segments.contains_key(id),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let seg_ids: Vec<Option<i32>> = parsed
            .segment_ids
            .iter()
            .map(|id| known.segments.get(id).copied())
            .collect();
        let profile_defs: Vec<Option<&crate::automation::ProfileField>> = parsed
            .profile_fields
            .iter()
            .map(|s| known.profile_fields.iter().find(|f| &f.shortname == s))
            .collect();
        let new_user_slot: Vec<u32> = vec![NOT_NEW; parsed.usernames().len()];
        let seen_pairs = PairSet::new(parsed, known);
        let members = Members::new(known, &seg_ids);
        let cells = parsed.segment_cell_count();
        report.additions.reserve(cells);
        // Reserved once rather than doubled and copied as it grows. A stored pair gives at most
        // one already_member outcome (a file uploaded again has millions), and a file that names
        // its users in more rows than it has names repeats their pairs: about one duplicate_pair
        // per cell of each extra named row. A cell gives at most one of either.
        let rows = parsed.rows.len().max(1);
        let named = parsed
            .rows
            .iter()
            .filter(|r| parsed.user_index(r).is_some());
        let extra_rows = named.count().saturating_sub(parsed.usernames().len());
        let repeats = (cells as u64 * extra_rows as u64 / rows as u64) as usize;
        let pair_outcomes = (known.memberships.len().min(cells) + repeats).min(cells);
        report.outcomes.reserve(rows / 8 + pair_outcomes);

        Validation {
            parsed,
            options,
            known,
            report,
            seg_ids,
            profile_defs,
            new_user_slot,
            seen_pairs,
            members,
            updates: FxHashMap::default(),
            update_order: Vec::new(),
            next: 0,
        }
    }

    /// Validates up to `rows` more rows; false once every row is validated.
    pub fn step(&mut self, rows: usize) -> bool {
        let total = self.parsed.rows.len();
        let end = self.next.saturating_add(rows).min(total);
        for index in self.next..end {
            self.row(index as u32);
        }
        self.next = end;
        end < total
    }

    fn row(&mut self, index: u32) {
        let Validation {
            parsed,
            options,
            known,
            report,
            seg_ids,
            profile_defs,
            new_user_slot,
            seen_pairs,
            members,
            updates,
            update_order,
            ..
        } = self;
        let (parsed, options, known) = (*parsed, *options, *known);
        let row = &parsed.rows[index as usize];
        report.row_start.push(report.outcomes.len() as u32);
        let first_outcome = report.outcomes.len();
        let push = |report: &mut Report, code, column: Option<u32>, segment: Option<u32>, count| {
            report
                .outcomes
                .push(Outcome::new(code, column, segment, count))
        };
        let col = |c: Column| {
            parsed
                .columns
                .iter()
                .position(|x| *x == c)
                .map(|i| i as u32)
        };
        let name = parsed.username(row);

        match row.username_cell {
            UsernameCell::Missing => push(
                report,
                Code::MissingUsername,
                col(Column::Username),
                None,
                0,
            ),
            UsernameCell::Invalid => push(
                report,
                Code::InvalidUsername,
                col(Column::Username),
                None,
                0,
            ),
            UsernameCell::Valid => {}
        }
        if row.extra_cells > 0 {
            push(report, Code::TooManyFields, None, None, row.extra_cells);
        }
        if let Some(email) = parsed.email(row) {
            if !is_valid_email(email) {
                push(report, Code::InvalidEmail, col(Column::Email), None, 0);
            }
        }
        for c in [Column::Firstname, Column::Lastname] {
            let value = match c {
                Column::Firstname => parsed.firstname(row),
                _ => parsed.lastname(row),
            };
            if value.is_some_and(|v| !is_valid_name(v)) {
                push(report, Code::InvalidName, col(c), None, 0);
            }
        }
        let user_index = parsed.user_index(row);
        let existing = user_index.and_then(|i| known.users.id(i));
        if row.username_cell == UsernameCell::Valid {
            match (existing, options.upload_type) {
                (None, UploadType::UpdateExisting) => {
                    push(report, Code::UnknownUser, col(Column::Username), None, 0)
                }
                (Some(_), UploadType::AddNew) => {
                    push(report, Code::UserExists, col(Column::Username), None, 0)
                }
                (None, _) if user_index.is_some_and(|i| new_user_slot[i as usize] == NOT_NEW) => {
                    for (c, v) in [
                        (Column::Firstname, parsed.firstname(row)),
                        (Column::Lastname, parsed.lastname(row)),
                        (Column::Email, parsed.email(row)),
                    ] {
                        if v.is_none() {
                            push(report, Code::MissingField, col(c), None, 0);
                        }
                    }
                }
                _ => {}
            }
        }
        for cell in parsed.segment_cells(row) {
            match seg_ids[cell.segment as usize] {
                None => {
                    push(
                        report,
                        Code::UnknownSegment,
                        Some(cell.column),
                        Some(cell.segment),
                        0,
                    );
                    report.segments[cell.segment as usize].unknown += 1;
                }
                Some(id) if !known.automated.is_empty() && known.automated.contains(&id) => {
                    push(
                        report,
                        Code::AutomatedSegment,
                        Some(cell.column),
                        Some(cell.segment),
                        0,
                    );
                }
                Some(_) => {}
            }
        }
        let mut profile: Vec<(i32, crate::automation::rules::StoredValue)> = Vec::new();
        for cell in parsed.profile_cells(row) {
            let Some(field) = profile_defs[cell.field as usize] else {
                continue; // an unknown field is a file error (`unknown_profile_fields`)
            };
            match field.parse_value(parsed.profile_value(cell)) {
                Ok(Some(v)) => profile.push((field.id, v)),
                Ok(None) => {}
                Err(_) => push(
                    report,
                    Code::InvalidProfileValue,
                    Some(cell.column),
                    None,
                    0,
                ),
            }
        }

        let has_error = report.outcomes[first_outcome..]
            .iter()
            .any(|o| o.code.level() == Level::Error);
        if has_error {
            report.error_rows.push(index);
            report.summary.rows_with_errors += 1;
            return;
        }
        report.summary.rows_ok += 1;

        let user = match (existing, user_index) {
            (Some(id), _) => UserRef::Existing(id),
            (None, index) => {
                // Rows without a valid username have an error and never get here.
                let slot = &mut new_user_slot[index.unwrap_or_default() as usize];
                if *slot == NOT_NEW {
                    *slot = report.new_users.len() as u32;
                    report.new_users.push(NewUser {
                        username: name.to_string(),
                        firstname: parsed.firstname(row).unwrap_or_default().to_string(),
                        lastname: parsed.lastname(row).unwrap_or_default().to_string(),
                        email: parsed.email(row).unwrap_or_default().to_string(),
                    });
                }
                UserRef::New(*slot)
            }
        };
        if existing.is_none() || options.updates_details() {
            report
                .profile_values
                .extend(profile.into_iter().map(|(field_id, value)| ProfileWrite {
                    user,
                    field_id,
                    value,
                }));
        }
        if let (Some(id), Some(index), true) = (existing, user_index, options.updates_details()) {
            let entry = updates.entry(id).or_insert_with(|| {
                update_order.push(id);
                let u = known.users.get(index).expect("an existing user");
                (u.clone(), u, Decided::default())
            });
            apply_details(
                &mut entry.1,
                &entry.0,
                &mut entry.2,
                parsed,
                row,
                options.existing_details,
            );
        }
        for cell in parsed.segment_cells(row) {
            let Some(segment_id) = seg_ids[cell.segment as usize] else {
                continue;
            };
            if !seen_pairs.insert(cell.segment, segment_id, user) {
                push(
                    report,
                    Code::DuplicatePair,
                    Some(cell.column),
                    Some(cell.segment),
                    0,
                );
                report.summary.duplicate_pairs += 1;
                continue;
            }
            let member = matches!(user, UserRef::Existing(uid) if members.contains(cell.segment, segment_id, uid));
            if member {
                push(
                    report,
                    Code::AlreadyMember,
                    Some(cell.column),
                    Some(cell.segment),
                    0,
                );
                report.summary.already_members += 1;
                report.segments[cell.segment as usize].already_members += 1;
            } else {
                report.additions.push((segment_id, user));
                report.segments[cell.segment as usize].to_add += 1;
            }
        }
    }

    /// The report, with any rows `step` has not reached validated first.
    pub fn finish(mut self) -> Report {
        self.step(usize::MAX);
        let Validation {
            parsed,
            mut report,
            mut updates,
            update_order,
            ..
        } = self;
        report.row_start.push(report.outcomes.len() as u32);
        report.summary.rows = parsed.rows.len() as u64;
        report.summary.users_created = report.new_users.len() as u64;
        report.summary.memberships_added = report.additions.len() as u64;
        report.updates = update_order
            .into_iter()
            .filter_map(|id| {
                let (before, after, _) = updates.remove(&id)?;
                (before != after).then_some(UserUpdate {
                    user_id: id,
                    before,
                    after,
                })
            })
            .collect();
        report.summary.users_updated = report.updates.len() as u64;
        report
    }
}

/// A bitset of user keys for each segment of the file, each allocated when first written: the
/// compact form of both pair sets below.
struct SegmentBits {
    words: usize,
    sets: Vec<Vec<u64>>,
}

impl SegmentBits {
    /// Bitsets are used while they fit in this many 64-bit words (32 MiB).
    const BUDGET_WORDS: usize = 4 << 20;

    /// `segments` bitsets over keys `0..=max_key`, if they fit the budget.
    fn new(segments: usize, max_key: u64) -> Option<Self> {
        let words = (max_key / 64 + 1) as usize;
        (words.saturating_mul(segments) <= Self::BUDGET_WORDS).then(|| SegmentBits {
            words,
            sets: vec![Vec::new(); segments],
        })
    }

    /// Sets the key's bit; false when it was already set.
    fn insert(&mut self, segment: usize, key: u64) -> bool {
        let set = &mut self.sets[segment];
        if set.is_empty() {
            set.resize(self.words, 0);
        }
        let (w, bit) = ((key / 64) as usize, 1u64 << (key % 64));
        let fresh = set[w] & bit == 0;
        set[w] |= bit;
        fresh
    }

    fn contains(&self, segment: usize, key: u64) -> bool {
        self.sets[segment]
            .get((key / 64) as usize)
            .is_some_and(|w| w & (1 << (key % 64)) != 0)
    }
}

/// The (segment, user) pairs seen so far on valid rows: millions of probes on a big file. With
/// compact user ids (the usual case) a bitset per segment of the file; otherwise a hash set.
enum PairSet {
    Bits { max_id: u64, bits: SegmentBits },
    Hash(FxHashSet<u64>),
}

impl PairSet {
    fn new(parsed: &Parsed, known: &Knowledge) -> Self {
        let max_id = max_user_id(known);
        // New users get keys after the largest existing id.
        let max_key = max_id + 1 + parsed.rows.len() as u64;
        match SegmentBits::new(parsed.segment_ids.len(), max_key) {
            Some(bits) => PairSet::Bits { max_id, bits },
            None => {
                let mut set = FxHashSet::default();
                set.reserve(parsed.segment_cell_count());
                PairSet::Hash(set)
            }
        }
    }

    /// Records the pair; false when it was already there.
    fn insert(&mut self, segment_index: u32, segment_id: i32, user: UserRef) -> bool {
        match self {
            PairSet::Bits { max_id, bits } => {
                let key = match user {
                    UserRef::Existing(id) => id.max(0) as u64,
                    UserRef::New(slot) => *max_id + 1 + slot as u64,
                };
                bits.insert(segment_index as usize, key)
            }
            PairSet::Hash(set) => {
                let user = match user {
                    UserRef::Existing(id) => id as u32 as u64,
                    UserRef::New(slot) => (1 << 32) | slot as u64,
                };
                set.insert(((segment_id as u32 as u64) << 33) | user)
            }
        }
    }
}

/// The largest id among the file's existing users (0 when none exists).
fn max_user_id(known: &Knowledge) -> u64 {
    known
        .users
        .ids
        .iter()
        .map(|&id| id.max(0) as u64)
        .max()
        .unwrap_or(0)
}

/// The stored memberships, asked once per segment cell of a valid row (millions of probes when a
/// file is uploaded again). With compact user ids, a bitset per segment of the file, built from
/// the look-ups' pairs in one pass; otherwise a hash set of them.
enum Members {
    None,
    Bits {
        /// The bitset of each of the file's segment ID numbers (the same set for two numbers
        /// that name one segment).
        slot: Vec<Option<usize>>,
        bits: SegmentBits,
    },
    Hash(FxHashSet<(i32, i32)>),
}

impl Members {
    fn new(known: &Knowledge, seg_ids: &[Option<i32>]) -> Self {
        if known.memberships.is_empty() {
            return Members::None;
        }
        let mut slot_of: FxHashMap<i32, usize> = FxHashMap::default();
        let slot: Vec<Option<usize>> = seg_ids
            .iter()
            .map(|id| {
                let id = (*id)?;
                let next = slot_of.len();
                Some(*slot_of.entry(id).or_insert(next))
            })
            .collect();
        // No user id above the file's existing users' is ever asked. Bitsets hold positive ids
        // only (the database's); anything else takes the hash set.
        let max_id = max_user_id(known);
        let odd_ids = known.users.ids.iter().any(|&id| id < 0);
        let Some(mut bits) = SegmentBits::new(slot_of.len(), max_id).filter(|_| !odd_ids) else {
            return Members::Hash(known.memberships.iter().copied().collect());
        };
        for &(segment, user) in &known.memberships {
            match (slot_of.get(&segment), u64::try_from(user)) {
                (Some(&i), Ok(user)) if user <= max_id => {
                    bits.insert(i, user);
                }
                _ => {} // not one of the file's segments or users
            }
        }
        Members::Bits { slot, bits }
    }

    /// Whether user `user` is a member of the segment at `segment_index` of the file (id
    /// `segment_id`).
    fn contains(&self, segment_index: u32, segment_id: i32, user: i32) -> bool {
        match self {
            Members::None => false,
            Members::Bits { slot, bits } => {
                match (slot.get(segment_index as usize), u64::try_from(user)) {
                    (Some(Some(i)), Ok(user)) => bits.contains(*i, user),
                    _ => false,
                }
            }
            Members::Hash(set) => set.contains(&(segment_id, user)),
        }
    }
}

/// Picks one detail field of a user.
type FieldOf = fn(&mut KnownUser) -> &mut String;

/// Which of a user's three detail fields (firstname, lastname, email) a row has already set.
#[derive(Debug, Default, Clone, Copy)]
struct Decided([bool; 3]);

/// Empty cells never erase stored details: only values present in the file count. When a user
/// is on several rows, the first valid row that gives a field decides it, in every mode, as it
/// does for a new user; so committing the same file twice changes nothing the second time.
fn apply_details(
    target: &mut KnownUser,
    stored: &KnownUser,
    decided: &mut Decided,
    parsed: &Parsed,
    row: &Row,
    mode: ExistingDetails,
) {
    let fields: [(Option<&str>, FieldOf, &str); 3] = [
        (
            parsed.firstname(row),
            |u| &mut u.firstname,
            &stored.firstname,
        ),
        (parsed.lastname(row), |u| &mut u.lastname, &stored.lastname),
        (parsed.email(row), |u| &mut u.email, &stored.email),
    ];
    for (i, (value, field, stored_value)) in fields.into_iter().enumerate() {
        let Some(value) = value else { continue };
        if decided.0[i] {
            continue;
        }
        let slot = field(target);
        match mode {
            ExistingDetails::NoChanges => {}
            ExistingDetails::Override => {
                *slot = value.to_string();
                decided.0[i] = true;
            }
            ExistingDetails::FillMissing => {
                if stored_value.is_empty() {
                    *slot = value.to_string();
                    decided.0[i] = true;
                }
            }
        }
    }
}

/// Renders an outcome's column, value and message.
pub fn describe(parsed: &Parsed, row: &Row, o: &Outcome) -> OutcomeView {
    // (A column the file lacks, as for missing_field, has no name.)
    let column = o.column().map(|c| parsed.column_name(c));
    // Outcomes unpacked from a server's answer are not trusted to index the file.
    let segment = o
        .segment()
        .and_then(|s| parsed.segment_ids.get(s as usize).cloned());
    let username = parsed.username(row).to_string();
    let (value, message) = match o.code {
        Code::MissingUsername => (None, "The username cell is empty.".to_string()),
        Code::InvalidUsername => (
            Some(username.clone()),
            format!(
                "\"{username}\" is not a valid username: use only a-z, 0-9, '.', '_', '-' and '@'."
            ),
        ),
        Code::UnknownUser => (
            Some(username.clone()),
            format!("No user \"{username}\" exists, and this upload type does not create users."),
        ),
        Code::UserExists => (
            Some(username.clone()),
            format!(
                "User \"{username}\" already exists, and this upload type only adds new users."
            ),
        ),
        Code::MissingField => {
            let field = column
                .clone()
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "a required".into());
            (
                None,
                format!("A new user needs firstname, lastname and email: {field} is missing."),
            )
        }
        Code::InvalidEmail => {
            let email = parsed.email(row).unwrap_or_default().to_string();
            (
                Some(email.clone()),
                format!("\"{email}\" is not an email address."),
            )
        }
        Code::InvalidName => {
            let c = column.clone().unwrap_or_default();
            let value = match c.as_str() {
                "firstname" => parsed.firstname(row),
                _ => parsed.lastname(row),
            }
            .unwrap_or_default()
            .to_string();
            (
                Some(value),
                format!(
                    "The {c} is longer than {NAME_MAX_CHARS} characters or contains control characters."
                ),
            )
        }
        Code::UnknownSegment => {
            let s = segment.clone().unwrap_or_default();
            let c = column.clone().unwrap_or_default();
            (
                segment,
                format!("No user segment has the ID number \"{s}\" (column {c})."),
            )
        }
        Code::InvalidProfileValue => {
            let c = column.clone().unwrap_or_default();
            let v = parsed
                .profile_cells(row)
                .iter()
                .find(|p| Some(p.column) == o.column())
                .map(|p| parsed.profile_value(p).to_string())
                .unwrap_or_default();
            (
                Some(v.clone()),
                format!("\"{v}\" is not a value of {c}: a menu takes one of its options, a checkbox 1/0 or yes/no, a date YYYY-MM-DD."),
            )
        }
        Code::AutomatedSegment => {
            let s = segment.clone().unwrap_or_default();
            let c = column.clone().unwrap_or_default();
            (
                segment,
                format!("Segment \"{s}\" is automated: its members come from its rules, not from files (column {c})."),
            )
        }
        Code::TooManyFields => (
            None,
            format!(
                "The row has {} more cell(s) than the header has columns.",
                o.count()
            ),
        ),
        Code::AlreadyMember => {
            let s = segment.clone().unwrap_or_default();
            (
                segment,
                format!("{username} is already a member of segment \"{s}\"."),
            )
        }
        Code::DuplicatePair => {
            let s = segment.clone().unwrap_or_default();
            (
                segment,
                format!("{username} and segment \"{s}\" already appeared earlier in the file."),
            )
        }
    };
    OutcomeView {
        code: o.code.as_str().to_string(),
        level: o.code.level().as_str().to_string(),
        column: column.filter(|c| !c.is_empty()),
        value,
        message,
    }
}
