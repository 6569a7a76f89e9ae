//! `time` and `Decimal` columns (features `time`, `decimal`) through a real
//! redis-server: edge values round-trip, rows written through a `time` model
//! read through a chrono one, and numeric indexes answer as an in-memory
//! oracle does.
mod common;
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rust_decimal::Decimal;
use time::{Date, OffsetDateTime, Time, UtcOffset};

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = events)]
struct Event {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(numeric))]
    at: OffsetDateTime,
    #[rom(index(numeric))]
    day: Option<Date>,
    #[rom(index(numeric))]
    time: Option<Time>,
    #[rom(unique)]
    stamp: Option<OffsetDateTime>,
    raw_at: Option<OffsetDateTime>,
    raw_day: Option<Date>,
}

/// The same rows seen through chrono.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = chrono_events, namespace = "events")]
struct ChronoEvent {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(numeric))]
    at: chrono::DateTime<chrono::Utc>,
    #[rom(index(numeric))]
    day: Option<chrono::NaiveDate>,
    #[rom(index(numeric))]
    time: Option<chrono::NaiveTime>,
    #[rom(unique)]
    stamp: Option<chrono::DateTime<chrono::Utc>>,
    raw_at: Option<chrono::DateTime<chrono::Utc>>,
    raw_day: Option<chrono::NaiveDate>,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = prices)]
struct Price {
    #[rom(primary_key)]
    id: Option<u64>,
    #[rom(index(numeric, scale = 2))]
    amount: rust_decimal::Decimal,
    #[rom(unique)]
    code: Option<Decimal>,
    raw: Option<Decimal>,
    #[rom(index(numeric, scale = 0))]
    whole: Option<Decimal>,
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).expect("a decimal")
}

fn at(secs: i64, nanos: u32) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
        .expect("in range")
}

fn event(at: OffsetDateTime) -> Event {
    Event {
        id: None,
        at,
        day: None,
        time: None,
        stamp: None,
        raw_at: None,
        raw_day: None,
    }
}

fn keys(c: &mut redis::Connection) -> Vec<String> {
    redis::cmd("KEYS").arg("*").query(c).expect("keys")
}

#[test]
fn time_values_round_trip_their_edges() {
    let (_s, mut c) = server();
    let offset = UtcOffset::from_hms(5, 30, 0).expect("valid");
    let last = Date::MAX
        .with_hms_nano(23, 59, 59, 999_999_999)
        .expect("valid");
    let cases = [
        Event {
            day: Some(Date::from_calendar_date(1969, time::Month::December, 31).expect("valid")),
            time: Some(Time::MIDNIGHT),
            stamp: Some(at(0, 1)),
            raw_at: Some(Date::MIN.midnight().assume_utc()),
            raw_day: Some(Date::MIN),
            ..event(at(1_700_000_000, 123_456_000))
        },
        Event {
            day: Some(Date::from_calendar_date(2024, time::Month::February, 29).expect("valid")),
            time: Some(Time::MAX),
            stamp: Some(at(-1, 999_999_999)),
            raw_at: Some(last.assume_utc()),
            raw_day: Some(Date::MAX),
            // an offset is normalized to UTC: the same instant, read back at +00:00
            ..event(at(-1_000_000_000, 7).to_offset(offset))
        },
        // the ends of what a numeric index holds (±2^53 microseconds)
        event(at(9_007_199_254, 740_992_000)),
        event(at(-9_007_199_255, 259_008_000)),
        // a local time whose UTC date is past year 9999
        Event {
            raw_at: Some(last.assume_offset(UtcOffset::from_hms(-5, 0, 0).expect("valid"))),
            ..event(at(0, 0))
        },
    ];
    for e in cases {
        let saved = e.clone().insert(&mut c).expect("insert");
        let id = saved.id.expect("id");
        let back = Event::get(&mut c, id).expect("get").expect("row");
        assert_eq!(back.at.offset(), UtcOffset::UTC);
        assert_eq!(
            back.into_inner(),
            Event {
                id: Some(id),
                ..e.clone()
            }
        );
        let found = events::table
            .filter(events::at.eq(e.at))
            .ids(&mut c)
            .expect("query");
        assert_eq!(found, vec![id]);
    }
    assert_clean::<Event>(&mut c);
}

