//! Rules of SPEC 2 and 3, one test each, plus property tests that no input panics.
use super::validate::KnownUsers;
use super::*;

fn p(data: &str) -> Parsed {
    parse(data.as_bytes(), DelimiterChoice::Auto, EncodingChoice::Auto).unwrap()
}

fn err(data: &[u8]) -> FileError {
    parse(data, DelimiterChoice::Auto, EncodingChoice::Auto).unwrap_err()
}

fn lines(parsed: &Parsed) -> Vec<u32> {
    parsed.rows.iter().map(|r| r.line).collect()
}

fn usernames(parsed: &Parsed) -> Vec<&str> {
    parsed.rows.iter().map(|r| parsed.username(r)).collect()
}

/// alice (id 1, in "s1"), bob (id 2, no details), segments s1=10, s2=20, "007"=30, "Sales"=40.
fn known(parsed: &Parsed) -> Knowledge {
    let users = KnownUsers::by_name(parsed, |name| match name {
        "alice" => Some(KnownUser {
            id: 1,
            firstname: "Alice".into(),
            lastname: "Smith".into(),
            email: "alice@example.com".into(),
        }),
        "bob" => Some(KnownUser {
            id: 2,
            firstname: String::new(),
            lastname: String::new(),
            email: String::new(),
        }),
        _ => None,
    });
    let segments = [("s1", 10), ("s2", 20), ("007", 30), ("Sales", 40)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let memberships = [(10, 1)].into_iter().collect();
    Knowledge {
        users,
        segments,
        memberships,
        automated: Default::default(),
        profile_fields: Vec::new(),
    }
}

fn codes(parsed: &Parsed, report: &Report, row: usize) -> Vec<&'static str> {
    let _ = parsed;
    report
        .row_outcomes(row)
        .iter()
        .map(|o| o.code.as_str())
        .collect()
}

fn run(data: &str, options: UploadOptions) -> (Parsed, Report) {
    let parsed = p(data);
    let report = validate(&parsed, &options, &known(&parsed));
    (parsed, report)
}

// ---- SPEC 2: format ----

#[test]
fn header_names_are_trimmed_and_case_insensitive_and_bom_is_dropped() {
    let parsed = p("\u{feff} UserName , COHORT1 ,Email\nalice,s1,a@b.co\n");
    assert_eq!(
        parsed.columns,
        vec![Column::Username, Column::Cohort(1), Column::Email]
    );
    assert_eq!(usernames(&parsed), vec!["alice"]);
}

#[test]
fn cohort_columns_allow_gaps_and_any_number() {
    let parsed = p("username,cohort3,cohort1,cohort12\nalice,a,b,c\n");
    assert_eq!(
        parsed.columns[1..],
        [Column::Cohort(3), Column::Cohort(1), Column::Cohort(12)]
    );
    assert_eq!(parsed.segment_ids, vec!["a", "b", "c"]);
}

#[test]
fn unknown_repeated_empty_and_missing_columns_are_file_errors() {
    assert_eq!(
        err(b"username,cohort1,department\n"),
        FileError::UnknownColumn {
            name: "department".into(),
            column: 3,
            allowed: "username, firstname, lastname, email, cohort1, cohort2, …, profile_field_<shortname>".into(),
        }
    );
    assert_eq!(
        err(b"username,Cohort1,cohort1\n"),
        FileError::RepeatedColumn {
            name: "cohort1".into(),
            first: 2,
            second: 3
        }
    );
    assert_eq!(
        err(b"username,cohort01,cohort1\n"),
        FileError::RepeatedColumn {
            name: "cohort1".into(),
            first: 2,
            second: 3
        }
    );
    for bad in ["cohort", "cohort0", "cohortx", "cohort-1", "cohort 1"] {
        let e = err(format!("username,{bad}\n").as_bytes());
        assert!(
            matches!(e, FileError::UnknownColumn { column: 2, .. }),
            "{bad}: {e:?}"
        );
    }
    assert_eq!(
        err(b"username,,cohort1\n"),
        FileError::EmptyColumnName { column: 2 }
    );
    assert_eq!(err(b"cohort1,email\nx,y\n"), FileError::NoUsernameColumn);
    // Unnamed trailing columns (spreadsheet padding) are not columns.
    assert_eq!(p("username,cohort1,,\nalice,s1,,\n").columns.len(), 2);
}

#[test]
fn empty_files_are_file_errors_but_a_header_alone_is_zero_rows() {
    assert_eq!(err(b""), FileError::Empty);
    assert_eq!(err(b" \r\n\n\t"), FileError::Empty);
    assert_eq!(err(b"\xEF\xBB\xBF"), FileError::Empty);
    assert_eq!(err(b",,,\n,,\n"), FileError::Empty);
    assert_eq!(p("username\n").rows.len(), 0);
}

