//! CSV parsing for bulk uploads (SPEC 2): decoding, delimiter detection, header rules, rows.
//! Pure Rust with no I/O, so the browser (WASM) and the server run the very same code.
//!
//! `csv_core` (the `csv` crate's core) splits records and fields. Line numbers and quote balance
//! are worked out here from each record's byte offset, because the crate counts lines from where
//! the previous record ended (so blank lines and CR-only endings shift its numbers) and reads an
//! unterminated quote silently to the end of the file. A file without a quote character needs
//! none of its state machine: its records are split at the delimiter and line endings alone,
//! found by `Seps` (see `Records::plain`; a property test holds the two readers equal).
use super::options::{DelimiterChoice, EncodingChoice};
use crate::domain::Username;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Largest file accepted, in bytes (a million rows with several segments is about 60 MB).
pub const MAX_FILE_BYTES: usize = 256 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Column {
    Username,
    Firstname,
    Lastname,
    Email,
    /// `cohortN`: a segment ID number column.
    Cohort(u32),
    /// `profile_field_<shortname>` (SPEC 8): the index of the shortname in
    /// `Parsed::profile_fields`.
    ProfileField(u32),
}

impl Column {
    pub fn name(&self) -> String {
        match self {
            Column::Username => "username".into(),
            Column::Firstname => "firstname".into(),
            Column::Lastname => "lastname".into(),
            Column::Email => "email".into(),
            Column::Cohort(n) => format!("cohort{n}"),
            Column::ProfileField(i) => format!("profile_field_#{i}"),
        }
    }

    fn from_header(name: &str) -> Option<Column> {
        match name {
            "username" => Some(Column::Username),
            "firstname" => Some(Column::Firstname),
            "lastname" => Some(Column::Lastname),
            "email" => Some(Column::Email),
            _ => {
                let digits = name.strip_prefix("cohort")?;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                match digits.parse::<u32>() {
                    Ok(n) if n >= 1 => Some(Column::Cohort(n)),
                    _ => None,
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextEncoding {
    Utf8,
    Windows1252,
}

impl TextEncoding {
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Windows1252 => "Windows-1252",
        }
    }
}

/// A problem with the file as a whole: nothing from it can be committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum FileError {
    #[error("The file is empty.")]
    Empty,
    #[error("The file is {size} bytes; the largest accepted is {max} bytes. Split it into smaller files.")]
    TooLarge { size: u64, max: u64 },
    #[error(
        "The file is UTF-16 text. Save it as \"CSV UTF-8\" (or plain CSV) and upload it again."
    )]
    Utf16,
    #[error("The file is not valid UTF-8 (first bad byte on line {line}). Choose the Windows-1252 encoding, or save the file as CSV UTF-8.")]
    NotUtf8 { line: u32 },
    #[error("The file contains a NUL byte (line {line}), so it is not a text CSV file. Save it as \"CSV UTF-8\" and upload it again.")]
    NulByte { line: u32 },
    #[error("The header line has no \"username\" column.")]
    NoUsernameColumn,
    #[error("Unknown column \"{name}\" (column {column}). Allowed columns: {allowed}")]
    UnknownColumn {
        name: String,
        column: u32,
        allowed: String,
    },
    #[error("The header line has no \"{name}\" column.")]
    MissingColumn { name: String },
    #[error("Column \"{name}\" names no profile field of this site. Define it under Profile fields, or remove the column.")]
    UnknownProfileField { name: String },
    #[error(
        "Column \"{name}\" appears more than once in the header (columns {first} and {second})."
    )]
    RepeatedColumn {
        name: String,
        first: u32,
        second: u32,
    },
    #[error("Column {column} of the header has no name.")]
    EmptyColumnName { column: u32 },
    #[error("Unterminated quote: the quoted cell that starts on line {line} is never closed.")]
    UnterminatedQuote { line: u32 },
    #[error("Malformed quoting on line {line}: a quote character is not paired.")]
    MalformedQuoting { line: u32 },
}

/// A byte range in `Parsed::text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    start: u32,
    len: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameCell {
    Missing,
    /// Outside the allowed characters (or too long); the span holds the cell as written.
    Invalid,
    /// Well formed; the span holds the normalised (lowercase) username.
    Valid,
}

/// One data row, compactly: text lives in the shared arena, and the rarer detail cells in
/// `Parsed::details` (44 bytes a row, not 76: a million rows are 32 MB less to write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The file's own line number (header = 1).
    pub line: u32,
    pub username_cell: UsernameCell,
    username: Span,
    /// Which of the file's distinct usernames this row names (`NO_USER` unless valid).
    user: u32,
    /// The row's firstname, lastname and email cells in `Parsed::details` (`NO_DETAILS` when
    /// it has none of them).
    details: u32,
    seg_start: u32,
    seg_len: u32,
    pf_start: u32,
    pf_len: u32,
    /// Non-empty cells beyond the header's columns.
    pub extra_cells: u32,
}

// The size the comment above counts on.
const _: () = assert!(std::mem::size_of::<Row>() == 44);

/// A non-empty `cohortN` cell: which header column, which interned segment ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentCell {
    pub column: u32,
    pub segment: u32,
}

/// A non-empty `profile_field_…` cell of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileCell {
    pub column: u32,
    /// Index into `Parsed::profile_fields`.
    pub field: u32,
    value: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub delimiter: u8,
    pub encoding: TextEncoding,
    /// Header columns in file order (trailing unnamed columns dropped).
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// Distinct segment ID numbers as written (trimmed), in first-seen order.
    pub segment_ids: Vec<String>,
    seg_cells: Vec<SegmentCell>,
    /// The distinct well-formed usernames, in first-seen order: rows point here, and what the
    /// server knows about users is aligned with it, so no later step hashes a name again.
    users: Vec<Span>,
    /// The shortnames of the file's `profile_field_…` columns, in header order.
    pub profile_fields: Vec<String>,
    pf_cells: Vec<ProfileCell>,
    /// Firstname, lastname and email of the rows that give any (see `Row::details`).
    details: Vec<[Option<Span>; 3]>,
    text: String,
}

impl Parsed {
    fn get(&self, s: Span) -> &str {
        &self.text[s.start as usize..(s.start + s.len) as usize]
    }

    /// The username: normalised when valid, as written otherwise ("" when missing).
    pub fn username(&self, row: &Row) -> &str {
        self.get(row.username)
    }

    pub fn firstname(&self, row: &Row) -> Option<&str> {
        self.detail(row, Column::Firstname)
    }

    pub fn lastname(&self, row: &Row) -> Option<&str> {
        self.detail(row, Column::Lastname)
    }

    pub fn email(&self, row: &Row) -> Option<&str> {
        self.detail(row, Column::Email)
    }

    fn detail(&self, row: &Row, column: Column) -> Option<&str> {
        let cells = self.details.get(row.details as usize)?;
        cells[detail_slot(column)?].map(|s| self.get(s))
    }

    /// Non-empty segment cells in the whole file.
    pub fn segment_cell_count(&self) -> usize {
        self.seg_cells.len()
    }

    pub fn segment_cells(&self, row: &Row) -> &[SegmentCell] {
        &self.seg_cells[row.seg_start as usize..(row.seg_start + row.seg_len) as usize]
    }

    pub fn profile_cells(&self, row: &Row) -> &[ProfileCell] {
        &self.pf_cells[row.pf_start as usize..(row.pf_start + row.pf_len) as usize]
    }

    pub fn profile_value(&self, cell: &ProfileCell) -> &str {
        self.get(cell.value)
    }

    pub fn has_column(&self, c: Column) -> bool {
        self.columns.contains(&c)
    }

    pub fn column_name(&self, index: u32) -> String {
        match self.columns.get(index as usize) {
            Some(Column::ProfileField(i)) => self
                .profile_fields
                .get(*i as usize)
                .map(|s| format!("profile_field_{s}"))
                .unwrap_or_default(),
            Some(c) => c.name(),
            None => String::new(),
        }
    }

    /// The distinct well-formed usernames, in first-seen order (what the server is asked about).
    pub fn usernames(&self) -> impl ExactSizeIterator<Item = &str> + Clone + '_ {
        self.users.iter().map(|&s| self.get(s))
    }

    /// The distinct usernames `range` of `usernames()` spans.
    pub fn usernames_in(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl Iterator<Item = &str> + Clone + '_ {
        self.users[range].iter().map(|&s| self.get(s))
    }

    /// The index in `usernames()` of the user a row names, when its username is valid.
    pub fn user_index(&self, row: &Row) -> Option<u32> {
        (row.user != NO_USER).then_some(row.user)
    }

    pub fn delimiter_choice(&self) -> DelimiterChoice {
        DelimiterChoice::from_byte(self.delimiter)
    }
}