#[test]
fn rows_written_through_time_read_through_chrono_and_back() {
    let (_s, mut c) = server();
    let e = Event {
        day: Some(Date::from_calendar_date(2000, time::Month::March, 1).expect("valid")),
        time: Some(Time::from_hms_nano(12, 0, 0, 500_000_000).expect("valid")),
        stamp: Some(at(1_600_000_000, 250)),
        raw_day: Some(Date::from_calendar_date(-44, time::Month::March, 15).expect("valid")),
        ..event(at(1_234_567_890, 123_000))
    }
    .insert(&mut c)
    .expect("insert");
    let ch = ChronoEvent::get(&mut c, e.id.expect("id"))
        .expect("get")
        .expect("row");
    assert_eq!(
        ch.at.timestamp_nanos_opt().map(i128::from),
        Some(e.at.unix_timestamp_nanos())
    );
    assert_eq!(ch.day.map(|d| d.to_string()), Some("2000-03-01".to_owned()));
    assert_eq!(
        ch.raw_day.map(|d| d.to_string()),
        Some("-0044-03-15".to_owned())
    );
    // chrono's queries find the rows time's saves indexed, and verify agrees
    let stamp = chrono::DateTime::from_timestamp(1_600_000_000, 250).expect("valid");
    assert_eq!(
        chrono_events::table
            .filter(chrono_events::stamp.eq(stamp))
            .filter(chrono_events::at.ge(ch.at))
            .ids(&mut c)
            .expect("query"),
        vec![e.id.expect("id")]
    );
    assert_clean::<ChronoEvent>(&mut c);
    // a chrono save is read back by the time model
    ChronoEvent {
        id: None,
        stamp: None,
        ..ch.into_inner()
    }
    .insert(&mut c)
    .expect("insert");
    let all = events::table.ids(&mut c).expect("ids");
    assert_eq!(all.len(), 2);
    assert_clean::<Event>(&mut c);
    // a chrono leap second has no `time` value: a decode error, not a moved instant
    let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
        .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_000_000_000))
        .expect("leap second")
        .and_utc();
    let leaped = ChronoEvent {
        id: None,
        stamp: None,
        raw_at: Some(leap),
        ..ch_template()
    }
    .insert(&mut c)
    .expect("insert");
    let err = Event::get(&mut c, leaped.id.expect("id")).expect_err("no leap seconds");
    assert!(matches!(&err, Error::Decode { .. }), "{err}");
    assert!(err.to_string().contains("leap second"), "{err}");
}

fn ch_template() -> ChronoEvent {
    ChronoEvent {
        id: None,
        at: chrono::DateTime::from_timestamp(0, 0).expect("valid"),
        day: None,
        time: None,
        stamp: None,
        raw_at: None,
        raw_day: None,
    }
}

#[test]
fn date_times_an_index_cannot_hold_are_refused_before_any_write() {
    let (_s, mut c) = server();
    for bad in [
        at(9_007_199_254, 740_993_000),
        at(-9_007_199_255, 259_007_999),
    ] {
        let err = event(bad).insert(&mut c).expect_err("refused");
        assert!(
            matches!(&err, Error::Validation { column, .. } if column == "at"),
            "{err}"
        );
    }
    assert!(keys(&mut c).is_empty());
    // as a query bound, such a value is an open end
    event(at(5, 0)).insert(&mut c).expect("insert");
    let far = Date::MAX.midnight().assume_utc();
    assert_eq!(
        events::table
            .filter(events::at.lt(far))
            .count(&mut c)
            .expect("count"),
        1
    );
    assert_eq!(
        events::table
            .filter(events::at.eq(far))
            .count(&mut c)
            .expect("count"),
        0
    );
}

#[test]
fn decimals_round_trip_exactly() {
    let (_s, mut c) = server();
    let max_index = dec("90071992547409.92"); // 2^53 hundredths
    for (amount, raw) in [
        (dec("0.00"), Decimal::MAX),
        (dec("-0.01"), Decimal::MIN),
        (max_index, dec("0.0000000000000000000000000001")),
        (-max_index, dec("-7922816251426433759354395.0335")),
        (dec("12.3"), dec("1.5000000000000000000000000000")),
    ] {
        let p = Price {
            id: None,
            amount,
            code: None,
            raw: Some(raw),
            whole: Some(dec("-9007199254740992")),
        };
        let saved = p.clone().insert(&mut c).expect("insert");
        let back = Price::get(&mut c, saved.id.expect("id"))
            .expect("get")
            .expect("row");
        assert_eq!(back.clone().into_inner(), Price { id: saved.id, ..p });
        // exactly: the scale is kept too
        assert_eq!(
            back.raw.map(|r| (r.mantissa(), r.scale())),
            Some((raw.mantissa(), raw.scale()))
        );
        assert_eq!(back.amount.scale(), amount.scale());
        let found = prices::table
            .filter(prices::amount.eq(amount))
            .ids(&mut c)
            .expect("query");
        assert_eq!(found, vec![saved.id.expect("id")]);
    }
    // negative zero is stored as zero, an equal decimal
    let z = Price {
        id: None,
        amount: dec("-0.00"),
        code: None,
        raw: Some(dec("-0")),
        whole: None,
    }
    .insert(&mut c)
    .expect("insert");
    let back = Price::get(&mut c, z.id.expect("id"))
        .expect("get")
        .expect("row");
    assert!(!back.raw.expect("raw").is_sign_negative());
    assert_eq!(back.amount, Decimal::ZERO);
    assert_eq!(
        prices::table
            .filter(prices::amount.eq(Decimal::ZERO))
            .count(&mut c)
            .expect("count"),
        2
    );
    assert_clean::<Price>(&mut c);
}

