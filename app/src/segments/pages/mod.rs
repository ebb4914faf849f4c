//! Segment pages: components only. Data comes from `super::api`; each page derives its resources
//! from the route, the query string and its actions' versions.
mod edit;
mod list;
mod members;

pub use edit::{EditSegmentPage, NewSegmentPage};
pub use list::SegmentsPage;
pub use members::SegmentMembersPage;

use leptos::prelude::*;
use leptos::Params;
use leptos_router::hooks::use_params;
use leptos_router::params::Params;

/// The `:id` of `/segments/:id` and `/segments/:id/edit`.
#[derive(Params, Debug, Clone, PartialEq)]
struct SegmentParams {
    id: i32,
}

/// The segment id from the route; 0 (no such segment: the page shows "not found") when absent
/// or not a number.
fn segment_id() -> Memo<i32> {
    let params = use_params::<SegmentParams>();
    Memo::new(move |_| params.read().as_ref().map(|p| p.id).unwrap_or(0))
}
