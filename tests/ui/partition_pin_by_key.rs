// `in_partition` on a model partitioned by its key: there is no partition
// value to pin a query to.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = sessions, partition(by = token, buckets = 8))]
pub struct Session {
    #[rom(primary_key)]
    pub token: String,
    #[rom(index(eq))]
    pub user: u64,
}

fn main() {
    let _ = sessions::table.in_partition("abc");
}
