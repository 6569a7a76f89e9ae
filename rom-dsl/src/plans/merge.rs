//! The merge of a query's answers from several buckets (a partitioned
//! model's query across partitions) into the one order a single slot
//! would give. The rules are query.lua's, stated in the book's queries
//! chapter: values ascending or descending (numbers as numbers, a sort
//! index's text byte-wise), **ties by key ascending** in both directions
//! (`u64` keys as numbers, other keys byte-wise), **nulls after every value
//! in both directions, by key**; without an order, by key.

use crate::error::Result;
use crate::storage::model::{Key, Layout, Model};
use crate::storage::slots::slot_values;
use std::cmp::Ordering;

/// A row's place in a query's order: its order value (`None`: null) and its
/// member (encoded key).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Place {
    pub(crate) value: Option<Value>,
    pub(crate) member: Vec<u8>,
}

/// An order value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// A numeric index's score.
    Num(f64),
    /// A sort index's recorded text.
    Text(Vec<u8>),
}

/// What a query is ordered by, as a merge needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct By {
    /// The column (its position in the schema), `None`: by key.
    pub(crate) column: Option<usize>,
    /// The sort index's slot, for a text order.
    pub(crate) lex: Option<usize>,
    pub(crate) desc: bool,
    /// Keys compare as numbers (`u64` keys).
    pub(crate) numeric_ids: bool,
}

impl By {
    /// The order of a query (`Query::order`), for model `M`.
    pub(crate) fn of<M: Model>(order: &Option<(Vec<u8>, bool, &'static str, Option<usize>)>) -> By {
        let numeric_ids = M::Key::NUMERIC;
        match order {
            None => By {
                column: None,
                lex: None,
                desc: false,
                numeric_ids,
            },
            Some((_, desc, name, lex)) => By {
                column: M::SCHEMA.columns.iter().position(|c| c.name == *name),
                lex: *lex,
                desc: *desc,
                numeric_ids,
            },
        }
    }

    /// The place of `row` (key `member`) in this order.
    pub(crate) fn place<M: Model>(&self, row: &M, member: Vec<u8>, l: &Layout) -> Result<Place> {
        let Some(col) = self.column else {
            return Ok(Place {
                value: None,
                member,
            });
        };
        let cells = row.cells()?;
        let value = match self.lex.and_then(|s| l.slots.get(s)) {
            Some(slot) => slot_values(&cells, slot)
                .into_iter()
                .next()
                .map(Value::Text),
            None => cells.get(col).and_then(|c| c.score).map(Value::Num),
        };
        Ok(Place { value, member })
    }

    /// How `a` compares with `b` in this order.
    pub(crate) fn cmp(&self, a: &Place, b: &Place) -> Ordering {
        let by_key = || key_cmp(&a.member, &b.member, self.numeric_ids);
        if self.column.is_none() {
            return by_key();
        }
        match (&a.value, &b.value) {
            (Some(x), Some(y)) => {
                let v = match (x, y) {
                    (Value::Num(x), Value::Num(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
                    (Value::Text(x), Value::Text(y)) => x.cmp(y),
                    // one index gives one kind of value
                    (Value::Num(_), Value::Text(_)) => Ordering::Less,
                    (Value::Text(_), Value::Num(_)) => Ordering::Greater,
                };
                let v = if self.desc { v.reverse() } else { v };
                v.then_with(by_key)
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => by_key(),
        }
    }
}

/// Keys in key order: numeric keys by length then digits (as numbers),
/// others byte-wise (`idlt` in rows.lua).
pub(crate) fn key_cmp(a: &[u8], b: &[u8], numeric: bool) -> Ordering {
    if numeric {
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    } else {
        a.cmp(b)
    }
}

/// Merges the buckets' answers (each in order) into one list in order, then
/// skips `offset` and keeps `limit`.
pub(crate) fn merge<T>(
    by: &By,
    parts: Vec<Vec<(Place, T)>>,
    offset: u64,
    limit: Option<u64>,
) -> Vec<T> {
    merge_placed(by, parts, offset, limit)
        .into_iter()
        .map(|(_, t)| t)
        .collect()
}

/// [`merge`], each item with its place.
pub(crate) fn merge_placed<T>(
    by: &By,
    parts: Vec<Vec<(Place, T)>>,
    offset: u64,
    limit: Option<u64>,
) -> Vec<(Place, T)> {
    let mut all: Vec<(Place, T)> = parts.into_iter().flatten().collect();
    // stable, and every place is distinct (keys are), so the order is total
    all.sort_by(|a, b| by.cmp(&a.0, &b.0));
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let take = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    all.into_iter().skip(skip).take(take).collect()
}

impl Place {
    /// The cursor query.lua would give after this row, in order `by`: in
    /// value order (`v`) its score as a number or its sort text, among the
    /// nulls (`n`) and in key order its score in the id list (the key for
    /// `u64` keys, else 0). Every bucket resumes after it: the merged order
    /// is one total order over (value, key).
    pub(crate) fn cursor(&self, by: &By) -> crate::wire::query::Cursor {
        let id_score = || {
            if by.numeric_ids {
                self.member.clone()
            } else {
                b"0".to_vec()
            }
        };
        let (phase, score) = match (&self.value, by.column) {
            (_, None) => (b"v".to_vec(), id_score()),
            (Some(Value::Num(x)), Some(_)) => (b"v".to_vec(), format!("{x}").into_bytes()),
            (Some(Value::Text(t)), Some(_)) => (b"v".to_vec(), t.clone()),
            (None, Some(_)) => (b"n".to_vec(), id_score()),
        };
        crate::wire::query::Cursor {
            phase,
            score,
            member: self.member.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: Option<f64>, m: &str) -> Place {
        Place {
            value: v.map(Value::Num),
            member: m.as_bytes().to_vec(),
        }
    }

    #[test]
    fn ties_by_key_and_nulls_last_in_both_directions() {
        for desc in [false, true] {
            let by = By {
                column: Some(0),
                lex: None,
                desc,
                numeric_ids: true,
            };
            let parts = vec![
                vec![(p(Some(2.0), "10"), "10"), (p(None, "3"), "3")],
                vec![
                    (p(Some(2.0), "9"), "9"),
                    (p(Some(1.0), "1"), "1"),
                    (p(None, "2"), "2"),
                ],
            ];
            let got = merge(&by, parts, 0, None);
            let want = if desc {
                ["9", "10", "1", "2", "3"]
            } else {
                ["1", "9", "10", "2", "3"]
            };
            assert_eq!(got, want, "desc {desc}");
        }
    }

    #[test]
    fn offset_and_limit_apply_after_the_merge() {
        let by = By {
            column: None,
            lex: None,
            desc: false,
            numeric_ids: false,
        };
        let parts = vec![
            vec![(p(None, "a"), 1), (p(None, "d"), 4)],
            vec![(p(None, "b"), 2), (p(None, "c"), 3)],
        ];
        assert_eq!(merge(&by, parts, 1, Some(2)), [2, 3]);
    }

    #[test]
    fn zero_and_negative_zero_tie() {
        let by = By {
            column: Some(0),
            lex: None,
            desc: false,
            numeric_ids: true,
        };
        assert_eq!(
            by.cmp(&p(Some(-0.0), "2"), &p(Some(0.0), "1")),
            Ordering::Greater
        );
    }
}
