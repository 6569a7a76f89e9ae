//! Echo tests, one per contract: Rust builds an arguments value and encodes
//! it; one `EVAL` of the library's source plus a small chunk calls the
//! function's Lua decoder and returns the decoded named fields as a nested
//! array (in the order of the Rust type's fields); Rust reads that back into
//! the arguments type and compares it with the original.
//!
//! The values include empty strings and lists, `\0`, `:` and bytes that are
//! not UTF-8.

use super::delete::DeleteArgs;
use super::get::GetArgs;
use super::query::{Cursor, Filter, OrderBy, QueryArgs, QueryMode};
use super::repair::{Entry, ReindexArgs, Target, UnindexArgs, UnlistArgs};
use super::save::{SaveArgs, SaveMode, Touched, Write};
use super::verify::{Probe, ProbeArgs, ProbeKind, RowRef, RowsArgs, ScanArgs};
use super::{Args, Check, NumOp};
use crate::model::SlotKind;
use redis::Value;
use std::sync::OnceLock;

/// Helpers every echo chunk uses: booleans as '1'/'0', lists mapped.
const PRELUDE: &str = r"
local function flag(b) if b then return '1' end return '0' end
local function list(t, f)
  local out = {}
  for i, x in ipairs(t) do out[i] = f(x) end
  return out
end
local function numop(z) return {z.key, flag(z.add), z.score} end
local function check(c) return {c.field, flag(c.present), c.value} end
";

fn conn() -> redis::Connection {
    static SERVER: OnceLock<rom_testing::RedisServer> = OnceLock::new();
    SERVER
        .get_or_init(|| rom_testing::RedisServer::start().expect("start redis-server"))
        .connection()
        .expect("connect")
}

/// Sends `args` to the library with `chunk` (which calls the decoder) and
/// returns what the chunk returned.
fn echo(args: &impl Args, chunk: &str) -> Value {
    let (keys, argv) = args.encode();
    let source = format!("{}\n{PRELUDE}\n{chunk}", crate::script::LIBRARY_BODY);
    redis::cmd("EVAL")
        .arg(source)
        .arg(keys.len())
        .arg(keys)
        .arg(argv)
        .query(&mut conn())
        .expect("EVAL of the echo chunk")
}

/// Reads an echoed nested array, item by item.
struct Echo(std::vec::IntoIter<Value>);

impl Echo {
    fn new(v: Value) -> Echo {
        match v {
            Value::Array(items) => Echo(items.into_iter()),
            other => panic!("expected an array, got {other:?}"),
        }
    }
    fn next(&mut self) -> Value {
        self.0.next().expect("an echoed field is missing")
    }
    fn b(&mut self) -> Vec<u8> {
        match self.next() {
            Value::BulkString(b) => b,
            other => panic!("expected a string, got {other:?}"),
        }
    }
    fn text(&mut self) -> String {
        String::from_utf8(self.b()).expect("utf-8")
    }
    fn flag(&mut self) -> bool {
        match self.b().as_slice() {
            b"1" => true,
            b"0" => false,
            other => panic!("expected a flag, got {other:?}"),
        }
    }
    fn list<T>(&mut self, mut item: impl FnMut(&mut Echo) -> T) -> Vec<T> {
        let mut outer = Echo::new(self.next());
        let mut out = Vec::new();
        for v in outer.0.by_ref() {
            out.push(item(&mut Echo::new(v)));
        }
        out
    }
    fn strings(&mut self) -> Vec<Vec<u8>> {
        let mut outer = Echo::new(self.next());
        let mut out = Vec::new();
        while outer.0.len() > 0 {
            out.push(outer.b());
        }
        out
    }
    fn done(mut self) {
        assert!(self.0.next().is_none(), "more fields echoed than expected");
    }
}

fn kind(letter: &[u8]) -> SlotKind {
    match letter {
        b"u" => SlotKind::Unique,
        b"s" => SlotKind::Set,
        b"l" => SlotKind::Lex,
        other => panic!("not a slot kind: {other:?}"),
    }
}