#[test]
fn equal_decimals_are_one_unique_key() {
    let (_s, mut c) = server();
    let p = |code: &str| Price {
        id: None,
        amount: Decimal::ONE,
        code: Some(dec(code)),
        raw: None,
        whole: None,
    };
    p("1.50").insert(&mut c).expect("insert");
    let err = p("1.5").insert(&mut c).expect_err("taken");
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err}");
    let err = p("1.500").insert(&mut c).expect_err("taken");
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err}");
    let found = prices::table
        .filter(prices::code.eq(dec("1.5000")))
        .count(&mut c)
        .expect("count");
    assert_eq!(found, 1);
}

#[test]
fn decimals_the_scale_cannot_hold_are_refused_before_any_write() {
    let (_s, mut c) = server();
    for (amount, whole) in [
        (dec("0.001"), None),
        (dec("12.345"), None),
        (dec("90071992547409.93"), None),
        (dec("-90071992547409.93"), None),
        (Decimal::MAX, None),
        (Decimal::ONE, Some(dec("0.5"))),
        (Decimal::ONE, Some(dec("9007199254740993"))),
    ] {
        let err = Price {
            id: None,
            amount,
            code: None,
            raw: None,
            whole,
        }
        .insert(&mut c)
        .expect_err("refused");
        assert!(matches!(&err, Error::Validation { .. }), "{err}");
        assert!(keys(&mut c).is_empty(), "nothing written for {amount}");
    }
    // more places that are zeros are the same value: accepted
    Price {
        id: None,
        amount: dec("12.3400"),
        code: None,
        raw: None,
        whole: Some(dec("7.000")),
    }
    .insert(&mut c)
    .expect("insert");
}

/// A query against its answer, computed in memory.
#[derive(Debug, Clone)]
enum Q<V> {
    Eq(V),
    Gt(V),
    Ge(V),
    Lt(V),
    Le(V),
    Between(V, V),
}

impl<V: PartialOrd + Copy> Q<V> {
    fn holds(&self, v: V) -> bool {
        match *self {
            Q::Eq(b) => v == b,
            Q::Gt(b) => v > b,
            Q::Ge(b) => v >= b,
            Q::Lt(b) => v < b,
            Q::Le(b) => v <= b,
            Q::Between(a, b) => a <= v && v < b,
        }
    }
}

fn q<V: Clone + std::fmt::Debug + 'static>(
    v: impl Strategy<Value = V> + Clone,
) -> impl Strategy<Value = Q<V>> {
    prop_oneof![
        v.clone().prop_map(Q::Eq),
        v.clone().prop_map(Q::Gt),
        v.clone().prop_map(Q::Ge),
        v.clone().prop_map(Q::Lt),
        v.clone().prop_map(Q::Le),
        (v.clone(), v).prop_map(|(a, b)| Q::Between(a, b)),
    ]
}

/// Decimals near the edges of a scale-2 index and anywhere between, with up
/// to 2 places (stored) or 4 (bounds).
fn decimal(places: u32) -> impl Strategy<Value = Decimal> + Clone {
    let max: i64 = 1 << 53;
    let scaled = prop_oneof![
        -1000i64..1000,
        (max - 50)..=max,
        -max..(-max + 50),
        -max..=max,
    ];
    (scaled, 0..=places).prop_map(move |(n, extra)| {
        // n hundredths, with `extra` more places (non-zero digits beyond 2 only in bounds)
        let d = Decimal::new(n, 2);
        if extra <= 2 {
            d
        } else {
            d + Decimal::new(i64::from(extra) * 7 - 20, extra + 2)
        }
    })
}

fn check_ids(got: Vec<u64>, want: Vec<u64>, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(got, want, "{}", what);
    Ok(())
}

