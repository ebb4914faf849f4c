//! Course pages: components only. Data comes from `super::api`; each page derives its resources
//! from the route, the query string and its actions' versions.
mod course;
mod edit;
mod groups;
mod list;
mod methods;
mod participants;

pub use course::CoursePage;
pub use edit::{EditCoursePage, NewCoursePage};
pub use list::CoursesPage;

use crate::courses::{
    AddCourseGroup, AddEnrolMethod, AddGroupMember, DeleteCourseGroup, DeleteEnrolMethod,
    EnrolUser, ReactivateParticipant, RemoveGroupMember, RenameCourseGroup, SuspendParticipant,
    UnenrolUser,
};
use leptos::prelude::*;
use leptos::Params;
use leptos_router::hooks::use_params;
use leptos_router::params::Params;

/// The `:id` of `/courses/:id` and `/courses/:id/edit`.
#[derive(Params, Debug, Clone, PartialEq)]
struct CourseParams {
    id: i32,
}

/// The course id from the route; 0 (no such course: the page shows "not found") when absent or
/// not a number.
fn course_id() -> Memo<i32> {
    let params = use_params::<CourseParams>();
    Memo::new(move |_| params.read().as_ref().map(|p| p.id).unwrap_or(0))
}

/// Every action of the course page, created once by `CoursePage` and handed to its sections.
/// Any change refreshes every section, because sync effects cross them (an enrolment can fill a
/// group), so each section's resources read `changes()` in their source.
#[derive(Clone, Copy)]
struct CourseActions {
    enrol: ServerAction<EnrolUser>,
    unenrol: ServerAction<UnenrolUser>,
    suspend: ServerAction<SuspendParticipant>,
    reactivate: ServerAction<ReactivateParticipant>,
    add_group: ServerAction<AddCourseGroup>,
    rename_group: ServerAction<RenameCourseGroup>,
    delete_group: ServerAction<DeleteCourseGroup>,
    add_member: ServerAction<AddGroupMember>,
    remove_member: ServerAction<RemoveGroupMember>,
    add_method: ServerAction<AddEnrolMethod>,
    delete_method: ServerAction<DeleteEnrolMethod>,
}

impl CourseActions {
    fn new() -> Self {
        CourseActions {
            enrol: ServerAction::new(),
            unenrol: ServerAction::new(),
            suspend: ServerAction::new(),
            reactivate: ServerAction::new(),
            add_group: ServerAction::new(),
            rename_group: ServerAction::new(),
            delete_group: ServerAction::new(),
            add_member: ServerAction::new(),
            remove_member: ServerAction::new(),
            add_method: ServerAction::new(),
            delete_method: ServerAction::new(),
        }
    }

    /// How many actions have completed, tracked: it grows with every completed action, so a
    /// resource whose source reads it refetches after each one.
    fn changes(&self) -> usize {
        [
            self.enrol.version(),
            self.unenrol.version(),
            self.suspend.version(),
            self.reactivate.version(),
            self.add_group.version(),
            self.rename_group.version(),
            self.delete_group.version(),
            self.add_member.version(),
            self.remove_member.version(),
            self.add_method.version(),
            self.delete_method.version(),
        ]
        .iter()
        .map(|v| v.get())
        .sum()
    }
}
