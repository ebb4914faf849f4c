//! Unit tests of the import engine's pure core: columns, row codes with the file's line numbers,
//! the plan each kind builds, and the report.
use super::types::{GroupFacts, SegmentFacts};
use super::*;
use crate::courses::EnrolmentStatus;
use crate::upload::FileError;

fn table(kind: ImportKind, text: &str) -> Table {
    parse_table(text.as_bytes(), &ImportOptions::new(kind)).expect("parses")
}

fn codes(report: &Report) -> Vec<(u32, Vec<&'static str>)> {
    report
        .rows
        .iter()
        .map(|r| (r.line, r.outcomes.iter().map(|o| o.code.as_str()).collect()))
        .collect()
}

fn world() -> Knowledge {
    let mut k = Knowledge::default();
    k.users.insert("ann".into(), 1);
    k.users.insert("bob".into(), 2);
    k.courses.insert("MATH".into(), 10);
    k.courses.insert("ART".into(), 20);
    k.segments.insert(
        "sales".into(),
        SegmentFacts {
            id: 5,
            name: "Sales".into(),
            description: "old".into(),
            visible: true,
        },
    );
    k.groups.push(GroupFacts {
        id: 100,
        course_id: 10,
        name: "A".into(),
        id_number: Some("m-a".into()),
        description: String::new(),
    });
    k.groups.push(GroupFacts {
        id: 101,
        course_id: 10,
        name: "B".into(),
        id_number: None,
        description: String::new(),
    });
    k.enrolled.insert((10, 1));
    k.members.insert((100, 1));
    k
}

#[test]
fn each_kind_refuses_unknown_repeated_and_missing_columns() {
    let err =
        |kind, text: &str| parse_table(text.as_bytes(), &ImportOptions::new(kind)).unwrap_err();
    assert!(matches!(
        err(ImportKind::Segments, "idnumber,name,cohort1\n"),
        FileError::UnknownColumn { column: 3, .. }
    ));
    assert_eq!(
        err(ImportKind::Segments, "idnumber,description\n"),
        FileError::MissingColumn {
            name: "name".into()
        }
    );
    assert!(matches!(
        err(ImportKind::Enrolments, "username,course1,Course1\n"),
        FileError::RepeatedColumn {
            first: 2,
            second: 3,
            ..
        }
    ));
    assert!(matches!(
        err(ImportKind::GroupMembers, "username,course,group0\n"),
        FileError::UnknownColumn { column: 3, .. }
    ));
    assert_eq!(
        err(ImportKind::Groups, "course,description\n"),
        FileError::MissingColumn {
            name: "groupname".into()
        }
    );
    // The shared file layer: quoting, delimiter detection and line numbers.
    let t = table(
        ImportKind::Segments,
        "idnumber;name\n\n\"a;1\";\"Line\nbreak\"\nb;B\n",
    );
    assert_eq!(t.delimiter, b';');
    assert_eq!(t.rows.len(), 2);
    assert_eq!(t.rows[0].cells, vec!["a;1", "Line\nbreak"]);
    assert_eq!(t.rows[1].line, 5);
}

#[test]
fn segments_rows_get_every_code_with_their_line() {
    let t = table(
        ImportKind::Segments,
        "idnumber,name,description,visible\n\
         new1,New one,,\n\
         ,No id,,\n\
         x,,,\n\
         sales,Sales,,\n\
         bad,Bad,,maybe\n\
         new1,Again,,\n\
         ctl,Has\u{7}bell,,\n",
    );
    let r = validate(&t, &ImportOptions::new(ImportKind::Segments), &world());
    assert_eq!(
        codes(&r),
        vec![
            (2, vec![]),
            (3, vec!["missing_idnumber"]),
            (4, vec!["missing_name"]),
            (5, vec!["segment_exists"]),
            (6, vec!["invalid_visible"]),
            (7, vec!["duplicate_idnumber"]),
            (8, vec!["invalid_field"]),
        ]
    );
    assert_eq!(r.summary.get("segments_created"), 1);
    assert_eq!(r.summary.rows_with_errors, 6);
    assert_eq!(r.plan.segments.len(), 1);
    assert!(r.plan.segments[0].visible, "visible defaults to 1");
}

