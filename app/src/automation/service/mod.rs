//! The server side of automation: profile fields and values (`fields`), and the recompute that
//! keeps every automated segment equal to its rules' matches (`recompute`), called in the same
//! transaction as each change that can alter a match; SPEC 5's sync follows there too.
mod fields;
mod recompute;
pub mod sql;

pub use fields::{create_field, fields, set_user_values, user_values};
pub use recompute::{
    automated, preview, repair, save_rules, set_rules, the_date_turned, users_changed, RuleChange,
};
