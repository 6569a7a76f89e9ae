//! The echo of `unique_get`.

use super::{Echo, echo, odd};
use crate::wire::unique::UniqueGetArgs;

#[test]
fn unique_get_args_echo() {
    for args in [
        UniqueGetArgs {
            key: b"{t}:uniq:email".to_vec(),
            row_prefix: b"{t}:row:".to_vec(),
            numeric_ids: true,
            expiry: b"{t}:exp".to_vec(),
            rows: true,
            value: odd(1),
        },
        UniqueGetArgs {
            key: odd(0),
            row_prefix: odd(2),
            numeric_ids: false,
            expiry: Vec::new(),
            rows: false,
            value: Vec::new(),
        },
    ] {
        let mut e = Echo::new(echo(&args, "unique_get"));
        let back = UniqueGetArgs {
            key: e.b(),
            row_prefix: e.b(),
            numeric_ids: e.flag(),
            expiry: e.b(),
            rows: e.text() == "r",
            value: e.b(),
        };
        e.done();
        assert_eq!(back, args);
    }
}
