//! The reads of `verify` (`verify.lua`): `verify_scan` (decoded by
//! `scan_args`), `verify_rows` (`rows_args`), `verify_probe` (`probe_args`).
//! Each is keyed by `{ns}:ids` first, so a cluster routes it to the node that
//! owns the model's hash tag.

use super::{Args, Encoded, Keys, reply_bytes, reply_items};
use crate::error::{Error, Result};
use crate::exec::script::{self, Script};

/// `verify_scan`: one `SCAN` page of the model's keyspace, run where the hash
/// tag lives. `KEYS`: ids (routing only). `ARGV`: cursor, `MATCH` pattern,
/// `COUNT`. Reply: [`ScanReply`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScanArgs {
    pub(crate) ids: Vec<u8>,
    pub(crate) cursor: Vec<u8>,
    pub(crate) pattern: Vec<u8>,
    pub(crate) count: u64,
}

impl Args for ScanArgs {
    fn function(&self) -> &'static Script {
        &script::VERIFY_SCAN
    }
    fn encode(&self) -> Encoded {
        let args = vec![
            self.cursor.clone(),
            self.pattern.clone(),
            self.count.to_string().into_bytes(),
        ];
        (vec![self.ids.clone()], args)
    }
}

/// The reply of `verify_scan` (and of `ZSCAN`, `HSCAN`, `SSCAN`): the next
/// cursor (`0`: done) and the page.
#[derive(Debug)]
pub(crate) struct ScanReply {
    pub(crate) next: Vec<u8>,
    pub(crate) items: Vec<redis::Value>,
}

impl ScanReply {
    /// Decodes the reply.
    pub(crate) fn decode(v: redis::Value) -> Result<ScanReply> {
        let mut it = reply_items(v, "(scan reply)")?.into_iter();
        let next = it.next().map(reply_bytes).transpose()?;
        let items = it
            .next()
            .map(|v| reply_items(v, "(scan page)"))
            .transpose()?;
        match (next, items) {
            (Some(next), Some(items)) => Ok(ScanReply { next, items }),
            _ => Err(Error::decode(b"(scan reply)", None, "bad page")),
        }
    }
}

/// A row to read: its key and its member.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowRef {
    pub(crate) key: Vec<u8>,
    pub(crate) member: Vec<u8>,
}

/// `verify_rows`: for each row, whether `{ns}:ids` lists it, its type and
/// (for a hash) its fields. `KEYS`: ids, then the row keys. `ARGV`: the
/// members, in the same order. Reply: [`RowsReply`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowsArgs {
    pub(crate) ids: Vec<u8>,
    pub(crate) rows: Vec<RowRef>,
    /// The model's expiry set (empty: its rows never expire).
    pub(crate) expiry: Vec<u8>,
}

impl Args for RowsArgs {
    fn function(&self) -> &'static Script {
        &script::VERIFY_ROWS
    }
    fn encode(&self) -> Encoded {
        let mut keys = vec![self.ids.clone()];
        keys.extend(self.rows.iter().map(|r| r.key.clone()));
        if !self.expiry.is_empty() {
            keys.push(self.expiry.clone());
        }
        let mut argv = vec![self.expiry.clone()];
        argv.extend(self.rows.iter().map(|r| r.member.clone()));
        (keys, argv)
    }
}

/// One row as `verify_rows` read it: `{listed 0|1, type, HGETALL or {},
/// expired 0|1}`.
#[derive(Debug)]
pub(crate) struct RowReply {
    /// The row's deadline has passed (it awaits a sweep).
    pub(crate) expired: bool,
    pub(crate) listed: bool,
    /// `TYPE`'s answer: `hash`, `none`, or another type.
    pub(crate) kind: Vec<u8>,
    /// The `HGETALL` reply (an empty array unless a hash).
    pub(crate) fields: redis::Value,
}

/// The reply of `verify_rows`: one [`RowReply`] per row, in order.
#[derive(Debug)]
pub(crate) struct RowsReply(pub(crate) Vec<RowReply>);

impl RowsReply {
    /// Decodes the reply.
    pub(crate) fn decode(v: redis::Value) -> Result<RowsReply> {
        reply_items(v, "(rows reply)")?
            .into_iter()
            .map(|item| {
                let mut it = reply_items(item, "(row)")?.into_iter();
                let listed = matches!(it.next(), Some(redis::Value::Int(1)));
                let kind = it.next().map(reply_bytes).transpose()?.unwrap_or_default();
                let fields = it.next().unwrap_or(redis::Value::Nil);
                let expired = matches!(it.next(), Some(redis::Value::Int(1)));
                Ok(RowReply {
                    expired,
                    listed,
                    kind,
                    fields,
                })
            })
            .collect::<Result<_>>()
            .map(RowsReply)
    }
}

/// What a probe asks of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeKind {
    /// `n`: the score of member item (or nil).
    Score,
    /// `u`: the owner of unique value item (or nil).
    Owner,
    /// `s`: 1 when item is in the set.
    InSet,
    /// `l`: 1 when item is in the sorted set.
    InZset,
    /// `r`: 1 when the key is a row (a referenced parent's hash).
    Row,
    /// `t`: the key's type (`TYPE`'s answer: `none`, `set`...).
    Type,
    /// `m`: one page of a set's members, from cursor item: `SSCAN key item
    /// COUNT 200` (the walk's page, `verify::walk::PAGE`), `{next cursor,
    /// members}`; a key of another type answers `{'0', {}}`.
    Members,
}

/// One lookup: what, in which key, of which item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Probe {
    pub(crate) kind: ProbeKind,
    pub(crate) key: Vec<u8>,
    pub(crate) item: Vec<u8>,
}

/// `verify_probe`: the index entries rows call for. `KEYS` (derived): ids,
/// then each probed key once. `ARGV`: triples (kind letter, key, item). A key
/// of another type answers nil or 0. Reply: [`ProbeReply`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProbeArgs {
    pub(crate) ids: Vec<u8>,
    pub(crate) probes: Vec<Probe>,
}

impl Args for ProbeArgs {
    fn function(&self) -> &'static Script {
        &script::VERIFY_PROBE
    }
    fn encode(&self) -> Encoded {
        let mut keys = Keys::new(vec![self.ids.clone()]);
        let mut args = Vec::with_capacity(self.probes.len() * 3);
        for p in &self.probes {
            args.push(
                match p.kind {
                    ProbeKind::Score => "n",
                    ProbeKind::Owner => "u",
                    ProbeKind::InSet => "s",
                    ProbeKind::InZset => "l",
                    ProbeKind::Row => "r",
                    ProbeKind::Type => "t",
                    ProbeKind::Members => "m",
                }
                .into(),
            );
            args.push(p.key.clone());
            args.push(p.item.clone());
            keys.add(p.key.clone());
        }
        (keys.into_vec(), args)
    }
}

/// The reply of `verify_probe`: one answer per probe, in order (a score or an
/// owner as a string, nil, 0/1, a type, or a page of members).
#[derive(Debug)]
pub(crate) struct ProbeReply(pub(crate) Vec<redis::Value>);

impl ProbeReply {
    /// Decodes the reply.
    pub(crate) fn decode(v: redis::Value) -> Result<ProbeReply> {
        reply_items(v, "(probe reply)").map(ProbeReply)
    }
}
