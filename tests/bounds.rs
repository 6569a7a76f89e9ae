//! Query bounds: every value of a column's type is a valid bound (issue 17, §2).
//!
//! For each numeric-indexed type, rows hold the extreme values an index can
//! store (and nulls); every comparison with every extreme bound (the type's
//! MIN and MAX, ±2^53±1, ±infinity, NaN) is run on the server and compared with
//! a plain in-memory filter of the same rows.
#![allow(missing_docs)]
mod common;
use chrono::{DateTime, NaiveDate, Utc};
use common::*;
use rom::Error;
use rom::query::{ColumnMethods, Filter, Query};
use std::fmt::Debug;
use std::ops::Bound;

const E: i64 = 1 << 53;

macro_rules! model {
    ($name:ident, $table:ident, $t:ty $(, $extra:ident)?) => {
        #[derive(Model, Clone, Debug, PartialEq)]
        #[rom(table = $table)]
        pub struct $name {
            #[rom(primary_key)]
            pub id: Option<u64>,
            #[rom(index(numeric $(, $extra)?))]
            pub num: Option<$t>,
            // a required column, so that a row with a null `num` is not all-null
            pub note: String,
        }
    };
}
model!(I32Row, i32s, i32);
model!(I64Row, i64s, i64);
model!(U32Row, u32s, u32);
model!(U64Row, u64s, u64, checked_u53);
model!(F64Row, f64s, f64);
model!(AtRow, ats, DateTime<Utc>);
model!(DayRow, days, NaiveDate);

/// A condition under test: its text, the filter, and what the oracle expects
/// (`None`: a Validation error).
type Case<M> = (String, Filter<M>, Option<Vec<u64>>);

fn is_nan<T: PartialOrd>(v: &T) -> bool {
    v.partial_cmp(v).is_none()
}

fn matching<T>(rows: &[(u64, Option<T>)], pred: impl Fn(&T) -> bool) -> Vec<u64> {
    rows.iter()
        .filter(|(_, v)| v.as_ref().is_some_and(&pred))
        .map(|(k, _)| *k)
        .collect()
}

fn complement(rows: &[(u64, Option<impl Sized>)], of: &[u64]) -> Vec<u64> {
    rows.iter()
        .map(|(k, _)| *k)
        .filter(|k| !of.contains(k))
        .collect()
}

fn within<T: PartialOrd>(v: &T, lo: &Bound<T>, hi: &Bound<T>) -> bool {
    (match lo {
        Bound::Included(b) => v >= b,
        Bound::Excluded(b) => v > b,
        Bound::Unbounded => true,
    }) && (match hi {
        Bound::Included(b) => v <= b,
        Bound::Excluded(b) => v < b,
        Bound::Unbounded => true,
    })
}

fn bound_nan<T: PartialOrd>(b: &Bound<T>) -> bool {
    matches!(b, Bound::Included(v) | Bound::Excluded(v) if is_nan(v))
}

/// Every case for column `C` over `rows`, with these bounds.
fn cases<C, T>(col: C, rows: &[(u64, Option<T>)], bounds: &[T]) -> Vec<Case<C::Model>>
where
    C: ColumnMethods<Value = T> + rom::index::EqFilterable + rom::index::RangeFilterable,
    T: rom::value::Value + PartialOrd + Copy + Debug,
{
    let mut out: Vec<Case<C::Model>> = Vec::new();
    let mut push = |name: String, f: Filter<C::Model>, want: Option<Vec<u64>>| {
        if let Some(w) = &want {
            out.push((
                format!("NOT {name}"),
                f.clone().not(),
                Some(complement(rows, w)),
            ));
        } else {
            out.push((format!("NOT {name}"), f.clone().not(), None));
        }
        out.push((name, f, want));
    };
    for &b in bounds {
        let nan = is_nan(&b);
        let ok = |p: &dyn Fn(&T) -> bool| (!nan).then(|| matching(rows, p));
        push(format!("eq({b:?})"), col.eq(b), ok(&|v| *v == b));
        push(format!("gt({b:?})"), col.gt(b), ok(&|v| *v > b));
        push(format!("ge({b:?})"), col.ge(b), ok(&|v| *v >= b));
        push(format!("lt({b:?})"), col.lt(b), ok(&|v| *v < b));
        push(format!("le({b:?})"), col.le(b), ok(&|v| *v <= b));
        push(
            format!("eq_any([{b:?}])"),
            col.eq_any([b]),
            ok(&|v| *v == b),
        );
        for &c in bounds {
            let nan = nan || is_nan(&c);
            push(
                format!("eq_any([{b:?}, {c:?}])"),
                col.eq_any([b, c]),
                (!nan).then(|| matching(rows, |v| *v == b || *v == c)),
            );
        }
    }
    let mut ends = vec![Bound::Unbounded];
    for &b in bounds {
        ends.extend([Bound::Included(b), Bound::Excluded(b)]);
    }
    for lo in &ends {
        for hi in &ends {
            let want =
                (!bound_nan(lo) && !bound_nan(hi)).then(|| matching(rows, |v| within(v, lo, hi)));
            push(
                format!("between({lo:?}, {hi:?})"),
                col.between((*lo, *hi)),
                want,
            );
        }
    }
    out
}