/// Decodes, detects the delimiter, checks the header and reads every row.
/// The file layer every import shares (SPEC 2's file rules): size limit, decoding, NUL and
/// blank-file checks, delimiter detection, quote balance, blank lines, file line numbers and the
/// header's unnamed columns. What the header and rows mean belongs to the kind's `RecordSink`.
pub trait RecordSink {
    /// The header's cell names, trimmed, trailing unnamed columns dropped.
    fn header(&mut self, names: &[&str]) -> Result<(), FileError>;
    /// One non-blank data record and the file line it starts on.
    fn row(&mut self, record: &Record<'_>, line: u32);
}

/// One record: its fields' bytes and where each field ends. As `csv_core` splits it, the fields'
/// unquoted bytes come back to back (`gap` 0); split from a file without quotes, they are the
/// line itself, one delimiter between fields (`gap` 1).
pub struct Record<'r> {
    fields: &'r [u8],
    ends: &'r [usize],
    gap: usize,
}

impl<'r> Record<'r> {
    pub fn iter(&self) -> impl Iterator<Item = &'r [u8]> + '_ {
        let (fields, gap) = (self.fields, self.gap);
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let field = &fields[start..end];
            start = end + gap;
            field
        })
    }
}

/// How a file was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileShape {
    pub delimiter: u8,
    pub encoding: TextEncoding,
}

/// A file's text, decoded and checked as a whole (size, encoding, NUL bytes, blankness) before
/// any record is read.
pub struct FileText<'a> {
    text: Cow<'a, str>,
    encoding: TextEncoding,
    /// The whole file's size when this is only its first part (`FileText::head`), else 0.
    whole_len: usize,
}

impl<'a> FileText<'a> {
    pub fn new(bytes: &'a [u8], encoding: EncodingChoice) -> Result<Self, FileError> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(FileError::TooLarge {
                size: bytes.len() as u64,
                max: MAX_FILE_BYTES as u64,
            });
        }
        let (text, encoding) = decode(bytes, encoding)?;
        let data = text.as_bytes();
        // Binary data (and NUL, which PostgreSQL text cannot hold) is not a CSV file.
        if let Some(pos) = memchr::memchr(0, data) {
            return Err(FileError::NulByte {
                line: LineCounter::new(data).line_at(pos),
            });
        }
        if data.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(FileError::Empty);
        }
        Ok(FileText {
            text,
            encoding,
            whole_len: 0,
        })
    }

    /// The first part of a file of `whole_len` bytes whose rest is still being read, to parse
    /// ahead of it (`Parsing::resume` then goes on in the whole file): its complete lines, when
    /// nothing the rest may hold can change how they read. So only UTF-8 text (under the
    /// automatic or UTF-8 choice) without quotes and without NUL, not UTF-16, and with a line
    /// ending; `None` otherwise, and the file is parsed once it is whole, as before.
    pub fn head(bytes: &'a [u8], whole_len: usize, encoding: EncodingChoice) -> Option<Self> {
        if !matches!(encoding, EncodingChoice::Auto | EncodingChoice::Utf8)
            || whole_len > MAX_FILE_BYTES
            || bytes.len() > whole_len
        {
            return None;
        }
        // Cut after the last line ending: line endings are ASCII, so no character is split.
        let cut = memchr::memrchr2(b'\n', b'\r', bytes)? + 1;
        let (text, TextEncoding::Utf8) = decode(&bytes[..cut], encoding).ok()? else {
            return None;
        };
        let data = text.as_bytes();
        if memchr::memchr2(0, b'"', data).is_some() {
            return None;
        }
        Some(FileText {
            text,
            encoding: TextEncoding::Utf8,
            whole_len,
        })
    }

    /// About how many records the file holds (its line feeds), to size what a parse fills; for
    /// a head, its own lines scaled to the whole file's size.
    pub fn lines_hint(&self) -> usize {
        let lines = memchr::memchr_iter(b'\n', self.text.as_bytes()).count() + 1;
        match self.whole_len {
            0 => lines,
            whole => (lines as u64 * whole as u64 / self.text.len().max(1) as u64) as usize,
        }
    }

    /// The whole file's size in bytes (as decoded), for a head too.
    fn whole_len(&self) -> usize {
        self.whole_len.max(self.text.len())
    }
}

/// A file's records read in steps, so a caller can act on the rows read so far between steps
/// (the upload page asks about one step's names while the next step parses).
///
/// `csv_core` splits the records of a file with quotes straight from the file's bytes (the `csv`
/// crate's reader would copy them through its buffer first), into reused fields and ends buffers;
/// a file without quotes is split in place (`plain`).
pub struct Records<'t, S> {
    data: &'t [u8],
    shape: FileShape,
    core: csv_core::Reader,
    /// Bytes of `data` the reader has consumed.
    pos: usize,
    fields: Vec<u8>,
    ends: Vec<usize>,
    lines: LineCounter<'t>,
    /// For a file without quotes (where no record can be badly quoted): a record is the bytes between line endings split at the
    /// delimiter, and `plain` finds those bytes (a SIMD search) in place of `csv_core`'s
    /// byte-at-a-time state machine, counting the lines as it passes them.
    plain: Option<Plain<'t>>,
    header_seen: bool,
    /// Quote balance of a record is known once the next one starts (or the file ends).
    previous: Option<(usize, u32)>,
    /// A header error waits for the header's quote check: an unclosed quote explains it better.
    header_error: Option<FileError>,
    done: bool,
    /// The delimiter as chosen (`resume` checks the whole file would read with the same one).
    delimiter: DelimiterChoice,
    sink: S,
}

impl<'t, S: RecordSink> Records<'t, S> {
    pub fn new(file: &'t FileText<'_>, delimiter: DelimiterChoice, sink: S) -> Self {
        let data = file.text.as_bytes();
        let delim = delimiter.byte().unwrap_or_else(|| detect_delimiter(data));
        let has_quotes = memchr::memchr(b'"', data).is_some();
        // `csv_core` drops a byte-order mark at the start of what it reads (one left after
        // decoding dropped the file's first), so the plain reader starts past it too.
        let bom = if !has_quotes && data.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        Records {
            data,
            shape: FileShape {
                delimiter: delim,
                encoding: file.encoding,
            },
            core: csv_core::ReaderBuilder::new().delimiter(delim).build(),
            pos: bom,
            fields: vec![0; 1024],
            ends: vec![0; 64],
            lines: LineCounter::new(data),
            plain: (!has_quotes).then(|| Plain {
                seps: Seps::new(data, 0, delim),
                line: 1,
            }),
            header_seen: false,
            previous: None,
            header_error: None,
            done: false,
            delimiter,
            sink,
        }
    }

    /// Goes on in `file`, the whole file, after reading all of its head (`FileText::head`): as
    /// if the whole file had been read from the start. False (and nothing changed) when the
    /// whole file does not read as its head did: another encoding, quotes in the rest, another
    /// delimiter. The caller then parses the whole file afresh. `file`'s text must start with
    /// the head's.
    pub fn resume(&mut self, file: &'t FileText<'_>) -> bool {
        let data = file.text.as_bytes();
        let delim = self.shape.delimiter;
        let same = self.done
            && self.plain.is_some()
            && file.encoding == self.shape.encoding
            && data.len() >= self.data.len()
            && self
                .delimiter
                .byte()
                .unwrap_or_else(|| detect_delimiter(data))
                == delim
            && memchr::memchr(b'"', &data[self.data.len()..]).is_none();
        let Some(plain) = self.plain.as_mut().filter(|_| same) else {
            return false;
        };
        debug_assert!(data.starts_with(self.data));
        // The head ended after a line ending, where `read_plain` left `pos`.
        plain.seps = Seps::new(data, self.pos, delim);
        self.data = data;
        self.lines = LineCounter::new(data);
        self.done = false;
        true
    }

