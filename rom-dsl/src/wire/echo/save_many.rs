//! The echo of `save_many`.

use super::writes::save_cases;
use super::{Echo, echo};
use crate::wire::Args;
use crate::wire::save_many::SaveManyArgs;
use redis::Value;

fn strings(v: Value) -> Vec<Vec<u8>> {
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Value::BulkString(b) => b,
                other => panic!("expected a string, got {other:?}"),
            })
            .collect(),
        // an empty Lua table comes back as an empty array, or nil
        Value::Nil => Vec::new(),
        other => panic!("expected an array, got {other:?}"),
    }
}

#[test]
fn save_many_args_echo() {
    let saves: Vec<_> = save_cases().iter().map(Args::encode).collect();
    for args in [
        SaveManyArgs {
            saves: saves.clone(),
        },
        SaveManyArgs {
            saves: saves[..1].to_vec(),
        },
    ] {
        let mut e = Echo::new(echo(&args, "save_many"));
        let mut back = Vec::new();
        for _ in 0..args.saves.len() {
            let mut one = Echo::new(e.next());
            back.push((strings(one.next()), strings(one.next())));
            one.done();
        }
        e.done();
        assert_eq!(back, args.saves);
    }
}