/// Runs every case on the server: ids, count, and the first rows in ascending
/// order (a walk of the index when the limit is small).
fn run<C, T>(conn: &mut redis::Connection, col: C, rows: &[(u64, Option<T>)], bounds: &[T])
where
    C: ColumnMethods<Value = T>
        + rom::index::EqFilterable
        + rom::index::RangeFilterable
        + rom::index::Sortable,
    C::Model: rom::Model<Key = u64>,
    T: rom::value::Value + PartialOrd + Copy + Debug,
{
    let all = cases(col, rows, bounds);
    assert!(all.len() > 100, "{} cases", all.len());
    for (name, f, want) in all {
        let q = Query::<C::Model>::default().filter(f);
        let got = q.clone().ids(conn);
        match want {
            None => {
                assert!(
                    matches!(got, Err(Error::Validation { .. })),
                    "{name}: expected a Validation error, got {got:?}"
                );
                continue;
            }
            Some(want) => {
                let mut got = got.unwrap_or_else(|e| panic!("{name}: {e}"));
                got.sort_unstable();
                assert_eq!(got, want, "{name}: ids");
                let n = q
                    .clone()
                    .count(conn)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(n, want.len() as u64, "{name}: count");
                // ascending, ties by key, nulls last
                let mut ordered = want.clone();
                ordered.sort_by(|a, b| {
                    let va = rows.iter().find(|r| r.0 == *a).and_then(|r| r.1);
                    let vb = rows.iter().find(|r| r.0 == *b).and_then(|r| r.1);
                    match (va, vb) {
                        (Some(x), Some(y)) => {
                            x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal)
                        }
                        (Some(_), None) => std::cmp::Ordering::Less,
                        (None, Some(_)) => std::cmp::Ordering::Greater,
                        (None, None) => std::cmp::Ordering::Equal,
                    }
                    .then(a.cmp(b))
                });
                ordered.truncate(3);
                let page = q
                    .order_by(col.asc())
                    .limit(3)
                    .ids(conn)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(page, ordered, "{name}: first rows in order");
            }
        }
    }
}

/// Inserts one row per value (nulls included) and returns (key, value).
fn insert<M: rom::Model<Key = u64> + rom::Crud, T: Copy>(
    conn: &mut redis::Connection,
    values: &[Option<T>],
    make: impl Fn(Option<T>) -> M,
) -> Vec<(u64, Option<T>)> {
    values
        .iter()
        .map(|&v| {
            let r = make(v).insert(conn).expect("insert");
            (*r.key(), v)
        })
        .collect()
}

fn at(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).expect("a representable instant")
}

fn note() -> String {
    "n".into()
}

#[test]
fn i32_bounds() {
    let (_s, mut c) = server();
    let stored = [i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX - 1, i32::MAX];
    let values: Vec<Option<i32>> = stored.iter().copied().map(Some).chain([None]).collect();
    let rows = insert(&mut c, &values, |num| I32Row {
        id: None,
        num,
        note: note(),
    });
    let bounds = [i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX - 1, i32::MAX];
    run(&mut c, i32s::num, &rows, &bounds);
    assert_clean::<I32Row>(&mut c);
}