    /// The next record into `fields`/`ends`: its field count, or `None` at the end of the file.
    fn read(&mut self) -> Option<usize> {
        use csv_core::ReadRecordResult as R;
        let (mut out, mut end) = (0, 0);
        loop {
            let (res, nin, nout, nend) = self.core.read_record(
                &self.data[self.pos..],
                &mut self.fields[out..],
                &mut self.ends[end..],
            );
            self.pos += nin;
            out += nout;
            end += nend;
            match res {
                // All of the file is given at once: the next call, with no input left, ends
                // the last record or the file.
                R::InputEmpty => {}
                R::OutputFull => self.fields.resize(self.fields.len() * 2, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::Record => return Some(end),
                R::End => return None,
            }
        }
    }

    /// Reads with `csv_core` even without quotes, so tests can hold the two readers side by side.
    #[cfg(test)]
    pub(crate) fn by_csv_core(mut self) -> Self {
        self.plain = None;
        self.pos = 0;
        self
    }

    /// The next record of a file without quotes into `ends` (relative to the record's start):
    /// its start, field count and line, or `None` at the end of the file. What `csv_core` does
    /// with such a file: CR, LF and CRLF end a record, empty lines are no records, and the last
    /// record needs no line ending.
    fn read_plain(&mut self) -> Option<(usize, usize, u32)> {
        let plain = self.plain.as_mut()?;
        let data = self.data;
        let mut start = self.pos;
        let mut n = 0;
        loop {
            let Some((i, line_end)) = plain.seps.next() else {
                self.pos = data.len();
                if start == data.len() && n == 0 {
                    return None;
                }
                push_end(&mut self.ends, n, data.len() - start);
                return Some((start, n + 1, plain.line));
            };
            if !line_end {
                push_end(&mut self.ends, n, i - start);
                n += 1;
                continue;
            }
            let b = data[i];
            let line = plain.line;
            // A lone CR ends a line, as does LF; CRLF is one ending.
            if b == b'\r' || i == 0 || data[i - 1] != b'\r' {
                plain.line += 1;
            }
            if i == start && n == 0 {
                start = i + 1; // an empty line
                continue;
            }
            push_end(&mut self.ends, n, i - start);
            self.pos = i + 1;
            return Some((start, n + 1, line));
        }
    }

    /// The next record by `csv_core` into `fields`/`ends`: its field count and line, or `None`
    /// at the end of the file; an error once the record before it proves badly quoted.
    fn read_core(&mut self) -> Result<Option<(usize, u32)>, FileError> {
        // Where reading this record began (the previous one's end).
        let start = self.pos;
        let n = self.read();
        if let Some((prev_start, prev_line)) = self.previous.take() {
            if count_quotes(&self.data[prev_start..start]) % 2 == 1 {
                return Err(if n.is_some() {
                    FileError::MalformedQuoting { line: prev_line }
                } else {
                    FileError::UnterminatedQuote { line: prev_line }
                });
            }
        }
        let Some(n) = n else {
            return Ok(None);
        };
        let line = self.lines.line_of_content_at(start);
        self.previous = Some((start, line));
        Ok(Some((n, line)))
    }

    /// Reads up to `rows` more data rows into the sink; false once the whole file is read.
    pub fn step(&mut self, rows: usize) -> Result<bool, FileError> {
        let mut read = 0;
        while !self.done && read < rows {
            // A plain record lies in the file from `start`, one delimiter between its fields.
            let next = match self.plain {
                Some(_) => self
                    .read_plain()
                    .map(|(start, n, line)| (Some(start), n, line)),
                None => self.read_core()?.map(|(n, line)| (None, n, line)),
            };
            if let Some(e) = self.header_error.take() {
                return Err(e);
            }
            let Some((start, n, line)) = next else {
                self.done = true;
                if !self.header_seen {
                    return Err(FileError::Empty);
                }
                break;
            };
            let ends = &self.ends[..n];
            let record = match start {
                Some(start) => Record {
                    fields: &self.data[start..start + ends[n - 1]],
                    ends,
                    gap: 1,
                },
                None => Record {
                    fields: &self.fields[..ends.last().copied().unwrap_or(0)],
                    ends,
                    gap: 0,
                },
            };
            if is_blank(&record) {
                continue; // a blank line, or one of only delimiters
            }
            if !self.header_seen {
                let names: Vec<&str> = record.iter().map(cell).collect();
                if let Err(e) = header_names(&names).and_then(|named| self.sink.header(named)) {
                    self.header_error = Some(e);
                }
                self.header_seen = true;
                continue;
            }
            self.sink.row(&record, line);
            read += 1;
        }
        Ok(!self.done)
    }

    pub fn sink(&self) -> &S {
        &self.sink
    }

    fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    /// The sink and how the file was read, once `step` has read it all.
    pub fn finish(mut self) -> Result<(S, FileShape), FileError> {
        while self.step(usize::MAX)? {}
        Ok((self.sink, self.shape))
    }
}

impl<S: RecordSink> RecordSink for &mut S {
    fn header(&mut self, names: &[&str]) -> Result<(), FileError> {
        (**self).header(names)
    }

    fn row(&mut self, record: &Record<'_>, line: u32) {
        (**self).row(record, line)
    }
}

pub fn read_records(
    bytes: &[u8],
    delimiter: DelimiterChoice,
    encoding: EncodingChoice,
    sink: &mut impl RecordSink,
) -> Result<FileShape, FileError> {
    let file = FileText::new(bytes, encoding)?;
    let (_, shape) = Records::new(&file, delimiter, sink).finish()?;
    Ok(shape)
}

/// The reader of a file without quotes (see `Records::plain`).
struct Plain<'t> {
    seps: Seps<'t>,
    /// The line the search has reached.
    line: u32,
}

/// Every delimiter, CR and LF of a text from an offset on, in order. A block of 64 bytes at a
/// time becomes a mask of its separators (one bit per byte; four 16-byte vector compares, in
/// WebAssembly and on x86-64), and each separator is then a count of trailing zeros. `memchr3`'s
/// iterator searched afresh from each separator, and in a CSV file they come every few bytes: it
/// was an eighth of a 100k-row parse in WebAssembly (README, Benchmarks, session 24).
struct Seps<'t> {
    data: &'t [u8],
    /// Where the block after `bits`' starts.
    next: usize,
    /// The separators of the block before `next` not yet given: bit `i` is byte `next - 64 + i`.
    bits: u64,
    /// Which of that block's separators are line endings (CR or LF), so the reader need not
    /// read a separator's byte again to tell.
    line_ends: u64,
    delim: u8,
}

/// The bytes `Seps` masks at a time (the bits of its mask).
const SEPS_BLOCK: usize = 64;

impl<'t> Seps<'t> {
    fn new(data: &'t [u8], from: usize, delim: u8) -> Self {
        Seps {
            data,
            next: from,
            bits: 0,
            line_ends: 0,
            delim,
        }
    }

    /// The delimiters and the line endings of `block` (at most 64 bytes) as bits, byte by byte.
    fn mask(block: &[u8], delim: u8) -> (u64, u64) {
        block.iter().enumerate().fold((0, 0), |(d, e), (i, &b)| {
            (
                d | (u64::from(b == delim) << i),
                e | (u64::from(b == b'\n' || b == b'\r') << i),
            )
        })
    }

    /// `mask` of a whole block, 16 bytes at a time with WebAssembly's vector compares.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn mask_block(block: &[u8; SEPS_BLOCK], delim: u8) -> (u64, u64) {
        use std::arch::wasm32::{u8x16_bitmask, u8x16_eq, u8x16_splat, v128, v128_load, v128_or};
        let (d, n, r) = (u8x16_splat(delim), u8x16_splat(b'\n'), u8x16_splat(b'\r'));
        let (mut delims, mut ends) = (0, 0);
        for k in 0..SEPS_BLOCK / 16 {
            // SAFETY: bytes 16k..16k+16 lie in the block; WebAssembly loads need no alignment.
            let v = unsafe { v128_load(block.as_ptr().add(16 * k).cast::<v128>()) };
            delims |= u64::from(u8x16_bitmask(u8x16_eq(v, d))) << (16 * k);
            let end = v128_or(u8x16_eq(v, n), u8x16_eq(v, r));
            ends |= u64::from(u8x16_bitmask(end)) << (16 * k);
        }
        (delims, ends)
    }

    /// `mask` of a whole block with SSE2's 16-byte compares, which every x86-64 processor has:
    /// the server parses each file again, and `mask`'s fold, which the compiler does not turn
    /// into vector compares there, made the native parse slower than the page's.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    fn mask_block(block: &[u8; SEPS_BLOCK], delim: u8) -> (u64, u64) {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        // SAFETY: SSE2 is enabled (the `cfg`), and bytes 16k..16k+16 lie in the block; `loadu`
        // needs no alignment.
        unsafe {
            let (d, n, r) = (
                _mm_set1_epi8(delim as i8),
                _mm_set1_epi8(b'\n' as i8),
                _mm_set1_epi8(b'\r' as i8),
            );
            let (mut delims, mut ends) = (0, 0);
            for k in 0..SEPS_BLOCK / 16 {
                let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
                // `movemask` gives one bit per byte in its low 16 bits.
                let bits = |m| u64::from(_mm_movemask_epi8(m) as u16) << (16 * k);
                delims |= bits(_mm_cmpeq_epi8(v, d));
                ends |= bits(_mm_or_si128(_mm_cmpeq_epi8(v, n), _mm_cmpeq_epi8(v, r)));
            }
            (delims, ends)
        }
    }

    #[cfg(not(any(
        all(target_arch = "wasm32", target_feature = "simd128"),
        all(target_arch = "x86_64", target_feature = "sse2")
    )))]
    fn mask_block(block: &[u8; SEPS_BLOCK], delim: u8) -> (u64, u64) {
        Self::mask(block, delim)
    }
}

impl Iterator for Seps<'_> {
    /// A separator's place, and whether it ends a line.
    type Item = (usize, bool);

    fn next(&mut self) -> Option<(usize, bool)> {
        while self.bits == 0 {
            let rest = self.data.get(self.next..).filter(|r| !r.is_empty())?;
            // A whole block as an array, so the fold has a fixed length to vectorise; the last,
            // shorter one byte by byte (bits past its end stay 0).
            let (delims, ends) = match rest.first_chunk::<{ SEPS_BLOCK }>() {
                Some(block) => Self::mask_block(block, self.delim),
                None => Self::mask(rest, self.delim),
            };
            (self.bits, self.line_ends) = (delims | ends, ends);
            self.next += SEPS_BLOCK;
        }
        let i = self.bits.trailing_zeros();
        self.bits &= self.bits - 1;
        Some((
            self.next - SEPS_BLOCK + i as usize,
            self.line_ends >> i & 1 == 1,
        ))
    }
}

