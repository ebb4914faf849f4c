//! `server seed-demo`: a deterministic demo site (5,000 users, a dozen segments, courses with
//! groups). Every insert skips rows that exist, so running it again changes nothing.
use crate::courses::{EnrolMethodKind, EnrolmentStatus};
use crate::entities::{course, course_group, enrol_instance, enrolment, segment, user};
use crate::error::AppError;
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use std::collections::HashMap;

pub const DEMO_USERS: usize = 5_000;

const FIRST: &[&str] = &[
    "amelia", "oliver", "isla", "george", "ava", "noah", "mia", "arthur", "ivy", "leo", "freya",
    "oscar", "lily", "harry", "grace", "jack", "sofia", "theo", "emily", "finley", "chloe", "omar",
    "priya", "mateo", "yuki", "amara", "lukas", "zara", "diego", "hana",
];
const LAST: &[&str] = &[
    "smith", "jones", "taylor", "brown", "williams", "wilson", "johnson", "davies", "patel",
    "wright", "walker", "evans", "thomas", "roberts", "khan", "lewis", "hughes", "clarke",
    "nguyen", "garcia", "muller", "rossi", "kowalski", "silva", "sato", "okafor", "larsen",
    "dubois", "novak", "ahmed",
];

/// (ID number, name, description)
pub const SEGMENTS: &[(&str, &str, &str)] = &[
    ("sales", "Sales Team", "Everyone in sales"),
    ("marketing", "Marketing Team", "Brand, content and growth"),
    ("ops", "Operations Team", "Operations and logistics"),
    ("eng", "Engineering", "Product engineering"),
    ("hr", "Human Resources", "People team"),
    ("finance", "Finance", "Finance and accounting"),
    ("support", "Customer Support", "Support desk"),
    ("legal", "Legal", "Legal and compliance"),
    ("it", "IT Services", "Internal IT"),
    (
        "leaders-2026",
        "Leadership Programme 2026",
        "This year's leadership cohort",
    ),
    ("new-starters", "New Starters", "Joined in the last 90 days"),
    ("managers", "People Managers", "Everyone who manages a team"),
];

const DEPARTMENTS: usize = 9;

/// (short name, full name, groups)
const COURSES: &[(&str, &str, &[&str])] = &[
    (
        "onboarding",
        "Company Onboarding",
        &["Sales Team", "Marketing Team", "Operations Team"],
    ),
    (
        "leadership-101",
        "Leadership Essentials",
        &["Cohort A", "Cohort B"],
    ),
    (
        "security-basics",
        "Information Security Basics",
        &["Engineering", "IT Services", "Everyone else"],
    ),
    ("customer-first", "Customer First", &["Support", "Sales"]),
    (
        "finance-101",
        "Finance for Non-Finance Managers",
        &["Managers"],
    ),
    (
        "compliance-2026",
        "Annual Compliance 2026",
        &["Legal", "Finance", "HR"],
    ),
];

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub users: u64,
    pub segments: u64,
    pub memberships: u64,
    pub courses: u64,
    pub groups: u64,
    pub enrolments: u64,
}

fn demo_user(i: usize) -> (String, String, String, String) {
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len()) % LAST.len()];
    let username = format!("{first}.{last}{}", i / (FIRST.len() * LAST.len()) + 1);
    let email = format!("{username}@example.com");
    (username, capitalise(first), capitalise(last), email)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Loads the demo data set; returns what it inserted (all zero on a second run).
