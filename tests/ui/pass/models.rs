// The accepted forms of a model declaration: key types, every field
// attribute, struct attributes, column types and visibilities.
use rom::Json;
use rom::prelude::*;

/// An auto-increment key, a namespace, composite unique constraints.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = memberships, namespace = "app:members")]
#[rom(
    unique_together(team, user),
    unique_together(team, nickname, case_insensitive)
)]
pub struct Membership {
    #[rom(primary_key)]
    pub id: Option<u64>,
    pub team: u64,
    pub user: u64,
    pub nickname: Option<String>,
    #[rom(default = "member")]
    pub role: String,
    pub settings: Json<Vec<(String, bool)>>,
    pub avatar: Option<Vec<u8>>,
    pub joined: chrono::DateTime<chrono::Utc>,
}

/// A natural `String` key and the default table name (`countrys`: the
/// snake-case name plus `s`).
#[derive(Model, Clone, Debug, PartialEq)]
pub struct Country {
    #[rom(primary_key)]
    pub code: String,
    #[rom(unique)]
    pub name: String,
    #[rom(index(eq, case_insensitive))]
    pub continent: String,
    #[rom(index(numeric), default = 0)]
    pub population: i64,
}

/// A natural `u64` key and a `Uuid` column.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = devices)]
pub struct Device {
    #[rom(primary_key)]
    pub serial: u64,
    #[rom(unique)]
    pub token: uuid::Uuid,
}

/// A `Uuid` key.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = sessions)]
pub struct Session {
    #[rom(primary_key)]
    pub id: uuid::Uuid,
    #[rom(index(numeric))]
    pub expires: chrono::DateTime<chrono::Utc>,
}

mod private {
    use rom::prelude::*;

    /// A private model: its table module is private to this module too.
    #[derive(Model, Clone, Debug, PartialEq)]
    #[rom(table = notes)]
    struct Note {
        #[rom(primary_key)]
        id: Option<u64>,
        #[rom(index(text))]
        body: String,
    }

    pub fn plan() -> String {
        notes::table.filter(notes::body.has_word("todo")).explain()
    }
}

fn main() {
    let s = <Membership as Model>::SCHEMA;
    assert_eq!(
        (s.name, s.namespace, s.key_name, s.auto_key),
        ("Membership", "app:members", "id", true)
    );
    assert_eq!(s.unique_together.len(), 2);
    assert_eq!(<Country as Model>::SCHEMA.namespace, "countrys");
    assert!(!<Country as Model>::SCHEMA.auto_key);
    assert!(!<Device as Model>::SCHEMA.auto_key);
    assert_eq!(<Session as Model>::SCHEMA.key_name, "id");
    assert!(
        countrys::table
            .filter(countrys::continent.eq("EUROPE"))
            .explain()
            .contains("{countrys}:eq:continent:europe")
    );
    assert!(private::plan().contains("{notes}:text:body:todo"));
}