#[test]
fn delimiter_is_detected_from_the_header_and_can_be_forced() {
    for (sep, byte) in [(",", b','), (";", b';'), ("\t", b'\t'), (":", b':')] {
        let data = format!("username{sep}cohort1{sep}cohort2\nalice{sep}s1{sep}s2\n");
        let parsed = p(&data);
        assert_eq!(parsed.delimiter, byte, "{sep:?}");
        assert_eq!(parsed.segment_ids, vec!["s1", "s2"]);
    }
    // A quoted delimiter on the header line does not count.
    assert_eq!(parse::detect_delimiter(b"\"user;name;x\",y\n"), b',');
    // A one-column file is comma-delimited.
    assert_eq!(p("username\nalice\n").delimiter, b',');
    let forced = parse(
        b"username;cohort1\nalice;s1\n",
        DelimiterChoice::Comma,
        EncodingChoice::Auto,
    );
    assert!(
        matches!(forced, Err(FileError::UnknownColumn { .. })),
        "forced comma reads one odd column"
    );
}

#[test]
fn windows_1252_is_detected_or_forced_and_utf16_is_refused() {
    // "Zoë" and "Müller" in Windows-1252, as Excel on Windows saves them.
    let bytes = b"username;firstname;lastname;email\r\nzoe;Zo\xEB;M\xFCller;z@example.com\r\n";
    let auto = parse(bytes, DelimiterChoice::Auto, EncodingChoice::Auto).unwrap();
    assert_eq!(auto.encoding, parse::TextEncoding::Windows1252);
    let row = &auto.rows[0];
    assert_eq!(
        (auto.firstname(row), auto.lastname(row)),
        (Some("Zoë"), Some("Müller"))
    );
    assert_eq!(
        parse(bytes, DelimiterChoice::Auto, EncodingChoice::Utf8).unwrap_err(),
        FileError::NotUtf8 { line: 2 }
    );
    // Valid UTF-8 read as Windows-1252 on request gives mojibake, not an error.
    let utf8 = "username,firstname\nzoe,Zoë\n".as_bytes();
    let forced = parse(utf8, DelimiterChoice::Auto, EncodingChoice::Windows1252).unwrap();
    assert_eq!(forced.firstname(&forced.rows[0]), Some("ZoÃ«"));
    assert_eq!(err(b"\xFF\xFEu\0s\0e\0r\0"), FileError::Utf16);
}

#[test]
fn line_numbers_are_the_files_own_for_every_line_ending() {
    for eol in ["\n", "\r\n", "\r"] {
        let data = ["username", "", "alice", "  ", "bob", ",,", "", "carol", ""].join(eol);
        let parsed = p(&data);
        assert_eq!(usernames(&parsed), vec!["alice", "bob", "carol"], "{eol:?}");
        assert_eq!(lines(&parsed), vec![3, 5, 8], "{eol:?}");
    }
    // Mixed endings, and a file with no final newline.
    let parsed = p("username\r\nalice\rbob\ncarol");
    assert_eq!(lines(&parsed), vec![2, 3, 4]);
}

#[test]
fn quoted_cells_follow_rfc_4180_and_keep_line_numbers_right() {
    let parsed = p("username,firstname\n\"alice\",\"Al, \"\"the\"\"\nGreat\"\nbob,Bob\n");
    assert_eq!(
        parsed.firstname(&parsed.rows[0]),
        Some("Al, \"the\"\nGreat")
    );
    assert_eq!(lines(&parsed), vec![2, 4]);
}

#[test]
fn an_unterminated_quote_is_a_file_error_with_its_line() {
    assert_eq!(
        err(b"username,cohort1\nalice,s1\nbob,\"s2\ncarol,s3\n"),
        FileError::UnterminatedQuote { line: 3 }
    );
    assert_eq!(
        err(b"username,cohort1\nal\"ice,s1\nbob,s2\n"),
        FileError::MalformedQuoting { line: 2 }
    );
}

#[test]
fn cells_are_trimmed_short_rows_are_padded_long_rows_flagged() {
    let parsed =
        p("username,cohort1,cohort2\n  Alice  , s1 \nbob,s1,s2,extra,more\ncarol,s1,s2,,\n");
    assert_eq!(usernames(&parsed), vec!["alice", "bob", "carol"]);
    assert_eq!(parsed.segment_ids, vec!["s1", "s2"]);
    assert_eq!(
        parsed
            .rows
            .iter()
            .map(|r| r.extra_cells)
            .collect::<Vec<_>>(),
        vec![0, 2, 0]
    );
}

#[test]
fn files_over_the_limit_are_refused_before_reading() {
    let big = vec![b'a'; MAX_FILE_BYTES + 1];
    assert!(matches!(err(&big), FileError::TooLarge { .. }));
}

// ---- SPEC 3: validation ----

