// `case_insensitive` on a composite unique whose columns are none of them text.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = seats, unique_together(row, number, case_insensitive))]
pub struct Seat {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub row: u32,
    pub number: Option<i64>,
}

fn main() {}