fn push_end(ends: &mut Vec<usize>, n: usize, end: usize) {
    if n == ends.len() {
        ends.push(end);
    } else {
        ends[n] = end;
    }
}

/// The header's columns: spreadsheets pad rows with trailing delimiters, and unnamed trailing
/// columns are not columns.
fn header_names<'a, 'b>(cells: &'a [&'b str]) -> Result<&'a [&'b str], FileError> {
    let used = cells
        .iter()
        .rposition(|c| !c.is_empty())
        .map_or(0, |i| i + 1);
    Ok(&cells[..used])
}

/// Maps header names to a kind's columns: unnamed, unknown and repeated ones are file errors,
/// reported for the first offending column.
pub fn map_header<C: Copy + PartialEq>(
    names: &[&str],
    column: impl Fn(&str) -> Option<C>,
    name_of: impl Fn(C) -> String,
    allowed: &str,
) -> Result<Vec<C>, FileError> {
    let mut columns: Vec<C> = Vec::with_capacity(names.len());
    for (i, raw) in names.iter().enumerate() {
        let number = i as u32 + 1;
        if raw.is_empty() {
            return Err(FileError::EmptyColumnName { column: number });
        }
        let c = column(&raw.to_lowercase()).ok_or_else(|| FileError::UnknownColumn {
            name: raw.to_string(),
            column: number,
            allowed: allowed.to_string(),
        })?;
        if let Some(first) = columns.iter().position(|x| *x == c) {
            return Err(FileError::RepeatedColumn {
                name: name_of(c),
                first: first as u32 + 1,
                second: number,
            });
        }
        columns.push(c);
    }
    Ok(columns)
}

/// Reads a file of the membership upload (SPEC 2).
pub fn parse(
    bytes: &[u8],
    delimiter: DelimiterChoice,
    encoding: EncodingChoice,
) -> Result<Parsed, FileError> {
    Parsing::new(&FileText::new(bytes, encoding)?, delimiter).finish()
}

/// A membership file being parsed in steps (see `Records`).
pub struct Parsing<'t>(Records<'t, ParsedSink>);

impl<'t> Parsing<'t> {
    pub fn new(file: &'t FileText<'_>, delimiter: DelimiterChoice) -> Self {
        let sink = ParsedSink {
            out: Parsed {
                delimiter: b',',
                encoding: TextEncoding::Utf8,
                columns: Vec::new(),
                rows: Vec::new(),
                segment_ids: Vec::new(),
                seg_cells: Vec::new(),
                users: Vec::new(),
                profile_fields: Vec::new(),
                pf_cells: Vec::new(),
                details: Vec::new(),
                text: String::new(),
            },
            segments: SegmentTable::default(),
            users: UserTable::default(),
            lines_hint: file.lines_hint(),
            text_hint: file.whole_len() / 2,
        };
        Parsing(Records::new(file, delimiter, sink))
    }

    /// Reads up to `rows` more rows; false once the whole file is read.
    pub fn step(&mut self, rows: usize) -> Result<bool, FileError> {
        let more = self.0.step(rows);
        let sink = self.0.sink_mut();
        sink.users.flush(&mut sink.out, None);
        more
    }

    /// Goes on in the whole file after its head (see `Records::resume`); false when the whole
    /// file must be parsed afresh.
    pub fn resume(&mut self, file: &'t FileText<'_>) -> bool {
        self.0.resume(file)
    }

    /// The file as read so far.
    pub fn so_far(&self) -> &Parsed {
        &self.0.sink().out
    }

    /// About how many records the whole file holds (`FileText::lines_hint`).
    pub fn lines_hint(&self) -> usize {
        self.0.sink().lines_hint
    }

    pub fn finish(self) -> Result<Parsed, FileError> {
        let (mut sink, shape) = self.0.finish()?;
        sink.users.flush(&mut sink.out, None);
        let mut out = sink.out;
        out.delimiter = shape.delimiter;
        out.encoding = shape.encoding;
        Ok(out)
    }
}

struct ParsedSink {
    out: Parsed,
    segments: SegmentTable,
    users: UserTable,
    /// Sizes the rows, cells and text are reserved at once the header is read: a million-row
    /// file otherwise pays for every doubling's copy (and, natively, fresh pages each time).
    lines_hint: usize,
    text_hint: usize,
}

/// The most the parse reserves up front (see `ParsedSink::header`): a million rows, five million
/// segment cells, 32 MiB of text.
const RESERVE_ROWS_MAX: usize = 1 << 20;
const RESERVE_CELLS_MAX: usize = 5 << 20;
const RESERVE_TEXT_MAX: usize = 32 << 20;
/// Names the name table is sized for up front (by the file's lines): a file of up to 16,384
/// names then never grows its table (each growth moves every entry). Not more: a large file may
/// name its users many times over (a million rows, 200,000 names), and a table sized for its
/// lines would spread those names over five times the memory the look-ups then miss in.
const RESERVE_USERS_MAX: usize = 1 << 14;

/// The bytes a well-formed username may hold, in either case: a load per byte, where the
/// `match` in `Username::allowed_byte` was a jump per byte in `perf`'s listing of the parse.
const USERNAME_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = Username::allowed_byte((b as u8).to_ascii_lowercase());
        b += 1;
    }
    table
};

/// `Row::user` of a row without a valid username.
const NO_USER: u32 = u32::MAX;

/// `Row::details` of a row without firstname, lastname or email cells.
const NO_DETAILS: u32 = u32::MAX;

/// Where a firstname, lastname or email cell sits in a row's `Parsed::details` entry.
fn detail_slot(column: Column) -> Option<usize> {
    match column {
        Column::Firstname => Some(0),
        Column::Lastname => Some(1),
        Column::Email => Some(2),
        _ => None,
    }
}

/// An index of distinct names kept in a list its owner holds (the file's usernames, its segment
/// IDs): an open-addressing table of 64-bit slots, each holding 32 bits of a name's hash and its
/// place in the list + 1 (0: empty), probed linearly and kept at most half full. A probe reads
/// one slot, and reads the name itself only when all 32 bits of its hash match. hashbrown's
/// table (a 16-byte entry and a control byte per bucket, control bytes read four at a time in
/// 32-bit WebAssembly) took 1.1-1.7 times as long for usernames in WebAssembly, and a
/// `FxHashMap<Box<[u8]>, u32>` of segment IDs was a quarter of a 100k-row parse (README,
/// Benchmarks, sessions 23 and 24). The list is the count of names, so it keeps none of its own.
#[derive(Default)]
struct NameIndex {
    slots: Vec<u64>,
}

impl NameIndex {
    const MIN_SLOTS: usize = 64;

    /// The slot a probe for hash `h` starts at: the high half of a multiplicative hash.
    fn bucket(h: u32, mask: usize) -> usize {
        (u64::from(h).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
    }

    /// Room for `names` names without growing.
    fn reserve(&mut self, names: usize) {
        let slots = names
            .saturating_mul(2)
            .next_power_of_two()
            .max(Self::MIN_SLOTS);
        if slots > self.slots.len() {
            self.resize(slots);
        }
    }

    /// Moves every name to a table of `slots` slots (a power of two); the hash each slot keeps
    /// places it again without reading its name.
    fn resize(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, vec![0; slots]);
        let mask = slots - 1;
        for slot in old.into_iter().filter(|&s| s != 0) {
            let mut b = Self::bucket((slot >> 32) as u32, mask);
            while self.slots[b] != 0 {
                b = (b + 1) & mask;
            }
            self.slots[b] = slot;
        }
    }

    /// The place of the name with hash `h` among the `len` names indexed so far (`is(place)`
    /// tells whether the name there is the one sought); `Err(len)` when it is not among them,
    /// having indexed it there: the caller then adds it to its list.
    fn find_or_add(&mut self, len: usize, h: u32, is: impl Fn(usize) -> bool) -> Result<u32, u32> {
        if (len + 1) * 2 > self.slots.len() {
            self.resize((self.slots.len() * 2).max(Self::MIN_SLOTS));
        }
        match self.probe(h, |place| is(place as usize - 1)) {
            Ok(b) => Ok(self.slots[b] as u32 - 1),
            Err(b) => {
                self.set(b, h, len as u32 + 1);
                Err(len as u32)
            }
        }
    }

    /// The slot of hash `h` whose place field (a name's place + 1) `is` accepts, or the empty
    /// slot where the probe ended.
    fn probe(&self, h: u32, is: impl Fn(u32) -> bool) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut b = Self::bucket(h, mask);
        // At most half full: the probe always meets an empty slot.
        while self.slots[b] != 0 {
            let slot = self.slots[b];
            if (slot >> 32) as u32 == h && is(slot as u32) {
                return Ok(b);
            }
            b = (b + 1) & mask;
        }
        Err(b)
    }

    /// Slot `b` holds hash `h` and place field `place`.
    fn set(&mut self, b: usize, h: u32, place: u32) {
        self.slots[b] = (u64::from(h) << 32) | u64::from(place);
    }
}

/// The eight bytes of `s` from `i` as a little-endian word (`s` holds them: callers check).
fn word64(s: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or_default())
}

