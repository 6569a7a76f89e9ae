//! The User model of the Python rom's introductory blog post, in rom: a unique,
//! case-insensitive email, an indexed name, a password hashed with Argon2,
//! `check_password` and `contact`.
//!
//! Run it with `bash scripts/example.sh` (starts a throwaway redis-server), or
//! against your own server with `ROM_REDIS_URL=redis://127.0.0.1/ cargo run --example users`.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand_core::OsRng;
use rom::prelude::*;

/// A user of the site.
#[derive(Model, Clone, Debug, PartialEq)]
#[rom(table = users)]
pub struct User {
    /// Allocated at the first save.
    #[rom(primary_key)]
    pub id: Option<u64>,
    /// Display name, with an equality index.
    #[rom(index(eq))]
    pub name: Option<String>,
    /// Unique whatever its case.
    #[rom(unique(case_insensitive))]
    pub email: String,
    /// The Argon2 hash in PHC format (it carries its own salt).
    pub password_hash: Option<String>,
}

impl User {
    /// Hashes and stores a new password (saved with the next `save`).
    pub fn update_password(&mut self, password: &str) -> Result<(), argon2::password_hash::Error> {
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default().hash_password(password.as_bytes(), &salt)?;
        self.password_hash = Some(hash.to_string());
        Ok(())
    }

    /// Whether `password` is this user's password (constant-time comparison).
    pub fn check_password(&self, password: &str) -> bool {
        let Some(stored) = &self.password_hash else {
            return false;
        };
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    }

    /// `"Name" <email>`, for an email header.
    pub fn contact(&self) -> String {
        format!(
            "\"{}\" <{}>",
            self.name.as_deref().unwrap_or(""),
            self.email
        )
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A throwaway server unless ROM_REDIS_URL names one.
    let (_server, mut conn) = match std::env::var("ROM_REDIS_URL") {
        Ok(url) => (None, redis::Client::open(url)?.get_connection()?),
        Err(_) => {
            let s = rom::testing::RedisServer::start()?;
            let c = s.connection()?;
            (Some(s), c)
        }
    };

    let mut alice = User {
        id: None,
        name: Some("Alice Liddell".into()),
        email: "Alice@Example.com".into(),
        password_hash: None,
    };
    alice
        .update_password("correct horse battery staple")
        .map_err(|e| e.to_string())?;
    let mut alice = alice.insert(&mut conn)?;
    println!(
        "saved user {} -> {}",
        alice.id.unwrap_or_default(),
        alice.contact()
    );

    // Unique, case-insensitive email: a second account is refused, nothing is written.
    let dup = User {
        id: None,
        name: Some("Impostor".into()),
        email: "ALICE@example.COM".into(),
        password_hash: None,
    };
    match dup.insert(&mut conn) {
        Err(Error::UniqueViolation { column, value, .. }) => {
            println!("refused: {column} {value:?} is taken")
        }
        other => return Err(format!("expected a unique violation, got {other:?}").into()),
    }

    // Look up by email in any case: one round trip.
    let found = users::table
        .filter(users::email.eq("alice@example.com"))
        .first(&mut conn)?;
    println!(
        "password ok: {}, wrong password ok: {}",
        found.check_password("correct horse battery staple"),
        found.check_password("hunter2")
    );

    // Indexed name.
    let by_name = users::table
        .filter(users::name.eq("Alice Liddell"))
        .count(&mut conn)?;
    println!("users named Alice Liddell: {by_name}");

    // Update one column: only it is sent, and a concurrent change would be a conflict.
    alice.name = Some("Alice".into());
    alice.save(&mut conn)?;
    println!(
        "renamed: {}",
        User::get(&mut conn, alice.id.unwrap_or_default())?
            .map(|u| u.contact())
            .unwrap_or_default()
    );

    println!(
        "{}",
        users::table
            .filter(users::email.eq("alice@example.com"))
            .explain()
    );
    let deleted = alice.delete(&mut conn)?;
    println!("deleted: {deleted}");
    Ok(())
}
