//! The `#i` record format in both languages: a record Lua writes
//! (`show_rec`) is read back by Rust (`parse_record`) entry for entry, and
//! for any string, readable or not, the two parsers agree (Lua's
//! `parse_rec` and Rust's `parse_record` accept the same strings and find
//! the same entries).

use super::conn;
use crate::storage::slots::parse_record;
use redis::Value;

/// Runs `chunk` after the library's source with `argv`.
fn eval(chunk: &str, argv: &[Vec<u8>]) -> Value {
    let source = format!("{}\n{chunk}", crate::exec::script::LIBRARY_BODY);
    redis::cmd("EVAL")
        .arg(source)
        .arg(0)
        .arg(argv)
        .query(&mut conn())
        .expect("EVAL of the record chunk")
}

fn bytes(v: Value) -> Vec<u8> {
    match v {
        Value::BulkString(b) => b,
        other => panic!("expected a string, got {other:?}"),
    }
}

/// A parsed record: (slot id, value) pairs; `None` when unreadable.
type Parsed = Option<Vec<(Vec<u8>, Vec<u8>)>>;

/// Lua's reading of each string: `nil` (false) or the entries.
fn lua_parse(strings: &[Vec<u8>]) -> Vec<Parsed> {
    let chunk = r"
local out = {}
for i, s in ipairs(ARGV) do
  local rec = parse_rec(s)
  if rec == nil then out[i] = 0
  else
    local flat = {}
    for _, e in ipairs(rec) do flat[#flat + 1] = e[1]; flat[#flat + 1] = e[2] end
    out[i] = flat
  end
end
return out";
    let Value::Array(items) = eval(chunk, strings) else {
        panic!("expected an array")
    };
    items
        .into_iter()
        .map(|v| match v {
            Value::Int(0) => None,
            Value::Array(flat) => {
                let flat: Vec<Vec<u8>> = flat.into_iter().map(bytes).collect();
                Some(
                    flat.chunks(2)
                        .map(|p| (p[0].clone(), p[1].clone()))
                        .collect(),
                )
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn a_record_lua_writes_rust_reads() {
    let entries: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"uniq:email".to_vec(), b"a@x".to_vec()),
        (b"eq:name:".to_vec(), Vec::new()),
        (b"pre:title".to_vec(), b"x\0y:z".to_vec()),
        (b"text:body:".to_vec(), vec![0xff, 0x00, b':', b'9']),
        (b"uniq:a+b".to_vec(), b"3:abc1:x".to_vec()),
    ];
    let argv: Vec<Vec<u8>> = entries
        .iter()
        .flat_map(|(id, v)| [id.clone(), v.clone()])
        .collect();
    let chunk = r"
local rec = {}
for i = 1, #ARGV, 2 do rec[#rec + 1] = {ARGV[i], ARGV[i + 1]} end
return show_rec(rec)";
    let written = bytes(eval(chunk, &argv));
    assert_eq!(parse_record(&written), Some(entries));
    assert_eq!(parse_record(b""), Some(vec![]));
}

#[test]
fn both_parsers_accept_the_same_strings() {
    let mut strings: Vec<Vec<u8>> = [
        &b""[..],
        b"uniq:email",
        b"uniq:email\0",
        b"uniq:email\x003:abc",
        b"uniq:email\x003:ab",
        b"uniq:email\x00:abc",
        b"uniq:email\x00x:abc",
        b"uniq:email\x00-1:abc",
        b"uniq:email\x000:",
        b"a\x001:xb\x002:yz",
        b"a\x001:xb",
        b"\x000:",
        b"a\x00 1:x",
        b"a\x00+1:x",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    // and pseudo-random strings over the record's alphabet
    let alphabet = b"ab:\x0001239";
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..300 {
        let mut s = Vec::new();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 14) as usize;
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push(alphabet[(x % alphabet.len() as u64) as usize]);
        }
        strings.push(s);
    }
    let lua = lua_parse(&strings);
    for (s, l) in strings.iter().zip(lua) {
        assert_eq!(
            parse_record(s),
            l,
            "the parsers disagree on {:?}",
            s.escape_ascii().to_string()
        );
    }
}
