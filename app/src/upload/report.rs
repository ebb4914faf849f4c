//! Outcome reports: a compact wire form of a server-side `Report` (the browser renders it with
//! its own parse of the same file), the row-by-row JSON of SPEC 6, and the CSV download.
use super::parse::Parsed;
use super::validate::{describe, Code, Outcome, OutcomeView, Report, Summary};
use serde::{Deserialize, Serialize};

/// Outcomes as flat numbers: `[row, code, column + 1, segment + 1, count]` per outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedOutcomes(pub Vec<u32>);

impl PackedOutcomes {
    pub fn pack(report: &Report) -> Self {
        let mut v = Vec::with_capacity(report.outcomes.len() * 5);
        for row in 0..report.row_start.len().saturating_sub(1) {
            for o in report.row_outcomes(row) {
                let code = Code::ALL.iter().position(|c| *c == o.code).unwrap_or(0) as u32;
                v.extend([
                    row as u32,
                    code,
                    o.column().map_or(0, |c| c + 1),
                    o.segment().map_or(0, |s| s + 1),
                    o.count(),
                ]);
            }
        }
        Self(v)
    }

    /// Rebuilds a report's outcome index for a file of `rows` rows; ill-formed input (from a
    /// server of another version, say) is dropped rather than trusted.
    pub fn unpack(&self, rows: usize, summary: Summary) -> Report {
        let mut outcomes: Vec<(u32, Outcome)> = self
            .0
            .chunks_exact(5)
            .filter_map(|c| {
                let code = *Code::ALL.get(c[1] as usize)?;
                let outcome = Outcome::new(
                    code,
                    (c[2] != 0).then(|| c[2] - 1),
                    (c[3] != 0).then(|| c[3] - 1),
                    c[4],
                );
                ((c[0] as usize) < rows).then_some((c[0], outcome))
            })
            .collect();
        // Stable: a row's outcomes keep their order.
        outcomes.sort_by_key(|&(row, _)| row);
        let mut row_start = Vec::with_capacity(rows + 1);
        let mut error_rows = Vec::new();
        let mut k = 0;
        for r in 0..rows as u32 {
            row_start.push(k as u32);
            let begin = k;
            while k < outcomes.len() && outcomes[k].0 == r {
                k += 1;
            }
            if outcomes[begin..k]
                .iter()
                .any(|(_, o)| o.code.level() == super::Level::Error)
            {
                error_rows.push(r);
            }
        }
        row_start.push(k as u32);
        Report {
            summary,
            outcomes: outcomes.into_iter().map(|(_, o)| o).collect(),
            row_start,
            error_rows,
            ..Default::default()
        }
    }
}

/// One row with its outcomes (SPEC 6 `--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowView {
    pub line: u32,
    pub username: String,
    pub outcomes: Vec<OutcomeView>,
}

pub fn row_view(parsed: &Parsed, report: &Report, index: usize) -> RowView {
    let row = &parsed.rows[index];
    RowView {
        line: row.line,
        username: parsed.username(row).to_string(),
        outcomes: report
            .row_outcomes(index)
            .iter()
            .map(|o| describe(parsed, row, o))
            .collect(),
    }
}

/// Neutralises a cell that a spreadsheet would run as a formula (OWASP "CSV injection"): a
/// leading `= + - @`, tab or carriage return gets a `'` in front.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// The downloadable outcome report: one line per outcome, and one `ok` line per row without any.
pub fn report_csv(parsed: &Parsed, report: &Report) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record([
        "line", "username", "result", "code", "level", "column", "value", "message",
    ]);
    for (i, row) in parsed.rows.iter().enumerate() {
        let view = row_view(parsed, report, i);
        let result = if report.row_has_error(i) {
            "not applied"
        } else {
            "applied"
        };
        let line = row.line.to_string();
        if view.outcomes.is_empty() {
            let _ = w.write_record([
                line.as_str(),
                &spreadsheet_safe(&view.username),
                result,
                "",
                "",
                "",
                "",
                "",
            ]);
        }
        for o in &view.outcomes {
            let _ = w.write_record([
                line.as_str(),
                &spreadsheet_safe(&view.username),
                result,
                &o.code,
                &o.level,
                &spreadsheet_safe(o.column.as_deref().unwrap_or("")),
                &spreadsheet_safe(o.value.as_deref().unwrap_or("")),
                &spreadsheet_safe(&o.message),
            ]);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The template offered on the upload page.
pub const TEMPLATE_CSV: &str =
    "username,cohort1,cohort2\njane.doe,sales,leaders-2026\njohn.smith,marketing,\n";

/// One request's worth of would-be memberships for the effects preview: (segment id, user id)
/// for existing users, (segment id, username) for users the commit would create.
pub type EffectBatch = (Vec<(i32, i32)>, Vec<(i32, String)>);

/// The new memberships in segments that enrolment methods follow (`synced`), sorted by user and
/// cut into batches of at most `batch` only between users: a user's sync effects depend only on
/// that user's rows, so each batch can be tried on its own. Shared by the page and the load tool.
pub fn effect_batches(report: &Report, synced: &[i32], batch: usize) -> Vec<EffectBatch> {
    use super::validate::UserRef;
    let mut pairs: Vec<(i32, UserRef)> = report
        .additions
        .iter()
        .copied()
        .filter(|(s, _)| synced.contains(s))
        .collect();
    pairs.sort_by_key(|(_, u)| match u {
        UserRef::Existing(id) => (0, *id as i64),
        UserRef::New(slot) => (1, *slot as i64),
    });
    let mut out = Vec::new();
    let mut start = 0;
    while start < pairs.len() {
        let mut end = (start + batch.max(1)).min(pairs.len());
        while end < pairs.len() && end > start + 1 && pairs[end].1 == pairs[end - 1].1 {
            end -= 1;
        }
        let (mut existing, mut new) = (Vec::new(), Vec::new());
        for &(s, u) in &pairs[start..end] {
            match u {
                UserRef::Existing(id) => existing.push((s, id)),
                UserRef::New(slot) => {
                    new.push((s, report.new_users[slot as usize].username.clone()))
                }
            }
        }
        out.push((existing, new));
        start = end;
    }
    out
}
