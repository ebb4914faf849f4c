//! A split parse (the page's part, the other thread's part merged) reads every file as the
//! sequential parse does.
use super::super::*;
use proptest::prelude::*;

/// Everything a parse shows its callers, row by row.
fn view(p: &Parsed) -> impl PartialEq + std::fmt::Debug + '_ {
    let rows: Vec<_> = p
        .rows
        .iter()
        .map(|r| {
            let profile: Vec<_> = p
                .profile_cells(r)
                .iter()
                .map(|c| (c.column, c.field, p.profile_value(c)))
                .collect();
            (
                (r.line, r.username_cell, p.username(r), p.user_index(r)),
                (p.firstname(r), p.lastname(r), p.email(r), r.extra_cells),
                (p.segment_cells(r).to_vec(), profile),
            )
        })
        .collect();
    let users: Vec<&str> = p.usernames().collect();
    (
        (p.delimiter, p.encoding, p.columns.clone()),
        (p.segment_ids.clone(), p.profile_fields.clone(), users),
        rows,
    )
}

/// Parses `text` split at `share` (the other part through `parse_part` and the bytes it
/// answers), stepping `step` rows at a time; whether it split, and the result.
fn split_parse(text: &str, share: f64, step: usize) -> (bool, Result<Parsed, FileError>) {
    let file = match FileText::new(text.as_bytes(), EncodingChoice::Auto) {
        Ok(f) => f,
        Err(e) => return (false, Err(e)),
    };
    let mut parsing = Parsing::new(&file, DelimiterChoice::Auto);
    let run = |parsing: &mut Parsing| -> Result<bool, FileError> {
        if !parsing.step(step)? {
            return Ok(false);
        }
        let Some(part) = parsing.split(share) else {
            return Ok(false);
        };
        let answer = parse_part(part.head, part.tail, part.delimiter);
        while parsing.step(step)? {}
        assert!(parsing.absorb(&answer), "the part merges");
        Ok(true)
    };
    match run(&mut parsing) {
        Ok(split) => (split, parsing.finish()),
        Err(e) => (false, Err(e)),
    }
}

fn sequential(text: &str) -> Result<Parsed, FileError> {
    parse(text.as_bytes(), DelimiterChoice::Auto, EncodingChoice::Auto)
}

fn same_as_sequential(text: &str, share: f64, step: usize) -> bool {
    let (split, merged) = split_parse(text, share, step);
    let whole = sequential(text);
    match (&merged, &whole) {
        (Ok(a), Ok(b)) => assert_eq!(view(a), view(b), "{text:?} split at {share}"),
        (a, b) => assert_eq!(a.as_ref().err(), b.as_ref().err()),
    }
    split
}

const FILE: &str = "username,cohort1,firstname,cohort2\n\
                    alice,s1,Alice,s2\n\
                    bob,s2,,\n\
                    \n\
                    carol,s3,Carol,s1\n\
                    alice,s4,,\n\
                    dave,s1,,s5\n\
                    bob,,Bob,s6\n";

#[test]
fn a_file_split_near_its_middle_reads_as_one() {
    for share in [0.3, 0.5, 0.7] {
        assert!(same_as_sequential(FILE, share, 1), "{share} splits");
    }
    let crlf = FILE.replace('\n', "\r\n");
    assert!(same_as_sequential(&crlf, 0.5, 1));
    assert!(same_as_sequential(&format!("\u{feff}\n\n{crlf}"), 0.6, 2));
}

#[test]
fn the_page_stops_at_the_split_and_the_part_holds_the_rest() {
    let file = FileText::new(FILE.as_bytes(), EncodingChoice::Auto).unwrap();
    let mut parsing = Parsing::new(&file, DelimiterChoice::Auto);
    assert!(parsing.step(1).unwrap());
    let part = parsing.split(0.5).unwrap();
    assert_eq!(part.head, b"username,cohort1,firstname,cohort2\n");
    assert!(FILE.ends_with(std::str::from_utf8(part.tail).unwrap()));
    let split = FILE.len() - part.tail.len();
    assert_eq!(&FILE[split - 9..split], "bob,s2,,\n", "a line start");
    let answer = parse_part(part.head, part.tail, part.delimiter);
    while parsing.step(10).unwrap() {}
    // The page read up to the split and no further.
    assert_eq!(parsing.so_far().rows.len(), 2);
    assert!(parsing.absorb(&answer));
    assert!(!parsing.step(10).unwrap());
    let merged = parsing.finish().unwrap();
    assert_eq!(
        merged.rows.iter().map(|r| r.line).collect::<Vec<_>>(),
        [2, 3, 5, 6, 7, 8]
    );
    // alice's second row points at her first copy, s4 comes after s3.
    assert_eq!(merged.user_index(&merged.rows[3]), Some(0));
    assert_eq!(merged.segment_ids, ["s1", "s2", "s3", "s4", "s5", "s6"]);
}

