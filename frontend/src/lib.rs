#![recursion_limit = "512"]
//! The browser entry point: hydrates the server-rendered pages.
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}

/// Benchmark hook (end2end/bench): parse + validate `bytes` in the WASM core.
/// Returns `[rows, parse ms, validate ms, memberships to add]`.
#[wasm_bindgen]
pub fn bench_core(bytes: &[u8]) -> Vec<f64> {
    app::upload::core_benchmark(bytes).to_vec()
}
