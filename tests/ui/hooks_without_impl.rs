// a model declared with `#[rom(hooks)]` that does not implement them.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = posts, hooks)]
pub struct Post {
    #[rom(primary_key)]
    pub id: Option<u64>,
}

fn main() {}
