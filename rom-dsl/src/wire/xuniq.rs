//! The functions of unique values across partitions (`xuniq.lua`): their
//! arguments (plain positional lists, documented in the Lua file's header),
//! their one reply type [`XReply`], and the format of a claims entry
//! ([`Entry`], the only Rust reader of it).

use super::{Args, Encoded, reply_strings};
use crate::error::{Error, Result};
use crate::exec::script::{self, Script};
use crate::wire::save::SaveArgs;

/// A value's entry in the claims hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// `c:<token>:<member>`: row `member` holds the value.
    Committed { token: Vec<u8>, member: Vec<u8> },
    /// `p:<token>:<ms>:<prev>:<member>`: attempt `token` of row `member`
    /// reserved it.
    Pending { token: Vec<u8>, member: Vec<u8> },
}

impl Entry {
    /// Reads an entry; `None` for bytes of no known form (foreign data).
    pub(crate) fn parse(e: &[u8]) -> Option<Entry> {
        let mut parts = e.splitn(2, |&b| b == b':');
        let kind = parts.next()?;
        let rest = parts.next()?;
        match kind {
            b"c" => {
                let mut p = rest.splitn(2, |&b| b == b':');
                let token = p.next()?.to_vec();
                Some(Entry::Committed {
                    token,
                    member: p.next()?.to_vec(),
                })
            }
            b"p" => {
                let mut p = rest.splitn(4, |&b| b == b':');
                let token = p.next()?.to_vec();
                let (_ms, _prev) = (p.next()?, p.next()?);
                Some(Entry::Pending {
                    token,
                    member: p.next()?.to_vec(),
                })
            }
            _ => None,
        }
    }

    /// The row the entry names.
    pub(crate) fn member(&self) -> &[u8] {
        match self {
            Entry::Committed { member, .. } | Entry::Pending { member, .. } => member,
        }
    }

    /// The committed form of this entry's attempt (`c:<token>:<member>`).
    pub(crate) fn committed(&self) -> Vec<u8> {
        let (Entry::Committed { token, member } | Entry::Pending { token, member }) = self;
        [b"c:", &token[..], b":", member].concat()
    }
}

/// What an `xuniq_*` function (or `xsave`, before the save's own reply)
/// answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum XReply {
    /// `{'ok'}`
    Ok,
    /// `{'held', entry, age ms}`: another row's entry, or a pending one.
    Held { entry: Vec<u8>, age_ms: u64 },
    /// `{'moved', entry}`: the entry is not the expected one (empty: none).
    Moved(Vec<u8>),
    /// `{'lost', entry}`: a commit found its reservation gone.
    Lost(Vec<u8>),
    /// `{'wrongtype', key}`
    WrongType(Vec<u8>),
    /// `{'1'}` / `{'0'}`: a probe's answer.
    Holds(bool),
}

impl XReply {
    pub(crate) fn decode(v: redis::Value) -> Result<XReply> {
        let mut parts = reply_strings(v)?.into_iter();
        let word = parts.next().unwrap_or_default();
        let mut part = || parts.next().unwrap_or_default();
        Ok(match &word[..] {
            b"ok" => XReply::Ok,
            b"held" => {
                let entry = part();
                let age = part();
                XReply::Held {
                    entry,
                    age_ms: std::str::from_utf8(&age)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                }
            }
            b"moved" => XReply::Moved(part()),
            b"lost" => XReply::Lost(part()),
            b"wrongtype" => XReply::WrongType(part()),
            b"1" => XReply::Holds(true),
            b"0" => XReply::Holds(false),
            _ => {
                return Err(Error::decode(
                    b"(xuniq reply)",
                    None,
                    format!("unexpected reply {}", crate::error::show(&word)),
                ));
            }
        })
    }
}

/// `xuniq_reserve`: reserve `value` for attempt `token` of row `member`
/// (`expect`: replace only that exact entry).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReserveArgs {
    pub(crate) claims: Vec<u8>,
    pub(crate) value: Vec<u8>,
    pub(crate) token: Vec<u8>,
    pub(crate) member: Vec<u8>,
    pub(crate) expect: Vec<u8>,
}

