// a tuple struct.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
pub struct Point(Option<u64>, i64, i64);

fn main() {}
