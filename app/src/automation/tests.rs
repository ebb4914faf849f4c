//! Unit tests of the pure rule and value checks; the SQL each operator compiles to is tested on
//! SQLite and PostgreSQL in `server/tests/api/automation.rs`.
use super::rules::*;
use serde_json::json;

fn fields() -> Vec<ProfileField> {
    vec![
        ProfileField {
            id: 1,
            shortname: "dept".into(),
            name: "Department".into(),
            kind: FieldKind::Menu,
            options: vec!["Sales".into(), "Ops".into()],
        },
        ProfileField {
            id: 2,
            shortname: "city".into(),
            name: "City".into(),
            kind: FieldKind::Text,
            options: vec![],
        },
        ProfileField {
            id: 3,
            shortname: "mentor".into(),
            name: "Mentor".into(),
            kind: FieldKind::Checkbox,
            options: vec![],
        },
        ProfileField {
            id: 4,
            shortname: "start".into(),
            name: "Start".into(),
            kind: FieldKind::Date,
            options: vec![],
        },
    ]
}

fn set(rules: serde_json::Value) -> RuleSet {
    serde_json::from_value(json!({"match": "all", "rules": rules})).unwrap()
}

#[test]
fn values_are_checked_and_normalised_per_type() {
    let f = fields();
    let v = |i: usize, raw: &str| f[i].parse_value(raw);
    assert_eq!(
        v(0, " sales ").unwrap().unwrap().value,
        "Sales",
        "menu options match case-insensitively, stored canonical"
    );
    assert!(v(0, "Marketing").unwrap_err().contains("not an option"));
    assert_eq!(v(1, "Paris").unwrap().unwrap().folded, "paris");
    assert!(v(1, "a\u{7}b").is_err());
    assert_eq!(v(2, "Yes").unwrap().unwrap().value, "1");
    assert_eq!(v(2, "0").unwrap().unwrap().value, "0");
    assert!(v(2, "maybe").is_err());
    assert!(v(3, "2024-02-29").unwrap().is_some());
    assert!(v(3, "2023-02-29").is_err());
    assert!(v(3, "2024-13-01").is_err());
    assert!(v(3, "24-01-01").is_err());
    assert_eq!(v(1, "   ").unwrap(), None, "an empty cell is no value");
}

#[test]
fn rules_are_checked_against_fields_and_operators() {
    let f = fields();
    let ok = check(
        &set(json!([
            {"field": "dept", "op": "in", "value": ["sales", "OPS"]},
            {"field": "city", "op": "contains", "value": "PAR"},
            {"field": "email", "op": "ends_with", "value": "@Example.com"},
            {"field": "suspended", "op": "is_not_checked"},
            {"field": "mentor", "op": "is_checked"},
            {"field": "start", "op": "within_last_days", "value": 30},
            {"field": "start", "op": "before", "value": "2026-01-01"},
        ])),
        &f,
    )
    .unwrap();
    assert_eq!(ok[0].values, vec!["sales", "ops"]);
    assert_eq!(ok[1].values, vec!["par"], "text values are case-folded");
    assert_eq!(ok[2].target, Target::User(Builtin::Email));
    assert_eq!(ok[5].days, 30);
    let err = |rules: serde_json::Value| check(&set(rules), &f).unwrap_err();
    assert_eq!(
        err(
            json!([{"field": "city", "op": "equals", "value": "x"}, {"field": "nope", "op": "equals", "value": "x"}])
        ),
        "Rule 2 (nope equals): there is no field \"nope\""
    );
    assert!(
        err(json!([{"field": "dept", "op": "contains", "value": "s"}]))
            .starts_with("Rule 1 (dept contains): a menu field takes equals, not_equals, in")
    );
    assert!(
        err(json!([{"field": "dept", "op": "equals", "value": "HR"}])).contains("not an option")
    );
    assert!(
        err(json!([{"field": "mentor", "op": "equals", "value": "1"}]))
            .contains("a checkbox field takes is_checked")
    );
    assert!(
        err(json!([{"field": "start", "op": "after", "value": "soon"}])).contains("YYYY-MM-DD")
    );
    assert!(err(json!([{"field": "city", "op": "equals", "value": ""}])).contains("is_empty"));
    assert!(
        err(json!([{"field": "city", "op": "sounds_like", "value": "x"}]))
            .contains("not an operator")
    );
    assert_eq!(
        check(&set(json!([])), &f).unwrap_err(),
        "A rule set needs at least one rule."
    );
}
