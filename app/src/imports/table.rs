//! The file of an import, read by the engine's shared file layer (`upload::parse::read_records`:
//! decoding, delimiter, quoting, blank lines, line numbers) into a table of the kind's columns.
//! Cells are kept trimmed and aligned with the header; what they mean is `validate`'s job.
use super::options::{ImportKind, ImportOptions};
use crate::upload::parse::{map_header, read_records, RecordSink, TextEncoding};
use crate::upload::FileError;

/// A column of one of the import kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Col {
    IdNumber,
    Name,
    Description,
    Visible,
    Course,
    GroupName,
    GroupIdNumber,
    Username,
    /// `groupN` of `group-members`.
    Group(u32),
    /// `courseN` of `enrolments`.
    CourseN(u32),
    /// `statusN` of `enrolments`.
    Status(u32),
}

impl Col {
    pub fn name(self) -> String {
        match self {
            Col::IdNumber => "idnumber".into(),
            Col::Name => "name".into(),
            Col::Description => "description".into(),
            Col::Visible => "visible".into(),
            Col::Course => "course".into(),
            Col::GroupName => "groupname".into(),
            Col::GroupIdNumber => "groupidnumber".into(),
            Col::Username => "username".into(),
            Col::Group(n) => format!("group{n}"),
            Col::CourseN(n) => format!("course{n}"),
            Col::Status(n) => format!("status{n}"),
        }
    }
}

/// `prefixN` with N ≥ 1 written without sign or leading "+" (as `cohortN`).
fn numbered(name: &str, prefix: &str) -> Option<u32> {
    let digits = name.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u32>().ok().filter(|n| *n >= 1)
}

impl ImportKind {
    /// The column a header name (lowercased) stands for in this kind's files.
    pub fn column(self, name: &str) -> Option<Col> {
        match (self, name) {
            (ImportKind::Segments, "idnumber") => Some(Col::IdNumber),
            (ImportKind::Segments, "name") => Some(Col::Name),
            (ImportKind::Segments | ImportKind::Groups, "description") => Some(Col::Description),
            (ImportKind::Segments, "visible") => Some(Col::Visible),
            (ImportKind::Groups | ImportKind::GroupMembers, "course") => Some(Col::Course),
            (ImportKind::Groups, "groupname") => Some(Col::GroupName),
            (ImportKind::Groups, "groupidnumber") => Some(Col::GroupIdNumber),
            (ImportKind::GroupMembers | ImportKind::Enrolments, "username") => Some(Col::Username),
            (ImportKind::GroupMembers, n) => numbered(n, "group").map(Col::Group),
            (ImportKind::Enrolments, n) => numbered(n, "course")
                .map(Col::CourseN)
                .or_else(|| numbered(n, "status").map(Col::Status)),
            _ => None,
        }
    }

    /// The columns a file of this kind must have.
    pub fn required(self) -> &'static [Col] {
        match self {
            ImportKind::Segments => &[Col::IdNumber, Col::Name],
            ImportKind::Groups => &[Col::Course, Col::GroupName],
            ImportKind::GroupMembers => &[Col::Username, Col::Course],
            ImportKind::Enrolments => &[Col::Username],
        }
    }

    /// The allowed columns, as a file error lists them.
    pub fn allowed(self) -> &'static str {
        match self {
            ImportKind::Segments => "idnumber, name, description, visible",
            ImportKind::Groups => "course, groupname, groupidnumber, description",
            ImportKind::GroupMembers => "username, course, group1, group2, …",
            ImportKind::Enrolments => "username, course1, course2, …, status1, status2, …",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    pub line: u32,
    /// One trimmed cell per header column ("" when empty or missing).
    pub cells: Vec<String>,
    /// Non-empty cells beyond the header's columns.
    pub extra_cells: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub kind: ImportKind,
    pub delimiter: u8,
    pub encoding: TextEncoding,
    pub columns: Vec<Col>,
    pub rows: Vec<TableRow>,
}

impl Table {
    pub fn index_of(&self, c: Col) -> Option<usize> {
        self.columns.iter().position(|x| *x == c)
    }

    /// The cell of column `c` in `row`, "" when the file has no such column.
    pub fn cell<'a>(&self, row: &'a TableRow, c: Col) -> &'a str {
        self.index_of(c).map_or("", |i| row.cells[i].as_str())
    }
}

struct TableSink {
    kind: ImportKind,
    columns: Vec<Col>,
    rows: Vec<TableRow>,
}

impl RecordSink for TableSink {
    fn header(&mut self, names: &[&str]) -> Result<(), FileError> {
        let kind = self.kind;
        let columns = map_header(names, |n| kind.column(n), Col::name, kind.allowed())?;
        if let Some(missing) = kind.required().iter().find(|c| !columns.contains(c)) {
            return Err(FileError::MissingColumn {
                name: missing.name(),
            });
        }
        self.columns = columns;
        Ok(())
    }

    fn row(&mut self, record: &crate::upload::parse::Record<'_>, line: u32) {
        let mut cells = vec![String::new(); self.columns.len()];
        let mut extra_cells = 0;
        for (i, field) in record.iter().enumerate() {
            let cell = std::str::from_utf8(field).unwrap_or("").trim();
            match cells.get_mut(i) {
                Some(c) => c.push_str(cell),
                None if !cell.is_empty() => extra_cells += 1,
                None => {}
            }
        }
        self.rows.push(TableRow {
            line,
            cells,
            extra_cells,
        });
    }
}

/// Reads an import file under the options' delimiter and encoding.
pub fn parse_table(bytes: &[u8], options: &ImportOptions) -> Result<Table, FileError> {
    let mut sink = TableSink {
        kind: options.kind,
        columns: Vec::new(),
        rows: Vec::new(),
    };
    let shape = read_records(bytes, options.delimiter, options.encoding, &mut sink)?;
    Ok(Table {
        kind: options.kind,
        delimiter: shape.delimiter,
        encoding: shape.encoding,
        columns: sink.columns,
        rows: sink.rows,
    })
}
