//! Profile-field values and segment rules (SPEC 8), pure Rust shared by the browser and the
//! server: the value rules of each field type, the rule-set JSON, and its checking against the
//! site's fields. A checked rule set compiles to one set-based SQL condition (`service::sql`).
use serde::{Deserialize, Serialize};
use strum::{EnumMessage, EnumString, IntoStaticStr, VariantArray};

/// The type of a custom profile field.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    EnumString,
    IntoStaticStr,
    VariantArray,
    EnumMessage,
)]
#[cfg_attr(feature = "ssr", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum FieldKind {
    #[strum(message = "Text")]
    Text,
    #[strum(message = "Menu of options")]
    Menu,
    #[strum(message = "Checkbox")]
    Checkbox,
    #[strum(message = "Date")]
    Date,
}

/// A custom profile field as the pages and the rules see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileField {
    pub id: i32,
    pub shortname: String,
    pub name: String,
    pub kind: FieldKind,
    /// A menu's options, in order (empty for the other kinds).
    pub options: Vec<String>,
}

/// Longest text value stored.
pub const VALUE_MAX_CHARS: usize = 1_000;

/// A shortname: `[a-z0-9_]+`, at most 100 characters.
pub fn valid_shortname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether rules read `name` as a user column (`username`, `email`, …): a profile field of that
/// shortname could never be named by a rule.
pub fn is_user_column(name: &str) -> bool {
    Builtin::parse(name).is_some()
}

/// A date written YYYY-MM-DD that exists on the calendar.
pub fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    if !s[0..4]
        .bytes()
        .chain(s[5..7].bytes())
        .chain(s[8..10].bytes())
        .all(|c| c.is_ascii_digit())
    {
        return false;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// A stored value and its case-folded copy (what rules compare).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredValue {
    pub value: String,
    pub folded: String,
}

impl ProfileField {
    /// The value to store for `raw` (trimmed): `None` for an empty cell (no value), or why
    /// `raw` is not a value of this field (`invalid_profile_value`).
    pub fn parse_value(&self, raw: &str) -> Result<Option<StoredValue>, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        let value = match self.kind {
            FieldKind::Text => {
                if raw.chars().count() > VALUE_MAX_CHARS || raw.chars().any(char::is_control) {
                    return Err(format!(
                        "A {} value has at most {VALUE_MAX_CHARS} characters and no control characters.",
                        self.name
                    ));
                }
                raw.to_string()
            }
            FieldKind::Menu => match self
                .options
                .iter()
                .find(|o| o.to_lowercase() == raw.to_lowercase())
            {
                Some(o) => o.clone(),
                None => {
                    return Err(format!(
                        "\"{raw}\" is not an option of {}: {}.",
                        self.name,
                        self.options.join(", ")
                    ))
                }
            },
            FieldKind::Checkbox => match raw.to_ascii_lowercase().as_str() {
                "1" | "yes" | "true" => "1".into(),
                "0" | "no" | "false" => "0".into(),
                _ => return Err(format!("{} takes 1 or 0 (yes or no).", self.name)),
            },
            FieldKind::Date => {
                if !valid_date(raw) {
                    return Err(format!("{} takes a date written YYYY-MM-DD.", self.name));
                }
                raw.to_string()
            }
        };
        Ok(Some(StoredValue {
            folded: value.to_lowercase(),
            value,
        }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    #[default]
    All,
    Any,
}

/// One rule as written: `{"field": F, "op": O, "value": V}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub field: String,
    pub op: String,
    #[serde(default)]
    pub value: serde_json::Value,
}

/// SPEC 8's rule set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    #[serde(rename = "match")]
    pub match_: Match,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumString, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Op {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    IsEmpty,
    IsNotEmpty,
    In,
    IsChecked,
    IsNotChecked,
    Before,
    After,
    WithinLastDays,
}

impl Op {
    /// The operators SPEC 8 allows for a field type.
    pub fn allowed(kind: FieldKind) -> &'static [Op] {
        use Op::*;
        match kind {
            FieldKind::Text => &[
                Equals,
                NotEquals,
                Contains,
                NotContains,
                StartsWith,
                EndsWith,
                IsEmpty,
                IsNotEmpty,
            ],
            FieldKind::Menu => &[Equals, NotEquals, In],
            FieldKind::Checkbox => &[IsChecked, IsNotChecked],
            FieldKind::Date => &[Before, After, WithinLastDays],
        }
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    fn takes_value(self) -> bool {
        !matches!(
            self,
            Op::IsEmpty | Op::IsNotEmpty | Op::IsChecked | Op::IsNotChecked
        )
    }
}

/// A user column a rule can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Builtin {
    Username,
    Email,
    Firstname,
    Lastname,
    Suspended,
}