/// The four bytes of `s` from `i` as a little-endian word.
fn word32(s: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(s[i..i + 4].try_into().unwrap_or_default())
}

/// 32 bits of a hash of a name's bytes, eight at a time: each word is mixed in with one 64-bit
/// multiply. `FxHasher`'s hash of a byte string mixes with a 64 x 64 -> 128-bit multiply, which
/// 32-bit WebAssembly has no instruction for: it was 8% of a 100k-row parse (README,
/// Benchmarks, session 24).
fn name_hash(name: &[u8]) -> u32 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mix = |h: u64, w: u64| (h.rotate_left(23) ^ w).wrapping_mul(K);
    let n = name.len();
    let mut h = n as u64;
    if n >= 8 {
        // Whole words, then the last eight bytes (overlapping the last whole word).
        let mut i = 0;
        while i + 8 < n {
            h = mix(h, word64(name, i));
            i += 8;
        }
        h = mix(h, word64(name, n - 8));
    } else if n >= 4 {
        // The first four bytes and the last four (overlapping when fewer than eight).
        h = mix(
            h,
            u64::from(word32(name, 0)) | (u64::from(word32(name, n - 4)) << 32),
        );
    } else {
        let w = name
            .iter()
            .rev()
            .fold(0u64, |w, &b| (w << 8) | u64::from(b));
        h = mix(h, w);
    }
    (h >> 32) as u32 ^ h as u32
}

/// The distinct usernames seen so far: `Parsed::users`, indexed. Names are indexed in batches
/// (`add`, then `flush`), a large batch's probes in the order of the slots they start at: a table
/// too large for the cache is then walked in one direction instead of at random, where one probe
/// per row took about a third of a 100k-row parse (README, Benchmarks, session 26).
#[derive(Default)]
struct UserTable {
    index: NameIndex,
    /// The names added since the last `flush`: they lie back to back at the arena's end, as
    /// the parse flushes before it pushes any other text.
    pending: Vec<PendingName>,
    /// `flush`'s work lists, kept for the next batch.
    order: Vec<u32>,
    found: Vec<u32>,
    counts: Vec<u32>,
}

/// A valid username read but not yet indexed: its row, its copy in the arena, its hash.
#[derive(Clone, Copy)]
struct PendingName {
    row: u32,
    span: Span,
    h: u32,
}

impl UserTable {
    /// Names indexed at once: a page's parse step (20,000 rows) is about one batch.
    const BATCH: usize = 16_384;
    /// A batch is placed in its own order, one probe per name, when it has fewer names than
    /// this or the table stays within this many slots (256 KiB, which the cache holds): the
    /// sort would cost more than it saves (a 10k-row parse was 10% slower with it).
    const SORT_FROM: usize = 256;
    const SORT_SLOTS_FROM: usize = 1 << 15;
    /// The sort's groups: the table split in 2^GROUP_BITS runs of slots.
    const GROUP_BITS: u32 = 11;
    /// A slot's place field for a name of the batch being placed (its place in `pending`),
    /// told apart from a place in `Parsed::users` (+ 1) by this bit.
    const PENDING: u32 = 1 << 31;
    /// `found` for a name new to the table.
    const NEW: u32 = u32::MAX;

    /// Room for `names` names without growing.
    fn reserve(&mut self, names: usize) {
        self.index.reserve(names);
    }

    /// Queues the name at `span`, just pushed at the arena's end, of row `row` (the row's
    /// `username` and `user` are set by `flush`).
    fn add(&mut self, out: &Parsed, row: u32, span: Span) {
        let h = name_hash(out.get(span).as_bytes());
        self.add_hashed(out, row, span, h);
    }

    /// `add` with the name's hash given (tests give many names one hash).
    fn add_hashed(&mut self, out: &Parsed, row: u32, span: Span, h: u32) {
        debug_assert_eq!((span.start + span.len) as usize, out.text.len());
        debug_assert!(self
            .pending
            .last()
            .is_none_or(|p| p.span.start + p.span.len == span.start));
        self.pending.push(PendingName { row, span, h });
    }

    /// Whether a batch is ready for `flush`.
    fn full(&self) -> bool {
        self.pending.len() >= Self::BATCH
    }

    /// Indexes the pending names as if each had been indexed when read: a row gets an earlier
    /// copy's index (and span) when its name was seen before, and that later copy is dropped
    /// from the arena (the new names move down over it); a new name gets the next index.
    /// `current` is the row being read (not yet in `out.rows`), whose name may be pending.
    ///
    /// A small batch, or one into a small table, is placed in the file's order
    /// (`flush_in_order`). A large one is first placed in the table in the order of its slots (a
    /// stable counting sort on the slots' top bits), a new name's slot pointing at its place in
    /// the batch; then, in the file's order, new names get their indexes and rows their names;
    /// last, the new names' slots get their indexes, again in slot order.
    fn flush(&mut self, out: &mut Parsed, mut current: Option<&mut Row>) {
        let n = self.pending.len();
        let Some(start) = self.pending.first().map(|p| p.span.start) else {
            return;
        };
        if n < Self::SORT_FROM || (out.users.len() + n) * 2 <= Self::SORT_SLOTS_FROM {
            return self.flush_in_order(out, current);
        }
        // No growth while the batch is placed: a growth would move the slots it points at.
        self.index.reserve(out.users.len() + n);
        self.sort();
        let (pending, users) = (&self.pending, &out.users);
        let same_as = |e: usize, place: u32| {
            let name = out.get(pending[e].span).as_bytes();
            let other = match place & Self::PENDING {
                0 => users[place as usize - 1],
                _ => pending[(place & !Self::PENDING) as usize].span,
            };
            same_bytes(out.get(other).as_bytes(), name)
        };
        self.found.clear();
        self.found.resize(n, Self::NEW);
        for &e in &self.order {
            let e = e as usize;
            let h = pending[e].h;
            self.found[e] = match self.index.probe(h, |place| same_as(e, place)) {
                // An earlier name of the batch (a stable sort meets the first copy first) is
                // found by its place in the batch, another by its index.
                Ok(b) => match self.index.slots[b] as u32 {
                    place if place & Self::PENDING != 0 => place,
                    place => place - 1,
                },
                Err(b) => {
                    self.index.set(b, h, Self::PENDING | e as u32);
                    Self::NEW
                }
            };
        }
        // The file's order: indexes, the arena, the rows.
        let mut cursor = start;
        for (e, p) in self.pending.iter().enumerate() {
            let user = match self.found[e] {
                Self::NEW => {
                    let user = keep_new(out, p.span, &mut cursor);
                    self.found[e] = user | Self::PENDING;
                    user
                }
                // A copy of an earlier name of the batch: that name's index, given above.
                place if place & Self::PENDING != 0 => {
                    let user = self.found[(place & !Self::PENDING) as usize] & !Self::PENDING;
                    self.found[e] = user;
                    user
                }
                user => user,
            };
            set_user(out, current.as_deref_mut(), p.row, user);
        }
        out.text.truncate(cursor as usize);
        // The new names' slots (`found` still marked), in slot order: their indexes in place of
        // their places in the batch. Nothing was taken out, so each is on its probe's way.
        for &e in &self.order {
            let e = e as usize;
            if self.found[e] & Self::PENDING == 0 {
                continue;
            }
            let h = self.pending[e].h;
            let batch_place = Self::PENDING | e as u32;
            if let Ok(b) = self.index.probe(h, |place| place == batch_place) {
                self.index.set(b, h, (self.found[e] & !Self::PENDING) + 1);
            }
        }
        self.pending.clear();
    }

    /// `flush` for a small batch or table: each name probed in the file's order.
    fn flush_in_order(&mut self, out: &mut Parsed, mut current: Option<&mut Row>) {
        let Some(mut cursor) = self.pending.first().map(|p| p.span.start) else {
            return;
        };
        for p in self.pending.drain(..) {
            let name = out.get(p.span).as_bytes();
            let users = &out.users;
            let found = self.index.find_or_add(users.len(), p.h, |i| {
                same_bytes(out.get(users[i]).as_bytes(), name)
            });
            let user = match found {
                Ok(user) => user,
                Err(_) => keep_new(out, p.span, &mut cursor),
            };
            set_user(out, current.as_deref_mut(), p.row, user);
        }
        out.text.truncate(cursor as usize);
    }

    /// `order`: the pending names' places, sorted (stably) by the top bits of the slot each
    /// probe starts at.
    fn sort(&mut self) {
        let slots = self.index.slots.len();
        let n = self.pending.len();
        self.order.clear();
        let bits = slots.trailing_zeros();
        let shift = bits.saturating_sub(Self::GROUP_BITS);
        let groups = 1usize << (bits - shift);
        let mask = slots - 1;
        let group = |p: &PendingName| NameIndex::bucket(p.h, mask) >> shift;
        self.counts.clear();
        self.counts.resize(groups + 1, 0);
        for p in &self.pending {
            self.counts[group(p) + 1] += 1;
        }
        for g in 1..=groups {
            self.counts[g] += self.counts[g - 1];
        }
        self.order.resize(n, 0);
        for (e, p) in self.pending.iter().enumerate() {
            let at = &mut self.counts[group(p)];
            self.order[*at as usize] = e as u32;
            *at += 1;
        }
    }
}

