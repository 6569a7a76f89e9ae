// a `default` on an `Option` field.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = things)]
pub struct Thing {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(default = "none")]
    pub nickname: Option<String>,
}

fn main() {}
