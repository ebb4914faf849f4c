//! Tools around the console, not part of it: the benchmarks (`bench-commit`, `bench-sync`) and
//! the load generator (`load`). A crate of their own keeps their dependencies (reqwest, rand,
//! tempfile) and their build time out of the `server` binary.
pub mod bench;

/// The server's allocator (see `server/src/main.rs`), for every tool binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