pub async fn seed(db: &impl ConnectionTrait) -> Result<SeedReport, AppError> {
    let now = Utc::now();
    let mut report = SeedReport::default();

    let users: Vec<_> = (0..DEMO_USERS).map(demo_user).collect();
    for chunk in users.chunks(1_000) {
        report.users += user::Entity::insert_many(
            chunk
                .iter()
                .map(|(u, f, l, e)| user::ActiveModel::new_user(u, f, l, e, now)),
        )
        .on_conflict(
            OnConflict::column(user::Column::Username)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }

    report.segments = segment::Entity::insert_many(SEGMENTS.iter().map(|(idn, name, desc)| {
        segment::ActiveModel {
            id_number: Set(idn.to_string()),
            name: Set(name.to_string()),
            description: Set(desc.to_string()),
            visible: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    }))
    .on_conflict(
        OnConflict::column(segment::Column::IdNumber)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;

    let user_ids: HashMap<String, i32> = user::Entity::find()
        .select_only()
        .columns([user::Column::Username, user::Column::Id])
        .filter(user::Column::Username.is_in(users.iter().map(|u| u.0.clone())))
        .into_tuple::<(String, i32)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let segment_ids: HashMap<String, i32> = segment::Entity::find()
        .select_only()
        .columns([segment::Column::IdNumber, segment::Column::Id])
        .into_tuple::<(String, i32)>()
        .all(db)
        .await?
        .into_iter()
        .collect();

    // Every user in one department; every 25th a manager; every 40th in leadership; the last
    // 300 are new starters. Membership of 3 segments is left empty-ish on purpose: none.
    let mut pairs = Vec::new();
    for (i, (username, ..)) in users.iter().enumerate() {
        let uid = user_ids[username];
        pairs.push((segment_ids[SEGMENTS[i % DEPARTMENTS].0], uid));
        if i % 25 == 0 {
            pairs.push((segment_ids["managers"], uid));
        }
        if i % 40 == 7 {
            pairs.push((segment_ids["leaders-2026"], uid));
        }
        if i >= DEMO_USERS - 300 {
            pairs.push((segment_ids["new-starters"], uid));
        }
    }
    // Through the segments' own add, so SPEC 5's sync follows; an automated segment (SPEC 8)
    // is left to its rules.
    let automated: std::collections::HashSet<i32> = crate::automation::service::automated(db)
        .await?
        .into_iter()
        .map(|(id, ..)| id)
        .collect();
    let mut by_segment: HashMap<i32, Vec<i32>> = HashMap::new();
    for (s, u) in pairs {
        if !automated.contains(&s) {
            by_segment.entry(s).or_default().push(u);
        }
    }
    let mut by_segment: Vec<_> = by_segment.into_iter().collect();
    by_segment.sort_unstable();
    for (s, users) in by_segment {
        report.memberships +=
            crate::segments::service::Mutation::add_members(db, s, &users).await?;
    }

    report.courses =
        course::Entity::insert_many(COURSES.iter().map(|(short, full, _)| course::ActiveModel {
            shortname: Set(short.to_string()),
            fullname: Set(full.to_string()),
            created_at: Set(now),
            ..Default::default()
        }))
        .on_conflict(
            OnConflict::column(course::Column::Shortname)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let course_ids: HashMap<String, i32> = course::Entity::find()
        .select_only()
        .columns([course::Column::Shortname, course::Column::Id])
        .into_tuple::<(String, i32)>()
        .all(db)
        .await?
        .into_iter()
        .collect();

    for (short, _, groups) in COURSES {
        let course_id = course_ids[*short];
        report.groups +=
            course_group::Entity::insert_many(groups.iter().map(|g| course_group::ActiveModel {
                course_id: Set(course_id),
                name: Set(g.to_string()),
                id_number: Set(None),
                created_at: Set(now),
                ..Default::default()
            }))
            .on_conflict(
                OnConflict::columns([course_group::Column::CourseId, course_group::Column::Name])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;

        // Each course has its manual enrolment method, as every LMS course does.
        let manual = match enrol_instance::Entity::find()
            .filter(enrol_instance::Column::CourseId.eq(course_id))
            .filter(enrol_instance::Column::Kind.eq(EnrolMethodKind::Manual))
            .one(db)
            .await?
        {
            Some(m) => m.id,
            None => {
                enrol_instance::Entity::insert(enrol_instance::ActiveModel {
                    course_id: Set(course_id),
                    kind: Set(EnrolMethodKind::Manual),
                    segment_id: Set(None),
                    group_id: Set(None),
                    removal_action: Set(None),
                    created_at: Set(now),
                    ..Default::default()
                })
                .exec(db)
                .await?
                .last_insert_id
            }
        };
        // A few hundred manual enrolments per course, so participants lists look lived in.
        let enrolled = users
            .iter()
            .enumerate()
            .filter(|(i, _)| (i + short.len()) % 17 == 0)
            .map(|(_, u)| user_ids[&u.0]);
        let enrolled: Vec<i32> = enrolled.collect();
        let rows: Vec<_> = enrolled
            .iter()
            .map(|&uid| enrolment::ActiveModel {
                instance_id: Set(manual),
                course_id: Set(course_id),
                user_id: Set(uid),
                status: Set(EnrolmentStatus::Active),
                created_at: Set(now),
                ..Default::default()
            })
            .collect();
        let added = enrolment::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([enrolment::Column::InstanceId, enrolment::Column::UserId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        report.enrolments += added;
        if added > 0 {
            crate::sync::courses_changed_by(db, &[course_id], enrolled, crate::sync::Moved::In)
                .await?;
        }
    }
    // New users may match an automated segment's rules (a second run makes none).
    if report.users > 0 {
        let ids: Vec<i32> = user_ids.into_values().collect();
        crate::automation::service::users_changed(db, &ids).await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Username;

    #[test]
    fn demo_usernames_are_valid_and_distinct() {
        let names: std::collections::HashSet<_> = (0..DEMO_USERS).map(|i| demo_user(i).0).collect();
        assert_eq!(names.len(), DEMO_USERS);
        for n in &names {
            assert_eq!(Username::parse(n).unwrap().as_str(), n);
        }
    }
}
