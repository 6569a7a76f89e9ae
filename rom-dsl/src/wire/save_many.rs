//! `save_many` (`plain.lua`, decoded by `PS.many_args`): several saves of
//! one slot in one call, each with the keys and arguments of its own `save`
//! call ([`crate::wire::save::SaveArgs`], encoded).
//!
//! `KEYS`: every key of every save, each once. `ARGV`: the number of saves,
//! then per save its `KEYS` and its `ARGV`, each a counted list. Reply: one
//! reply per save, `save`'s reply or `{'error', message}` (an error raised
//! before the save's first write: the save wrote nothing).

use super::{Args, Argv, Encoded, Keys};
use crate::exec::script::{self, Script};

/// The arguments of `save_many`: each save's `KEYS` and `ARGV`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SaveManyArgs {
    pub(crate) saves: Vec<Encoded>,
}

impl Args for SaveManyArgs {
    fn function(&self) -> &'static Script {
        &script::SAVE_MANY
    }

    fn encode(&self) -> Encoded {
        let mut keys = Keys::new(Vec::new());
        let mut a = Argv::default();
        a.num(self.saves.len() as u64);
        for (k, v) in &self.saves {
            for key in k {
                keys.add(key.clone());
            }
            a.list(k, |a, x| {
                a.one(x.clone());
            })
            .list(v, |a, x| {
                a.one(x.clone());
            });
        }
        (keys.into_vec(), a.0)
    }
}