#[test]
fn segments_update_mode_changes_only_what_differs() {
    let mut o = ImportOptions::new(ImportKind::Segments);
    o.mode = ImportMode::CreateAndUpdate;
    let t = table(
        ImportKind::Segments,
        "idnumber,name,visible\nsales,Sales,1\nsales2,Two,no\n",
    );
    let r = validate(&t, &o, &world());
    assert_eq!(codes(&r), vec![(2, vec!["unchanged"]), (3, vec![])]);
    let t = table(
        ImportKind::Segments,
        "idnumber,name,visible\nsales,Sales,0\n",
    );
    let r = validate(&t, &o, &world());
    assert_eq!(r.summary.get("segments_updated"), 1);
    let w = &r.plan.segments[0];
    assert_eq!((w.existing, w.visible), (Some(5), false));
    assert_eq!(
        w.description, "old",
        "an empty cell keeps the stored description"
    );
}

#[test]
fn groups_rows_check_courses_names_and_id_numbers() {
    let t = table(
        ImportKind::Groups,
        "course,groupname,groupidnumber\n\
         MATH,C,m-c\n\
         NOPE,D,\n\
         MATH,,\n\
         MATH,A,\n\
         MATH,E,m-a\n\
         MATH,C,\n\
         ART,F,m-c\n\
         ART,G,m-c\n",
    );
    let r = validate(&t, &ImportOptions::new(ImportKind::Groups), &world());
    assert_eq!(
        codes(&r),
        vec![
            (2, vec![]),
            (3, vec!["unknown_course"]),
            (4, vec!["missing_groupname"]),
            (5, vec!["group_exists"]),
            (6, vec!["groupidnumber_taken"]),
            (7, vec!["duplicate_group"]),
            (8, vec![]),
            (9, vec!["groupidnumber_taken"]),
        ]
    );
    assert_eq!(r.summary.get("groups_created"), 2);
    let mut o = ImportOptions::new(ImportKind::Groups);
    o.mode = ImportMode::CreateAndUpdate;
    let t = table(
        ImportKind::Groups,
        "course,groupname,groupidnumber\nMATH,A,m-a\nMATH,B,m-b\n",
    );
    let r = validate(&t, &o, &world());
    assert_eq!(codes(&r), vec![(2, vec!["unchanged"]), (3, vec![])]);
    assert_eq!(r.plan.groups[0].existing, Some(101));
    assert_eq!(r.plan.groups[0].id_number.as_deref(), Some("m-b"));
}

/// A row with more cells than its header is refused in the segment and group kinds too, not cut
/// short; and only a group that will be written holds its ID number against later lines.
#[test]
fn extra_cells_are_refused_and_refused_groups_hold_no_id_number() {
    let t = table(
        ImportKind::Segments,
        "idnumber,name,description
sales2,Sales,Sales, EU team
ok,OK,fine
",
    );
    let r = validate(&t, &ImportOptions::new(ImportKind::Segments), &world());
    assert_eq!(codes(&r), vec![(2, vec!["too_many_fields"]), (3, vec![])]);
    assert_eq!(r.plan.segments.len(), 1);
    assert_eq!(r.rows[0].outcomes[0].column, "idnumber");
    let t = table(
        ImportKind::Groups,
        "course,groupname,groupidnumber,description
         MATH,C,,Morning, late
         MATH,D,m-d,Has\u{7}bell
         MATH,E,m-d,
         MATH,A,m-x,
         MATH,F,m-x,
",
    );
    let r = validate(&t, &ImportOptions::new(ImportKind::Groups), &world());
    assert_eq!(
        codes(&r),
        vec![
            (2, vec!["too_many_fields"]),
            (3, vec!["invalid_field"]),
            (4, vec![]),
            (5, vec!["group_exists"]),
            (6, vec![]),
        ]
    );
    assert_eq!(r.summary.get("groups_created"), 2);
}