#[test]
fn every_row_error_code() {
    let data = "username,cohort1,cohort2,firstname,lastname,email\n\
                ,s1,,,,\n\
                bad user!,s1,,,,\n\
                ghost,s1,,,,\n\
                alice,nope,s2,,,\n\
                alice,s2,,,,not-an-email\n\
                alice,s2,,,,,surplus\n";
    let (parsed, report) = run(data, UploadOptions::default());
    assert_eq!(codes(&parsed, &report, 0), vec!["missing_username"]);
    assert_eq!(codes(&parsed, &report, 1), vec!["invalid_username"]);
    assert_eq!(codes(&parsed, &report, 2), vec!["unknown_user"]);
    assert_eq!(codes(&parsed, &report, 3), vec!["unknown_segment"]);
    assert_eq!(codes(&parsed, &report, 4), vec!["invalid_email"]);
    assert_eq!(codes(&parsed, &report, 5), vec!["too_many_fields"]);
    assert_eq!(report.summary.rows_with_errors, 6);
    assert_eq!(
        report.summary.memberships_added, 0,
        "no row with an error is applied, even in part"
    );
    let unknown = describe(&parsed, &parsed.rows[3], &report.row_outcomes(3)[0]);
    assert_eq!(
        (unknown.column.as_deref(), unknown.value.as_deref()),
        (Some("cohort1"), Some("nope"))
    );
    assert_eq!(unknown.level, "error");

    let add_new = UploadOptions {
        upload_type: UploadType::AddNew,
        ..Default::default()
    };
    let (parsed, report) = run(
        "username,firstname,email\nalice,A,a@b.co\nnewbie,,n@b.co\n",
        add_new,
    );
    assert_eq!(codes(&parsed, &report, 0), vec!["user_exists"]);
    assert_eq!(
        codes(&parsed, &report, 1),
        vec!["missing_field", "missing_field"]
    );
    let fields: Vec<_> = report
        .row_outcomes(1)
        .iter()
        .map(|o| describe(&parsed, &parsed.rows[1], o).message)
        .collect();
    assert!(
        fields[0].contains("firstname") && fields[1].contains("lastname"),
        "{fields:?}"
    );
}

#[test]
fn info_outcomes_and_counts() {
    let data = "username,cohort1,cohort2\nalice,s1,s2\nALICE,s2,s2\nbob,s1,\n";
    let (parsed, report) = run(data, UploadOptions::default());
    assert_eq!(codes(&parsed, &report, 0), vec!["already_member"]);
    assert_eq!(
        codes(&parsed, &report, 1),
        vec!["duplicate_pair", "duplicate_pair"]
    );
    assert!(codes(&parsed, &report, 2).is_empty());
    let s = report.summary;
    assert_eq!((s.rows, s.rows_ok, s.rows_with_errors), (3, 3, 0));
    assert_eq!(
        (s.memberships_added, s.already_members, s.duplicate_pairs),
        (2, 1, 2)
    );
    assert_eq!(
        report.additions,
        vec![
            (20, validate::UserRef::Existing(1)),
            (10, validate::UserRef::Existing(2))
        ]
    );
    let s1 = &report.segments[0];
    assert_eq!(
        (s1.id_number.as_str(), s1.to_add, s1.already_members),
        ("s1", 1, 1)
    );
}

#[test]
fn a_pair_on_an_error_row_does_not_make_a_later_one_a_duplicate() {
    let (parsed, report) = run(
        "username,cohort1,cohort2\nbob,s1,nope\nbob,s1,\n",
        UploadOptions::default(),
    );
    assert_eq!(codes(&parsed, &report, 0), vec!["unknown_segment"]);
    assert!(codes(&parsed, &report, 1).is_empty());
    assert_eq!(report.summary.memberships_added, 1);
}

#[test]
fn duplicates_are_found_the_same_with_sparse_user_ids() {
    // A huge id forces the hash-set path instead of per-segment bitsets.
    let data = "username,cohort1,cohort2\nalice,s1,s2\nbob,s1,s1\nALICE,s2,\nbob,s1,\n";
    let dense = run(data, UploadOptions::default()).1;
    let parsed = p(data);
    let mut sparse_known = known(&parsed);
    let bob = parsed.usernames().position(|n| n == "bob").unwrap();
    sparse_known.users.ids[bob] = 2_000_000_000;
    let sparse = validate(&parsed, &UploadOptions::default(), &sparse_known);
    for report in [&dense, &sparse] {
        assert_eq!(report.summary.duplicate_pairs, 3);
        assert_eq!(
            report.summary.memberships_added, 2,
            "alice-s2, bob-s1 (alice-s1 exists)"
        );
    }
}

#[test]
fn segment_id_numbers_match_exactly() {
    let (parsed, report) = run(
        "username,cohort1,cohort2,cohort3\nbob,007,sales,7\n",
        UploadOptions::default(),
    );
    let got: Vec<_> = report
        .row_outcomes(0)
        .iter()
        .map(|o| describe(&parsed, &parsed.rows[0], o).value.unwrap())
        .collect();
    assert_eq!(
        got,
        vec!["sales", "7"],
        "only \"007\" is a segment; case and zeros matter"
    );
    let (_, ok) = run("username,cohort1\nbob, Sales \n", UploadOptions::default());
    assert_eq!(
        ok.summary.memberships_added, 1,
        "surrounding spaces are trimmed"
    );
}

#[test]
fn existing_details_modes() {
    let data =
        "username,firstname,lastname,email\nalice,Alicia,,alice@new.example\nbob,Bob,Builder,\n";
    let run_with = |d| {
        run(
            data,
            UploadOptions {
                existing_details: d,
                ..Default::default()
            },
        )
        .1
    };

    assert_eq!(
        run_with(ExistingDetails::NoChanges).summary.users_updated,
        0
    );

    let over = run_with(ExistingDetails::Override);
    assert_eq!(over.summary.users_updated, 2);
    let alice = &over.updates[0].after;
    // Empty cells never erase: alice keeps her last name.
    assert_eq!(
        (
            alice.firstname.as_str(),
            alice.lastname.as_str(),
            alice.email.as_str()
        ),
        ("Alicia", "Smith", "alice@new.example")
    );

    let fill = run_with(ExistingDetails::FillMissing);
    assert_eq!(
        fill.summary.users_updated, 1,
        "alice has every field already"
    );
    assert_eq!(fill.updates[0].after.lastname, "Builder");

    // Values equal to the stored ones are not an update.
    let same = run(
        "username,firstname\nalice,Alice\n",
        UploadOptions {
            existing_details: ExistingDetails::Override,
            ..Default::default()
        },
    )
    .1;
    assert_eq!(same.summary.users_updated, 0);
}