impl Args for ReserveArgs {
    fn function(&self) -> &'static Script {
        &script::XUNIQ_RESERVE
    }
    fn encode(&self) -> Encoded {
        (
            vec![self.claims.clone()],
            vec![
                self.value.clone(),
                self.token.clone(),
                self.member.clone(),
                self.expect.clone(),
            ],
        )
    }
}

/// `xuniq_commit` (`release: false`) or `xuniq_release` (`true`) of
/// attempt `token`'s reservation of `value`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SettleAttempt {
    pub(crate) claims: Vec<u8>,
    pub(crate) value: Vec<u8>,
    pub(crate) token: Vec<u8>,
    pub(crate) member: Vec<u8>,
    pub(crate) release: bool,
}

impl Args for SettleAttempt {
    fn function(&self) -> &'static Script {
        if self.release {
            &script::XUNIQ_RELEASE
        } else {
            &script::XUNIQ_COMMIT
        }
    }
    fn encode(&self) -> Encoded {
        let mut argv = vec![self.value.clone(), self.token.clone()];
        if !self.release {
            argv.push(self.member.clone());
        }
        (vec![self.claims.clone()], argv)
    }
}

/// `xuniq_settle`: `value`'s entry from `expect` to `new` (empty: deleted).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompareSet {
    pub(crate) claims: Vec<u8>,
    pub(crate) value: Vec<u8>,
    pub(crate) expect: Vec<u8>,
    pub(crate) new: Vec<u8>,
}

impl Args for CompareSet {
    fn function(&self) -> &'static Script {
        &script::XUNIQ_SETTLE
    }
    fn encode(&self) -> Encoded {
        (
            vec![self.claims.clone()],
            vec![self.value.clone(), self.expect.clone(), self.new.clone()],
        )
    }
}

/// `xuniq_probe`: whether row `member` (in its bucket) holds `value`,
/// after fencing attempt `fence` (empty: no fence).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProbeArgs {
    /// The local unique hash of the row's bucket.
    pub(crate) unique: Vec<u8>,
    pub(crate) row: Vec<u8>,
    /// The bucket's fence hash.
    pub(crate) fences: Vec<u8>,
    pub(crate) value: Vec<u8>,
    pub(crate) member: Vec<u8>,
    pub(crate) fence: Vec<u8>,
}

impl Args for ProbeArgs {
    fn function(&self) -> &'static Script {
        &script::XUNIQ_PROBE
    }
    fn encode(&self) -> Encoded {
        (
            vec![self.unique.clone(), self.row.clone(), self.fences.clone()],
            vec![self.value.clone(), self.member.clone(), self.fence.clone()],
        )
    }
}

/// `xsave`: a save that the bucket's fence of `token` refuses.
#[derive(Debug, Clone)]
pub(crate) struct FencedSave {
    pub(crate) fences: Vec<u8>,
    pub(crate) token: Vec<u8>,
    pub(crate) save: SaveArgs,
}

impl Args for FencedSave {
    fn function(&self) -> &'static Script {
        &script::XSAVE
    }
    fn encode(&self) -> Encoded {
        let (keys, argv) = self.save.encode();
        (
            [vec![self.fences.clone()], keys].concat(),
            [vec![self.token.clone()], argv].concat(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Entry;

    #[test]
    fn entries_parse_with_members_holding_colons() {
        assert_eq!(
            Entry::parse(b"c:ab12:k:1"),
            Some(Entry::Committed {
                token: b"ab12".to_vec(),
                member: b"k:1".to_vec()
            })
        );
        let p = Entry::parse(b"p:ff:1700000000000:-:x:y").unwrap();
        assert_eq!(p.member(), b"x:y");
        assert_eq!(p.committed(), b"c:ff:x:y".to_vec());
        assert_eq!(Entry::parse(b"zz"), None);
        assert_eq!(Entry::parse(b"p:ff:12"), None);
    }
}
