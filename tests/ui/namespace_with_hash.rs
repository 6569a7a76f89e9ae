// a namespace with `#`, which partition bucket tags reserve.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things, namespace = "app#things")]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub name: String,
}

fn main() {}