#[test]
fn i64_bounds() {
    let (_s, mut c) = server();
    let stored = [-E, -E + 1, -1, 0, 1, E - 1, E];
    let values: Vec<Option<i64>> = stored.iter().copied().map(Some).chain([None]).collect();
    let rows = insert(&mut c, &values, |num| I64Row {
        id: None,
        num,
        note: note(),
    });
    let bounds = [
        i64::MIN,
        i64::MIN + 1,
        -E - 2,
        -E - 1,
        -E,
        -E + 1,
        -1,
        0,
        1,
        E - 1,
        E,
        E + 1,
        E + 2,
        i64::MAX - 1,
        i64::MAX,
    ];
    run(&mut c, i64s::num, &rows, &bounds);
    assert_clean::<I64Row>(&mut c);
}

#[test]
fn u32_bounds() {
    let (_s, mut c) = server();
    let stored = [0, 1, u32::MAX - 1, u32::MAX];
    let values: Vec<Option<u32>> = stored.iter().copied().map(Some).chain([None]).collect();
    let rows = insert(&mut c, &values, |num| U32Row {
        id: None,
        num,
        note: note(),
    });
    run(&mut c, u32s::num, &rows, &[0, 1, 2, u32::MAX - 1, u32::MAX]);
    assert_clean::<U32Row>(&mut c);
}

#[test]
fn u64_bounds() {
    let (_s, mut c) = server();
    let e = E as u64;
    let stored = [0, 1, e - 1, e];
    let values: Vec<Option<u64>> = stored.iter().copied().map(Some).chain([None]).collect();
    let rows = insert(&mut c, &values, |num| U64Row {
        id: None,
        num,
        note: note(),
    });
    let bounds = [0, 1, e - 1, e, e + 1, e + 2, u64::MAX - 1, u64::MAX];
    run(&mut c, u64s::num, &rows, &bounds);
    assert_clean::<U64Row>(&mut c);
}

#[test]
fn f64_bounds() {
    let (_s, mut c) = server();
    let e = E as f64;
    let stored = [
        f64::MIN,
        -1e300,
        -e - 2.0,
        -1.0,
        -f64::MIN_POSITIVE,
        -5e-324,
        -0.0,
        0.0,
        5e-324,
        0.1,
        e + 2.0,
        f64::MAX,
    ];
    let values: Vec<Option<f64>> = stored.iter().copied().map(Some).chain([None]).collect();
    let rows = insert(&mut c, &values, |num| F64Row {
        id: None,
        num,
        note: note(),
    });
    let bounds = [
        f64::NEG_INFINITY,
        f64::MIN,
        -e - 2.0,
        -e,
        -5e-324,
        -0.0,
        0.0,
        5e-324,
        0.1,
        0.30000000000000004,
        e,
        e + 2.0,
        f64::MAX,
        f64::INFINITY,
        f64::NAN,
    ];
    run(&mut c, f64s::num, &rows, &bounds);
    assert_clean::<F64Row>(&mut c);
}

#[test]
fn datetime_bounds() {
    let (_s, mut c) = server();
    let stored = [at(-E), at(-E + 1), at(-1), at(0), at(1), at(E - 1), at(E)];
    let values: Vec<Option<DateTime<Utc>>> =
        stored.iter().copied().map(Some).chain([None]).collect();
    let rows = insert(&mut c, &values, |num| AtRow {
        id: None,
        num,
        note: note(),
    });
    let bounds = [
        DateTime::<Utc>::MIN_UTC,
        at(-E - 1),
        at(-E),
        at(0),
        at(E),
        at(E + 1),
        DateTime::<Utc>::MAX_UTC,
    ];
    run(&mut c, ats::num, &rows, &bounds);
    assert_clean::<AtRow>(&mut c);
}

#[test]
fn date_bounds() {
    let (_s, mut c) = server();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
    let stored = [
        NaiveDate::MIN,
        epoch.pred_opt().expect("a date"),
        epoch,
        NaiveDate::MAX,
    ];
    let values: Vec<Option<NaiveDate>> = stored.iter().copied().map(Some).chain([None]).collect();
    let rows = insert(&mut c, &values, |num| DayRow {
        id: None,
        num,
        note: note(),
    });
    let bounds = [NaiveDate::MIN, epoch, NaiveDate::MAX];
    run(&mut c, days::num, &rows, &bounds);
    assert_clean::<DayRow>(&mut c);
}