fn numop(e: &mut Echo) -> NumOp {
    let key = e.b();
    let add = e.flag();
    let score = e.text();
    NumOp {
        key,
        score: add.then(|| score.parse().expect("a score")),
    }
}

fn check(e: &mut Echo) -> Check {
    let field = e.b();
    let present = e.flag();
    let value = e.b();
    Check {
        field,
        value: present.then_some(value),
    }
}

/// Binary values: NUL, ':', bytes that are not UTF-8, empty.
const ODD: &[&[u8]] = &[b"a\0b", b"x:y:", b"\xff\xfe\x80", b"", b"\0\0\x01"];

fn odd(i: usize) -> Vec<u8> {
    ODD[i % ODD.len()].to_vec()
}

// ---------------------------------------------------------------- save

const SAVE_ECHO: &str = r"
local d = save_args(KEYS, ARGV)
return {d.ids, d.seq, d.mode, d.member, flag(d.numeric_ids), d.row_prefix, d.tag,
  list(d.checks, check),
  list(d.writes, function(w) return {w.field, flag(w.set), w.value} end),
  list(d.numeric, numop),
  list(d.touched, function(t) return {t.id, t.kind, t.values} end)}
";

fn save_back(v: Value) -> SaveArgs {
    let mut e = Echo::new(v);
    let out = SaveArgs {
        ids: e.b(),
        seq: e.b(),
        mode: match e.b().as_slice() {
            b"i" => SaveMode::Insert,
            b"u" => SaveMode::Update,
            b"p" => SaveMode::Put,
            other => panic!("mode {other:?}"),
        },
        member: e.b(),
        numeric_ids: e.flag(),
        row_prefix: e.b(),
        tag: e.b(),
        checks: e.list(check),
        writes: e.list(|e| {
            let field = e.b();
            let set = e.flag();
            let value = e.b();
            Write {
                field,
                value: set.then_some(value),
            }
        }),
        numeric: e.list(numop),
        touched: e.list(|e| Touched {
            id: e.b(),
            kind: kind(&e.b()),
            values: e.strings(),
        }),
    };
    e.done();
    out
}

fn save_cases() -> Vec<SaveArgs> {
    let base = SaveArgs {
        ids: b"{t}:ids".to_vec(),
        seq: b"{t}:seq".to_vec(),
        mode: SaveMode::Insert,
        member: Vec::new(),
        numeric_ids: true,
        row_prefix: b"{t}:row:".to_vec(),
        tag: b"{t}".to_vec(),
        checks: vec![],
        writes: vec![],
        numeric: vec![],
        touched: vec![],
    };
    let full = SaveArgs {
        mode: SaveMode::Update,
        member: b"k\0:\xff".to_vec(),
        numeric_ids: false,
        checks: vec![
            Check {
                field: b"name".to_vec(),
                value: Some(odd(0)),
            },
            Check {
                field: b"bio".to_vec(),
                value: None,
            },
            Check {
                field: b"e".to_vec(),
                value: Some(Vec::new()),
            },
        ],
        writes: vec![
            Write {
                field: b"name".to_vec(),
                value: Some(odd(2)),
            },
            Write {
                field: b"bio".to_vec(),
                value: None,
            },
        ],
        numeric: vec![
            NumOp {
                key: b"{t}:num:age".to_vec(),
                score: Some(-12.5),
            },
            NumOp {
                key: b"{t}:num:score".to_vec(),
                score: None,
            },
            NumOp {
                key: b"{t}:num:big".to_vec(),
                score: Some(9007199254740991.0),
            },
        ],
        touched: vec![
            Touched {
                id: b"uniq:email".to_vec(),
                kind: SlotKind::Unique,
                values: vec![odd(1)],
            },
            Touched {
                id: b"text:bio:".to_vec(),
                kind: SlotKind::Set,
                values: (0..5).map(odd).collect(),
            },
            Touched {
                id: b"pre:name".to_vec(),
                kind: SlotKind::Lex,
                values: vec![],
            },
        ],
        ..base.clone()
    };
    let put = SaveArgs {
        mode: SaveMode::Put,
        member: b"7".to_vec(),
        ..base.clone()
    };
    vec![base, full, put]
}