/// Issue 9: one rule for whose details win when a user is on several rows, for new and
/// existing users alike: the first valid row that gives a field.
#[test]
fn the_first_valid_row_decides_an_existing_users_details() {
    let data = "username,firstname,lastname,email,cohort1\n\
                alice,First,,,nosuch\n\
                alice,Second,,second@example.com,s1\n\
                alice,Third,Last,third@example.com,s2\n";
    let (_, over) = run(
        data,
        UploadOptions {
            existing_details: ExistingDetails::Override,
            ..Default::default()
        },
    );
    assert_eq!(over.summary.users_updated, 1);
    let after = &over.updates[0].after;
    // Row 1 has an error (unknown segment), so row 2 decides firstname and email; the lastname
    // comes from row 3, the first row that gives one.
    assert_eq!(
        (
            after.firstname.as_str(),
            after.lastname.as_str(),
            after.email.as_str()
        ),
        ("Second", "Last", "second@example.com")
    );
}

#[test]
fn add_and_update_creates_new_users_once() {
    let options = UploadOptions {
        upload_type: UploadType::AddAndUpdate,
        ..Default::default()
    };
    let data = "username,firstname,lastname,email,cohort1\nnew.one,N,One,n@example.com,s1\nNEW.ONE,,,,s2\nalice,,,,s2\n";
    let (_, report) = run(data, options);
    assert_eq!(report.summary.users_created, 1);
    assert_eq!(report.new_users[0].username, "new.one");
    assert_eq!(report.summary.memberships_added, 3);
    assert_eq!(
        report.summary.rows_with_errors, 0,
        "the second row names a user the file creates"
    );
}

/// `validate` run as the page runs it, `rows` rows a step.
fn in_steps(parsed: &Parsed, options: &UploadOptions, rows: usize) -> Report {
    let known = known(parsed);
    let mut validation = Validation::new(parsed, options, &known);
    let mut steps = 0;
    while validation.step(rows) {
        steps += 1;
    }
    assert_eq!(steps, parsed.rows.len().saturating_sub(1) / rows);
    validation.finish()
}

#[test]
fn validation_in_steps_gives_the_whole_files_report() {
    // New users named twice, stored details updated from several rows, a pair repeated and one
    // already stored, and errors: every kind of state a row leaves for the rows after it.
    let data = "username,firstname,lastname,email,cohort1,cohort2\n\
                alice,Al,,,s1,s2\n\
                new.one,N,One,n@example.com,s1,\n\
                bob,,B,,s2,nope\n\
                NEW.ONE,,,,s2,s1\n\
                alice,,Smith2,a2@example.com,s2,\n\
                bad name!,,,,s1,\n\
                bob,Bobby,,,s2,s1\n";
    let parsed = parse(data.as_bytes(), DelimiterChoice::Auto, EncodingChoice::Auto).unwrap();
    for options in [
        UploadOptions::default(),
        UploadOptions {
            upload_type: UploadType::AddAndUpdate,
            existing_details: ExistingDetails::Override,
            ..Default::default()
        },
    ] {
        let whole = validate(&parsed, &options, &known(&parsed));
        assert_eq!(whole.summary.rows, 7);
        assert!(whole.summary.duplicate_pairs > 0 && whole.summary.already_members > 0);
        for rows in 1..=8 {
            assert_eq!(
                in_steps(&parsed, &options, rows),
                whole,
                "{rows} rows a step"
            );
        }
    }
}

// ---- a head parsed before the rest of the file is read ----

/// What the upload page's preview gives for `bytes` when their first `cut` bytes come before
/// the rest: the head parsed in steps of `step` rows (when it can be read ahead), then the whole
/// file resumed, or parsed afresh when the head is not read ahead, errs, or cannot resume. The
/// flag says whether the head's parse was kept.
fn parse_ahead(
    bytes: &[u8],
    cut: usize,
    delimiter: DelimiterChoice,
    encoding: EncodingChoice,
    step: usize,
) -> (Result<Parsed, FileError>, bool) {
    let afresh = || (parse(bytes, delimiter, encoding), false);
    let Some(head) = parse::FileText::head(&bytes[..cut], bytes.len(), encoding) else {
        return afresh();
    };
    let mut parsing = parse::Parsing::new(&head, delimiter);
    loop {
        match parsing.step(step) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => return afresh(),
        }
    }
    let whole = match parse::FileText::new(bytes, encoding) {
        Ok(w) => w,
        Err(e) => return (Err(e), false),
    };
    if !parsing.resume(&whole) {
        return afresh();
    }
    (parsing.finish(), true)
}

