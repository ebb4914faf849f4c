//! The invariant of SPEC 8: an automated segment's members are exactly the users its rules
//! match. Each change that can alter a match calls in here in its own transaction: a rule change
//! recomputes its segment (two set-based statements), a change to some users recomputes every
//! automated segment for those users only, and SPEC 5's sync follows for the segments that moved.
use super::sql::{condition, Bind, Reach};
use crate::automation::rules::{check, CheckedRule, RuleSet};
use crate::automation::types::RulePreview;
use crate::entities::{segment, segment_member};
use crate::error::AppError;
use crate::sync::Drift;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Statement,
    TransactionTrait,
};

/// What a rule change or a recompute did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleChange {
    pub added: u64,
    pub removed: u64,
    pub drift: Drift,
}

fn today() -> String {
    chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// Every automated segment with its checked rules. A rule set that no longer checks (a field
/// deleted since) matches nobody rather than failing every change on the site.
pub async fn automated(
    db: &impl ConnectionTrait,
) -> Result<Vec<(i32, RuleSet, Vec<CheckedRule>)>, AppError> {
    let fields = super::fields(db).await?;
    let rows = segment::Entity::find()
        .filter(segment::Column::Rules.is_not_null())
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|s| {
            let set: RuleSet = serde_json::from_value(s.rules?).ok()?;
            let checked = check(&set, &fields).unwrap_or_default();
            Some((s.id, set, checked))
        })
        .collect())
}

/// Makes the segment's members those of its rules' matches among `scope` (every user if None).
async fn recompute(
    db: &impl ConnectionTrait,
    segment_id: i32,
    set: &RuleSet,
    rules: &[CheckedRule],
    scope: Option<&[i32]>,
) -> Result<(u64, u64), AppError> {
    let backend = db.get_database_backend();
    let today = today();
    let run = |chunk: Option<&[i32]>| {
        let reach = match chunk {
            None => Reach::Everyone,
            Some(_) => Reach::Listed,
        };
        let mut b = Bind::new(backend);
        let seg = b.p(segment_id);
        let now = b.p(chrono::Utc::now());
        // No rules (one that no longer checks): nobody matches.
        let cond = if rules.is_empty() {
            "(1 = 0)".to_string()
        } else {
            condition(rules, set.match_, &mut b, &today, reach)
        };
        // The scope as the sync binds it: one JSON list of ids.
        let scope_sql = |b: &mut Bind, col: &str| match chunk {
            None => String::new(),
            Some(ids) => {
                let list = crate::db::json_ids(backend, &b.p(crate::db::json_list(ids)));
                format!(" AND {col} IN ({list})")
            }
        };
        let scope_u = scope_sql(&mut b, "u.id");
        let insert = format!(
            "INSERT INTO segment_members (segment_id, user_id, added_at) \
             SELECT {seg}, u.id, {now} FROM users u WHERE {cond}{scope_u} \
             ON CONFLICT (segment_id, user_id) DO NOTHING"
        );
        let insert = Statement::from_sql_and_values(backend, insert, b.values.clone());
        let mut b2 = Bind::new(backend);
        let seg = b2.p(segment_id);
        let cond = if rules.is_empty() {
            "(1 = 0)".to_string()
        } else {
            condition(rules, set.match_, &mut b2, &today, reach)
        };
        let scope_m = scope_sql(&mut b2, "segment_members.user_id");
        let delete = format!(
            "DELETE FROM segment_members WHERE segment_id = {seg}{scope_m} AND NOT EXISTS \
             (SELECT 1 FROM users u WHERE u.id = segment_members.user_id AND {cond})"
        );
        (
            insert,
            Statement::from_sql_and_values(backend, delete, b2.values),
        )
    };
    let statements: Vec<_> = match scope {
        None => vec![run(None)],
        Some(ids) => crate::sync::scopes(ids).map(run).collect(),
    };
    let (mut added, mut removed) = (0, 0);
    for (insert, delete) in statements {
        added += db.execute(insert).await?.rows_affected();
        removed += db.execute(delete).await?.rows_affected();
    }
    Ok((added, removed))
}

/// After users were created or changed (details, suspension, profile values): every automated
/// segment recomputed for those users only, then the sync for the segments that moved.
pub async fn users_changed(db: &impl ConnectionTrait, users: &[i32]) -> Result<Drift, AppError> {
    if users.is_empty() {
        return Ok(Drift::default());
    }
    let mut moved = Vec::new();
    for (id, set, rules) in automated(db).await? {
        let (a, r) = recompute(db, id, &set, &rules, Some(users)).await?;
        if a + r > 0 {
            moved.push(id);
        }
    }
    // Only these users' memberships moved: the sync runs for them alone (no segment moved:
    // nothing runs).
    crate::sync::segments_changed_by(db, &moved, users.to_vec(), crate::sync::Moved::Both).await
}

