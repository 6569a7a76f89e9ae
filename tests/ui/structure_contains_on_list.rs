// `contains` on a `List` field: only an indexed `Set` answers it.
use rom::prelude::*;
use rom::structure::List;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = inboxes)]
pub struct Inbox {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub messages: List<String>,
}

fn main() {
    let _query = inboxes::table.filter(inboxes::messages.contains("hello"));
}
