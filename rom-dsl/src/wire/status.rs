//! The reply of the write functions `save` and `delete`: a status word, then
//! what it is about.

use super::reply_strings;
use crate::error::{Error, Result};

/// What `save` or `delete` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    /// `{'ok', what}`: the member saved (`save`), the number of rows deleted
    /// (`delete`).
    Ok(Vec<u8>),
    /// `{'exists'}`: an insert found the row.
    Exists,
    /// `{'gone'}`: an update (or a checked delete) found no row.
    Gone,
    /// `{'conflict', field}`: a column is not what the client last saw.
    Conflict(Vec<u8>),
    /// `{'unique', slot id, value}`: another row holds the unique value.
    Unique(Vec<u8>, Vec<u8>),
    /// `{'wrongtype', key}`: a key holds another type.
    WrongType(Vec<u8>),
    /// `{'badrecord', row}`: the row's `#i` record does not parse.
    BadRecord(Vec<u8>),
    /// `{'range', field, current, by, new}`: an increment would leave its
    /// bounds.
    Range(Vec<Vec<u8>>),
    /// `{'noparent', field, row}`: a referenced row does not exist.
    NoParent(Vec<u8>, Vec<u8>),
    /// `{'restrict', child model, field, child member}`: a row references
    /// a row to delete under `on_delete = restrict`.
    Restrict(Vec<u8>, Vec<u8>, Vec<u8>),
    /// `{'twice', row}`: a call would write a row twice (in a commit, a
    /// cascade reaching a row another operation writes).
    Twice(Vec<u8>),
    /// `{'notint', row, field}`: an increment found a value that is not a
    /// decimal integer within ±(2^53 − 1).
    NotInteger(Vec<u8>, Vec<u8>),
}

impl Status {
    /// Decodes the reply.
    pub(crate) fn decode(v: redis::Value) -> Result<Status> {
        Status::from_parts(reply_strings(v)?)
    }

    /// Reads a status from its words (also the tail of `commit`'s `failed`).
    pub(crate) fn from_parts(parts: Vec<Vec<u8>>) -> Result<Status> {
        let mut parts = parts.into_iter();
        let word = parts.next();
        let mut part = || parts.next().unwrap_or_default();
        Ok(match word.as_deref() {
            Some(b"ok") => Status::Ok(part()),
            Some(b"exists") => Status::Exists,
            Some(b"gone") => Status::Gone,
            Some(b"conflict") => Status::Conflict(part()),
            Some(b"unique") => {
                let id = part();
                Status::Unique(id, part())
            }
            Some(b"wrongtype") => Status::WrongType(part()),
            Some(b"badrecord") => Status::BadRecord(part()),
            Some(b"range") => Status::Range(vec![part(), part(), part(), part()]),
            Some(b"noparent") => {
                let field = part();
                Status::NoParent(field, part())
            }
            Some(b"restrict") => {
                let (child, field) = (part(), part());
                Status::Restrict(child, field, part())
            }
            Some(b"twice") => Status::Twice(part()),
            Some(b"notint") => {
                let row = part();
                Status::NotInteger(row, part())
            }
            _ => return Err(Error::decode(b"(script reply)", None, "unexpected reply")),
        })
    }
}