/// Sets (or with None clears) a segment's rules and recomputes it, in the caller's transaction.
/// Clearing keeps the members: the segment becomes manual again (SPEC 6 `--off`).
pub async fn set_rules(
    db: &impl ConnectionTrait,
    segment_id: i32,
    rules: Option<&RuleSet>,
) -> Result<RuleChange, AppError> {
    let fields = super::fields(db).await?;
    let checked = match rules {
        Some(set) => Some(check(set, &fields).map_err(AppError::Invalid)?),
        None => None,
    };
    let Some(before) = segment::Entity::find_by_id(segment_id).one(db).await? else {
        return Err(AppError::NotFound(format!("Segment {segment_id}")));
    };
    let stored = rules.map(|r| serde_json::to_value(r).unwrap_or_default());
    segment::Entity::update_many()
        .col_expr(segment::Column::Rules, Expr::value(stored))
        .col_expr(segment::Column::UpdatedAt, Expr::value(chrono::Utc::now()))
        .filter(segment::Column::Id.eq(segment_id))
        .exec(db)
        .await?;
    if rules.is_some() && before.rules.is_none() {
        // Automating a manual segment hands its members over to the rules: the uploads that
        // added them no longer own them, so undoing one cannot take out a member the rules
        // match. Once automated, nothing adds rows with a batch, so this runs once.
        segment_member::Entity::update_many()
            .col_expr(
                segment_member::Column::BatchId,
                Expr::value(Option::<i32>::None),
            )
            .filter(segment_member::Column::SegmentId.eq(segment_id))
            .filter(segment_member::Column::BatchId.is_not_null())
            .exec(db)
            .await?;
    }
    let (Some(set), Some(checked)) = (rules, checked) else {
        return Ok(RuleChange::default());
    };
    let (added, removed) = recompute(db, segment_id, set, &checked, None).await?;
    let drift = crate::sync::segments_changed(db, &[segment_id]).await?;
    Ok(RuleChange {
        added,
        removed,
        drift,
    })
}

/// Saves rules if they still do what the admin's preview showed (`expected`: its counts), in
/// one transaction under the write lock; if the data changed in between, nothing is saved and
/// the error says what the rules would do now, so the page previews again.
pub async fn save_rules(
    db: &DatabaseConnection,
    segment_id: i32,
    rules: &RuleSet,
    expected: &RulePreview,
) -> Result<RuleChange, AppError> {
    let txn = crate::sync::begin(db).await?;
    let change = set_rules(&txn, segment_id, Some(rules)).await?;
    if (change.added, change.removed) != (expected.added, expected.removed) {
        txn.rollback().await?;
        return Err(AppError::Conflict(format!(
            "The data changed since the preview: these rules would now add {} and remove {}. Nothing was saved; check the new preview and save again.",
            change.added, change.removed
        )));
    }
    txn.commit().await?;
    Ok(change)
}

/// What setting these rules would do, worked out in a transaction that is rolled back: the
/// counts the save makes, a sample of each side, and the SPEC 5 effects.
pub async fn preview(
    db: &DatabaseConnection,
    segment_id: i32,
    rules: &RuleSet,
) -> Result<RulePreview, AppError> {
    let fields = super::fields(db).await?;
    let checked = check(rules, &fields).map_err(AppError::Invalid)?;
    let txn = db.begin().await?;
    let backend = txn.get_database_backend();
    let sample = |added: bool| {
        let mut b = Bind::new(backend);
        let seg = b.p(segment_id);
        let cond = condition(&checked, rules.match_, &mut b, &today(), Reach::Everyone);
        let sql = if added {
            format!(
                "SELECT u.username FROM users u WHERE {cond} AND NOT EXISTS \
                 (SELECT 1 FROM segment_members sm WHERE sm.segment_id = {seg} AND sm.user_id = u.id) \
                 ORDER BY u.username LIMIT 5"
            )
        } else {
            format!(
                "SELECT u.username FROM segment_members sm JOIN users u ON u.id = sm.user_id \
                 WHERE sm.segment_id = {seg} AND NOT {cond} ORDER BY u.username LIMIT 5"
            )
        };
        Statement::from_sql_and_values(backend, sql, b.values)
    };
    let names = |rows: Vec<sea_orm::QueryResult>| -> Vec<String> {
        rows.into_iter()
            .filter_map(|r| r.try_get::<String>("", "username").ok())
            .collect()
    };
    let sample_added = names(txn.query_all(sample(true)).await?);
    let sample_removed = names(txn.query_all(sample(false)).await?);
    let change = set_rules(&txn, segment_id, Some(rules)).await?;
    txn.rollback().await?;
    Ok(RulePreview {
        added: change.added,
        removed: change.removed,
        sample_added,
        sample_removed,
        enrolments_added: change.drift.enrolments_added + change.drift.enrolments_reactivated,
        group_memberships_added: change.drift.group_memberships_added,
    })
}

/// `server sync`: every automated segment recomputed from scratch: the members it added and
/// removed, and the SPEC 5 drift the sync that follows fixed for them (reported with the rest).
pub async fn repair(db: &impl ConnectionTrait) -> Result<RuleChange, AppError> {
    recompute_whole(db, |_| true).await
}

/// Rules that read the calendar (`within_last_days`) match other users as days pass, with no
/// change to anyone: the server calls this when the date turns (SPEC 8's "at all times"). Those
/// segments only are recomputed whole, then the sync follows.
pub async fn the_date_turned(db: &impl ConnectionTrait) -> Result<RuleChange, AppError> {
    recompute_whole(db, |rules| {
        rules
            .iter()
            .any(|r| r.op == crate::automation::rules::Op::WithinLastDays)
    })
    .await
}

/// The automated segments whose checked rules `pick` takes, each recomputed over every user,
/// then the sync for those that moved.
async fn recompute_whole(
    db: &impl ConnectionTrait,
    pick: impl Fn(&[CheckedRule]) -> bool,
) -> Result<RuleChange, AppError> {
    let (mut added, mut removed) = (0, 0);
    let mut moved = Vec::new();
    for (id, set, rules) in automated(db).await? {
        if !pick(&rules) {
            continue;
        }
        let (a, r) = recompute(db, id, &set, &rules, None).await?;
        added += a;
        removed += r;
        if a + r > 0 {
            moved.push(id);
        }
    }
    let drift = crate::sync::segments_changed(db, &moved).await?;
    Ok(RuleChange {
        added,
        removed,
        drift,
    })
}
