// `index(eq)` on a `List`: only a `Set` can be indexed.
use rom::prelude::*;
use rom::structure::List;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = inboxes)]
pub struct Inbox {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq))]
    pub messages: List<String>,
}

fn main() {}
