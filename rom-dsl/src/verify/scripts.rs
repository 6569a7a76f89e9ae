//! The server functions of `verify` and `repair`, which live in the library's
//! `lua/verify.lua` (its header documents each one's `KEYS` and `ARGV`).

pub(crate) use crate::script::{
    REPAIR_REINDEX as REINDEX, REPAIR_UNINDEX as UNINDEX, REPAIR_UNLIST as UNLIST,
    VERIFY_PROBE as PROBE, VERIFY_ROWS as ROWS, VERIFY_SCAN as SCAN,
};
