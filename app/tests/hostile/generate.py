#!/usr/bin/env python3
"""Writes the hostile-input corpus of the bulk upload (one file per case) and manifest.json.

Run from anywhere: `python3 app/tests/hostile/generate.py`. The files are committed; this script
documents how each was made and regenerates them byte for byte. Huge cases (100 MB, >256 MiB)
are not written here: the tests generate them (see "generated" in the manifest).

Every case runs against the same knowledge (manifest "knowledge"): users alice, bob and kate,
segments "sales" and "eng" (internal ids 1 and 2 in the core test; a fresh database assigns the
same), no memberships. Expected outcomes:
- {"file_error": substring of the FileError message}: nothing can be committed, nothing written;
- {"rows", "rows_ok", "rows_with_errors", "codes"}: summary counts and the distinct outcome codes
  (sorted) of the report; optional "lines": the file line of each data row.
"writes": users created + memberships added by the server commit. A commit that is not refused
with a file error is recorded as one upload batch, even when it changes nothing (SPEC 4: every
commit is recorded); nothing else (enrolments, group memberships) may be written.
"stored": what a commit that writes must have stored, verbatim.
"literal": text the upload page must show verbatim (as text, never as markup).
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
H = "username,cohort1\n"
cases = []


def case(name, what, data, expect, writes=0, options=None, stored=None, literal=None, lines=None):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    c = {"name": name, "what": what}
    if options:
        c["options"] = options
    c["expect"] = expect
    if lines is not None:
        c["expect"]["lines"] = lines
    c["writes"] = writes
    if stored:
        c["stored"] = stored
    if literal:
        c["literal"] = literal
    cases.append(c)


def fe(msg):
    return {"file_error": msg}


def rows(n, ok, err, codes):
    return {"rows": n, "rows_ok": ok, "rows_with_errors": err, "codes": sorted(codes)}


ADD_NEW = {"upload_type": "add-new"}

# ---- quoting ----
case("01-unterminated-quote.csv", "A quoted cell opened on line 3 and never closed.",
     H + 'alice,sales\nbob,"eng\n',
     fe("Unterminated quote: the quoted cell that starts on line 3 is never closed."))
case("02-quote-in-unquoted-field.csv", "A bare quote in the middle of an unquoted username.",
     H + 'al"ice,sales\nbob,eng\n', fe("Malformed quoting on line 2: a quote character is not paired."))
case("03-stray-quote-after-closing.csv", "A closed quoted cell followed by a space and a stray quote.",
     H + '"alice" ",sales\nbob,eng\n', fe("Malformed quoting on line 2"))
case("04-doubled-closing-quote.csv",
     'A cell closed with "" (an escaped quote), so it really never closes: unterminated from line 2.',
     H + '"alice"",sales\nbob,eng\n', fe("the quoted cell that starts on line 2 is never closed"))
case("05-text-after-closing-quote.csv",
     'Text after a closing quote ("alice"x): the csv reader joins it (alicex); quotes are balanced, so '
     "it is a row whose username matches nobody.",
     H + '"alice"x,sales\n', rows(1, 0, 1, ["unknown_user"]), literal=["alicex"])
case("06-unterminated-quote-in-header.csv", "The header's first cell opens a quote that never closes.",
     '"username,cohort1\nalice,sales\n', fe("the quoted cell that starts on line 1 is never closed"))
case("07-quoted-multiline-cells.csv",
     "Quoted cells holding LF and CRLF: legal CSV; the values are not usernames/segments. Line numbers "
     "count the embedded line breaks.",
     H + '"ali\nce",sales\nbob,"sa\r\nles"\nghost,eng\n',
     rows(3, 0, 3, ["invalid_username", "unknown_segment", "unknown_user"]), lines=[2, 4, 6])

# ---- ragged rows ----
case("08-too-few-fields.csv", "Rows shorter than the header: the missing cells are empty (SPEC 2).",
     "username,cohort1,cohort2\nalice\nghost,eng\n", rows(2, 1, 1, ["unknown_user"]))
case("09-too-many-fields.csv",
     "Rows longer than the header: a non-empty extra cell is too_many_fields; empty extras are ignored.",
     H + 'alice,sales,eng\nbob,,,,\nkate,eng,"",x\n', rows(3, 1, 2, ["too_many_fields"]))

# ---- encodings and bytes ----
case("10-nul-bytes.csv", "NUL bytes inside a segment ID and a username (binary data, not text).",
     H + "alice,sa\0les\nbo\0b,eng\n", fe("NUL byte"))
utf16_text = "username,cohort1\r\nalice,sales\r\n"
case("11-utf16le-bom.csv", "UTF-16 LE with a byte-order mark (Excel 'Unicode text').",
     b"\xff\xfe" + utf16_text.encode("utf-16-le"), fe("The file is UTF-16 text."))
case("12-utf16be-bom.csv", "UTF-16 BE with a byte-order mark.",
     b"\xfe\xff" + utf16_text.encode("utf-16-be"), fe("The file is UTF-16 text."))
case("13-utf16le-no-bom.csv", "UTF-16 LE without a byte-order mark (every other byte NUL).",
     utf16_text.encode("utf-16-le"), fe("The file is UTF-16 text."))
case("14-utf16be-no-bom.csv", "UTF-16 BE without a byte-order mark.",
     utf16_text.encode("utf-16-be"), fe("The file is UTF-16 text."))
bad_utf8 = b"username,firstname,cohort1\nghost\xff,Jos\xe9,sales\nalice,Ren\xe9e,\n"
case("15-invalid-utf8-auto.csv",
     "Bytes that are not UTF-8, encoding auto: read as Windows-1252 (0xFF = y-diaeresis), so "
     "'ghost\u00ff' is an invalid username and alice's row is fine.",
     bad_utf8, rows(2, 1, 1, ["invalid_username"]), literal=["ghost\u00ff"])
case("16-invalid-utf8-forced.csv", "The same bytes with the encoding forced to UTF-8.",
     bad_utf8, fe("The file is not valid UTF-8 (first bad byte on line 2)"),
     options={"encoding": "utf-8"})
case("17-semicolon-file-forced-comma.csv",
     "A semicolon file with the delimiter forced to comma: the header is one unknown column.",
     "username;cohort1\nalice;sales\n", fe('Unknown column "username;cohort1" (column 1)'),
     options={"delimiter": "comma"})
case("18-comma-file-forced-semicolon.csv", "A comma file with the delimiter forced to semicolon.",
     "username,cohort1\nalice,sales\n", fe('Unknown column "username,cohort1" (column 1)'),
     options={"delimiter": "semicolon"})

# ---- header ----
case("19-empty.csv", "Zero bytes.", b"", fe("The file is empty."))
case("20-blank-and-delimiters-only.csv", "Only whitespace, blank lines and delimiters.",
     " \r\n,,,\n\t\n ,, \n", fe("The file is empty."))
case("21-header-only.csv", "A header and no data rows: nothing to do.",
     "username,cohort1,cohort2\r\n", rows(0, 0, 0, []))
case("22-no-username-column.csv", "No username column.",
     "email,cohort1\nalice@example.com,sales\n", fe('The header line has no "username" column.'))
case("23-unknown-column.csv", "A column the format does not have (password).",
     "username,cohort1,password\nalice,sales,hunter2\n", fe('Unknown column "password" (column 3)'))
case("24-duplicate-cohort-column.csv", "cohort1 twice, differently cased and padded.",
     "username,cohort1, COHORT1 \nalice,sales,eng\n",
     fe('Column "cohort1" appears more than once in the header (columns 2 and 3).'))
case("25-duplicate-username-column.csv", "username twice.",
     "Username,email,USERNAME\nalice,alice@example.com,bob\n",
     fe('Column "username" appears more than once in the header (columns 1 and 3).'))
case("26-empty-column-name.csv", "An unnamed column between named ones.",
     "username,,cohort1\nalice,x,sales\n", fe("Column 2 of the header has no name."))

# ---- size ----
case("27-1mb-single-cell.csv", "A username cell of 1 MiB: too long, so an invalid username.",
     H + "a" * (1 << 20) + ",sales\nbob,\n", rows(2, 1, 1, ["invalid_username"]))
many = 9999
case("28-10000-columns.csv",
     "A header of 10,000 columns (username, cohort1..cohort9999); ghost names sales 9,999 times, alice "
     "names eng 9,999 times: one membership, 9,998 duplicate pairs.",
     "username," + ",".join(f"cohort{i}" for i in range(1, many + 1)) + "\n"
     + "ghost" + ",sales" * many + "\n" + "alice" + ",eng" * many + "\n",
     rows(2, 1, 1, ["duplicate_pair", "unknown_user"]), writes=1,
     stored={"memberships": [["alice", "eng"]]})
case("29-10000-extra-cells.csv", "A data row with 10,000 non-empty cells beyond the header.",
     H + "alice,sales" + ",x" * 10000 + "\n", rows(1, 0, 1, ["too_many_fields"]))

# ---- markup ----
case("30-script-tag-username.csv", "A script element as a username.",
     H + "<script>alert('u')</script>,sales\n", rows(1, 0, 1, ["invalid_username"]),
     literal=["<script>alert('u')</script>"])
case("31-html-img-username.csv", "An img element with onerror as a username.",
     H + "<img src=x onerror=alert('img')>,sales\n", rows(1, 0, 1, ["invalid_username"]),
     literal=["<img src=x onerror=alert('img')>"])
case("32-html-in-segment.csv", "Markup as segment ID numbers (shown in the rows table and the bars).",
     "username,cohort1,cohort2\nalice,<script>alert('seg')</script>,<img src=x onerror=alert('seg2')>\n",
     rows(1, 0, 1, ["unknown_segment"]),
     literal=["<script>alert('seg')</script>", "<img src=x onerror=alert('seg2')>"])
case("33-html-in-header.csv", "Markup as a header name (shown in the file error).",
     "username,<img src=x onerror=alert('hdr')>\nalice,sales\n",
     fe("Unknown column \"<img src=x onerror=alert('hdr')>\" (column 2)"),
     literal=["<img src=x onerror=alert('hdr')>"])
case("34-html-in-names-new-user.csv",
     "Markup in the first and last name of a valid new user (add-new): legitimate text, stored verbatim.",
     "username,firstname,lastname,email,cohort1\n"
     "html.user,<b>Bold</b>,\"<img src=x onerror=alert('name')>\",html.user@example.com,sales\n",
     rows(1, 1, 0, []), writes=2, options=ADD_NEW,
     stored={"users": [{"username": "html.user", "firstname": "<b>Bold</b>",
                        "lastname": "<img src=x onerror=alert('name')>",
                        "email": "html.user@example.com"}],
             "memberships": [["html.user", "sales"]]})

# ---- spreadsheet formulas ----
case("35-formula-usernames.csv",
     "Usernames starting with = + - @, tab and CR (the last two quoted; trimmed away). '-2' and '@bob' "
     "are legal username characters, so those rows are unknown users; the report CSV neutralises them.",
     H + "=1+1,sales\n+1,sales\n-2,sales\n@bob,sales\n\"\t=3\",sales\n\"\r=4\",eng\n",
     rows(6, 0, 6, ["invalid_username", "unknown_user"]), literal=["=1+1", "@bob"])
case("36-formula-segments.csv", "Segment ID numbers that are spreadsheet formulas.",
     H + 'alice,"=HYPERLINK(""http://evil.example"",""x"")"\nbob,+sales\nkate,-eng\nalice,@sales\n',
     rows(4, 0, 4, ["unknown_segment"]), literal=['=HYPERLINK("http://evil.example","x")'])
case("37-formula-names-new-user.csv",
     "Formulas in the names and email of a valid new user (add-new): legitimate text, stored verbatim "
     "(the report CSV, not the database, is where formulas are neutralised).",
     "username,firstname,lastname,email,cohort1\n"
     'formula.user,"=HYPERLINK(""http://evil.example"",""x"")","+SUM(1,2)",-2+3@example.com,sales\n',
     rows(1, 1, 0, []), writes=2, options=ADD_NEW,
     stored={"users": [{"username": "formula.user", "firstname": '=HYPERLINK("http://evil.example","x")',
                        "lastname": "+SUM(1,2)", "email": "-2+3@example.com"}],
             "memberships": [["formula.user", "sales"]]})
case("38-formula-tab-cr-prefix-names.csv",
     "Names starting with a tab or CR (quoted) then a formula: cells are trimmed (SPEC 2), so the "
     "stored names start with @ and -.",
     "username,firstname,lastname,email,cohort1\n"
     'tab.user,"\t@SUM(A1)","\r-1",tab.user@example.com,eng\n',
     rows(1, 1, 0, []), writes=2, options=ADD_NEW,
     stored={"users": [{"username": "tab.user", "firstname": "@SUM(A1)", "lastname": "-1",
                        "email": "tab.user@example.com"}],
             "memberships": [["tab.user", "eng"]]})

# ---- SQL ----
case("39-sql-usernames.csv", "SQL injection attempts as usernames.",
     H + "'; DROP TABLE users; --,sales\nalice' OR '1'='1,sales\n\" OR 1=1 --\",eng\n",
     rows(3, 0, 3, ["invalid_username"]), literal=["'; DROP TABLE users; --", "alice' OR '1'='1"])
case("40-sql-segments.csv", "SQL injection attempts as segment ID numbers.",
     H + "alice,' OR '1'='1\nbob,sales'; DROP TABLE segments; --\nkate,1 OR 1=1\n",
     rows(3, 0, 3, ["unknown_segment"]), literal=["sales'; DROP TABLE segments; --"])
case("41-sql-names-new-user.csv",
     "SQL in the names of a valid new user (add-new): legitimate text, stored verbatim.",
     "username,firstname,lastname,email,cohort1\n"
     "bobby.tables,Robert'); DROP TABLE users;--,' OR 1=1 --,bobby.tables@example.com,eng\n",
     rows(1, 1, 0, []), writes=2, options=ADD_NEW,
     stored={"users": [{"username": "bobby.tables", "firstname": "Robert'); DROP TABLE users;--",
                        "lastname": "' OR 1=1 --", "email": "bobby.tables@example.com"}],
             "memberships": [["bobby.tables", "eng"]]})

# ---- Unicode ----
case("42-cyrillic-lookalikes.csv",
     "Cyrillic a/o in names that look like alice and bob, and a Cyrillic dze in 'sales'.",
     H + "\u0430lice,sales\nb\u043eb,eng\nalice,\u0455ales\n",
     rows(3, 0, 3, ["invalid_username", "unknown_segment"]), literal=["\u0430lice"])
case("43-kelvin-sign.csv",
     "KELVIN SIGN (U+212A) + 'ate': Unicode lowercases it to ASCII 'kate', an existing user. Not in "
     "the allowed characters, so refused rather than matched.",
     H + "\u212aate,sales\n", rows(1, 0, 1, ["invalid_username"]))
case("44-fullwidth-and-ligature.csv", "Fullwidth 'alice' and an 'fi' ligature.",
     H + "\uff41\uff4c\uff49\uff43\uff45,sales\n\ufb01nn,eng\n", rows(2, 0, 2, ["invalid_username"]))
case("45-combining-marks.csv", "Combining accents and strike-through marks.",
     H + "alice\u0301,sales\nb\u0336o\u0336b\u0336,eng\nkate,sales\u0301\n",
     rows(3, 0, 3, ["invalid_username", "unknown_segment"]))
case("46-zero-width.csv", "Zero-width space, joiner and word joiner inside names and a segment.",
     H + "al\u200bice,sales\nbob\u200d,eng\nkate,sa\u200bles\n\u2060alice,eng\n",
     rows(4, 0, 4, ["invalid_username", "unknown_segment"]))
case("47-rtl-override.csv", "Right-to-left override and mark.",
     H + "\u202eecila,sales\nbob,\u202eselas\nkate\u200f,eng\n",
     rows(3, 0, 3, ["invalid_username", "unknown_segment"]), literal=["\u202eecila"])
case("48-emoji.csv", "Emoji in a username, as a segment, and a ZWJ sequence as a username.",
     H + "alice\U0001F600,sales\nbob,\U0001F680\n\U0001F469\u200d\U0001F4BB,eng\n",
     rows(3, 0, 3, ["invalid_username", "unknown_segment"]), literal=["alice\U0001F600", "\U0001F680"])

# ---- segment ID numbers ----
case("49-segment-id-spaces.csv",
     "Segment ID numbers padded with spaces, tabs and no-break spaces, some inside quotes: cells are "
     "trimmed (SPEC 2), so they match; bob names sales twice (a duplicate pair).",
     "username,cohort1,cohort2\nalice,  sales  ,\" eng \"\nbob,\u00a0sales\u00a0,\tsales\t\n",
     rows(2, 2, 0, ["duplicate_pair"]), writes=3,
     stored={"memberships": [["alice", "sales"], ["alice", "eng"], ["bob", "sales"]]})
case("50-segment-internal-ids.csv",
     "Digits that equal the segments' internal ids (1, 2): ID numbers match exactly, never internal keys.",
     H + "alice,1\nbob, 2 \nkate,01\n", rows(3, 0, 3, ["unknown_segment"]))

# ---- lines ----
case("51-very-long-line.csv",
     "A 600,000-character line: alice's first name is longer than a stored name may be (invalid_name, "
     "whatever the existing-details mode, as an invalid email is); ghost is unknown.",
     "username,firstname,cohort1\nalice," + "x" * 600000 + ",\nghost,y,sales\n",
     rows(2, 0, 2, ["invalid_name", "unknown_user"]))
case("52-cr-only-line-ends.csv", "Classic Mac line ends (CR only), with a blank line.",
     "username,cohort1\rghost,sales\rbob,nope\r\ralice,\r",
     rows(3, 1, 2, ["unknown_segment", "unknown_user"]), lines=[2, 3, 5])
case("53-mixed-line-ends.csv", "CRLF, CR and LF mixed, blank lines of each kind, no final line end.",
     "username,cohort1\r\nghost,sales\rbob,nope\n\r\nkate,\r\n\n\rnobody,eng",
     rows(4, 1, 3, ["unknown_segment", "unknown_user"]), lines=[2, 3, 5, 8])
case("54-bom-mid-file.csv",
     "A leading BOM (dropped) and BOMs in the middle: U+FEFF is not whitespace, so it stays in the cell.",
     "\ufeffusername,cohort1\nalice,\ufeffsales\n\ufeffbob,eng\n",
     rows(2, 0, 2, ["invalid_username", "unknown_segment"]))
case("55-double-bom.csv",
     "Two BOMs at the start: decoding drops the first and the csv reader the second, so the header "
     "reads; a third would be part of the first header name.",
     "\ufeff\ufeffusername,cohort1\nghost,sales\n", rows(1, 0, 1, ["unknown_user"]))
case("56-control-characters.csv",
     "BEL, ESC, BS and DEL inside cells; a line of only a vertical tab (blank); form feeds and vertical "
     "tabs around cells (whitespace, trimmed).",
     H + "al\x07ice,sales\nbob,sa\x1bles\n\x08kate,eng\n\x0b\n\x0c ghost \x0c,\x0bsales\x0b\n\x7fbob,eng\n",
     rows(5, 0, 5, ["invalid_username", "unknown_segment", "unknown_user"]), lines=[2, 3, 4, 6, 7])
case("57-email-injection.csv",
     "Email cells with a header-injection line break and markup (add-new): invalid emails.",
     "username,firstname,lastname,email,cohort1\n"
     "evil.user,Evil,User,\"evil@example.com\r\nBcc: victim@example.com\",sales\n"
     "xss.user,X,S,<script>alert('mail')</script>@example.com,sales\n",
     rows(2, 0, 2, ["invalid_email"]), options=ADD_NEW)
case("58-overlong-names-new-user.csv",
     "A new user whose first name is 101 characters and one whose last name holds a control character "
     "(add-new): stored names are at most 100 characters without control characters.",
     "username,firstname,lastname,email,cohort1\n"
     "long.user," + "N" * 101 + ",Long,long.user@example.com,sales\n"
     "ctrl.user,Ctrl,\"La\tst\",ctrl.user@example.com,sales\n"
     "fine.user," + "\u00e9" * 100 + ",Fine,fine.user@example.com,eng\n",
     rows(3, 1, 2, ["invalid_name"]), options=ADD_NEW, writes=2,
     stored={"users": [{"username": "fine.user", "firstname": "\u00e9" * 100, "lastname": "Fine",
                        "email": "fine.user@example.com"}],
             "memberships": [["fine.user", "eng"]]})

# ---- generated by the tests, never committed ----
cases.append({
    "name": "59-100mb-unknown-users.csv",
    "what": "Generated (~105 MB, over the 16 MiB request limit, sent in 4 MiB chunks): header "
            "username,firstname,cohort1 then 102,800 rows 'ghostNNNNNNN,<1,000 x>,sales' naming users "
            "that do not exist, each with a first name longer than 100 characters.",
    "generated": True,
    "expect": rows(102800, 0, 102800, ["invalid_name", "unknown_user"]),
    "writes": 0,
})
cases.append({
    "name": "60-over-256mib.csv",
    "what": "Generated: 256 MiB + 1 byte. parse refuses it before reading; upload_begin refuses the "
            "declared size before any byte is sent.",
    "generated": True,
    "expect": fe("the largest accepted is 268435456 bytes"),
    "writes": 0,
})

manifest = {
    "about": __doc__.strip(),
    "knowledge": {"users": ["alice", "bob", "kate"], "segments": ["sales", "eng"]},
    "cases": cases,
}
with open(os.path.join(HERE, "manifest.json"), "w", encoding="utf-8") as f:
    json.dump(manifest, f, indent=2, ensure_ascii=True)
    f.write("\n")
print(f"{len(cases)} cases")
