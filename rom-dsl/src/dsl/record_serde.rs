//! How a [`Record`] shows and serializes: as its model, never as the stored
//! bytes it remembers (see "serde" on [`Record`]).

use crate::error::{Error, Result};
use crate::record::Record;
use crate::storage::model::Model;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

impl<M: Model> Record<M> {
    /// A record read by serde: its stored state is unknown.
    fn detached(value: M, key: M::Key) -> Self {
        Record {
            value,
            key,
            snapshot: None,
        }
    }

    /// The snapshot a conflict-checked save compares with; a deserialized
    /// record has none.
    pub(super) fn loaded(&self) -> Result<&[Option<Vec<u8>>]> {
        self.snapshot.as_deref().ok_or_else(|| Error::Validation {
            model: M::SCHEMA.name,
            column: M::SCHEMA.key_name.to_owned(),
            reason: "this record was deserialized, not loaded: what is stored is unknown, so a \
                     conflict-checked save is refused; use save_forced, or refresh it first"
                .into(),
        })
    }
}

impl<M: Model + fmt::Debug> fmt::Debug for Record<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("key", &self.key)
            .field("value", &self.value)
            .finish()
    }
}

impl<M: Model + Serialize> Serialize for Record<M> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<'de, M: Model + Deserialize<'de>> Deserialize<'de> for Record<M> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = M::deserialize(d)?;
        match value.key() {
            Some(key) => Ok(Record::detached(value, key)),
            None => Err(D::Error::custom(format_args!(
                "a {} record needs its primary key `{}` (a value without one is a model, not a record)",
                M::SCHEMA.name,
                M::SCHEMA.key_name
            ))),
        }
    }
}
