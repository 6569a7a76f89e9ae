//! `examples/web_service.rs` over real HTTP: the example's router served on a
//! loopback port, a throwaway redis-server behind it, and requests written
//! byte by byte on a TCP socket (HTTP/1.1, one request per connection), so
//! that what is checked is what a client receives: status line, content type
//! and JSON body.

#![allow(clippy::unwrap_used)]

/// The example, compiled as a module of this test (its `main` unused).
#[path = "../examples/web_service.rs"]
#[allow(dead_code)]
pub mod web_service;

use std::io::{Read, Write};
use std::net::SocketAddr;

use rom::testing::RedisServer;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Starts the service on a free port against `server`; returns its address.
async fn serve(server: &RedisServer) -> SocketAddr {
    let conn = rom::connect::manager(server.url()).await.unwrap();
    let app = web_service::router(web_service::AppState::new(conn));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Sends one request; returns the status and the JSON body.
async fn call(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    // a plain blocking socket, on a thread of its own while the service runs
    let reply = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).unwrap();
        String::from_utf8(reply).unwrap()
    })
    .await
    .unwrap();

    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status_line = lines.next().unwrap();
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a status line: {status_line}"));
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let header = |name: &str| headers.iter().find(|h| h.0 == name).map(|h| h.1.as_str());
    assert_eq!(header("content-type"), Some("application/json"), "{reply}");
    assert_eq!(
        header("content-length").map(|n| n.parse::<usize>().unwrap()),
        Some(body.len()),
        "{reply}"
    );
    (status, serde_json::from_str(body).unwrap())
}

fn error_code(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {body}"))
}

#[tokio::test]
async fn sign_up_and_get_users() {
    let server = RedisServer::start().unwrap();
    let addr = serve(&server).await;

    let (status, ann) = call(
        addr,
        "POST",
        "/users",
        Some(json!({"email": "Ann@Example.com", "name": "Ann"})),
    )
    .await;
    assert_eq!(status, 201, "{ann}");
    assert_eq!(
        ann,
        json!({"id": 1, "email": "Ann@Example.com", "name": "Ann"})
    );

    // the same email in another case: a conflict, and no row
    let (status, err) = call(
        addr,
        "POST",
        "/users",
        Some(json!({"email": "ANN@example.COM", "name": "Impostor"})),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        err,
        json!({"error": "conflict", "message": "this email is already taken"})
    );

    let (status, got) = call(addr, "GET", "/users/1", None).await;
    assert_eq!((status, got), (200, ann));
    let (status, err) = call(addr, "GET", "/users/2", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        err,
        json!({"error": "not_found", "message": "no such user"})
    );

    // bad input, each with a JSON error body
    let (status, err) = call(addr, "GET", "/users/abc", None).await;
    assert_eq!((status, error_code(&err)), (400, "bad_request"));
    let (status, err) = call(
        addr,
        "POST",
        "/users",
        Some(json!({"email": "no-at-sign", "name": "Bob"})),
    )
    .await;
    assert_eq!((status, error_code(&err)), (422, "invalid"), "{err}");
    let (status, err) = call(
        addr,
        "POST",
        "/users",
        Some(json!({"email": "bob@example.com"})),
    )
    .await;
    assert_eq!((status, error_code(&err)), (422, "invalid"), "{err}"); // no name
    let (status, err) = call(addr, "POST", "/users", None).await;
    assert_eq!((status, error_code(&err)), (415, "bad_request"), "{err}"); // no JSON at all
    let (status, err) = call(addr, "GET", "/nowhere", None).await;
    assert_eq!((status, error_code(&err)), (404, "not_found"));

    // the refused sign-ups used no key
    let (status, bob) = call(
        addr,
        "POST",
        "/users",
        Some(json!({"email": "bob@example.com", "name": "Bob"})),
    )
    .await;
    assert_eq!((status, &bob["id"]), (201, &json!(2)));
}

