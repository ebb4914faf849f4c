//! SeaORM entities, one per table of the `migrations` crate. Server only.
pub mod account;
pub mod course;
pub mod course_group;
pub mod enrol_instance;
pub mod enrolment;
pub mod group_member;
pub mod import_record;
pub mod segment;
pub mod segment_member;
pub mod session;
pub mod sign_in_failure;
pub mod upload_batch;
pub mod upload_change;
pub mod upload_stage;
pub mod upload_stage_chunk;
pub mod user;
