//! Schema of the console (SPEC.md section 1). One migration per capability so later issues add
//! their own steps instead of editing applied ones.
pub use sea_orm_migration::prelude::*;

mod m0001_domain;
mod m0002_sign_in_failures;
mod m0003_imports;
mod m0004_automation;
mod m0005_enrolment_user_index;
mod m0006_partial_batch_indexes;
mod m0007_username_epoch;
mod m0008_automated_members_unbatched;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_domain::Migration),
            Box::new(m0002_sign_in_failures::Migration),
            Box::new(m0003_imports::Migration),
            Box::new(m0004_automation::Migration),
            Box::new(m0005_enrolment_user_index::Migration),
            Box::new(m0006_partial_batch_indexes::Migration),
            Box::new(m0007_username_epoch::Migration),
            Box::new(m0008_automated_members_unbatched::Migration),
        ]
    }
}
