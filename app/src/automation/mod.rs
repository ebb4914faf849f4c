//! User segment automation (SPEC 8): custom profile fields, their values, and rule sets that
//! keep a segment's members equal to the users the rules match, in the same transaction as
//! every change that can alter the match (so SPEC 5's sync follows there too).
pub mod api;
pub mod page;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod service;
pub mod types;

#[cfg(test)]
mod tests;

pub use rules::{check, CheckedRule, FieldKind, Match, Op, ProfileField, Rule, RuleSet};
pub use types::RulePreview;