#[test]
fn decimal_ranges_and_order_match_the_oracle() {
    let (_s, c) = server();
    let c = std::cell::RefCell::new(c);
    let mut runner = TestRunner::new(Config {
        cases: 60,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop::collection::vec(decimal(2), 1..30),
        prop::collection::vec(q(decimal(4)), 1..8),
    );
    runner
        .run(&strategy, |(values, queries)| {
            let mut c = c.borrow_mut();
            let c = &mut *c;
            let _: () = redis::cmd("FLUSHALL").query(c).expect("flush");
            let rows: Vec<(u64, Decimal)> = values
                .iter()
                .map(|&amount| {
                    let p = Price {
                        id: None,
                        amount,
                        code: None,
                        raw: None,
                        whole: None,
                    };
                    (p.insert(c).expect("insert").id.expect("id"), amount)
                })
                .collect();
            for query in &queries {
                let f = match query.clone() {
                    Q::Eq(b) => prices::amount.eq(b),
                    Q::Gt(b) => prices::amount.gt(b),
                    Q::Ge(b) => prices::amount.ge(b),
                    Q::Lt(b) => prices::amount.lt(b),
                    Q::Le(b) => prices::amount.le(b),
                    Q::Between(a, b) => prices::amount.between(a..b),
                };
                let mut want: Vec<(Decimal, u64)> = rows
                    .iter()
                    .filter(|r| query.holds(r.1))
                    .map(|r| (r.1, r.0))
                    .collect();
                want.sort();
                let got = prices::table
                    .filter(f)
                    .order_by(prices::amount.asc())
                    .ids(c)
                    .expect("query");
                check_ids(
                    got,
                    want.iter().map(|w| w.1).collect(),
                    &format!("{query:?}"),
                )?;
            }
            let mut want: Vec<(Decimal, u64)> = rows.iter().map(|r| (r.1, r.0)).collect();
            want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let got = prices::table
                .order_by(prices::amount.desc())
                .ids(c)
                .expect("query");
            check_ids(got, want.iter().map(|w| w.1).collect(), "desc")
        })
        .expect("matches the oracle");
}

/// Instants within what an index holds (±285 years), at every resolution.
fn instant() -> impl Strategy<Value = OffsetDateTime> + Clone {
    let max_us: i64 = 1 << 53;
    let us = prop_oneof![
        -1_000_000i64..1_000_000,
        (max_us - 1000)..=max_us,
        -max_us..(-max_us + 1000),
        -max_us..=max_us
    ];
    (us, 0u32..1000, -86_399i32..86_400).prop_map(|(us, ns, off)| {
        let ns = if us == 1 << 53 { 0 } else { ns };
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000 + i128::from(ns))
            .expect("in range")
            .to_offset(UtcOffset::from_whole_seconds(off).expect("valid"))
    })
}

#[test]
fn date_time_ranges_and_order_match_the_oracle() {
    let (_s, c) = server();
    let c = std::cell::RefCell::new(c);
    let mut runner = TestRunner::new(Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop::collection::vec(instant(), 1..30),
        prop::collection::vec(q(instant()), 1..8),
    );
    // the index compares microseconds, as chrono's does: the oracle too
    let us = |t: OffsetDateTime| t.unix_timestamp_nanos().div_euclid(1000);
    runner
        .run(&strategy, |(values, queries)| {
            let mut c = c.borrow_mut();
            let c = &mut *c;
            let _: () = redis::cmd("FLUSHALL").query(c).expect("flush");
            let rows: Vec<(u64, i128)> = values
                .iter()
                .map(|&t| (event(t).insert(c).expect("insert").id.expect("id"), us(t)))
                .collect();
            for query in &queries {
                let (f, oracle) = match query.clone() {
                    Q::Eq(b) => (events::at.eq(b), Q::Eq(us(b))),
                    Q::Gt(b) => (events::at.gt(b), Q::Gt(us(b))),
                    Q::Ge(b) => (events::at.ge(b), Q::Ge(us(b))),
                    Q::Lt(b) => (events::at.lt(b), Q::Lt(us(b))),
                    Q::Le(b) => (events::at.le(b), Q::Le(us(b))),
                    Q::Between(a, b) => (events::at.between(a..b), Q::Between(us(a), us(b))),
                };
                let mut want: Vec<(i128, u64)> = rows
                    .iter()
                    .filter(|r| oracle.holds(r.1))
                    .map(|r| (r.1, r.0))
                    .collect();
                want.sort();
                let got = events::table
                    .filter(f)
                    .order_by(events::at.asc())
                    .ids(c)
                    .expect("query");
                check_ids(
                    got,
                    want.iter().map(|w| w.1).collect(),
                    &format!("{query:?}"),
                )?;
            }
            Ok(())
        })
        .expect("matches the oracle");
}
