//! Compile-fail tests: a query or a model declaration that rom cannot answer
//! must not compile, and the error must name the column (or type) and the fix.
//! The snapshots (`tests/ui/*.stderr`) are what a user sees; each case is
//! explained in `book/src/errors.md`.
//!
//! Update the snapshots with `TRYBUILD=overwrite cargo test --all-features --test ui`
//! and read every changed one.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
