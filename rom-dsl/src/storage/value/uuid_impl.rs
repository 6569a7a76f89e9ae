//! `uuid::Uuid` columns (feature `uuid`).

use super::{EqKey, Value, utf8};
impl Value for uuid::Uuid {
    const TYPE_NAME: &'static str = "Uuid";
    fn encode(&self) -> Vec<u8> {
        self.hyphenated().to_string().into_bytes()
    }
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        uuid::Uuid::parse_str(utf8(bytes)?).map_err(|e| format!("not a valid UUID: {e}"))
    }
}
#[diagnostic::do_not_recommend]
impl EqKey for uuid::Uuid {}
