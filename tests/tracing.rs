//! The `tracing` feature: one span per operation with OpenTelemetry-named
//! fields, the error kind of a failed write, the retries after a lost library,
//! and the WARN event of a slow operation. Spans are collected by a Layer of
//! this file's own.
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

type Fields = BTreeMap<String, String>;

/// A closed span, or an event with the fields of its parent span.
#[derive(Debug, Clone)]
struct Seen {
    name: String,
    fields: Fields,
    parent: Option<Fields>,
}

#[derive(Default, Clone)]
struct Collect {
    open: Arc<Mutex<BTreeMap<u64, Seen>>>,
    spans: Arc<Mutex<Vec<Seen>>>,
    events: Arc<Mutex<Vec<Seen>>>,
}

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.0.insert(f.name().to_owned(), format!("{v:?}"));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.insert(f.name().to_owned(), v.to_owned());
    }
}

impl<S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>> Layer<S>
    for Collect
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = Fields::new();
        attrs.record(&mut Visitor(&mut fields));
        let seen = Seen {
            name: attrs.metadata().name().to_owned(),
            fields,
            parent: None,
        };
        self.open.lock().unwrap().insert(id.into_u64(), seen);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(s) = self.open.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Visitor(&mut s.fields));
        }
    }
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        event.record(&mut Visitor(&mut fields));
        let parent = ctx
            .event_span(event)
            .and_then(|s| self.open.lock().unwrap().get(&s.id().into_u64()).cloned());
        self.events.lock().unwrap().push(Seen {
            name: event.metadata().level().to_string(),
            fields,
            parent: parent.map(|p| p.fields),
        });
    }
    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(s) = self.open.lock().unwrap().remove(&id.into_u64()) {
            self.spans.lock().unwrap().push(s);
        }
    }
}

impl Collect {
    /// Runs `f` with this collector as the thread's subscriber.
    fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        let sub = tracing_subscriber::registry().with(self.clone());
        tracing::subscriber::with_default(sub, f)
    }
    fn spans(&self) -> Vec<Seen> {
        self.spans.lock().unwrap().clone()
    }
    fn events(&self) -> Vec<Seen> {
        self.events.lock().unwrap().clone()
    }
}

/// The threshold is process-wide: the tests that set it take turns.
static THRESHOLD: Mutex<()> = Mutex::new(());

fn field<'a>(s: &'a Seen, name: &str) -> &'a str {
    s.fields.get(name).map_or("", String::as_str)
}

#[test]
fn insert_span_has_the_conventions_fields() {
    let (_s, mut conn) = server();
    let c = Collect::default();
    let u = user("ann@example.com", "Ann", 31, 1.5);
    c.run(|| u.insert(&mut conn)).unwrap();
    let spans = c.spans();
    let [s] = spans.as_slice() else {
        panic!("one span: {spans:#?}")
    };
    assert_eq!(s.name, "rom");
    assert_eq!(field(s, "db.system.name"), "redis");
    assert_eq!(field(s, "db.operation.name"), "save");
    assert_eq!(field(s, "db.collection.name"), "users");
    assert_eq!(field(s, "db.query.summary"), "insert users");
    assert_eq!(field(s, "otel.kind"), "client");
    assert_eq!(field(s, "rom.outcome"), "ok");
    // a fresh server: the library is loaded and the call sent again
    assert_eq!(field(s, "rom.retries"), "1");
    assert!(field(s, "rom.keys").parse::<u32>().unwrap() >= 2);
    assert!(field(s, "rom.request_bytes").parse::<u32>().unwrap() > 20);
    assert!(field(s, "rom.duration_us").parse::<u64>().is_ok());
    assert!(!s.fields.contains_key("error.type"));

    c.run(|| user("bob@example.com", "Bob", 40, 2.0).insert(&mut conn))
        .unwrap();
    assert_eq!(field(&c.spans()[1], "rom.retries"), "0");
}

