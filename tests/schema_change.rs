//! A model that gains (or loses) an index keeps working on rows written before:
//! rows record their index entries by a stable id, not by position.
mod common;
use common::*;

mod v1 {
    use rom::prelude::*;
    #[derive(Model, Clone, Debug)]
    #[rom(table = accounts, namespace = "acct")]
    pub(crate) struct Account {
        #[rom(primary_key)]
        pub(crate) id: Option<u64>,
        pub(crate) name: String,
        #[rom(unique)]
        pub(crate) email: String,
    }
}

mod v2 {
    use rom::prelude::*;
    #[derive(Model, Clone, Debug)]
    #[rom(table = accounts, namespace = "acct")]
    pub(crate) struct Account {
        #[rom(primary_key)]
        pub(crate) id: Option<u64>,
        #[rom(index(eq))]
        pub(crate) name: String,
        #[rom(unique)]
        pub(crate) email: String,
    }
}

#[test]
fn adding_an_index_keeps_old_rows_consistent() {
    let (_s, mut c) = server();
    let old = v1::Account {
        id: None,
        name: "Ann".into(),
        email: "ann@x.io".into(),
    }
    .insert(&mut c)
    .expect("v1 insert");
    let id = old.id.expect("id");
    // v2 reads the v1 row and changes its email: the v1 unique entry is released
    let mut a = v2::Account::get(&mut c, id).expect("get").expect("row");
    a.email = "ann@new.io".into();
    a.save(&mut c).expect("v2 save");
    v1::Account {
        id: None,
        name: "Other".into(),
        email: "ann@x.io".into(),
    }
    .insert(&mut c)
    .expect("the old email is free again");
    // re-saving every row builds the new index (here: one row)
    let mut a = v2::Account::get(&mut c, id).expect("get").expect("row");
    a.clone().into_inner().upsert(&mut c).expect("put");
    a.refresh(&mut c).expect("refresh");
    assert_eq!(
        v2::accounts::table
            .filter(v2::accounts::name.eq("Ann"))
            .ids(&mut c)
            .expect("query"),
        vec![id]
    );
    // and going back to v1, deleting the row removes the v2 index entry too
    let back = v1::Account::get(&mut c, id).expect("get").expect("row");
    back.delete(&mut c).expect("v1 delete");
    let left: bool = redis::cmd("EXISTS")
        .arg("{acct}:eq:name:Ann")
        .query(&mut c)
        .expect("exists");
    assert!(!left, "the v2 entry went with the row");
}