/// Adds the new name at `span` to `out.users`, moved down to `cursor` (past the names kept
/// before it in its batch, over the copies dropped); its index.
fn keep_new(out: &mut Parsed, mut span: Span, cursor: &mut u32) -> u32 {
    if span.start != *cursor {
        let from = span.start as usize..(span.start + span.len) as usize;
        // SAFETY: names are ASCII, and a name moves down only over the copies dropped before it;
        // the arena is cut after the last name kept (`UserTable::flush`).
        unsafe { out.text.as_mut_vec() }.copy_within(from, *cursor as usize);
        span.start = *cursor;
    }
    *cursor += span.len;
    out.users.push(span);
    out.users.len() as u32 - 1
}

/// Row `row` names user `user`: in `out.rows`, or `current`, the row being read.
fn set_user(out: &mut Parsed, current: Option<&mut Row>, row: u32, user: u32) {
    let span = out.users[user as usize];
    if let Some(row) = out.rows.get_mut(row as usize).or(current) {
        (row.username, row.user) = (span, user);
    }
}

/// The distinct segment IDs seen so far: `Parsed::segment_ids`, indexed.
#[derive(Default)]
struct SegmentTable(NameIndex);

impl SegmentTable {
    /// The segment ID number of `cell` (trimmed), a new one when it is met first.
    fn intern(&mut self, ids: &mut Vec<String>, cell: &[u8]) -> u32 {
        self.intern_hashed(ids, cell, name_hash(cell))
    }

    /// `intern` with the cell's hash given (tests give many cells one hash).
    fn intern_hashed(&mut self, ids: &mut Vec<String>, cell: &[u8], h: u32) -> u32 {
        match self
            .0
            .find_or_add(ids.len(), h, |i| same_bytes(ids[i].as_bytes(), cell))
        {
            Ok(i) => i,
            Err(i) => {
                ids.push(text(cell).to_string());
                i
            }
        }
    }
}

/// Byte equality eight bytes at a time: `==` on slices calls `memcmp`, which in WebAssembly
/// compares a byte at a time (64 ms of the re-upload preview's profile, all in `intern`).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() < 4 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    if a.len() < 8 {
        // The first four bytes and the last four (overlapping when fewer than eight).
        let last = a.len() - 4;
        return word32(a, 0) == word32(b, 0) && word32(a, last) == word32(b, last);
    }
    // Whole words, then the last eight bytes (overlapping the last whole word).
    let last = a.len() - 8;
    let mut i = 0;
    while i < last {
        if word64(a, i) != word64(b, i) {
            return false;
        }
        i += 8;
    }
    word64(a, last) == word64(b, last)
}

impl RecordSink for ParsedSink {
    fn header(&mut self, names: &[&str]) -> Result<(), FileError> {
        let (columns, fields) = header(names)?;
        let cohorts = columns
            .iter()
            .filter(|c| matches!(c, Column::Cohort(_)))
            .count();
        // Bounded: line feeds alone (blank lines) or a header of many cohort columns must not
        // make a small file reserve gigabytes; past these sizes the vectors grow as they fill.
        let rows = self.lines_hint.min(RESERVE_ROWS_MAX);
        self.out.rows.reserve(rows);
        self.out
            .seg_cells
            .reserve(rows.saturating_mul(cohorts).min(RESERVE_CELLS_MAX));
        self.out.text.reserve(self.text_hint.min(RESERVE_TEXT_MAX));
        self.users.reserve(rows.min(RESERVE_USERS_MAX));
        self.out.columns = columns;
        self.out.profile_fields = fields;
        Ok(())
    }

    fn row(&mut self, record: &Record<'_>, line: u32) {
        let row = read_row(
            &mut self.out,
            &mut self.segments,
            &mut self.users,
            record,
            line,
        );
        self.out.rows.push(row);
        if self.users.full() {
            self.users.flush(&mut self.out, None);
        }
    }
}

fn is_blank(record: &Record<'_>) -> bool {
    // (A vertical tab is whitespace to `str::trim` but not to `is_ascii_whitespace`.)
    let visible_ascii = |f: &[u8]| {
        f.iter()
            .any(|&b| b.is_ascii() && !b.is_ascii_whitespace() && b != 0x0B)
    };
    if record.iter().any(visible_ascii) {
        return false;
    }
    record.iter().all(|f| cell(f).is_empty())
}

/// A field as trimmed text (the input is valid UTF-8 after decoding, and both readers only
/// split at ASCII bytes, so a field is always valid UTF-8).
fn cell(field: &[u8]) -> &str {
    std::str::from_utf8(field).unwrap_or("").trim()
}

fn read_row(
    out: &mut Parsed,
    segments: &mut SegmentTable,
    users: &mut UserTable,
    record: &Record<'_>,
    line: u32,
) -> Row {
    let mut row = Row {
        line,
        username_cell: UsernameCell::Missing,
        username: Span::default(),
        user: NO_USER,
        details: NO_DETAILS,
        seg_start: out.seg_cells.len() as u32,
        seg_len: 0,
        pf_start: out.pf_cells.len() as u32,
        pf_len: 0,
        extra_cells: 0,
    };
    for (i, field) in record.iter().enumerate() {
        // Bytes until a cell is kept: most cells are only checked, hashed or skipped.
        let cell = trimmed(field);
        let Some(column) = out.columns.get(i).copied() else {
            if !cell.is_empty() {
                row.extra_cells += 1;
            }
            continue;
        };
        if cell.is_empty() {
            continue;
        }
        match column {
            Column::Username => {
                // Fast path: ASCII in the allowed set (any case) is lowercased straight into
                // the arena; anything else goes through the full parse.
                if let Some(span) = push_username(&mut out.text, cell) {
                    row.username_cell = UsernameCell::Valid;
                    row.username = span;
                    users.add(out, out.rows.len() as u32, span);
                } else {
                    // Only ASCII can be in the allowed set: Unicode lowercasing maps a few
                    // look-alikes (KELVIN SIGN) onto ASCII letters, and those are refused.
                    let cell = text(cell);
                    match Username::parse(cell) {
                        Ok(name) if cell.is_ascii() => {
                            row.username_cell = UsernameCell::Valid;
                            let span = push(&mut out.text, name.as_str());
                            row.username = span;
                            users.add(out, out.rows.len() as u32, span);
                        }
                        _ => {
                            row.username_cell = UsernameCell::Invalid;
                            users.flush(out, Some(&mut row));
                            row.username = push(&mut out.text, cell);
                        }
                    }
                }
            }
            Column::Firstname | Column::Lastname | Column::Email => {
                // The arena's end holds only pending names (see `UserTable::pending`).
                users.flush(out, Some(&mut row));
                let span = push(&mut out.text, text(cell));
                if row.details == NO_DETAILS {
                    row.details = out.details.len() as u32;
                    out.details.push([None; 3]);
                }
                let cells = &mut out.details[row.details as usize];
                if let Some(slot) = detail_slot(column) {
                    cells[slot] = Some(span);
                }
            }
            Column::ProfileField(field) => {
                users.flush(out, Some(&mut row));
                let value = push(&mut out.text, text(cell));
                out.pf_cells.push(ProfileCell {
                    column: i as u32,
                    field,
                    value,
                });
                row.pf_len += 1;
            }
            Column::Cohort(_) => {
                let segment = segments.intern(&mut out.segment_ids, cell);
                out.seg_cells.push(SegmentCell {
                    column: i as u32,
                    segment,
                });
                row.seg_len += 1;
            }
        }
    }
    row
}

/// A field trimmed exactly as `str::trim` trims it, in bytes: the ASCII white space (vertical
/// tab included) off both ends, and a field that then starts or ends outside ASCII (where
/// Unicode spaces such as NO-BREAK SPACE may sit) trimmed as text.
fn trimmed(field: &[u8]) -> &[u8] {
    // Most cells start and end with visible ASCII: nothing to trim.
    if let (Some(&a), Some(&z)) = (field.first(), field.last()) {
        if a > b' ' && a < 0x80 && z > b' ' && z < 0x80 {
            return field;
        }
    }
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r');
    let start = field.iter().position(|b| !space(b)).unwrap_or(field.len());
    let end = field
        .iter()
        .rposition(|b| !space(b))
        .map_or(start, |i| i + 1);
    let s = &field[start..end];
    match (s.first(), s.last()) {
        (Some(&a), Some(&z)) if !a.is_ascii() || !z.is_ascii() => cell(s).as_bytes(),
        _ => s,
    }
}

