//! A checked rule set as one SQL condition over `users u`, its values bound: the only raw SQL of
//! automation, kept here. Over every user, profile fields are read through an IN on
//! (field_id, folded), the index that makes "department equals sales" a range scan over a million
//! users; over a few listed users, through a probe of the (field_id, user_id) key per user.
use crate::automation::rules::{Builtin, CheckedRule, FieldKind, Match, Op, Target};
use sea_orm::{DatabaseBackend, Value};

/// Bound values and the placeholders naming them, numbered in order.
pub struct Bind {
    backend: DatabaseBackend,
    pub values: Vec<Value>,
}

impl Bind {
    pub fn new(backend: DatabaseBackend) -> Self {
        Self {
            backend,
            values: Vec::new(),
        }
    }

    /// Binds `v` and returns its placeholder.
    pub fn p(&mut self, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        crate::db::placeholder(self.backend, self.values.len())
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn pattern(op: Op, v: &str) -> String {
    let v = like_escape(v);
    match op {
        Op::StartsWith => format!("{v}%"),
        Op::EndsWith => format!("%{v}"),
        _ => format!("%{v}%"),
    }
}

/// Which users the condition is read for, which decides how a profile field is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Every user: the field's matches in one range scan, O(matches).
    Everyone,
    /// The users of a scope list: one key probe per listed user, O(list), so a one-user change
    /// does not read all of a 1M-member segment's matches.
    Listed,
}

/// The condition a user `u` meets when the rule set matches them.
pub fn condition(
    rules: &[CheckedRule],
    m: Match,
    b: &mut Bind,
    today: &str,
    reach: Reach,
) -> String {
    let parts: Vec<String> = rules.iter().map(|r| rule(r, b, today, reach)).collect();
    let join = match m {
        Match::All => " AND ",
        Match::Any => " OR ",
    };
    format!("({})", parts.join(join))
}

fn rule(r: &CheckedRule, b: &mut Bind, today: &str, reach: Reach) -> String {
    let first = || r.values.first().cloned().unwrap_or_default();
    match r.target {
        Target::User(Builtin::Suspended) => {
            format!("u.suspended = {}", b.p(r.op == Op::IsChecked))
        }
        Target::User(col) if b.backend == DatabaseBackend::Sqlite => {
            // SQLite's LOWER and LIKE fold ASCII only: "Émile" would not equal "émile", and not
            // even itself once the rule's value is folded. The regex crate folds in Unicode as
            // PostgreSQL's LOWER does here; the value is matched literally (escaped).
            let c = col.column();
            let v = regex::escape(&first());
            let mut regexp = |pattern: String| format!("u.{c} REGEXP {}", b.p(pattern));
            match r.op {
                Op::Equals => regexp(format!("(?i)\\A{v}\\z")),
                Op::NotEquals => format!("NOT ({})", regexp(format!("(?i)\\A{v}\\z"))),
                Op::Contains => regexp(format!("(?i){v}")),
                Op::NotContains => format!("NOT ({})", regexp(format!("(?i){v}"))),
                Op::StartsWith => regexp(format!("(?i)\\A{v}")),
                Op::EndsWith => regexp(format!("(?i){v}\\z")),
                Op::IsEmpty => format!("u.{c} = {}", b.p("")),
                _ => format!("u.{c} <> {}", b.p("")),
            }
        }
        Target::User(col) => {
            let c = col.column();
            let lower = format!("LOWER(u.{c})");
            match r.op {
                Op::Equals => format!("{lower} = {}", b.p(first())),
                Op::NotEquals => format!("{lower} <> {}", b.p(first())),
                Op::Contains | Op::StartsWith | Op::EndsWith => {
                    format!("{lower} LIKE {} ESCAPE '\\'", b.p(pattern(r.op, &first())))
                }
                Op::NotContains => {
                    format!(
                        "{lower} NOT LIKE {} ESCAPE '\\'",
                        b.p(pattern(r.op, &first()))
                    )
                }
                Op::IsEmpty => format!("u.{c} = {}", b.p("")),
                _ => format!("u.{c} <> {}", b.p("")),
            }
        }
        Target::Field { id, kind } => {
            // "Has a value that …". Over everyone: an IN over the (field_id, folded) index, which
            // SQLite runs as one range scan (an EXISTS it runs as a probe per user: 1M probes for
            // 100k matches). Over a list: that IN would still read every match (10-18 ms among 1M
            // users for one user), so a correlated EXISTS probes the key for each listed user.
            let exists = |b: &mut Bind, pred: &dyn Fn(&mut Bind) -> String| {
                let field = b.p(id);
                let pred = pred(b);
                match reach {
                    Reach::Everyone => format!(
                        "u.id IN (SELECT v.user_id FROM user_profile_values v WHERE v.field_id = {field} AND {pred})"
                    ),
                    Reach::Listed => format!(
                        "EXISTS (SELECT 1 FROM user_profile_values v WHERE v.user_id = u.id AND v.field_id = {field} AND {pred})"
                    ),
                }
            };
            // "Has no value that …": NOT EXISTS, which PostgreSQL plans as an anti-join (NOT IN's
            // NULL rules forbid that).
            let lacks = |b: &mut Bind, pred: &dyn Fn(&mut Bind) -> String| {
                let field = b.p(id);
                let pred = pred(b);
                format!(
                    "NOT EXISTS (SELECT 1 FROM user_profile_values v WHERE v.user_id = u.id AND v.field_id = {field} AND {pred})"
                )
            };
            let v = first();
            match (kind, r.op) {
                (_, Op::Equals) => exists(b, &|b| format!("v.folded = {}", b.p(v.clone()))),
                (_, Op::NotEquals) => lacks(b, &|b| format!("v.folded = {}", b.p(v.clone()))),
                (_, Op::Contains | Op::StartsWith | Op::EndsWith) => exists(b, &|b| {
                    format!("v.folded LIKE {} ESCAPE '\\'", b.p(pattern(r.op, &v)))
                }),
                (_, Op::NotContains) => lacks(b, &|b| {
                    format!("v.folded LIKE {} ESCAPE '\\'", b.p(pattern(r.op, &v)))
                }),
                (_, Op::IsEmpty) => lacks(b, &|b| format!("v.value <> {}", b.p(""))),
                (_, Op::IsNotEmpty) => exists(b, &|b| format!("v.value <> {}", b.p(""))),
                (_, Op::In) => exists(b, &|b| {
                    let list: Vec<String> = r.values.iter().map(|x| b.p(x.clone())).collect();
                    format!("v.folded IN ({})", list.join(", "))
                }),
                (_, Op::IsChecked) => exists(b, &|b| format!("v.value = {}", b.p("1"))),
                (_, Op::IsNotChecked) => lacks(b, &|b| format!("v.value = {}", b.p("1"))),
                (FieldKind::Date, Op::Before) => {
                    exists(b, &|b| format!("v.value < {}", b.p(v.clone())))
                }
                (FieldKind::Date, Op::After) => {
                    exists(b, &|b| format!("v.value > {}", b.p(v.clone())))
                }
                (_, Op::WithinLastDays) => {
                    let from = days_before(today, r.days);
                    exists(b, &|b| {
                        format!(
                            "v.value >= {} AND v.value <= {}",
                            b.p(from.clone()),
                            b.p(today.to_string())
                        )
                    })
                }
                // (check() allows no other pair.)
                _ => format!("{} = {}", b.p(1), b.p(0)),
            }
        }
    }
}

/// `today` (YYYY-MM-DD) minus `days`, as YYYY-MM-DD.
fn days_before(today: &str, days: u32) -> String {
    chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d")
        .map(|d| {
            (d - chrono::Duration::days(days as i64))
                .format("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_else(|_| today.to_string())
}
