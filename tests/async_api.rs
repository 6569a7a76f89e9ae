//! The async API on MultiplexedConnection and ConnectionManager.
mod common;
use common::*;

async fn exercise<C: redis::aio::ConnectionLike + Send>(c: &mut C, tag: &str) {
    let mut a = user(&format!("a{tag}@x.io"), "A", 30, 2.0)
        .insert_async(c)
        .await
        .expect("insert");
    let b = user(&format!("b{tag}@x.io"), "B", 40, 1.0)
        .insert_async(c)
        .await
        .expect("insert");
    a.age = 35;
    a.save_async(c).await.expect("save");
    let got = User::get_async(c, a.id.expect("id"))
        .await
        .expect("get")
        .expect("row");
    assert_eq!(got.age, 35);
    let many = User::get_many_async(c, &[b.id.expect("id"), a.id.expect("id")])
        .await
        .expect("many");
    assert_eq!(
        many.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![b.id, a.id]
    );
    let first = users::table
        .filter(users::email.eq(format!("A{tag}@X.IO")))
        .first_async(c)
        .await
        .expect("first");
    assert_eq!(first.id, a.id);
    let ordered = users::table
        .order_by(users::score.asc())
        .ids_async(c)
        .await
        .expect("ids");
    assert_eq!(ordered, vec![b.id.expect("id"), a.id.expect("id")]);
    assert_eq!(
        users::table
            .filter(users::age.gt(30))
            .count_async(c)
            .await
            .expect("count"),
        2
    );
    assert!(
        users::table
            .filter(users::age.gt(39))
            .exists_async(c)
            .await
            .expect("exists")
    );
    let none = users::table
        .filter(users::age.gt(99))
        .first_async(c)
        .await
        .optional()
        .expect("optional");
    assert!(none.is_none());
    let mut pages = users::table.pages(1);
    let mut n = 0;
    while let Some(p) = pages.next_page_async(c).await.expect("page") {
        n += p.len();
    }
    assert_eq!(n, 2);
    let mut refreshed = a.clone();
    refreshed.refresh_async(c).await.expect("refresh");
    assert_eq!(
        users::table
            .filter(users::age.ge(40))
            .delete_async(c)
            .await
            .expect("delete"),
        1
    );
    assert!(a.delete_async(c).await.expect("delete"));
    assert_eq!(users::table.count_async(c).await.expect("count"), 0);
}

#[tokio::test]
async fn multiplexed_connection() {
    let s = RedisServer::start().expect("start");
    let mut c = s.multiplexed().await.expect("connect");
    exercise(&mut c, "m").await;
    let mut sync = s.connection().expect("connect");
    assert_clean::<User>(&mut sync);
}

#[tokio::test]
async fn connection_manager() {
    let s = RedisServer::start().expect("start");
    let mut c = s.manager().await.expect("connect");
    exercise(&mut c, "cm").await;
    let mut sync = s.connection().expect("connect");
    assert_clean::<User>(&mut sync);
}
