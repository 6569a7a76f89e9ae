//! The book (`book/src`) stays whole and tested: every chapter is linked from
//! `SUMMARY.md`, every link there names a chapter, and every chapter is
//! included in the `#[cfg(doctest)]` list at the end of `src/lib.rs`, so that
//! `cargo test --all-features --doc` compiles and runs every Rust example in
//! it. Rust examples may not opt out of running (`ignore`, `no_run`), and
//! every code fence says its language (an untagged fence would be compiled as
//! Rust).
//!
//! mdBook is not needed here; `mdbook build book` renders the book.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every `.md` file of `book/src` except `SUMMARY.md`.
fn chapters() -> BTreeSet<String> {
    std::fs::read_dir(book_src())
        .expect("book/src")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md") && n != "SUMMARY.md")
        .collect()
}

/// The targets of the `[title](target)` links of `SUMMARY.md`.
fn summary_links() -> Vec<String> {
    let text = read(&book_src().join("SUMMARY.md"));
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        let end = rest.find(')').expect("a link is closed");
        out.push(rest[..end].to_owned());
        rest = &rest[end..];
    }
    out
}

/// The files named in the doctest list of `src/lib.rs` (`Name => "file.md",`).
fn doctested() -> BTreeSet<String> {
    let lib = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"));
    let start = lib
        .find("mod book")
        .expect("src/lib.rs has the #[cfg(doctest)] mod book");
    lib[start..]
        .lines()
        .filter_map(|l| {
            l.split_once("=> \"")
                .map(|(_, r)| r.trim_end_matches("\",").to_owned())
        })
        .collect()
}

#[test]
fn every_summary_link_names_a_chapter() {
    let chapters = chapters();
    let links = summary_links();
    assert!(links.len() >= 10, "SUMMARY.md links only {links:?}");
    for link in &links {
        assert!(
            chapters.contains(link),
            "SUMMARY.md links {link}, which is not in book/src"
        );
    }
}

#[test]
fn every_chapter_is_in_the_summary() {
    let links: BTreeSet<String> = summary_links().into_iter().collect();
    for chapter in chapters() {
        assert!(
            links.contains(&chapter),
            "book/src/{chapter} is not linked from SUMMARY.md"
        );
    }
}

#[test]
fn every_chapter_is_a_doctest() {
    let tested = doctested();
    for chapter in chapters() {
        assert!(
            tested.contains(&chapter),
            "book/src/{chapter} is not in the #[cfg(doctest)] list at the end of src/lib.rs: its examples would not run"
        );
    }
}

#[test]
fn every_code_fence_has_a_language_and_rust_examples_run() {
    for chapter in chapters() {
        let text = read(&book_src().join(&chapter));
        let mut open = false;
        for (n, line) in text.lines().enumerate() {
            let Some(info) = line.trim_start().strip_prefix("```") else {
                continue;
            };
            if open {
                open = false;
                continue;
            }
            open = true;
            let where_ = format!("book/src/{chapter}:{}", n + 1);
            assert!(
                !info.trim().is_empty(),
                "{where_}: a code fence without a language is compiled as Rust; say `rust`, `text`, `sh`..."
            );
            let attrs: Vec<&str> = info.split(',').map(str::trim).collect();
            if attrs[0] == "rust" {
                for a in &attrs[1..] {
                    assert!(
                        !matches!(*a, "ignore" | "no_run"),
                        "{where_}: every Rust example of the book runs; `{a}` is not allowed"
                    );
                }
            }
        }
        assert!(!open, "book/src/{chapter}: a code fence is not closed");
    }
}
