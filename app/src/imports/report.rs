//! The downloadable report of an import, in the upload report's shape: one line per outcome and
//! one line per row without any, every cell made safe for spreadsheets.
use super::validate::RowResult;
use crate::upload::report::spreadsheet_safe;

pub fn report_csv(rows: &[RowResult]) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record([
        "line", "key", "result", "code", "level", "column", "value", "message",
    ]);
    for row in rows {
        let line = row.line.to_string();
        let key = spreadsheet_safe(&row.key);
        let result = if row.has_error() {
            "not applied"
        } else {
            "applied"
        };
        if row.outcomes.is_empty() {
            let _ = w.write_record([line.as_str(), &key, result, "", "", "", "", ""]);
        }
        for o in &row.outcomes {
            let _ = w.write_record([
                line.as_str(),
                &key,
                result,
                o.code.as_str(),
                o.code.level().as_str(),
                &spreadsheet_safe(&o.column),
                &spreadsheet_safe(&o.value),
                &spreadsheet_safe(&o.message),
            ]);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