fn nulls<T>(rows: &[(u64, Option<T>)]) -> Vec<u64> {
    rows.iter().filter(|r| r.1.is_none()).map(|r| r.0).collect()
}

/// The book's idiom for finding nulls, on every numeric type.
#[test]
fn ge_min_not_finds_the_nulls() {
    let (_s, mut c) = server();
    let rows = insert(
        &mut c,
        &[Some(i64::from(i32::MIN)), None, Some(-E), None, Some(E)],
        |num| I64Row {
            id: None,
            num,
            note: note(),
        },
    );
    let got = i64s::table
        .filter(i64s::num.ge(i64::MIN).not())
        .ids(&mut c)
        .unwrap();
    assert_eq!(got, nulls(&rows));
    assert_eq!(
        i64s::table
            .filter(i64s::num.ge(i64::MIN))
            .count(&mut c)
            .unwrap(),
        3
    );
    assert_eq!(
        i64s::table
            .filter(i64s::num.gt(i64::MAX))
            .count(&mut c)
            .unwrap(),
        0
    );

    let rows = insert(&mut c, &[None, Some(i32::MIN), None], |num| I32Row {
        id: None,
        num,
        note: note(),
    });
    let got = i32s::table
        .filter(i32s::num.ge(i32::MIN).not())
        .ids(&mut c)
        .unwrap();
    assert_eq!(got, nulls(&rows));

    let rows = insert(&mut c, &[Some(0), None], |num| U32Row {
        id: None,
        num,
        note: note(),
    });
    let got = u32s::table
        .filter(u32s::num.ge(u32::MIN).not())
        .ids(&mut c)
        .unwrap();
    assert_eq!(got, nulls(&rows));

    let rows = insert(&mut c, &[Some(f64::MIN), None, Some(-0.0)], |num| F64Row {
        id: None,
        num,
        note: note(),
    });
    let got = f64s::table
        .filter(f64s::num.ge(f64::NEG_INFINITY).not())
        .ids(&mut c)
        .unwrap();
    assert_eq!(got, nulls(&rows));
    let got = f64s::table
        .filter(f64s::num.ge(f64::MIN).not())
        .ids(&mut c)
        .unwrap();
    assert_eq!(got, nulls(&rows));

    let rows = insert(&mut c, &[None, Some(at(-E))], |num| AtRow {
        id: None,
        num,
        note: note(),
    });
    let got = ats::table
        .filter(ats::num.ge(DateTime::<Utc>::MIN_UTC).not())
        .ids(&mut c)
        .unwrap();
    assert_eq!(got, nulls(&rows));

    let rows = insert(&mut c, &[Some(NaiveDate::MIN), None], |num| DayRow {
        id: None,
        num,
        note: note(),
    });
    let got = days::table
        .filter(days::num.ge(NaiveDate::MIN).not())
        .ids(&mut c)
        .unwrap();
    assert_eq!(got, nulls(&rows));
}

/// Storing stays limited to what a score holds exactly: a bound may be any
/// value, a stored value may not.
#[test]
fn stored_values_stay_within_two_to_the_53() {
    let (_s, mut c) = server();
    for v in [i64::MIN, -E - 1, E + 1, i64::MAX] {
        let r = I64Row {
            id: None,
            num: Some(v),
            note: note(),
        }
        .insert(&mut c);
        assert!(matches!(r, Err(Error::Validation { .. })), "{v}: {r:?}");
    }
    let r = U64Row {
        id: None,
        num: Some(E as u64 + 1),
        note: note(),
    }
    .insert(&mut c);
    assert!(matches!(r, Err(Error::Validation { .. })), "{r:?}");
    for v in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
        let r = F64Row {
            id: None,
            num: Some(v),
            note: note(),
        }
        .insert(&mut c);
        assert!(matches!(r, Err(Error::Validation { .. })), "{v}: {r:?}");
    }
    assert_eq!(i64s::table.count(&mut c).unwrap(), 0);
}
