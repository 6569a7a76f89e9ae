//! The echo of `id_block`.

use super::{Echo, echo, odd};
use crate::wire::ids::IdBlockArgs;

#[test]
fn id_block_args_echo() {
    let args = IdBlockArgs {
        seq: odd(0),
        marker: odd(1),
        size: 4096,
        buckets: 1024,
    };
    let mut e = Echo::new(echo(&args, "id_block"));
    let back = IdBlockArgs {
        seq: e.b(),
        marker: e.b(),
        size: e.text().parse().unwrap(),
        buckets: e.text().parse().unwrap(),
    };
    e.done();
    assert_eq!(back, args);
}
