//! Case-insensitive substring search that behaves the same on SQLite and PostgreSQL.
use sea_orm::sea_query::{Expr, Func, LikeExpr, SimpleExpr};

/// `LOWER(col) LIKE '%term%'` with the admin's `%` and `_` taken literally.
pub fn contains(col: impl sea_orm::sea_query::IntoColumnRef, term: &str) -> SimpleExpr {
    Expr::expr(Func::lower(Expr::col(col)))
        .like(LikeExpr::new(format!("%{}%", escape_like(&term.to_lowercase()))).escape('\\'))
}

/// `LOWER(col) LIKE 'term%'`.
pub fn starts_with(col: impl sea_orm::sea_query::IntoColumnRef, term: &str) -> SimpleExpr {
    Expr::expr(Func::lower(Expr::col(col)))
        .like(LikeExpr::new(format!("{}%", escape_like(&term.to_lowercase()))).escape('\\'))
}

pub fn escape_like(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(super::escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