#[test]
fn a_head_parsed_ahead_and_resumed_reads_as_the_whole_file() {
    let file = "\u{feff}Username;Cohort1;cohort2\r\n\
                alice;s1;s2\r\n\r\n\
                BOB;s2\r\
                bad name!;s1\n\
                ;s9\r\n\
                alice;s1;s3;extra\n\
                carol;Sales\r\n";
    let bytes = file.as_bytes();
    let want = parse(bytes, DelimiterChoice::Auto, EncodingChoice::Auto).unwrap();
    let header_end = file.find('\r').unwrap() + 1;
    for cut in 0..=bytes.len() {
        for step in [1, 2, 100] {
            let (got, kept) = parse_ahead(
                bytes,
                cut,
                DelimiterChoice::Auto,
                EncodingChoice::Auto,
                step,
            );
            assert_eq!(got.as_ref(), Ok(&want), "cut at {cut}, {step} rows a step");
            // Every head holding the header line is kept (the bytes before the BOM's end are
            // not text, and a head of the BOM alone has no line ending).
            assert_eq!(kept, cut >= header_end, "cut at {cut}");
        }
    }
}

#[test]
fn a_head_is_not_read_ahead_when_the_rest_could_change_it() {
    let head = b"username,cohort1\nalice,s1\n";
    let ahead = |bytes: &[u8], encoding| parse::FileText::head(bytes, 1 << 20, encoding).is_some();
    assert!(ahead(head, EncodingChoice::Auto));
    assert!(ahead(head, EncodingChoice::Utf8));
    // Windows-1252 decodes the whole file; a quote, NUL or a UTF-8 error may yet change it.
    assert!(!ahead(head, EncodingChoice::Windows1252));
    assert!(!ahead(
        b"username,cohort1\n\"alice\",s1\n",
        EncodingChoice::Auto
    ));
    assert!(!ahead(
        b"username,cohort1\nal\0ice,s1\n",
        EncodingChoice::Auto
    ));
    assert!(!ahead(
        b"username,cohort1\nal\xE9,s1\n",
        EncodingChoice::Auto
    ));
    assert!(!ahead(b"username,cohort1", EncodingChoice::Auto));
    // The rest decides: quotes in it, another encoding, a NUL byte.
    for rest in [&b"\"bob\",s2\n"[..], b"b\xE9b,s2\n", b"bob,s2\0\n"] {
        let bytes = [&head[..], rest].concat();
        for encoding in [EncodingChoice::Auto, EncodingChoice::Utf8] {
            let (got, kept) = parse_ahead(&bytes, head.len(), DelimiterChoice::Auto, encoding, 1);
            assert!(!kept, "{:?}", String::from_utf8_lossy(rest));
            assert_eq!(got, parse(&bytes, DelimiterChoice::Auto, encoding));
        }
    }
}

