// `has_word` on a column with no full-text index.
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = articles)]
pub struct Article {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(text))]
    pub body: String,
    #[rom(index(prefix))]
    pub slug: String,
    pub title: String,
}

fn main() {
    let _query = articles::table.filter(articles::title.has_word("redis"));
}
