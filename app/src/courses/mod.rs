//! Courses, course groups, enrolments and enrolment method instances. The pages come with
//! issue 4's UI work; the service below is what they and the tests call.
#[cfg(feature = "ssr")]
pub mod service;
