//! The echo of `structure_read`.

use super::{Echo, echo, odd};
use crate::wire::structure::StructureReadArgs;

#[test]
fn structure_read_args_echo() {
    for args in [
        StructureReadArgs {
            key: b"{t}:st:log:\0:\xff".to_vec(),
            expiry: b"{t}:exp".to_vec(),
            absent: b"{t}:st:log:".to_vec(),
            member: odd(1),
            command: "LRANGE".into(),
            args: vec![b"0".to_vec(), b"-1".to_vec()],
        },
        StructureReadArgs {
            key: odd(0),
            expiry: odd(2),
            absent: Vec::new(),
            member: Vec::new(),
            command: "ZCARD".into(),
            args: vec![],
        },
    ] {
        let mut e = Echo::new(echo(&args, "structure_read"));
        let back = StructureReadArgs {
            key: e.b(),
            expiry: e.b(),
            absent: e.b(),
            member: e.b(),
            command: e.text(),
            args: e.strings(),
        };
        e.done();
        assert_eq!(back, args);
    }
}