#[test]
fn files_with_quotes_or_too_short_are_not_split() {
    let quoted = FILE.replace("Carol", "\"Carol\"");
    assert!(!same_as_sequential(&quoted, 0.5, 1));
    // The split would fall past the last line start.
    assert!(!same_as_sequential(FILE, 0.99, 1));
}

#[test]
fn a_part_that_fails_leaves_the_page_to_read_on() {
    let file = FileText::new(FILE.as_bytes(), EncodingChoice::Auto).unwrap();
    let mut parsing = Parsing::new(&file, DelimiterChoice::Auto);
    assert!(parsing.step(1).unwrap());
    let part = parsing.split(0.5).unwrap();
    let mut answer = parse_part(part.head, part.tail, part.delimiter);
    while parsing.step(10).unwrap() {}
    // Not yet at the split, a bad answer, an empty one: refused, nothing changed.
    answer.truncate(answer.len() - 1);
    assert!(!parsing.absorb(&answer));
    assert!(!parsing.absorb(&[]));
    parsing.unsplit();
    while parsing.step(10).unwrap() {}
    let (merged, whole) = (parsing.finish().unwrap(), sequential(FILE).unwrap());
    assert_eq!(view(&merged), view(&whole));
}

#[test]
fn an_encoded_parse_reads_back_as_it_was_and_damage_is_refused() {
    let text = "username,cohort1,firstname,profile_field_dept\nx,s1,A,Sales\nBad Name,,,x\n";
    let parsed = sequential(FILE).unwrap();
    let bytes = parsed.encode();
    assert_eq!(Parsed::decode(&bytes, &parsed), Some(parsed.clone()));
    let with_fields = sequential(text).unwrap();
    assert!(!with_fields.profile_fields.is_empty());
    let encoded = with_fields.encode();
    assert_eq!(
        Parsed::decode(&encoded, &with_fields).as_ref(),
        Some(&with_fields)
    );
    // Every truncation, and a flipped byte anywhere, is refused or reads as some valid parse
    // (never a panic): spans, indexes and counts are checked.
    for n in 0..bytes.len() {
        assert_eq!(Parsed::decode(&bytes[..n], &parsed), None, "cut at {n}");
    }
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0xA5;
        if let Some(p) = Parsed::decode(&bad, &parsed) {
            for r in &p.rows {
                let _ = (p.username(r), p.firstname(r), p.segment_cells(r));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn a_split_parse_reads_every_file_as_the_sequential_one(
        header in prop_oneof![
            Just("username,cohort1,cohort2\n"), Just("\u{feff}username;cohort1\r\n"),
            Just("\n\r\nfirstname,username,email,cohort1,profile_field_dept\n"),
            Just("username\tcohort1\tlastname\r\n"), Just("username,cohort1,,,\n"),
        ],
        rows in proptest::collection::vec(
            (
                prop_oneof![
                    proptest::sample::select(
                        vec!["alice", "Bob", "carol", " dave ", "", "bad name", "é", "ALICE"],
                    )
                    .prop_map(String::from),
                    "[a-z]{1,3}",
                ],
                proptest::collection::vec(
                    prop_oneof![
                        Just("s1"), Just("s2"), Just(""), Just(" s3 "), Just("x"), Just("é"),
                    ],
                    0..5,
                ),
                prop_oneof![Just("\n"), Just("\r\n"), Just("\r"), Just("\n\n"), Just("\r\n\r\n"), Just(" \n")],
            ),
            0..40,
        ),
        share in 0.0f64..1.0,
        step in 1usize..4,
    ) {
        let delimiter = if header.contains(';') { ";" } else if header.contains('\t') { "\t" } else { "," };
        let mut text = header.to_string();
        for (name, cells, end) in rows {
            let line: Vec<&str> = std::iter::once(name.as_str()).chain(cells).collect();
            text.push_str(&line.join(delimiter));
            text.push_str(end);
        }
        same_as_sequential(&text, share, step);
    }
}
