//! Schema of the console (SPEC.md section 1). One migration per capability so later issues add
//! their own steps instead of editing applied ones.
pub use sea_orm_migration::prelude::*;

mod m0001_domain;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m0001_domain::Migration)]
    }
}