#[test]
fn save_args_echo() {
    for args in save_cases() {
        assert_eq!(save_back(echo(&args, SAVE_ECHO)), args);
    }
}

// ---------------------------------------------------------------- delete

const DELETE_ECHO: &str = r"
local d = delete_args(KEYS, ARGV)
return {d.ids, flag(d.numeric_ids), d.row_prefix, d.tag, d.numeric,
  list(d.checks, check), d.members}
";

fn delete_back(v: Value) -> DeleteArgs {
    let mut e = Echo::new(v);
    let out = DeleteArgs {
        ids: e.b(),
        numeric_ids: e.flag(),
        row_prefix: e.b(),
        tag: e.b(),
        numeric: e.strings(),
        checks: e.list(check),
        members: e.strings(),
    };
    e.done();
    out
}

#[test]
fn delete_args_echo() {
    let base = DeleteArgs {
        ids: b"{t}:ids".to_vec(),
        numeric_ids: false,
        row_prefix: b"{t}:row:".to_vec(),
        tag: b"{t}".to_vec(),
        numeric: vec![],
        checks: vec![],
        members: vec![],
    };
    let full = DeleteArgs {
        numeric_ids: true,
        numeric: vec![b"{t}:num:a".to_vec(), b"{t}:num:b".to_vec()],
        checks: vec![
            Check {
                field: b"f".to_vec(),
                value: Some(odd(0)),
            },
            Check {
                field: odd(1),
                value: None,
            },
        ],
        members: (0..5).map(odd).collect(),
        ..base.clone()
    };
    for args in [base, full] {
        assert_eq!(delete_back(echo(&args, DELETE_ECHO)), args);
    }
}

// ---------------------------------------------------------------- get

#[test]
fn get_args_echo() {
    for rows in [
        vec![],
        vec![b"{t}:row:1".to_vec(), b"{t}:row:\0:\xff".to_vec()],
    ] {
        let args = GetArgs { rows };
        let v = echo(&args, "return get_args(KEYS, ARGV).rows");
        let mut e = Echo::new(Value::Array(vec![v]));
        assert_eq!(GetArgs { rows: e.strings() }, args);
        e.done();
    }
}

// ---------------------------------------------------------------- query

const QUERY_ECHO: &str = r"
local d = query_args(KEYS, ARGV)
local function node(n)
  if n.op == 'A' or n.op == 'O' then return {n.op, list(n.kids, node)}
  elseif n.op == 'N' then return {'N', node(n.kid)}
  elseif n.op == 'S' then return {'S', n.key}
  elseif n.op == 'U' then return {'U', n.key, n.val}
  elseif n.op == 'R' then return {'R', n.key, n.lo, n.hi}
  elseif n.op == 'X' then return {'X', n.key, n.lo, n.hi, n.globsrc}
  end
  return {n.op}
end
local out = {d.ids, d.row_prefix, flag(d.numeric_ids), d.mode, d.fields,
  d.order_key, flag(d.desc), d.lex_slot or '', tostring(d.offset),
  d.limit and tostring(d.limit) or '',
  {d.cursor.phase, d.cursor.score, d.cursor.member}, node(d.filter)}
