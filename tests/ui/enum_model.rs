// an enum.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
pub enum Status {
    Active,
    Banned { reason: String },
}

fn main() {}