// ---- robustness ----

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn check(bytes: &[u8]) {
        for d in DelimiterChoice::all() {
            for e in EncodingChoice::all() {
                if let Ok(parsed) = parse(bytes, *d, *e) {
                    let report = validate(&parsed, &UploadOptions::default(), &known(&parsed));
                    assert_eq!(in_steps(&parsed, &UploadOptions::default(), 3), report);
                    let s = report.summary;
                    assert_eq!(s.rows_ok + s.rows_with_errors, s.rows);
                    assert!(
                        parsed.rows.windows(2).all(|w| w[0].line < w[1].line),
                        "lines increase"
                    );
                    for (i, row) in parsed.rows.iter().enumerate() {
                        for o in report.row_outcomes(i) {
                            let _ = describe(&parsed, row, o);
                        }
                    }
                }
            }
        }
    }

    /// The records and cells `read_records` gives (from `csv_core`, or split in place in a file
    /// without quotes), as the `csv` crate's own reader gives them (blank records aside).
    fn same_records_as_the_csv_crate(text: &str) {
        struct Cells(Vec<Vec<String>>);
        impl parse::RecordSink for Cells {
            fn header(&mut self, names: &[&str]) -> Result<(), FileError> {
                self.0.push(names.iter().map(|n| n.to_string()).collect());
                Ok(())
            }
            fn row(&mut self, record: &parse::Record<'_>, _line: u32) {
                let cells = record
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned());
                self.0.push(cells.collect());
            }
        }
        let mut ours = Cells(Vec::new());
        let read = parse::read_records(
            text.as_bytes(),
            DelimiterChoice::Comma,
            EncodingChoice::Utf8,
            &mut ours,
        );
        if read.is_err() {
            // Only quoting can refuse this file as a whole (its header is fixed and valid).
            assert!(text.contains('"'), "refused without a quote: {read:?}");
            return;
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let theirs: Vec<Vec<String>> = reader
            .byte_records()
            .map(|r| r.unwrap())
            .filter(|r| {
                r.iter()
                    .any(|f| !String::from_utf8_lossy(f).trim().is_empty())
            })
            .map(|r| {
                r.iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect()
            })
            .collect();
        // The header arrives trimmed, without its trailing unnamed columns.
        let (Some(our_header), Some(their_header)) = (ours.0.first(), theirs.first()) else {
            panic!("a file that reads has a header");
        };
        let named: Vec<String> = their_header.iter().map(|c| c.trim().to_string()).collect();
        assert!(named.starts_with(our_header));
        assert_eq!(ours.0[1..], theirs[1..]);
    }

    /// Each record's line and cells, as the reader of files without quotes gives them and as
    /// `csv_core` does, under `delimiter`; a header without "username" is refused.
    fn same_lines_and_cells_as_csv_core(text: &str, delimiter: DelimiterChoice) {
        #[derive(Default)]
        struct Lines(Vec<(u32, Vec<Vec<u8>>)>);
        impl parse::RecordSink for Lines {
            fn header(&mut self, names: &[&str]) -> Result<(), FileError> {
                if !names.contains(&"username") {
                    return Err(FileError::NoUsernameColumn);
                }
                let cells = names.iter().map(|n| n.as_bytes().to_vec());
                self.0.push((0, cells.collect()));
                Ok(())
            }
            fn row(&mut self, record: &parse::Record<'_>, line: u32) {
                self.0
                    .push((line, record.iter().map(<[u8]>::to_vec).collect()));
            }
        }
        let file = parse::FileText::new(text.as_bytes(), EncodingChoice::Utf8);
        let Ok(file) = file else {
            return; // empty or blank: refused before any record is read
        };
        let plain = parse::Records::new(&file, delimiter, Lines::default()).finish();
        let core = parse::Records::new(&file, delimiter, Lines::default())
            .by_csv_core()
            .finish();
        match (plain, core) {
            (Ok((a, sa)), Ok((b, sb))) => {
                assert_eq!(a.0, b.0);
                assert_eq!(sa, sb);
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            (a, b) => panic!("{:?} against {:?}", a.map(|x| x.0 .0), b.map(|x| x.0 .0)),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

        #[test]
        fn files_without_quotes_read_as_csv_core_reads_them(
            header in prop_oneof![
                Just(""), Just("username,cohort1\n"), Just("username;cohort1\r\n"),
                Just("username:cohort1\r"), Just("firstname\tusername\n"),
                // Decoding drops one byte-order mark; `csv_core` drops a second at the start.
                Just("\u{feff}\u{feff}"), Just("\u{feff}\u{feff}username,cohort1\n"),
            ],
            body in proptest::collection::vec(
                prop_oneof![
                    Just(","), Just(";"), Just("\t"), Just(":"), Just("\n"), Just("\r"),
                    Just("\r\n"), Just(" "), Just("\u{0B}"), Just("é"), Just("a"), Just("bc"),
                    Just("username"), Just("\u{feff}"),
                    // Past the reader's first 64 field ends.
                    Just(",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,"),
                ],
                0..60,
            ),
            delimiter in proptest::sample::select(DelimiterChoice::all().to_vec()),
        ) {
            let text = format!("{header}{}", body.concat());
            same_lines_and_cells_as_csv_core(&text, delimiter);
            same_records_as_the_csv_crate(&format!("username,cohort1\n{}", body.concat()));
        }

        #[test]
        fn records_are_split_as_the_csv_crate_splits_them(
            body in proptest::collection::vec(
                prop_oneof![
                    Just(",".to_string()), Just("\"".to_string()), Just("\"\"".to_string()),
                    Just("\n".to_string()), Just("\r".to_string()), Just("\r\n".to_string()),
                    Just(" ".to_string()), Just("é".to_string()), "[a-z0-9]{0,6}",
                    // Past the reader's first buffers: 1,024 bytes of cells, 64 fields.
                    "[a-z]{400,700}", Just(",".repeat(40)),
                ],
                0..60,
            )
        ) {
            same_records_as_the_csv_crate(&format!("username,cohort1\n{}", body.concat()));
        }

        /// Cells are trimmed in bytes where that is safe: the result must be `str::trim`'s.
        #[test]
        fn cells_are_trimmed_as_str_trim_trims(
            cell in proptest::collection::vec(
                prop_oneof![
                    Just(" "), Just("\t"), Just("\u{0B}"), Just("\u{0C}"), Just("\u{A0}"),
                    Just("\u{3000}"), Just("\u{2028}"), Just("\u{85}"), Just("é"), Just("x"), Just("1"),
                ],
                0..8,
            )
        ) {
            let cell = cell.concat();
            let parsed = p(&format!("username,firstname,cohort1\nalice,{cell},{cell}\n"));
            let want = cell.trim();
            let row = &parsed.rows[0];
            prop_assert_eq!(parsed.firstname(row), (!want.is_empty()).then_some(want));
            let segments: Vec<&str> = parsed
                .segment_cells(row)
                .iter()
                .map(|c| parsed.segment_ids[c.segment as usize].as_str())
                .collect();
            prop_assert_eq!(segments, if want.is_empty() { vec![] } else { vec![want] });
        }

        /// However a file is cut into a head and its rest, parsing the head ahead and
        /// resuming gives what parsing the whole file gives.
        #[test]
        fn a_head_resumed_reads_as_the_whole_file(
            body in proptest::collection::vec(
                prop_oneof![
                    Just(","), Just(";"), Just("\t"), Just("\n"), Just("\r"), Just("\r\n"),
                    Just(" "), Just("é"), Just("Alice"), Just("bob"), Just("s1"), Just("x y"),
                    Just("\u{feff}"), Just("\u{0B}"),
                ],
                0..80,
            ),
            // Anywhere in the file, or not at all: what makes the rest read differently.
            spoiler in prop_oneof![Just(""), Just(""), Just("\""), Just("\0"), Just("\u{E9}")],
            at in any::<prop::sample::Index>(),
            header in prop_oneof![
                Just("username,cohort1,cohort2\n"), Just("username;cohort1\r\n"),
                Just("\u{feff}username,firstname,email\r"), Just(""),
            ],
            cut in 0usize..200,
            step in 1usize..4,
            delimiter in proptest::sample::select(DelimiterChoice::all().to_vec()),
        ) {
            let mut bytes = format!("{header}{}", body.concat()).into_bytes();
            // (é alone, as one byte, is not UTF-8: the automatic choice reads Windows-1252.)
            let spoiler = match spoiler { "\u{E9}" => vec![0xE9], s => s.as_bytes().to_vec() };
            let at = at.index(bytes.len() + 1);
            bytes.splice(at..at, spoiler);
            let cut = cut.min(bytes.len());
            for encoding in EncodingChoice::all() {
                let (got, _) = parse_ahead(&bytes, cut, delimiter, *encoding, step);
                prop_assert_eq!(got, parse(&bytes, delimiter, *encoding));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            check(&bytes);
        }

        #[test]
        fn csv_shaped_input_never_panics(
            body in proptest::collection::vec(
                prop_oneof![
                    Just("username".to_string()), Just("cohort1".to_string()), Just("email".to_string()),
                    Just(",".to_string()), Just(";".to_string()), Just("\t".to_string()), Just(":".to_string()),
                    Just("\"".to_string()), Just("\"\"".to_string()), Just("\n".to_string()), Just("\r".to_string()),
                    Just("\r\n".to_string()), Just(" ".to_string()), Just("alice".to_string()), Just("s1".to_string()),
                    Just("é".to_string()), Just("\u{0}".to_string()), Just("\u{feff}".to_string()), "[a-zA-Z0-9@._-]{0,8}",
                ],
                0..60,
            )
        ) {
            let header = "username,cohort1,cohort2,firstname,lastname,email\n";
            check(format!("{header}{}", body.concat()).as_bytes());
            check(body.concat().as_bytes());
        }
    }
}

#[test]
fn effect_batches_keep_each_users_memberships_together_and_only_followed_segments() {
    let options = UploadOptions {
        upload_type: UploadType::AddAndUpdate,
        ..Default::default()
    };
    // bob gains s1 and s2, carol (new) gains s1 and s2, alice gains s2 (s1 she has); "007" is
    // not followed by any method.
    let (_, report) = run(
        "username,firstname,lastname,email,cohort1,cohort2,cohort3\n\
         bob,,,,s1,s2,007\ncarol,Carol,King,c@example.com,s1,s2,007\nalice,,,,s1,s2,007\n",
        options,
    );
    let batches = super::report::effect_batches(&report, &[10, 20], 2);
    let existing: Vec<_> = batches.iter().flat_map(|b| b.0.clone()).collect();
    let new: Vec<_> = batches.iter().flat_map(|b| b.1.clone()).collect();
    assert_eq!(existing, vec![(20, 1), (10, 2), (20, 2)]);
    assert_eq!(
        new,
        vec![(10, "carol".to_string()), (20, "carol".to_string())]
    );
    // With room for 2 per batch, no user is split: alice, bob, carol each get their own.
    assert_eq!(batches.len(), 3);
    for (existing, new) in &batches {
        assert!(existing.len() + new.len() <= 2);
        let users: std::collections::HashSet<_> = existing.iter().map(|p| p.1).collect();
        assert!(users.len() <= 1 && (existing.is_empty() || new.is_empty()));
    }
    assert!(super::report::effect_batches(&report, &[], 2).is_empty());
}

#[test]
fn profile_field_columns_are_read_and_their_values_checked_per_field() {
    use crate::automation::{FieldKind, ProfileField};
    let parsed = parse(
        b"username,Profile_Field_dept,cohort1,profile_field_start\nalice,sales,,2024-01-31\nbob,HR,,\ncy,,,2024-02-30\n",
        DelimiterChoice::Auto,
        EncodingChoice::Auto,
    )
    .unwrap();
    assert_eq!(parsed.profile_fields, vec!["dept", "start"]);
    assert_eq!(parsed.column_name(1), "profile_field_dept");
    assert!(matches!(
        parse(
            b"username,profile_field_a,PROFILE_FIELD_A\n",
            DelimiterChoice::Auto,
            EncodingChoice::Auto
        ),
        Err(FileError::RepeatedColumn {
            first: 2,
            second: 3,
            ..
        })
    ));
    assert_eq!(
        crate::upload::parse::unknown_profile_fields(&parsed, &["dept".into()]),
        Err(FileError::UnknownProfileField {
            name: "profile_field_start".into()
        })
    );
    let mut known = known(&parsed);
    known.profile_fields = vec![
        ProfileField {
            id: 7,
            shortname: "dept".into(),
            name: "Department".into(),
            kind: FieldKind::Menu,
            options: vec!["Sales".into(), "Ops".into()],
        },
        ProfileField {
            id: 8,
            shortname: "start".into(),
            name: "Start".into(),
            kind: FieldKind::Date,
            options: vec![],
        },
    ];
    let options = UploadOptions {
        upload_type: UploadType::AddAndUpdate,
        existing_details: ExistingDetails::Override,
        ..UploadOptions::default()
    };
    let report = validate(&parsed, &options, &known);
    let codes: Vec<Vec<&str>> = (0..3)
        .map(|i| {
            report
                .row_outcomes(i)
                .iter()
                .map(|o| o.code.as_str())
                .collect()
        })
        .collect();
    assert_eq!(
        codes[1],
        vec!["invalid_profile_value"],
        "HR is not an option"
    );
    assert!(
        codes[2].contains(&"invalid_profile_value"),
        "2024-02-30 is not a date"
    );
    let view = describe(&parsed, &parsed.rows[1], &report.row_outcomes(1)[0]);
    assert_eq!(view.column.as_deref(), Some("profile_field_dept"));
    assert_eq!(view.value.as_deref(), Some("HR"));
    // Only the good row writes, its menu value in the field's own spelling.
    let written: Vec<(i32, &str)> = report
        .profile_values
        .iter()
        .map(|w| (w.field_id, w.value.value.as_str()))
        .collect();
    assert_eq!(written, vec![(7, "Sales"), (8, "2024-01-31")]);
}

#[test]
fn rows_of_one_user_share_an_index_into_the_distinct_usernames() {
    let parsed =
        p("username,cohort1\nBob,s1\nalice,s1\nbad name,s1\n,s2\nbob,s2\nALICE,s2\ncarol,s1\n");
    assert_eq!(
        parsed.usernames().collect::<Vec<_>>(),
        ["bob", "alice", "carol"]
    );
    let indexes: Vec<Option<u32>> = parsed.rows.iter().map(|r| parsed.user_index(r)).collect();
    assert_eq!(
        indexes,
        [Some(0), Some(1), None, None, Some(0), Some(1), Some(2)]
    );
    // A repeated name reads the same normalised text as its first row.
    assert_eq!(
        usernames(&parsed),
        ["bob", "alice", "bad name", "", "bob", "alice", "carol"]
    );
}

#[test]
fn reservations_stay_bounded_for_blank_lines_under_a_wide_header() {
    // 5,000 cohort columns over 1.5 million blank lines: sized by line feeds times columns, the
    // parse would reserve 60 GB of segment cells for a 2 MB file and abort the server.
    let header: Vec<String> = std::iter::once("username".to_string())
        .chain((1..=5_000).map(|n| format!("cohort{n}")))
        .collect();
    let mut data = header.join(",");
    data.push_str(&"\n".repeat(1_500_000));
    data.push_str("alice,s1\n");
    let parsed = p(&data);
    assert_eq!(usernames(&parsed), vec!["alice"]);
    assert_eq!(parsed.rows[0].line, 1_500_001);
    assert!(parsed.rows.capacity() <= 1 << 20);
}

#[test]
fn a_commit_answers_outcomes_the_page_shows_as_the_preview_did() {
    // Every kind of outcome that carries a column, a segment or a count, and one for a column
    // the file lacks (missing_field for email); row 4 has none.
    let data = "username,firstname,lastname,cohort1,cohort2\n\
                alice,A,S,s1,nope\n\
                ,A,S,s2,,extra,more\n\
                carol,C,\n\
                alice,A,S,s1,s2\n\
                alice,A,S,s2,s2\n\
                bob,B,S,s2,\n";
    let options = UploadOptions {
        upload_type: UploadType::AddAndUpdate,
        ..Default::default()
    };
    let (parsed, report) = run(data, options);
    let packed = report::PackedOutcomes::pack(&report);
    let back = packed.unpack(parsed.rows.len(), report.summary);
    assert_eq!(back.outcomes, report.outcomes);
    assert_eq!(back.row_start, report.row_start);
    assert_eq!(back.error_rows, report.error_rows);
    let shown = |r: &Report| -> Vec<Vec<OutcomeView>> {
        (0..parsed.rows.len())
            .map(|i| {
                r.row_outcomes(i)
                    .iter()
                    .map(|o| describe(&parsed, &parsed.rows[i], o))
                    .collect()
            })
            .collect()
    };
    let views = shown(&back);
    assert_eq!(views, shown(&report));
    // (code, column, value) of each outcome of each row.
    type Brief = (String, Option<String>, Option<String>);
    let brief: Vec<Vec<Brief>> = views
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| (v.code.clone(), v.column.clone(), v.value.clone()))
                .collect()
        })
        .collect();
    let o = |code: &str, column: Option<&str>, value: Option<&str>| {
        (
            code.to_string(),
            column.map(String::from),
            value.map(String::from),
        )
    };
    assert_eq!(
        brief,
        vec![
            vec![o("unknown_segment", Some("cohort2"), Some("nope"))],
            vec![
                o("missing_username", Some("username"), None),
                o("too_many_fields", None, None),
            ],
            vec![
                o("missing_field", Some("lastname"), None),
                o("missing_field", None, None),
            ],
            vec![o("already_member", Some("cohort1"), Some("s1"))],
            vec![
                o("duplicate_pair", Some("cohort1"), Some("s2")),
                o("duplicate_pair", Some("cohort2"), Some("s2")),
            ],
            vec![],
        ]
    );
    let extra = &back.row_outcomes(1)[1];
    assert!(describe(&parsed, &parsed.rows[1], extra)
        .message
        .contains("has 2 more cell(s)"));
    let lacking = &back.row_outcomes(2)[1];
    assert!(describe(&parsed, &parsed.rows[2], lacking)
        .message
        .contains("a required is missing"));
}