#[tokio::test]
async fn posts_search_and_pages() {
    let server = RedisServer::start().unwrap();
    let addr = serve(&server).await;
    for (email, name) in [("ann@example.com", "Ann"), ("bob@example.com", "Bob")] {
        let (status, _) = call(
            addr,
            "POST",
            "/users",
            Some(json!({"email": email, "name": name})),
        )
        .await;
        assert_eq!(status, 201);
    }

    // 25 posts, alternately by Ann (1) and Bob (2); every third mentions Redis
    let mut ids = Vec::new();
    for i in 0..25u64 {
        let author = 1 + i % 2;
        let body = if i % 3 == 0 {
            format!("Note {i} about Redis sorted sets")
        } else {
            format!("Note {i} about nothing much")
        };
        let (status, post) = call(
            addr,
            "POST",
            &format!("/users/{author}/posts"),
            Some(json!({"title": format!("Post {i}"), "body": body})),
        )
        .await;
        assert_eq!(status, 201, "{post}");
        assert_eq!(post["author_id"], json!(author));
        ids.push(post["id"].as_u64().unwrap());
    }
    let newest_first: Vec<u64> = ids.iter().rev().copied().collect();

    // every post, 10 a page, by following the tokens
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut path = "/posts?limit=10".to_owned();
    loop {
        let (status, page) = call(addr, "GET", &path, None).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let posts = page["posts"].as_array().unwrap();
        seen.extend(posts.iter().map(|p| p["id"].as_u64().unwrap()));
        match page["next"].as_str() {
            Some(token) => {
                assert_eq!(posts.len(), 10);
                path = format!("/posts?limit=10&cursor={token}");
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, newest_first);

    // a post written while paging is not seen by the older pages
    let (status, first) = call(addr, "GET", "/posts?limit=5", None).await;
    assert_eq!(status, 200);
    let token = first["next"].as_str().unwrap().to_owned();
    let (status, _) = call(
        addr,
        "POST",
        "/users/1/posts",
        Some(json!({"title": "Late", "body": "written meanwhile"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, second) = call(addr, "GET", &format!("/posts?limit=5&cursor={token}"), None).await;
    assert_eq!(status, 200);
    let second: Vec<u64> = second["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(second, newest_first[5..10]);

    // full text over title and body, in any case, with an author filter and pages
    let redis_posts: Vec<u64> = newest_first
        .iter()
        .copied()
        .filter(|id| (id - 1) % 3 == 0)
        .collect();
    let (status, page) = call(addr, "GET", "/posts?q=REDIS&limit=100", None).await;
    assert_eq!(status, 200);
    let found: Vec<u64> = page["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(found, redis_posts);
    assert_eq!(page["next"], Value::Null);

    let (status, page) = call(addr, "GET", "/posts?q=redis&author=2&limit=2", None).await;
    assert_eq!(status, 200);
    let by_bob: Vec<u64> = redis_posts
        .iter()
        .copied()
        .filter(|id| id % 2 == 0)
        .collect();
    let firsts: Vec<u64> = page["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(firsts, by_bob[..2]);
    let token = page["next"].as_str().unwrap();
    let (status, page) = call(
        addr,
        "GET",
        &format!("/posts?q=redis&author=2&limit=2&cursor={token}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let rest: Vec<u64> = page["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(rest, by_bob[2..4.min(by_bob.len())]);

    let (status, page) = call(addr, "GET", "/posts?q=Post+7", None).await; // both words, in the title
    assert_eq!(status, 200);
    assert_eq!(page["posts"].as_array().unwrap().len(), 1);
    assert_eq!(page["posts"][0]["title"], json!("Post 7"));

    // bad input
    for bad in [
        "zz",
        "0100",
        "02000000000000000a",
        "01000000000000000g",
        "01%C3%A9",
    ] {
        let (status, err) = call(addr, "GET", &format!("/posts?cursor={bad}"), None).await;
        assert_eq!(
            (status, error_code(&err)),
            (400, "bad_request"),
            "cursor {bad}: {err}"
        );
    }
    for bad in ["limit=0", "limit=101", "q=%21%21"] {
        let (status, err) = call(addr, "GET", &format!("/posts?{bad}"), None).await;
        assert_eq!((status, error_code(&err)), (422, "invalid"), "{bad}: {err}");
    }
    let (status, err) = call(addr, "GET", "/posts?limit=ten", None).await;
    assert_eq!((status, error_code(&err)), (400, "bad_request"), "{err}");
    let (status, err) = call(
        addr,
        "POST",
        "/users/9/posts",
        Some(json!({"title": "Ghost", "body": "no such author"})),
    )
    .await;
    assert_eq!((status, error_code(&err)), (404, "not_found"));
}

#[tokio::test]
async fn redis_down_is_503_with_a_generic_message() {
    let mut server = RedisServer::start().unwrap();
    let addr = serve(&server).await;
    let (status, _) = call(
        addr,
        "POST",
        "/users",
        Some(json!({"email": "a@b.c", "name": "A"})),
    )
    .await;
    assert_eq!(status, 201);

    server.stop().unwrap();
    let started = std::time::Instant::now();
    let (status, err) = call(addr, "GET", "/users/1", None).await;
    assert_eq!(status, 503, "{err}");
    assert_eq!(
        err,
        json!({"error": "unavailable", "message": "the service is unavailable; try again shortly"})
    );
    // rom::connect's manager gives up after its few retries, not redis-rs' ten seconds
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn cursors_round_trip() {
    use web_service::{decode_cursor, encode_cursor};
    for v in [0, 1, 1_780_000_000_000_000, i64::MAX, -5] {
        let token = encode_cursor(v);
        assert_eq!(token.len(), 18);
        assert_eq!(decode_cursor(&token).unwrap(), v);
    }
    assert!(decode_cursor("").is_err());
    assert!(decode_cursor("éé0000000000000000").is_err());
}