#[test]
fn query_span_names_the_query_function() {
    let (_s, mut conn) = server();
    user("ann@example.com", "Ann", 31, 1.5)
        .insert(&mut conn)
        .unwrap();
    let c = Collect::default();
    let rows = c
        .run(|| {
            users::table
                .filter(users::age.between(30..40))
                .filter(users::name.eq("Ann"))
                .load(&mut conn)
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    let spans = c.spans();
    let [s] = spans.as_slice() else {
        panic!("one span: {spans:#?}")
    };
    assert_eq!(field(s, "db.operation.name"), "query");
    assert_eq!(field(s, "db.query.summary"), "query rows users");
    assert_eq!(field(s, "db.collection.name"), "users");
    assert_eq!(field(s, "rom.outcome"), "ok");

    // one index answers a count alone: a plain command
    c.run(|| users::table.count(&mut conn)).unwrap();
    let s = c.spans().pop().unwrap();
    assert_eq!(field(&s, "db.operation.name"), "ZCARD");
    assert_eq!(field(&s, "db.query.summary"), "query count users");
    // a get of one row is a plain HGETALL
    c.run(|| User::get(&mut conn, 1)).unwrap();
    let s = c.spans().pop().unwrap();
    assert_eq!(field(&s, "db.operation.name"), "HGETALL");
    assert_eq!(field(&s, "db.query.summary"), "get users");
    assert_eq!(field(&s, "rom.keys"), "1");
}

#[test]
fn failed_write_records_the_error_kind() {
    let (_s, mut conn) = server();
    user("ann@example.com", "Ann", 31, 1.5)
        .insert(&mut conn)
        .unwrap();
    let c = Collect::default();
    let again = c.run(|| user("ANN@example.com", "Ann", 32, 1.0).insert(&mut conn));
    assert!(matches!(again, Err(Error::UniqueViolation { .. })));
    let s = c.spans().pop().unwrap();
    assert_eq!(field(&s, "db.operation.name"), "save");
    assert_eq!(field(&s, "rom.outcome"), "error");
    assert_eq!(field(&s, "error.type"), "unique_violation");

    // a server refusal is recorded by its code
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("1")
        .exec(&mut conn)
        .unwrap();
    let oom = c.run(|| user("bob@example.com", "Bob", 40, 2.0).insert(&mut conn));
    assert!(oom.as_ref().is_err_and(Error::is_out_of_memory), "{oom:?}");
    let s = c.spans().pop().unwrap();
    assert_eq!(field(&s, "error.type"), "OOM");
}

#[test]
fn lost_library_counts_a_retry() {
    let (_s, mut conn) = server();
    user("ann@example.com", "Ann", 31, 1.5)
        .insert(&mut conn)
        .unwrap();
    redis::cmd("FUNCTION").arg("FLUSH").exec(&mut conn).unwrap();
    let c = Collect::default();
    c.run(|| users::table.filter(users::age.ge(18)).load(&mut conn))
        .unwrap();
    let s = c.spans().pop().unwrap();
    assert_eq!(field(&s, "rom.retries"), "1");
    assert_eq!(field(&s, "rom.outcome"), "ok");
}

#[test]
fn batch_is_one_span() {
    let (_s, mut conn) = server();
    let rows = vec![
        user("a@example.com", "A", 20, 1.0),
        user("b@example.com", "B", 21, 1.0),
        user("a@example.com", "A again", 22, 1.0),
    ];
    let c = Collect::default();
    let out = c.run(|| User::insert_all(&mut conn, rows)).unwrap();
    assert!(out[2].is_err());
    let spans = c.spans();
    let [s] = spans.as_slice() else {
        panic!("one span: {spans:#?}")
    };
    assert_eq!(field(s, "db.operation.name"), "save");
    assert_eq!(field(s, "db.operation.batch.size"), "3");
    assert_eq!(field(s, "db.query.summary"), "BATCH 3 insert users");
    assert_eq!(field(s, "rom.outcome"), "error");
    assert_eq!(field(s, "error.type"), "unique_violation");
    assert_eq!(field(s, "rom.errors"), "1");
}

#[test]
fn async_operations_have_their_span() {
    let (s, _conn) = server();
    let c = Collect::default();
    c.run(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut conn = s.multiplexed().await.unwrap();
            user("ann@example.com", "Ann", 31, 1.5)
                .insert_async(&mut conn)
                .await
                .unwrap();
            users::table
                .filter(users::age.ge(18))
                .load_async(&mut conn)
                .await
                .unwrap();
        })
    });
    let summaries: Vec<String> = c
        .spans()
        .iter()
        .map(|s| field(s, "db.query.summary").to_owned())
        .collect();
    assert_eq!(summaries, ["insert users", "query rows users"]);
}

#[test]
fn slow_operations_warn() {
    let _turn = THRESHOLD.lock().unwrap_or_else(|e| e.into_inner());
    let (_s, mut conn) = server();
    let c = Collect::default();
    rom::tracing_config::set_slow_threshold(Duration::ZERO);
    let r = c.run(|| user("ann@example.com", "Ann", 31, 1.5).insert(&mut conn));
    rom::tracing_config::set_slow_threshold(Duration::from_millis(100));
    r.unwrap();
    let events = c.events();
    let [e] = events.as_slice() else {
        panic!("one event: {events:#?}")
    };
    assert_eq!(e.name, "WARN");
    assert_eq!(field(e, "message"), "slow rom operation");
    assert_eq!(field(e, "rom.slow_threshold_us"), "0");
    assert!(field(e, "rom.duration_us").parse::<u64>().is_ok());
    let parent = e.parent.as_ref().expect("inside the operation's span");
    assert_eq!(parent.get("db.query.summary").unwrap(), "insert users");

    // under the threshold: no event
    rom::tracing_config::set_slow_threshold(Duration::MAX);
    let r = c.run(|| User::get(&mut conn, 1));
    rom::tracing_config::set_slow_threshold(Duration::from_millis(100));
    assert!(r.unwrap().is_some());
    assert_eq!(c.events().len(), 1);
}
