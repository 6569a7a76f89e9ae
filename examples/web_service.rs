//! A small JSON web service on rom: axum, async handlers, one
//! `redis::aio::ConnectionManager` shared by every request.
//!
//! - `POST /users` `{"email", "name"}`: sign up. The email is unique whatever
//!   its case; a taken one is `409`.
//! - `GET /users/{id}`: a user, or `404`.
//! - `POST /users/{id}/posts` `{"title", "body"}`: a post by that user.
//! - `GET /posts?q=&author=&limit=&cursor=`: posts, newest first, optionally
//!   matching words (full text over title and body) or by one author, a page
//!   at a time. The answer's `next` is an opaque token: pass it back as
//!   `cursor` for the following page; a malformed one is `400`.
//!
//! Every error, from rom or from a request, becomes an HTTP status and a JSON
//! body `{"error": code, "message": text}` in one place: `impl IntoResponse
//! for AppError`.
//!
//! Run it with `cargo run --example web_service` (starts a throwaway
//! redis-server; set `ROM_REDIS_URL` to use your own, `PORT` to choose the
//! port). `tests/web_service.rs` drives it with real HTTP requests, and the
//! book's chapter "Building a web service" walks through it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use redis::aio::ConnectionManager;
use rom::prelude::*;
use serde::{Deserialize, Serialize};

/// A user of the service.
#[derive(Model, Clone, Debug)]
#[rom(table = users)]
pub struct User {
    /// Allocated at sign-up.
    #[rom(primary_key)]
    pub id: Option<u64>,
    /// Unique whatever its case: `Ann@Example.com` and `ann@example.com` are
    /// one account. Kept as typed.
    #[rom(unique(case_insensitive))]
    pub email: String,
    /// The name shown beside the user's posts.
    pub name: String,
}

/// A post, searchable by the words of its title and body.
#[derive(Model, Clone, Debug)]
#[rom(table = posts)]
pub struct Post {
    /// Allocated at the first save.
    #[rom(primary_key)]
    pub id: Option<u64>,
    /// The key of the user who wrote it.
    #[rom(index(eq))]
    pub author_id: u64,
    /// Searchable by word.
    #[rom(index(text))]
    pub title: String,
    /// Searchable by word.
    #[rom(index(text))]
    pub body: String,
    /// When it was posted, in microseconds since the Unix epoch. Ordered (the
    /// feed is newest first) and unique, so that one value says where a page
    /// ends: it is the whole paging cursor.
    #[rom(unique, index(numeric))]
    pub posted_at: i64,
}

// ---------------------------------------------------------------- errors

/// Everything a handler can fail with. [`IntoResponse`] below is the one
/// place where each becomes an HTTP status.
#[derive(Debug)]
pub enum AppError {
    /// From rom: a unique value taken, a row not found, Redis unreachable...
    Rom(rom::Error),
    /// The thing the path names does not exist (`"user"`, `"route"`).
    NotFound(&'static str),
    /// The request is malformed: a cursor that is not one of ours.
    BadRequest(String),
    /// The request is well-formed but its values are not acceptable.
    Invalid(String),
    /// axum could not read the request (bad JSON, wrong content type, a path
    /// that is not a number): its status, and its explanation.
    Rejected(StatusCode, String),
}

impl From<rom::Error> for AppError {
    fn from(e: rom::Error) -> Self {
        AppError::Rom(e)
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        AppError::Rejected(r.status(), r.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        AppError::Rejected(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::Rejected(r.status(), r.body_text())
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// A stable code for programs: `conflict`, `not_found`, `bad_request`,
    /// `invalid`, `unavailable`, `internal`.
    pub error: &'static str,
    /// A sentence for people. Never the internals of a server error.
    pub message: String,
}

impl AppError {
    /// The status, the code and the message this error is answered with.
    pub fn parts(&self) -> (StatusCode, &'static str, String) {
        use rom::Error as E;
        match self {
            AppError::Rom(E::UniqueViolation { column, .. }) => (
                StatusCode::CONFLICT,
                "conflict",
                format!("this {column} is already taken"),
            ),
            AppError::Rom(E::NotFound { model, .. }) => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no such {}", model.to_lowercase()),
            ),
            AppError::Rom(E::Conflict { .. }) => (
                StatusCode::CONFLICT,
                "conflict",
                "changed by another request meanwhile; reload and try again".to_owned(),
            ),
            // a value no index can hold (too large a number...): the client's
            AppError::Rom(E::Validation { column, reason, .. }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("{column}: {reason}"),
            ),
            // Redis is away (down, restarting, too slow, failing over): worth
            // a retry later
            AppError::Rom(e) if e.is_unavailable() => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the service is unavailable; try again shortly".to_owned(),
            ),
            // a row that cannot be decoded, an error reply from Redis, and
            // whatever variant a later rom adds (`rom::Error` is non-exhaustive)
            AppError::Rom(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error".to_owned(),
            ),
            AppError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no such {what}"),
            ),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m.clone()),
            AppError::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid", m.clone()),
            AppError::Rejected(status, m) => {
                let code = if *status == StatusCode::UNPROCESSABLE_ENTITY {
                    "invalid"
                } else {
                    "bad_request"
                };
                (*status, code, m.clone())
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, error, message) = self.parts();
        if status.is_server_error() {
            // the details go to the log, not to the client
            eprintln!("{status}: {self:?}");
        }
        (status, Json(ErrorBody { error, message })).into_response()
    }
}

/// What handlers return.
pub type AppResult<T> = Result<T, AppError>;

// ---------------------------------------------------------------- state

/// What every handler shares: the connection, and the clock that stamps posts.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Reconnects by itself; cloning it is cheap (one connection underneath).
    pub conn: ConnectionManager,
    clock: Arc<Clock>,
}

