//! Lifecycle hooks: before-hooks run before anything is sent and can stop a
//! write with the application's own error; after-hooks run only once the
//! server confirmed it; transactions run each row's hooks.
#![allow(clippy::unwrap_used, missing_docs)]

use rom::hooks::{HookError, Hooks};
use rom::prelude::*;
use rom::testing::RedisServer;
use rom::transaction::Transaction;
use std::cell::RefCell;

thread_local! {
    /// What the hooks saw, on this test's thread.
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn log(s: String) {
    LOG.with(|l| l.borrow_mut().push(s));
}

fn take_log() -> Vec<String> {
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

/// The application's own error.
#[derive(Debug, PartialEq)]
struct Forbidden(String);

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "forbidden: {}", self.0)
    }
}
impl std::error::Error for Forbidden {}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = posts, hooks)]
pub struct Post {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(index(eq))]
    pub title: String,
    pub edits: u32,
}

impl Hooks for Post {
    fn before_insert(&mut self) -> Result<(), HookError> {
        if self.title == "spam" {
            return Err(Box::new(Forbidden(self.title.clone())));
        }
        // normalised before it is written (and validated)
        self.title = self.title.trim().to_owned();
        log(format!("before_insert {}", self.title));
        Ok(())
    }
    fn after_insert(&self) {
        log(format!("after_insert {:?}", self.id));
    }
    fn before_update(&mut self) -> Result<(), HookError> {
        self.edits += 1;
        log(format!("before_update {:?}", self.id));
        Ok(())
    }
    fn after_update(&self) {
        log(format!("after_update {:?} edits={}", self.id, self.edits));
    }
    fn before_delete(key: &u64) -> Result<(), HookError> {
        if *key == 13 {
            return Err(Box::new(Forbidden("13".into())));
        }
        log(format!("before_delete {key}"));
        Ok(())
    }
    fn after_delete(key: &u64) {
        log(format!("after_delete {key}"));
    }
    async fn before_insert_async(&mut self) -> Result<(), HookError> {
        tokio::task::yield_now().await;
        log("before_insert_async".into());
        self.before_insert()
    }
}

fn post(title: &str) -> Post {
    Post {
        id: None,
        title: title.into(),
        edits: 0,
    }
}

#[test]
fn insert_save_and_delete_run_their_hooks() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    take_log();
    let mut p = post("  hello ").insert(&mut c).unwrap();
    assert_eq!(p.title, "hello", "the before-hook's change was written");
    assert_eq!(Post::get(&mut c, 1u64).unwrap().unwrap().title, "hello");
    assert_eq!(
        take_log(),
        vec!["before_insert hello", "after_insert Some(1)"]
    );
    // an unchanged record sends nothing and runs no hook
    p.save(&mut c).unwrap();
    assert!(take_log().is_empty());
    p.title = "changed".into();
    p.save(&mut c).unwrap();
    assert_eq!(
        take_log(),
        vec!["before_update Some(1)", "after_update Some(1) edits=1"]
    );
    assert_eq!(Post::get(&mut c, 1u64).unwrap().unwrap().edits, 1);
    p.delete(&mut c).unwrap();
    assert_eq!(take_log(), vec!["before_delete 1", "after_delete 1"]);
}

#[test]
fn a_before_hook_error_writes_nothing_and_is_the_callers_own() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    take_log();
    let err = post("spam").insert(&mut c).unwrap_err();
    let Error::Hook { model, hook, error } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*model, *hook), ("Post", "before_insert"));
    assert_eq!(
        error.downcast_ref::<Forbidden>(),
        Some(&Forbidden("spam".into()))
    );
    assert_eq!(
        err.to_string(),
        "Post: the hook before_insert stopped the write: forbidden: spam"
    );
    assert_eq!(posts::table.count(&mut c).unwrap(), 0);
    assert!(take_log().is_empty(), "no after-hook for a stopped write");
    // a batch: the stopped row gets the error, the others are written
    let out = Post::insert_all(&mut c, vec![post("a"), post("spam"), post("b")]).unwrap();
    assert!(out[0].is_ok() && out[2].is_ok());
    assert!(matches!(out[1], Err(Error::Hook { .. })));
    assert_eq!(posts::table.count(&mut c).unwrap(), 2);
    // a delete hook that refuses one key stops the whole call
    Post {
        id: Some(13),
        ..post("x")
    }
    .insert(&mut c)
    .unwrap();
    take_log();
    let err = Post::delete_many(&mut c, &[1, 13]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Hook {
                hook: "before_delete",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(posts::table.count(&mut c).unwrap(), 3);
    assert_eq!(take_log(), vec!["before_delete 1"]);
}

#[test]
fn a_commit_runs_each_rows_hooks_and_after_hooks_only_on_success() {
    let s = RedisServer::start().unwrap();
    let mut c = s.connection().unwrap();
    post("one").insert(&mut c).unwrap();
    post("two").insert(&mut c).unwrap();
    take_log();
    let mut tx = Transaction::new();
    tx.get::<Post, _>(&mut c, 1u64).unwrap().unwrap().title = "uno".into();
    tx.insert(post(" three ")).unwrap();
    tx.delete::<Post>(2u64).unwrap();
    tx.get::<Post, _>(&mut c, 9u64).unwrap(); // read only: no hook
    tx.commit(&mut c).unwrap();
    assert_eq!(
        take_log(),
        vec![
            "before_update Some(1)",
            "before_insert three",
            "before_delete 2",
            "after_update Some(1) edits=1",
            "after_insert Some(3)",
            "after_delete 2",
        ]
    );
    assert_eq!(Post::get(&mut c, 3u64).unwrap().unwrap().title, "three");
    // a conflicting commit: before-hooks ran, no after-hook, nothing written
    let mut tx = Transaction::new();
    tx.get::<Post, _>(&mut c, 1u64).unwrap().unwrap().title = "eins".into();
    let mut other = Post::get(&mut c, 1u64).unwrap().unwrap();
    other.title = "un".into();
    other.save(&mut c).unwrap();
    take_log();
    assert!(tx.commit(&mut c).unwrap_err().is_conflict());
    assert_eq!(take_log(), vec!["before_update Some(1)"]);
    // a before-hook error stops the commit before anything is sent
    let mut tx = Transaction::new();
    tx.insert(post("fine")).unwrap();
    tx.insert(post("spam")).unwrap();
    assert!(matches!(tx.commit(&mut c), Err(Error::Hook { .. })));
    assert_eq!(posts::table.count(&mut c).unwrap(), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn async_writes_run_the_async_hooks() {
    let s = RedisServer::start().unwrap();
    let mut c = s
        .client()
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    take_log();
    post(" a ").insert_async(&mut c).await.unwrap();
    assert_eq!(
        take_log(),
        vec![
            "before_insert_async",
            "before_insert a",
            "after_insert Some(1)"
        ]
    );
    let mut tx = Transaction::new();
    tx.insert(post("spam")).unwrap();
    let err = tx.commit_async(&mut c).await.unwrap_err();
    assert!(matches!(err, Error::Hook { .. }), "{err:?}");
}
