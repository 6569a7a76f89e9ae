//! Echo tests, one per contract: Rust builds an arguments value and encodes
//! it; one `EVAL` of the library's source plus `echo.lua` calls the
//! function's Lua decoder and returns the decoded named fields as a nested
//! array (in the order of the Rust type's fields); Rust reads that back into
//! the arguments type and compares it with the original.
//!
//! The values include empty strings and lists, `\0`, `:` and bytes that are
//! not UTF-8.

use super::{Args, Check, NumOp};
use crate::storage::model::SlotKind;
use redis::Value;
use std::sync::OnceLock;

pub(super) fn conn() -> redis::Connection {
    static SERVER: OnceLock<rom_testing::RedisServer> = OnceLock::new();
    SERVER
        .get_or_init(|| rom_testing::RedisServer::start().expect("start redis-server"))
        .connection()
        .expect("connect")
}

/// The Lua side of the echoes: one function per contract (`echo.lua`).
const ECHO_LUA: &str = include_str!("echo.lua");

/// Sends `args` to the library and the echo function `name` of `echo.lua`
/// (which calls the contract's decoder) and returns what it returned.
pub(super) fn echo(args: &impl Args, name: &str) -> Value {
    let (keys, argv) = args.encode();
    let source = format!(
        "{}\n{ECHO_LUA}\nreturn ECHO['{name}'](KEYS, ARGV)",
        crate::exec::script::LIBRARY_BODY
    );
    redis::cmd("EVAL")
        .arg(source)
        .arg(keys.len())
        .arg(keys)
        .arg(argv)
        .query(&mut conn())
        .expect("EVAL of the echo chunk")
}

/// Lua allows a chunk 200 active locals; the library's main chunk keeps
/// room for growth (and for `echo.lua`'s one): it still loads with 20 more.
#[test]
fn the_library_leaves_room_for_more_locals() {
    let extra: Vec<String> = (0..20).map(|i| format!("local spare{i} = {i}")).collect();
    let source = format!(
        "{}\n{}\nreturn spare19",
        crate::exec::script::LIBRARY_BODY,
        extra.join("\n")
    );
    let v: i64 = redis::cmd("EVAL")
        .arg(source)
        .arg(0)
        .query(&mut conn())
        .expect("the library with 20 more locals loads");
    assert_eq!(v, 19);
}

/// Reads an echoed nested array, item by item.
pub(super) struct Echo(pub(super) std::vec::IntoIter<Value>);

impl Echo {
    pub(super) fn new(v: Value) -> Echo {
        match v {
            Value::Array(items) => Echo(items.into_iter()),
            other => panic!("expected an array, got {other:?}"),
        }
    }
    pub(super) fn next(&mut self) -> Value {
        self.0.next().expect("an echoed field is missing")
    }
    pub(super) fn b(&mut self) -> Vec<u8> {
        match self.next() {
            Value::BulkString(b) => b,
            other => panic!("expected a string, got {other:?}"),
        }
    }
    pub(super) fn text(&mut self) -> String {
        String::from_utf8(self.b()).expect("utf-8")
    }
    pub(super) fn flag(&mut self) -> bool {
        match self.b().as_slice() {
            b"1" => true,
            b"0" => false,
            other => panic!("expected a flag, got {other:?}"),
        }
    }
    pub(super) fn list<T>(&mut self, mut item: impl FnMut(&mut Echo) -> T) -> Vec<T> {
        let mut outer = Echo::new(self.next());
        let mut out = Vec::new();
        for v in outer.0.by_ref() {
            out.push(item(&mut Echo::new(v)));
        }
        out
    }
    pub(super) fn strings(&mut self) -> Vec<Vec<u8>> {
        let mut outer = Echo::new(self.next());
        let mut out = Vec::new();
        while outer.0.len() > 0 {
            out.push(outer.b());
        }
        out
    }
    pub(super) fn done(mut self) {
        assert!(self.0.next().is_none(), "more fields echoed than expected");
    }
}

pub(super) fn kind(letter: &[u8]) -> SlotKind {
    match letter {
        b"u" => SlotKind::Unique,
        b"s" => SlotKind::Set,
        b"l" => SlotKind::Lex,
        other => panic!("not a slot kind: {other:?}"),
    }
}

pub(super) fn numop(e: &mut Echo) -> NumOp {
    let key = e.b();
    let add = e.flag();
    let score = e.text();
    NumOp {
        key,
        score: add.then(|| score.parse().expect("a score")),
    }
}

pub(super) fn check(e: &mut Echo) -> Check {
    let field = e.b();
    let present = e.flag();
    let value = e.b();
    Check {
        field,
        value: present.then_some(value),
    }
}

/// Binary values: NUL, ':', bytes that are not UTF-8, empty.
pub(super) const ODD: &[&[u8]] = &[b"a\0b", b"x:y:", b"\xff\xfe\x80", b"", b"\0\0\x01"];

pub(super) fn odd(i: usize) -> Vec<u8> {
    ODD[i % ODD.len()].to_vec()
}

mod cascade;
mod commit;
mod expiry;
mod ids;
mod lock;
mod query;
mod record;
mod structure;
mod unique;
mod verify;
mod writes;
mod xuniq;

/// Every function the library registers has an echo test above.
#[test]
fn every_function_has_a_contract() {
    let covered = [
        "save",
        "commit",
        "delete_graph",
        "lock",
        "unlock",
        "delete",
        "get",
        "query",
        "query_delete",
        "verify_scan",
        "verify_rows",
        "verify_probe",
        "repair_reindex",
        "repair_unindex",
        "repair_unlist",
        "expire",
        "ttl",
        "sweep",
        "structure_read",
        "unique_get",
        "xuniq_reserve",
        "xuniq_commit",
        "xuniq_release",
        "xuniq_settle",
        "xuniq_probe",
        "xsave",
        "id_block",
    ];
    for s in crate::exec::script::ALL {
        assert!(covered.contains(&s.name()), "{} has no echo test", s.name());
    }
    let register = include_str!("../../../lua/register.lua");
    assert_eq!(
        register.matches("  fn('").count(),
        covered.len(),
        "register.lua registers a function this list lacks"
    );
}