#[test]
fn group_members_rows_plan_memberships_and_enrolments() {
    let t = table(
        ImportKind::GroupMembers,
        "username,course,group1,group2\n\
         ann,MATH,A,B\n\
         ann,MATH,B,\n\
         bob,MATH,A,\n\
         zed,MATH,A,\n\
         ann,MATH,Z,\n\
         ann,NOPE,A,\n\
         ann,MATH,A,B,extra\n\
         ,MATH,A,\n\
         b@d!,MATH,A,\n",
    );
    let r = validate(&t, &ImportOptions::new(ImportKind::GroupMembers), &world());
    assert_eq!(
        codes(&r),
        vec![
            (2, vec!["already_in_group"]),
            (3, vec!["duplicate_pair"]),
            (4, vec!["not_enrolled"]),
            (5, vec!["unknown_user"]),
            (6, vec!["unknown_group"]),
            (7, vec!["unknown_course"]),
            (8, vec!["too_many_fields"]),
            (9, vec!["missing_username"]),
            (10, vec!["invalid_username"]),
        ]
    );
    assert_eq!(r.plan.members, vec![(101, 1)]);
    assert_eq!(r.summary.get("already_in_group"), 1);
    assert_eq!(r.summary.get("duplicate_pairs"), 1);
    let mut o = ImportOptions::new(ImportKind::GroupMembers);
    o.not_enrolled = NotEnrolled::Enrol;
    let r = validate(&t, &o, &world());
    assert_eq!(r.rows[2].outcomes, vec![]);
    assert_eq!(r.summary.get("enrolments_added"), 1);
    assert_eq!(r.plan.enrolments[0].user_id, 2);
    assert!(r.plan.members.contains(&(100, 2)));
}

#[test]
fn enrolments_rows_pair_courses_with_statuses() {
    let t = table(
        ImportKind::Enrolments,
        "username,course1,status1,course2,status2\n\
         ann,MATH,,ART,suspended\n\
         bob,MATH,active,MATH,\n\
         bob,NOPE,,,\n\
         bob,ART,gone,,\n\
         bob,,,,active\n",
    );
    let r = validate(&t, &ImportOptions::new(ImportKind::Enrolments), &world());
    assert_eq!(
        codes(&r),
        vec![
            (2, vec!["already_enrolled"]),
            (3, vec!["duplicate_pair"]),
            (4, vec!["unknown_course"]),
            (5, vec!["invalid_status"]),
            (6, vec!["invalid_status"]),
        ]
    );
    let added: Vec<_> = r
        .plan
        .enrolments
        .iter()
        .map(|e| (e.course_id, e.user_id, e.status))
        .collect();
    assert_eq!(
        added,
        vec![
            (20, 1, EnrolmentStatus::Suspended),
            (10, 2, EnrolmentStatus::Active)
        ]
    );
    assert_eq!(r.summary.get("enrolments_added"), 2);
    assert_eq!(r.summary.get("duplicate_pairs"), 1);
    let bars: Vec<_> = r
        .targets
        .iter()
        .map(|b| (b.label.as_str(), b.added))
        .collect();
    assert!(bars.contains(&("MATH", 1)) && bars.contains(&("ART", 1)));
}

#[test]
fn questions_ask_each_name_once_and_report_is_spreadsheet_safe() {
    let t = table(
        ImportKind::Enrolments,
        "username,course1,course2\nAnn,MATH,ART\nann,MATH,\n=cmd,ART,\n",
    );
    let q = questions(&t);
    assert_eq!(q.usernames, vec!["ann"]);
    assert_eq!(q.courses, vec!["MATH", "ART"]);
    let r = validate(&t, &ImportOptions::new(ImportKind::Enrolments), &world());
    let csv = report::report_csv(&r.rows);
    assert!(csv.contains("'=cmd"), "{csv}");
    assert!(csv.starts_with("line,key,result,code,level,column,value,message\n"));
}
