// a composite unique on a partitioned model that leaves out the partition
// column: its rows could be in any bucket, and composites are checked in one.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = seats, partition(by = venue, buckets = 8), unique_together(row, number))]
pub struct Seat {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq))]
    pub venue: String,
    pub row: String,
    pub number: u32,
}

fn main() {}