if d.mode == 'delete' then out[#out + 1] = {d.tag, d.numeric} end
return out
";

fn filter_back(e: &mut Echo) -> Filter {
    let op = e.b();
    match op.as_slice() {
        b"A" => Filter::And(e.list(filter_back)),
        b"O" => Filter::Or(e.list(filter_back)),
        b"N" => Filter::Not(Box::new(filter_back(&mut Echo::new(e.next())))),
        b"S" => Filter::Set(e.b()),
        b"U" => Filter::Unique(e.b(), e.b()),
        b"R" => Filter::Range(e.b(), e.b(), e.b()),
        b"X" => Filter::Lex(e.b(), e.b(), e.b(), e.b()),
        b"L" => Filter::All,
        b"E" => Filter::Empty,
        other => panic!("filter op {other:?}"),
    }
}

fn query_back(v: Value) -> QueryArgs {
    let mut e = Echo::new(v);
    let ids = e.b();
    let row_prefix = e.b();
    let numeric_ids = e.flag();
    let mode_word = e.text();
    let fields = e.strings();
    let order_key = e.b();
    let desc = e.flag();
    let lex_slot = e.b();
    let offset = e.text().parse().expect("offset");
    let limit = e.text();
    let mut c = Echo::new(e.next());
    let cursor = Cursor {
        phase: c.b(),
        score: c.b(),
        member: c.b(),
    };
    c.done();
    let filter = filter_back(&mut Echo::new(e.next()));
    let mode = match mode_word.as_str() {
        "rows" => QueryMode::Rows,
        "ids" => QueryMode::Ids,
        "select" => QueryMode::Select(fields),
        "count" => QueryMode::Count,
        "exists" => QueryMode::Exists,
        "delete" => {
            let mut d = Echo::new(e.next());
            let tag = d.b();
            let numeric = d.strings();
            d.done();
            QueryMode::Delete { tag, numeric }
        }
        other => panic!("mode {other}"),
    };
    e.done();
    QueryArgs {
        ids,
        row_prefix,
        numeric_ids,
        mode,
        order: (!order_key.is_empty()).then(|| OrderBy {
            key: order_key,
            desc,
            lex_slot: (!lex_slot.is_empty()).then_some(lex_slot),
        }),
        offset,
        limit: (!limit.is_empty()).then(|| limit.parse().expect("limit")),
        cursor,
        filter,
    }
}

#[test]
fn query_args_echo() {
    let base = QueryArgs {
        ids: b"{t}:ids".to_vec(),
        row_prefix: b"{t}:row:".to_vec(),
        numeric_ids: true,
        mode: QueryMode::Rows,
        order: None,
        offset: 0,
        limit: None,
        cursor: Cursor::default(),
        filter: Filter::All,
    };
    let tree = Filter::And(vec![
        Filter::Or(vec![
            Filter::Set(b"{t}:eq:name:\0:\xff".to_vec()),
            Filter::Unique(b"{t}:uniq:email".to_vec(), odd(2)),
        ]),
        Filter::Not(Box::new(Filter::Range(
            b"{t}:num:age".to_vec(),
            b"(1.5".to_vec(),
            b"+inf".to_vec(),
        ))),
        Filter::Lex(
            b"{t}:pre:name".to_vec(),
            b"[a\0".to_vec(),
            b"(b".to_vec(),
            b"G*L1:a?".to_vec(),
        ),
        Filter::Lex(
            b"{t}:suf:name".to_vec(),
            b"-".to_vec(),
            b"+".to_vec(),
            Vec::new(),
        ),
        Filter::Or(vec![]),
        Filter::Empty,
    ]);
    let cases = vec![
        base.clone(),
        QueryArgs {
            mode: QueryMode::Select(vec![b"name".to_vec(), odd(1)]),
            order: Some(OrderBy {
                key: b"{t}:sort:name".to_vec(),
                desc: true,
                lex_slot: Some(b"sort:name".to_vec()),
            }),
            offset: 20,
            limit: Some(10),
            cursor: Cursor {
                phase: b"v".to_vec(),
                score: odd(0),
                member: odd(2),
            },
            filter: tree.clone(),
            ..base.clone()
        },
        QueryArgs {
            mode: QueryMode::Count,
            order: Some(OrderBy {
                key: b"{t}:num:age".to_vec(),
                desc: false,
                lex_slot: None,
            }),
            limit: Some(0),
            numeric_ids: false,
            ..base.clone()
        },
        QueryArgs {
            mode: QueryMode::Select(vec![]),
            ..base.clone()
        },
        QueryArgs {
            mode: QueryMode::Ids,
            ..base.clone()
        },
        QueryArgs {
            mode: QueryMode::Exists,
            ..base.clone()
        },
        QueryArgs {
            mode: QueryMode::Delete {
                tag: b"{t}".to_vec(),
                numeric: vec![b"{t}:num:age".to_vec()],
            },
            limit: Some(100),
            filter: tree,
            ..base.clone()
        },
        QueryArgs {
            mode: QueryMode::Delete {
                tag: b"{t}".to_vec(),
                numeric: vec![],
            },
            ..base
        },
    ];
    for args in cases {
        assert_eq!(query_back(echo(&args, QUERY_ECHO)), args);
    }
}

// ---------------------------------------------------------------- verify

#[test]
fn scan_args_echo() {
    let args = ScanArgs {
        ids: b"{t}:ids".to_vec(),
        cursor: b"0".to_vec(),
        pattern: b"\\{t\\}:*".to_vec(),
        count: 200,
    };
    let v = echo(
        &args,
        "local d = scan_args(KEYS, ARGV) return {d.ids, d.cursor, d.pattern, d.count}",
    );
    let mut e = Echo::new(v);
    let back = ScanArgs {
        ids: e.b(),
        cursor: e.b(),
        pattern: e.b(),
        count: e.text().parse().expect("count"),
    };
    e.done();
    assert_eq!(back, args);
}

#[test]
fn rows_args_echo() {
    for n in [0, 1, 5] {
        let args = RowsArgs {
            ids: b"{t}:ids".to_vec(),
            rows: (0..n)
                .map(|i| RowRef {
                    key: [b"{t}:row:".to_vec(), odd(i)].concat(),
                    member: odd(i),
                })
                .collect(),
        };
        let v = echo(
            &args,
            "local d = rows_args(KEYS, ARGV)
             return {d.ids, list(d.rows, function(r) return {r.key, r.member} end)}",
        );
        let mut e = Echo::new(v);
        let back = RowsArgs {
            ids: e.b(),
            rows: e.list(|e| RowRef {
                key: e.b(),
                member: e.b(),
            }),
        };
        e.done();
        assert_eq!(back, args);
    }
}

#[test]
fn probe_args_echo() {
    let kinds = [
        (ProbeKind::Score, b"n"),
        (ProbeKind::Owner, b"u"),
        (ProbeKind::InSet, b"s"),
        (ProbeKind::InZset, b"l"),
    ];
    for n in [0, 4, 9] {
        let args = ProbeArgs {
            ids: b"{t}:ids".to_vec(),
            probes: (0..n)
                .map(|i| Probe {
                    kind: kinds[i % 4].0,
                    key: [b"{t}:k".to_vec(), odd(i / 2)].concat(),
                    item: odd(i),
                })
                .collect(),
        };
        let v = echo(
            &args,
            "local d = probe_args(KEYS, ARGV)
             return {d.ids, list(d.probes, function(p) return {p.kind, p.key, p.item} end)}",
        );
        let mut e = Echo::new(v);
        let back = ProbeArgs {
            ids: e.b(),
            probes: e.list(|e| {
                let letter = e.b();
                Probe {
                    kind: kinds
                        .iter()
                        .find(|(_, l)| l[..] == letter[..])
                        .expect("a probe kind")
                        .0,
                    key: e.b(),
                    item: e.b(),
                }
            }),
        };
        e.done();
        assert_eq!(back, args);
    }
}

// ---------------------------------------------------------------- repair

const REINDEX_ECHO: &str = r"
local d = reindex_args(KEYS, ARGV)
return {d.ids, d.row, d.declared, d.tag, flag(d.numeric_ids), d.row_prefix, d.member,
  list(d.fields, function(f) return {f.field, f.value} end),
  list(d.numeric, numop),
  list(d.entries, function(x) return {x.id, x.kind, x.value, x.owner} end)}
";

#[test]
fn reindex_args_echo() {
    let base = ReindexArgs {
        ids: b"{t}:ids".to_vec(),
        row: b"{t}:row:1".to_vec(),
        declared: vec![],
        tag: b"{t}".to_vec(),
        numeric_ids: true,
        row_prefix: b"{t}:row:".to_vec(),
        member: b"1".to_vec(),
        fields: vec![],
        numeric: vec![],
        entries: vec![],
    };
    let full = ReindexArgs {
        declared: vec![b"{t}:num:a".to_vec(), b"{t}:eq:n:\0:\xff".to_vec()],
        numeric_ids: false,
        member: odd(2),
        fields: vec![(b"#i".to_vec(), odd(0)), (b"name".to_vec(), odd(3))],
        numeric: vec![
            NumOp {
                key: b"{t}:num:a".to_vec(),
                score: Some(0.1),
            },
            NumOp {
                key: b"{t}:num:b".to_vec(),
                score: None,
            },
        ],
        entries: vec![
            Entry {
                id: b"uniq:e".to_vec(),
                kind: SlotKind::Unique,
                value: odd(1),
                owner: b"9".to_vec(),
            },
            Entry {
                id: b"eq:n:".to_vec(),
                kind: SlotKind::Set,
                value: odd(2),
                owner: vec![],
            },
            Entry {
                id: b"sort:n".to_vec(),
                kind: SlotKind::Lex,
                value: odd(3),
                owner: vec![],
            },
        ],
        ..base.clone()
    };
    for args in [base, full] {
        let mut e = Echo::new(echo(&args, REINDEX_ECHO));
        let back = ReindexArgs {
            ids: e.b(),
            row: e.b(),
            declared: e.strings(),
            tag: e.b(),
            numeric_ids: e.flag(),
            row_prefix: e.b(),
            member: e.b(),
            fields: e.list(|e| (e.b(), e.b())),
            numeric: e.list(numop),
            entries: e.list(|e| Entry {
                id: e.b(),
                kind: kind(&e.b()),
                value: e.b(),
                owner: e.b(),
            }),
        };
        e.done();
        assert_eq!(back, args);
    }
}

#[test]
fn unindex_args_echo() {
    let targets = [
        Target::Numeric,
        Target::Malformed,
        Target::Slot(b"uniq:e".to_vec(), SlotKind::Unique),
        Target::Slot(b"text:b:".to_vec(), SlotKind::Set),
        Target::Slot(b"suf:n".to_vec(), SlotKind::Lex),
    ];
    for (i, target) in targets.into_iter().enumerate() {
        let args = UnindexArgs {
            row: b"{t}:row:1".to_vec(),
            index: b"{t}:num:a".to_vec(),
            tag: b"{t}".to_vec(),
            numeric_ids: i % 2 == 0,
            target,
            value: odd(i),
            member: odd(i + 1),
        };
        let v = echo(
            &args,
            "local d = unindex_args(KEYS, ARGV)
             return {d.row, d.index, d.tag, flag(d.numeric_ids), d.target, d.kind, d.value, d.member}",
        );
        let mut e = Echo::new(v);
        let (row, index, tag, numeric_ids) = (e.b(), e.b(), e.b(), e.flag());
        let (what, letter) = (e.b(), e.b());
        let back = UnindexArgs {
            row,
            index,
            tag,
            numeric_ids,
            target: match (what.as_slice(), letter.is_empty()) {
                (b"n", true) => Target::Numeric,
                (b"x", true) => Target::Malformed,
                (_, false) => Target::Slot(what, kind(&letter)),
                other => panic!("target {other:?}"),
            },
            value: e.b(),
            member: e.b(),
        };
        e.done();
        assert_eq!(back, args);
    }
}

#[test]
fn unlist_args_echo() {
    for numeric in [vec![], vec![b"{t}:num:a".to_vec(), b"{t}:num:b".to_vec()]] {
        let args = UnlistArgs {
            ids: b"{t}:ids".to_vec(),
            row: b"{t}:row:\xff".to_vec(),
            numeric,
            member: b"\xff".to_vec(),
        };
        let v = echo(
            &args,
            "local d = unlist_args(KEYS, ARGV) return {d.ids, d.row, d.numeric, d.member}",
        );
        let mut e = Echo::new(v);
        let back = UnlistArgs {
            ids: e.b(),
            row: e.b(),
            numeric: e.strings(),
            member: e.b(),
        };
        e.done();
        assert_eq!(back, args);
    }
}

/// Every function the library registers has an echo test above.
#[test]
fn every_function_has_a_contract() {
    let covered = [
        "save",
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
    ];
    for s in crate::script::ALL {
        assert!(covered.contains(&s.name()), "{} has no echo test", s.name());
    }
    let register = include_str!("../../lua/register.lua");
    assert_eq!(
        register.matches("  fn('").count(),
        covered.len(),
        "register.lua registers a function this list lacks"
    );
}
