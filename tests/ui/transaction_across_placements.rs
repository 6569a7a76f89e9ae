// a transaction given rows of models that do not share a placement.
use rom::prelude::*;
use rom::transaction::Transaction;

rom::group!(pub Shop = "shop");

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = orders, group = Shop)]
pub struct Order {
    #[rom(primary_key)]
    pub id: Option<u64>,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
}

fn main() -> rom::Result<()> {
    let mut tx = Transaction::new();
    tx.insert(Order { id: None })?;
    tx.insert(User { id: None })?;
    Ok(())
}