impl AppState {
    /// The state of a service on this connection.
    pub fn new(conn: ConnectionManager) -> Self {
        AppState {
            conn,
            clock: Arc::new(Clock::default()),
        }
    }
}

/// Microseconds since the epoch, strictly increasing within the process: two
/// posts of one process never share a `posted_at`. Two processes may; the
/// unique index refuses the second, which then takes the next tick.
#[derive(Debug, Default)]
struct Clock {
    last: AtomicI64,
}

impl Clock {
    fn tick(&self) -> i64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }
}

// ---------------------------------------------------------------- the API

/// Every route of the service, on this state.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/users", post(sign_up))
        .route("/users/{id}", get(get_user))
        .route("/users/{id}/posts", post(create_post))
        .route("/posts", get(list_posts))
        .fallback(|| async { AppError::NotFound("route") })
        .with_state(state)
}

/// The body of `POST /users`.
#[derive(Debug, Deserialize)]
pub struct SignUp {
    /// The login; unique whatever its case.
    pub email: String,
    /// Shown beside the user's posts.
    pub name: String,
}

/// A user as the API shows it.
#[derive(Debug, Serialize)]
pub struct UserView {
    /// The user's key.
    pub id: u64,
    /// As typed at sign-up.
    pub email: String,
    /// The display name.
    pub name: String,
}

impl From<Record<User>> for UserView {
    fn from(r: Record<User>) -> Self {
        let id = *r.key();
        let u = r.into_inner();
        UserView {
            id,
            email: u.email,
            name: u.name,
        }
    }
}

/// `POST /users`: `201` and the user; `409` when the email is taken in any
/// case; `422` for an email without `@` or an empty name.
async fn sign_up(
    State(mut st): State<AppState>,
    body: Result<Json<SignUp>, JsonRejection>,
) -> AppResult<(StatusCode, Json<UserView>)> {
    let Json(SignUp { email, name }) = body?;
    let email = email.trim().to_owned();
    let name = name.trim().to_owned();
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {}
        _ => return Err(AppError::Invalid("email: not an email address".into())),
    }
    if name.is_empty() {
        return Err(AppError::Invalid("name: empty".into()));
    }
    // the unique index decides, atomically: no read-then-write race
    let user = User {
        id: None,
        email,
        name,
    }
    .insert_async(&mut st.conn)
    .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// `GET /users/{id}`: the user, or `404`.
