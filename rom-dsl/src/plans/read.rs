//! Reads by key: `get` of one row (a plain `HGETALL`) or of many (the
//! `get` function, one call per bucket of a partitioned model), and the
//! decoding of a row reply into a record.

use crate::error::{Error, Result, show};
use crate::plan::{Call, Plan};
use crate::record::Record;
use crate::storage::model::{Key, Layout, Model, RowData};
use crate::wire::get::{GetArgs, GetReply};

/// Decodes one row reply (flat field/value pairs, a RESP3 map, or an error
/// string) into a record; `Ok(None)` for an absent row.
pub(crate) fn decode_row<M: Model>(
    member: &[u8],
    reply: redis::Value,
) -> Result<Option<Record<M>>> {
    let key_bytes = crate::storage::partition::layout_for::<M>(member).row_key(member);
    let mut row = RowData {
        key: key_bytes.clone(),
        ..RowData::default()
    };
    match reply {
        redis::Value::Array(items) => {
            let mut it = items.into_iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                row.fields
                    .insert(bulk(f, &key_bytes)?, bulk(v, &key_bytes)?);
            }
        }
        redis::Value::Map(pairs) => {
            for (f, v) in pairs {
                row.fields
                    .insert(bulk(f, &key_bytes)?, bulk(v, &key_bytes)?);
            }
        }
        redis::Value::BulkString(e) => {
            return Err(Error::decode(&key_bytes, None, show(&e)));
        }
        redis::Value::ServerError(e) => {
            return Err(Error::decode(
                &key_bytes,
                None,
                e.details()
                    .map_or_else(|| e.code().to_owned(), |d| format!("{} {d}", e.code())),
            ));
        }
        redis::Value::SimpleString(e) => {
            return Err(Error::decode(&key_bytes, None, e));
        }
        other => {
            return Err(Error::decode(
                &key_bytes,
                None,
                format!("unexpected reply {other:?}"),
            ));
        }
    }
    if row.fields.is_empty() {
        return Ok(None);
    }
    let key = M::Key::from_member(member)
        .map_err(|e| Error::decode(&key_bytes, None, format!("bad key: {e}")))?;
    let value = M::from_row(key.clone(), &row)?;
    let snapshot = M::SCHEMA
        .columns
        .iter()
        .map(|c| row.get(c.name).map(<[u8]>::to_vec))
        .collect();
    Ok(Some(Record::from_parts(value, key, snapshot)))
}

fn bulk(v: redis::Value, key: &[u8]) -> Result<Vec<u8>> {
    match v {
        redis::Value::BulkString(b) => Ok(b),
        redis::Value::SimpleString(s) => Ok(s.into_bytes()),
        other => Err(Error::decode(
            key,
            None,
            format!("unexpected reply {other:?}"),
        )),
    }
}

pub(crate) fn get_plan<M: Model>(keys: &[M::Key]) -> Plan<Vec<Record<M>>> {
    let members: Vec<Vec<u8>> = keys.iter().map(Key::to_member).collect();
    let mut groups = crate::storage::partition::group_by_layout::<M>(&members).into_iter();
    let Some((l, first)) = groups.next() else {
        return get_part::<M>(M::layout(), Vec::new())
            .map(|rows| Ok(rows.into_iter().flatten().collect()));
    };
    let rest: Vec<(&Layout, Vec<usize>)> = groups.collect();
    if rest.is_empty() {
        return get_part::<M>(l, members).map(|rows| Ok(rows.into_iter().flatten().collect()));
    }
    // a partitioned model: one read per bucket, the rows put back in the
    // order of the keys
    let pick = |idx: &[usize]| idx.iter().map(|&i| members[i].clone()).collect::<Vec<_>>();
    let first_part = get_part::<M>(l, pick(&first));
    let parts = rest
        .iter()
        .map(|(l, idx)| get_part::<M>(l, pick(idx)))
        .collect();
    let order: Vec<Vec<usize>> = std::iter::once(first)
        .chain(rest.into_iter().map(|(_, i)| i))
        .collect();
    let n = members.len();
    crate::plans::fan::serial(first_part, parts, move |found| {
        let mut slots: Vec<Option<Record<M>>> = (0..n).map(|_| None).collect();
        for (idx, rows) in order.iter().zip(found) {
            for (&i, r) in idx.iter().zip(rows) {
                slots[i] = r;
            }
        }
        Ok(slots.into_iter().flatten().collect())
    })
}

/// The read of rows `members`, all in layout `l` (one slot): each row, or
/// `None` where it is absent, in the order of `members`.
fn get_part<M: Model>(l: &Layout, members: Vec<Vec<u8>>) -> Plan<Vec<Option<Record<M>>>> {
    if let ([member], None) = (&members[..], M::EXPIRES) {
        // one row: a plain HGETALL, whose error reply (a key of another type)
        // becomes a decode error naming the key (a row that may have expired
        // is read by the function, which knows the server's time)
        let member = member.clone();
        return Plan::new(
            Call::Command("HGETALL"),
            vec![l.row_key(&member)],
            vec![],
            move |v| Ok(vec![decode_row::<M>(&member, v)?]),
        )
        .with_raw_errors()
        .step(format!("HGETALL one row of {}", M::SCHEMA.name))
        .about("get", M::SCHEMA.namespace);
    }
    let expiry = crate::storage::model::expiry_key::<M>();
    let args = GetArgs {
        rows: members.iter().map(|m| l.row_key(m)).collect(),
        members: if expiry.is_empty() {
            Vec::new()
        } else {
            members.clone()
        },
        expiry,
    };
    let n = members.len();
    Plan::call(&args, move |v| {
        let items = GetReply::decode(v)?.0;
        members
            .iter()
            .zip(items)
            .map(|(m, r)| decode_row::<M>(m, r))
            .collect()
    })
    .step(format!("HGETALL {n} row(s) of {}", M::SCHEMA.name))
    .about("get", M::SCHEMA.namespace)
}