/// Pushes `cell` lowercased when it is a well-formed username in any case (ASCII in the allowed
/// set, at most `Username::MAX_LEN` bytes); `None`, with `text` as it was, otherwise. Sixteen
/// bytes at a time, as lane-wise work the compiler turns into vector instructions (WebAssembly's
/// 16-byte ones in the browser): checked and lowercased in one pass, where a byte-at-a-time
/// check and then a lowercasing copy ran (the parse is 8-18% faster for it in WebAssembly:
/// README, Benchmarks, session 25).
fn push_username(text: &mut String, cell: &[u8]) -> Option<Span> {
    const LANES: usize = 16;
    let n = cell.len();
    if n > Username::MAX_LEN {
        return None;
    }
    if n < LANES {
        let simple = cell
            .iter()
            .fold(true, |ok, &b| ok & USERNAME_BYTES[b as usize]);
        return simple.then(|| push_lowercase(text, cell));
    }
    let start = text.len();
    // SAFETY: only bytes checked to be ASCII become part of the string (`set_len` below, once
    // every byte passed); until then they sit in reserved capacity, past its length.
    let buf = unsafe { text.as_mut_vec() };
    buf.reserve(n);
    let out = buf.spare_capacity_mut();
    let mut bad = 0u8;
    // Whole chunks, then the last 16 bytes (overlapping the last whole chunk).
    let mut at = 0;
    loop {
        let at_now = at.min(n - LANES);
        let chunk = cell[at_now..].first_chunk::<LANES>()?;
        let (lower, not_allowed) = lower_username_chunk(chunk);
        bad |= not_allowed;
        for (o, l) in out[at_now..at_now + LANES].iter_mut().zip(lower) {
            o.write(l);
        }
        if at_now + LANES >= n {
            break;
        }
        at += LANES;
    }
    if bad != 0 {
        return None;
    }
    // SAFETY: bytes `start..start + n` were all written above, every one ASCII (`bad` is 0).
    unsafe { buf.set_len(start + n) };
    Some(Span {
        start: start as u32,
        len: n as u32,
    })
}

/// Sixteen bytes of a username cell lowercased, and nonzero when any is outside the allowed set
/// (`Username::allowed_byte`: range compares, which vectorise where a table load would not).
fn lower_username_chunk(chunk: &[u8; 16]) -> ([u8; 16], u8) {
    let mut lower = [0u8; 16];
    let mut bad = 0u8;
    for (l, &b) in lower.iter_mut().zip(chunk) {
        *l = b.to_ascii_lowercase();
        bad |= u8::from(!Username::allowed_byte(*l));
    }
    (lower, bad)
}

/// A trimmed field as text (see `cell`).
fn text(field: &[u8]) -> &str {
    std::str::from_utf8(field).unwrap_or("")
}

/// Pushes `ascii` (ASCII bytes) lowercased, in one pass: a copy and then a lowercasing pass took
/// twice as long in the browser (the copy is a call to `memory.copy` there).
fn push_lowercase(text: &mut String, ascii: &[u8]) -> Span {
    let start = text.len() as u32;
    // SAFETY: every byte pushed is below 0x80 (the mask, which leaves ASCII as it is), so
    // `text` stays UTF-8.
    unsafe { text.as_mut_vec() }.extend(ascii.iter().map(|b| b.to_ascii_lowercase() & 0x7F));
    Span {
        start,
        len: ascii.len() as u32,
    }
}

fn push(text: &mut String, s: &str) -> Span {
    let start = text.len() as u32;
    text.push_str(s);
    Span {
        start,
        len: s.len() as u32,
    }
}

/// The columns, and the shortnames of the `profile_field_…` ones (whether the site has such
/// fields is known only after the look-ups: see `unknown_profile_fields`).
fn header(names: &[&str]) -> Result<(Vec<Column>, Vec<String>), FileError> {
    let mut fields: Vec<String> = Vec::new();
    for n in names {
        if let Some(s) = n.to_lowercase().strip_prefix(PROFILE_PREFIX) {
            if crate::automation::rules::valid_shortname(s) && !fields.iter().any(|f| f == s) {
                fields.push(s.to_string());
            }
        }
    }
    let columns = map_header(
        names,
        |name| {
            Column::from_header(name).or_else(|| {
                let s = name.strip_prefix(PROFILE_PREFIX)?;
                let i = fields.iter().position(|f| f == s)?;
                Some(Column::ProfileField(i as u32))
            })
        },
        |c| match c {
            Column::ProfileField(i) => format!("{PROFILE_PREFIX}{}", fields[i as usize]),
            c => c.name(),
        },
        "username, firstname, lastname, email, cohort1, cohort2, …, profile_field_<shortname>",
    )?;
    if !columns.contains(&Column::Username) {
        return Err(FileError::NoUsernameColumn);
    }
    Ok((columns, fields))
}

const PROFILE_PREFIX: &str = "profile_field_";

/// The file's `profile_field_…` columns whose shortname the site does not define: a file error
/// (SPEC 8), known once the site's fields are.
pub fn unknown_profile_fields(parsed: &Parsed, known: &[String]) -> Result<(), FileError> {
    match parsed.profile_fields.iter().find(|f| !known.contains(f)) {
        None => Ok(()),
        Some(f) => Err(FileError::UnknownProfileField {
            name: format!("{PROFILE_PREFIX}{f}"),
        }),
    }
}

/// UTF-8 (BOM dropped); `auto` falls back to Windows-1252 for bytes that are not UTF-8.
pub fn decode(
    bytes: &[u8],
    choice: EncodingChoice,
) -> Result<(Cow<'_, str>, TextEncoding), FileError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) || looks_utf16(bytes) {
        return Err(FileError::Utf16);
    }
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    // simdutf8 checks the whole file with SIMD (in WASM too); std then finds where a bad one fails.
    let utf8 = match simdutf8::basic::from_utf8(body) {
        Ok(s) => Ok(s),
        Err(_) => std::str::from_utf8(body),
    };
    match (choice, utf8) {
        (EncodingChoice::Utf8 | EncodingChoice::Auto, Ok(s)) => {
            Ok((Cow::Borrowed(s), TextEncoding::Utf8))
        }
        (EncodingChoice::Utf8, Err(e)) => Err(FileError::NotUtf8 {
            line: LineCounter::new(body).line_at(e.valid_up_to()),
        }),
        (EncodingChoice::Windows1252, _) | (EncodingChoice::Auto, Err(_)) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(body);
            Ok((text, TextEncoding::Windows1252))
        }
    }
}

/// UTF-16 without a byte-order mark: in the first pairs of bytes, one side is (nearly) always NUL
/// and the other never is, as ASCII text in UTF-16 LE or BE reads.
fn looks_utf16(bytes: &[u8]) -> bool {
    let pairs: Vec<&[u8]> = bytes.chunks_exact(2).take(256).collect();
    if pairs.len() < 4 {
        return false;
    }
    let side = |i: usize| pairs.iter().filter(|p| p[i] == 0 && p[1 - i] != 0).count();
    let needed = pairs.len() * 9 / 10;
    side(0) >= needed || side(1) >= needed
}

/// The candidate that occurs most often outside quotes on the header line; comma on a tie or none.
pub fn detect_delimiter(data: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b':'];
    let mut counts = [0usize; 4];
    let mut in_quotes = false;
    let start = data
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(0);
    for &b in &data[start..] {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\r' | b'\n' if !in_quotes => break,
            _ if !in_quotes => {
                if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let best = (0..4).fold(0, |best, i| if counts[i] > counts[best] { i } else { best });
    CANDIDATES[best]
}

fn count_quotes(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'"').count()
}

/// Counts lines the way an admin's editor does: LF, CRLF and a lone CR each end a line.
struct LineCounter<'a> {
    data: &'a [u8],
    cursor: usize,
    line: u32,
}