async fn get_user(
    State(mut st): State<AppState>,
    id: Result<Path<u64>, PathRejection>,
) -> AppResult<Json<UserView>> {
    let Path(id) = id?;
    let user = User::get_async(&mut st.conn, id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    Ok(Json(user.into()))
}

/// The body of `POST /users/{id}/posts`.
#[derive(Debug, Deserialize)]
pub struct NewPost {
    /// Searchable by word.
    pub title: String,
    /// Searchable by word.
    pub body: String,
}

/// A post as the API shows it.
#[derive(Debug, Serialize)]
pub struct PostView {
    /// The post's key.
    pub id: u64,
    /// Its author's key.
    pub author_id: u64,
    /// The title.
    pub title: String,
    /// The text.
    pub body: String,
    /// Microseconds since the Unix epoch.
    pub posted_at: i64,
}

impl From<Record<Post>> for PostView {
    fn from(r: Record<Post>) -> Self {
        let id = *r.key();
        let p = r.into_inner();
        PostView {
            id,
            author_id: p.author_id,
            title: p.title,
            body: p.body,
            posted_at: p.posted_at,
        }
    }
}

/// `POST /users/{id}/posts`: `201` and the post; `404` when the user does not
/// exist; `422` for an empty title.
async fn create_post(
    State(mut st): State<AppState>,
    id: Result<Path<u64>, PathRejection>,
    body: Result<Json<NewPost>, JsonRejection>,
) -> AppResult<(StatusCode, Json<PostView>)> {
    let Path(author_id) = id?;
    let Json(NewPost { title, body }) = body?;
    if title.trim().is_empty() {
        return Err(AppError::Invalid("title: empty".into()));
    }
    if !User::exists_async(&mut st.conn, author_id).await? {
        return Err(AppError::NotFound("user"));
    }
    // Another process may have stamped a post with the same microsecond: the
    // unique index refuses ours, and we take the next tick.
    let mut tries = 0;
    loop {
        let post = Post {
            id: None,
            author_id,
            title: title.clone(),
            body: body.clone(),
            posted_at: st.clock.tick(),
        };
        match post.insert_async(&mut st.conn).await {
            Ok(post) => return Ok((StatusCode::CREATED, Json(post.into()))),
            Err(rom::Error::UniqueViolation { column, .. })
                if column == <posts::posted_at as rom::Column>::NAME && tries < 3 =>
            {
                tries += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The query string of `GET /posts`.
#[derive(Debug, Deserialize)]
pub struct ListPosts {
    /// Words that a post's title, or its body, must all have.
    pub q: Option<String>,
    /// Only this user's posts.
    pub author: Option<u64>,
    /// Posts per page: 1 to 100, 20 when absent.
    pub limit: Option<u32>,
    /// The `next` token of the previous page.
    pub cursor: Option<String>,
}

/// One page of posts.
#[derive(Debug, Serialize)]
pub struct PostPage {
    /// Newest first.
    pub posts: Vec<PostView>,
    /// The token for the following page; `null` on the last page.
    pub next: Option<String>,
}

/// The largest page `GET /posts` serves.
pub const MAX_PAGE: u32 = 100;

/// `GET /posts`: a page of posts, newest first. `400` for a malformed cursor,
/// `422` for a limit out of range or a `q` without words.
async fn list_posts(
    State(mut st): State<AppState>,
    params: Result<Query<ListPosts>, QueryRejection>,
) -> AppResult<Json<PostPage>> {
    let Query(p) = params?;
    let limit = p.limit.unwrap_or(20);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::Invalid(format!("limit: from 1 to {MAX_PAGE}")));
    }
    let mut query = posts::table.order_by(posts::posted_at.desc());
    if let Some(q) = p.q.as_deref() {
        if rom::text::words(q).is_empty() {
            return Err(AppError::Invalid("q: no words to search for".into()));
        }
        query = query.filter(posts::title.has_word(q).or(posts::body.has_word(q)));
    }
    if let Some(author) = p.author {
        query = query.filter(posts::author_id.eq(author));
    }
    if let Some(token) = p.cursor.as_deref() {
        // posted_at is unique: the rows after the cursor are exactly the older ones
        let before = decode_cursor(token)?;
        query = query.filter(posts::posted_at.lt(before));
    }
    // one more than a page: whether there is a next page, in the same round trip
    let mut rows = query
        .limit(u64::from(limit) + 1)
        .load_async(&mut st.conn)
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = match rows.last() {
        Some(last) if more => Some(encode_cursor(last.posted_at)),
        _ => None,
    };
    Ok(Json(PostPage {
        posts: rows.into_iter().map(PostView::from).collect(),
        next,
    }))
}

// ---------------------------------------------------------------- cursors

/// The version byte that starts every cursor, so that the format can change.
const CURSOR_V1: u8 = 1;

/// The token of a page that ends at the post stamped `posted_at`: a version
/// byte and the value, in hex. Opaque to clients: they only pass it back.
pub fn encode_cursor(posted_at: i64) -> String {
    let mut bytes = vec![CURSOR_V1];
    bytes.extend_from_slice(&posted_at.to_be_bytes());
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `posted_at` a token of [`encode_cursor`] holds; `400` for anything else.
pub fn decode_cursor(token: &str) -> AppResult<i64> {
    let bad = || AppError::BadRequest("cursor: not a cursor of this API".into());
    if token.len() != 18 || !token.is_ascii() {
        return Err(bad());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&token[i..i + 2], 16).map_err(|_| bad()))
        .collect::<AppResult<Vec<u8>>>()?;
    match bytes.split_first() {
        Some((&CURSOR_V1, value)) => {
            let value: [u8; 8] = value.try_into().map_err(|_| bad())?;
            Ok(i64::from_be_bytes(value))
        }
        _ => Err(bad()),
    }
}

// ---------------------------------------------------------------- main

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A throwaway server unless ROM_REDIS_URL names one.
    let (_server, url) = match std::env::var("ROM_REDIS_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            let server = rom::testing::RedisServer::start()?;
            let url = server.url();
            (Some(server), url)
        }
    };
    // timeouts and reconnection suited to a service: see "Connecting in production"
    let conn = rom::connect::manager(url.as_str()).await?;

    let port = std::env::var("PORT").unwrap_or_else(|_| "0".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router(AppState::new(conn))).await?;
    Ok(())
}
