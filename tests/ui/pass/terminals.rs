// Every terminal of a query type-checks against a blocking and an async
// connection (nothing runs: there is no server here).
use rom::prelude::*;

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    #[rom(primary_key)]
    pub id: Option<u64>,
    #[rom(unique)]
    pub email: String,
    #[rom(index(numeric))]
    pub age: i32,
}

#[allow(dead_code)]
fn blocking(conn: &mut redis::Connection) -> rom::Result<()> {
    let adults = || users::table.filter(users::age.ge(18));
    let _rows: Vec<Record<User>> = adults().order_by(users::age.asc()).load(conn)?;
    let _first: Option<Record<User>> = adults().first(conn).optional()?;
    let _n: u64 = adults().count(conn)?;
    let _any: bool = adults().exists(conn)?;
    let _ids: Vec<u64> = adults().ids(conn)?;
    let _pairs: Vec<(String, i32)> = adults().select((users::email, users::age)).load(conn)?;
    let _deleted: u64 = adults().limit(100).delete(conn)?;
    let mut pages = adults().order_by(users::age.desc()).pages(50);
    while let Some(page) = pages.next_page(conn)? {
        let _: &Vec<Record<User>> = &page;
    }
    let _one: Option<Record<User>> = User::get(conn, 1u64)?;
    Ok(())
}

#[allow(dead_code)]
async fn non_blocking(conn: &mut redis::aio::MultiplexedConnection) -> rom::Result<()> {
    let adults = || users::table.filter(users::age.ge(18));
    let _rows = adults().load_async(conn).await?;
    let _first = adults().first_async(conn).await.optional()?;
    let _n = adults().count_async(conn).await?;
    let _any = adults().exists_async(conn).await?;
    let _ids = adults().ids_async(conn).await?;
    let _emails: Vec<(String,)> = adults().select((users::email,)).load_async(conn).await?;
    let _deleted = adults().delete_async(conn).await?;
    Ok(())
}

fn main() {
    let plan = users::table
        .filter(users::email.eq("a@example.com"))
        .explain();
    assert!(plan.contains("{users}:uniq:email"), "{plan}");
}