impl Builtin {
    pub fn column(self) -> &'static str {
        match self {
            Builtin::Username => "username",
            Builtin::Email => "email",
            Builtin::Firstname => "firstname",
            Builtin::Lastname => "lastname",
            Builtin::Suspended => "suspended",
        }
    }

    fn parse(name: &str) -> Option<Builtin> {
        [
            Builtin::Username,
            Builtin::Email,
            Builtin::Firstname,
            Builtin::Lastname,
            Builtin::Suspended,
        ]
        .into_iter()
        .find(|b| b.column() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    User(Builtin),
    Field { id: i32, kind: FieldKind },
}

/// A rule checked against the site's fields, its values normalised as stored values are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedRule {
    pub target: Target,
    pub op: Op,
    /// Case-folded text, the canonical menu options (folded), or a date.
    pub values: Vec<String>,
    /// `within_last_days`.
    pub days: u32,
}

/// Checks a rule set against the site's fields; the error names the rule (SPEC 8).
pub fn check(set: &RuleSet, fields: &[ProfileField]) -> Result<Vec<CheckedRule>, String> {
    if set.rules.is_empty() {
        return Err("A rule set needs at least one rule.".into());
    }
    set.rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            check_rule(r, fields).map_err(|e| format!("Rule {} ({} {}): {e}", i + 1, r.field, r.op))
        })
        .collect()
}

fn check_rule(r: &Rule, fields: &[ProfileField]) -> Result<CheckedRule, String> {
    let (target, kind, field) = match Builtin::parse(&r.field) {
        Some(Builtin::Suspended) => (Target::User(Builtin::Suspended), FieldKind::Checkbox, None),
        Some(b) => (Target::User(b), FieldKind::Text, None),
        None => match fields.iter().find(|f| f.shortname == r.field) {
            Some(f) => (
                Target::Field {
                    id: f.id,
                    kind: f.kind,
                },
                f.kind,
                Some(f),
            ),
            None => return Err(format!("there is no field \"{}\"", r.field)),
        },
    };
    let op: Op =
        r.op.parse()
            .map_err(|_| format!("\"{}\" is not an operator", r.op))?;
    if !Op::allowed(kind).contains(&op) {
        let names: Vec<&str> = Op::allowed(kind).iter().map(|o| o.as_str()).collect();
        return Err(format!(
            "a {} field takes {}",
            <&str>::from(kind),
            names.join(", ")
        ));
    }
    let text = |v: &serde_json::Value| -> Result<String, String> {
        match v {
            serde_json::Value::String(s) => Ok(s.trim().to_string()),
            serde_json::Value::Number(n) => Ok(n.to_string()),
            _ => Err("the value must be text".to_string()),
        }
    };
    let mut out = CheckedRule {
        target,
        op,
        values: Vec::new(),
        days: 0,
    };
    if !op.takes_value() {
        return Ok(out);
    }
    match op {
        Op::In => {
            let list = r.value.as_array().ok_or("\"in\" takes a list of options")?;
            if list.is_empty() {
                return Err("\"in\" takes at least one option".into());
            }
            for v in list {
                out.values.push(menu_value(field, &text(v)?)?);
            }
        }
        Op::WithinLastDays => {
            out.days = r
                .value
                .as_u64()
                .or_else(|| r.value.as_str().and_then(|s| s.trim().parse().ok()))
                .filter(|d| *d <= 36_500)
                .ok_or("within_last_days takes a number of days")? as u32;
        }
        Op::Before | Op::After => {
            let d = text(&r.value)?;
            if !valid_date(&d) {
                return Err("the value must be a date written YYYY-MM-DD".into());
            }
            out.values.push(d);
        }
        _ if kind == FieldKind::Menu => out.values.push(menu_value(field, &text(&r.value)?)?),
        _ => {
            let v = text(&r.value)?;
            if v.is_empty() {
                return Err("the value is empty (use is_empty to match empty values)".into());
            }
            out.values.push(v.to_lowercase());
        }
    }
    Ok(out)
}

fn menu_value(field: Option<&ProfileField>, v: &str) -> Result<String, String> {
    let f = field.ok_or("not a menu field")?;
    f.options
        .iter()
        .find(|o| o.to_lowercase() == v.to_lowercase())
        .map(|o| o.to_lowercase())
        .ok_or_else(|| format!("\"{v}\" is not an option of {}", f.name))
}
