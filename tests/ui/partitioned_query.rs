// a query on a partitioned model's table: its rows are in many slots.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = accounts, partition(by = id, buckets = 8))]
pub struct Account {
    #[rom(primary_key)]
    pub id: u64,
    #[rom(index(eq))]
    pub tenant: String,
}

fn main() {
    let mut conn = redis::Client::open("redis://127.0.0.1/").unwrap().get_connection().unwrap();
    let _ = accounts::table.filter(accounts::tenant.eq("acme")).load(&mut conn);
}
