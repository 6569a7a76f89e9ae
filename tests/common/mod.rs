//! Shared test models and helpers: every test starts its own redis-server.
#![allow(dead_code, missing_docs)]

pub(crate) use rom::prelude::*;
#[allow(unused_imports)]
pub(crate) use rom::testing::{CountingConnection, RedisServer};

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub(crate) struct User {
    #[rom(primary_key)]
    pub(crate) id: Option<u64>,
    #[rom(unique(case_insensitive))]
    pub(crate) email: String,
    #[rom(index(eq))]
    pub(crate) name: Option<String>,
    #[rom(index(numeric))]
    pub(crate) age: i32,
    #[rom(index(numeric), default = 0.0)]
    pub(crate) score: f64,
    pub(crate) bio: Option<String>,
}

pub(crate) fn user(email: &str, name: &str, age: i32, score: f64) -> User {
    User {
        id: None,
        email: email.into(),
        name: Some(name.into()),
        age,
        score,
        bio: None,
    }
}

pub(crate) fn server() -> (RedisServer, redis::Connection) {
    let s = RedisServer::start().expect("start redis-server");
    let c = s.connection().expect("connect");
    (s, c)
}

pub(crate) fn assert_clean<M: rom::Model>(conn: &mut redis::Connection) {
    let r = rom::verify::verify::<M, _>(conn).expect("verify");
    assert!(r.is_clean(), "verify found problems: {:#?}", r.problems);
}