impl<'a> LineCounter<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            cursor: 0,
            line: 1,
        }
    }

    fn advance_to(&mut self, pos: usize) {
        let pos = pos.min(self.data.len());
        if pos <= self.cursor {
            return;
        }
        let span = &self.data[self.cursor..pos];
        // A plain count (which compilers vectorise) for LF; CRs are one a line at most.
        self.line += span.iter().filter(|&&b| b == b'\n').count() as u32;
        for i in memchr::memchr_iter(b'\r', span) {
            if self.data.get(self.cursor + i + 1) != Some(&b'\n') {
                self.line += 1;
            }
        }
        self.cursor = pos;
    }

    /// The line of the first byte at or after `start` that is not a line ending.
    fn line_of_content_at(&mut self, start: usize) -> u32 {
        let content = self.data[start.min(self.data.len())..]
            .iter()
            .position(|b| !matches!(b, b'\r' | b'\n'))
            .map_or(self.data.len(), |o| start + o);
        self.advance_to(content);
        self.line
    }

    fn line_at(mut self, pos: usize) -> u32 {
        self.advance_to(pos);
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::{
        name_hash, parse, push, push_lowercase, push_username, same_bytes, DelimiterChoice,
        EncodingChoice, Row, SegmentTable, Seps, UserTable, Username, UsernameCell, NO_DETAILS,
        NO_USER, SEPS_BLOCK,
    };

    /// The sixteen-at-a-time username path keeps a cell lowercased exactly when every byte is
    /// allowed in some case and it is at most `Username::MAX_LEN` long, and otherwise leaves the
    /// text as it was: every byte value at every place of cells around the chunk sizes.
    #[test]
    fn a_username_cell_is_kept_lowercased_exactly_when_every_byte_is_allowed() {
        let allowed = b"aZ09._-@qM";
        let expect = |cell: &[u8]| {
            let ok = cell.len() <= Username::MAX_LEN
                && cell
                    .iter()
                    .all(|b| Username::allowed_byte(b.to_ascii_lowercase()));
            ok.then(|| cell.to_ascii_lowercase())
        };
        let check = |cell: &[u8]| {
            let mut text = String::from("before");
            let got = push_username(&mut text, cell);
            match expect(cell) {
                Some(lower) => {
                    let span = got.expect("a well-formed cell is kept");
                    assert_eq!((span.start, span.len), (6, cell.len() as u32));
                    assert_eq!(&text.as_bytes()[6..], &lower[..], "{cell:?}");
                }
                None => {
                    assert!(got.is_none(), "{cell:?}");
                    assert_eq!(text, "before");
                }
            }
        };
        for n in 0..=Username::MAX_LEN + 3 {
            let base: Vec<u8> = (0..n).map(|i| allowed[i % allowed.len()]).collect();
            check(&base);
            if [1, 15, 16, 17, 31, 32, 33, 47, 99, 100, 101].contains(&n) {
                for at in 0..n {
                    for b in 0..=255u8 {
                        let mut cell = base.clone();
                        cell[at] = b;
                        check(&cell);
                    }
                }
            }
        }
    }

    /// Each distinct name gets one index, the next one when first met: checked against a map
    /// through many growths of the table, in batches flushed at irregular points and in one
    /// batch of 3,000 names (placed in the order of their slots), with each
    /// name's own hash and with one hash for every name (told apart by their bytes alone). Each
    /// later copy is dropped from the arena, also where other text (a detail cell) is pushed
    /// between names, which is left as it was.
    #[test]
    fn the_name_table_indexes_each_distinct_name_once_in_the_order_met() {
        // (hashes: each name's own, one for all (7) or 256; other text between names; flushes
        // at irregular points; names; distinct names). 40,000 names without irregular flushes
        // are a batch placed in the file's order (the table still small), then two placed in
        // the order of their slots: new names, copies of earlier batches' names and of earlier
        // names of their own; the last finds the names the second placed.
        #[derive(Clone, Copy, PartialEq)]
        enum Hashes {
            Own,
            One,
            Few,
        }
        let cases = [
            (Hashes::Own, false, true, 3_000, 1_000),
            (Hashes::One, false, true, 3_000, 1_000),
            (Hashes::Own, true, true, 3_000, 1_000),
            (Hashes::One, true, true, 3_000, 1_000),
            (Hashes::Own, false, false, 40_000, 30_000),
            (Hashes::Few, false, false, 40_000, 30_000),
        ];
        for (hashes, other_text, often, count, distinct) in cases {
            let one_hash = hashes == Hashes::One;
            let mut out = parse(b"username\n", DelimiterChoice::Auto, EncodingChoice::Auto)
                .expect("a header alone parses");
            let mut table = UserTable::default();
            let mut expected: std::collections::HashMap<String, u32> = Default::default();
            let (mut names, mut others) = (Vec::new(), Vec::new());
            let mut kept = 0;
            for k in 0..count {
                // Names of 1 to 12 bytes, met again and again in a shuffled order.
                let n = ((k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize % distinct;
                let name = format!("{}{}", "u".repeat(n % 5), n);
                let next = expected.len() as u32;
                let want = *expected.entry(name.clone()).or_insert(next);
                if want == next {
                    kept += name.len();
                }
                let span = push_lowercase(&mut out.text, name.as_bytes());
                let mut row = Row {
                    line: k as u32 + 2,
                    username_cell: UsernameCell::Valid,
                    username: span,
                    user: NO_USER,
                    details: NO_DETAILS,
                    seg_start: 0,
                    seg_len: 0,
                    pf_start: 0,
                    pf_len: 0,
                    extra_cells: 0,
                };
                let at = out.rows.len() as u32;
                match hashes {
                    Hashes::Own => table.add(&out, at, span),
                    Hashes::One => table.add_hashed(&out, at, span, 7),
                    Hashes::Few => {
                        table.add_hashed(&out, at, span, name_hash(name.as_bytes()) & 255)
                    }
                }
                if other_text && k % 3 == 1 {
                    // As the parse does before a detail cell: the row being read is not in
                    // `out.rows` yet.
                    table.flush(&mut out, Some(&mut row));
                    let other = format!("Detail {k}");
                    kept += other.len();
                    others.push((push(&mut out.text, &other), other));
                }
                out.rows.push(row);
                names.push((name, want));
                // Batches end when full and at irregular points between (a parse step's end).
                if table.full() || (often && k % 97 == 13) {
                    table.flush(&mut out, None);
                }
            }
            table.flush(&mut out, None);
            for (row, (name, want)) in out.rows.iter().zip(&names) {
                assert_eq!(row.user, *want, "{name} (one hash: {one_hash})");
                assert_eq!(out.username(row), name);
                assert_eq!(
                    out.users[row.user as usize], row.username,
                    "the first copy's span"
                );
            }
            assert_eq!(out.users.len(), expected.len());
            for (span, other) in &others {
                assert_eq!(out.get(*span), other, "other text left as it was");
            }
            assert_eq!(out.text.len(), kept, "every repeated copy dropped");
        }
    }

    /// The same for segment IDs (the cohort cells): each distinct ID gets the next number when
    /// first met and is kept once, with each ID's own hash and with one hash for every ID.
    #[test]
    fn the_segment_table_numbers_each_distinct_id_once_in_the_order_met() {
        for one_hash in [false, true] {
            let mut table = SegmentTable::default();
            let mut ids = Vec::new();
            let mut expected: std::collections::HashMap<String, u32> = Default::default();
            for k in 0..3_000usize {
                // 1,000 IDs of 1 to 13 bytes, across the hash's eight-byte words.
                let n = (k * 7_919) % 1_000;
                let id = format!("{}{}", "s".repeat(n % 11), n);
                let next = expected.len() as u32;
                let want = *expected.entry(id.clone()).or_insert(next);
                let got = if one_hash {
                    table.intern_hashed(&mut ids, id.as_bytes(), 7)
                } else {
                    table.intern(&mut ids, id.as_bytes())
                };
                assert_eq!(got, want, "{id} (one hash: {one_hash})");
                assert_eq!(ids[got as usize], id);
            }
            assert_eq!(ids.len(), expected.len());
        }
    }

    /// Every byte of a name counts in its hash: names that differ in one byte, at any place of
    /// any length up to 40, hash apart (a hash that skipped a byte, or the tail of a name whose
    /// length is not a multiple of eight, would give some of them equal hashes).
    #[test]
    fn a_name_hash_depends_on_every_byte() {
        for len in 1..=40usize {
            let name: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            for at in 0..len {
                let mut other = name.clone();
                other[at] ^= 0x01;
                assert_ne!(name_hash(&name), name_hash(&other), "len {len}, byte {at}");
            }
            assert_ne!(
                name_hash(&name),
                name_hash(&name[..len - 1]),
                "len {len}, shorter"
            );
        }
    }

    /// The separator scan gives every delimiter, CR and LF from its start on, in order: texts
    /// of every length to 200 bytes (across the 64-byte blocks), from every start to 70.
    #[test]
    fn the_separator_scan_finds_every_delimiter_and_line_ending_in_order() {
        let mut state = 0x2545_F491_u32;
        for len in 0..=200usize {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    // Bytes past ASCII too: a vector compare must not read their sign bit.
                    b";\n\r,abc\x80\xE9\xFF"[(state % 10) as usize]
                })
                .collect();
            for from in 0..=len.min(70) {
                let want: Vec<(usize, bool)> = (from..len)
                    .filter(|&i| matches!(data[i], b';' | b'\n' | b'\r'))
                    .map(|i| (i, data[i] != b';'))
                    .collect();
                let got: Vec<(usize, bool)> = Seps::new(&data, from, b';').collect();
                assert_eq!(got, want, "len {len}, from {from}");
            }
        }
    }

    /// The whole-block mask (vector compares in WebAssembly and on x86-64) is the byte-wise
    /// one, for every delimiter the files use and blocks of every byte value.
    #[test]
    fn the_block_mask_is_the_byte_wise_mask() {
        let mut state = 0x9E37_79B9_u32;
        for delim in [b',', b';', b'\t', b'|'] {
            for _ in 0..2_000 {
                let block: [u8; SEPS_BLOCK] = std::array::from_fn(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    // Half the bytes a separator, so masks of every density occur.
                    match state % 8 {
                        0 => delim,
                        1 => b'\n',
                        2 => b'\r',
                        3 => b',',
                        _ => (state >> 8) as u8,
                    }
                });
                assert_eq!(
                    Seps::mask_block(&block, delim),
                    Seps::mask(&block, delim),
                    "delimiter {delim}, block {block:?}"
                );
            }
        }
    }

    #[test]
    fn same_bytes_is_slice_equality() {
        // Every length across a few words, equal and with one byte changed at each place (the
        // words, the overlapping tail), and lengths that differ.
        for len in 0..=40usize {
            let a: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_bytes(&a, &a.clone()), "len {len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same_bytes(&a, &b), "len {len}, byte {at}");
            }
            let mut longer = a.clone();
            longer.push(b'a');
            assert!(!same_bytes(&a, &longer), "len {len} against one more");
        }
    }
}
