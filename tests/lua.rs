//! The Lua library on its own: `luacheck` finds nothing in it, and unit tests
//! of its pure functions (key order, the `#i` record, slot kinds, globs, the
//! index walk) pass on a real server. The unit tests are Lua files in
//! `tests/lua/`, each run as one EVAL of the library's source followed by the
//! test file, so the library's local functions are in scope.
mod common;
use common::*;
use std::process::Command;

/// The library exactly as `FUNCTION LOAD` gets it, minus the name line.
fn library_with_registration() -> String {
    format!(
        "{}\nregister('rom_check_')\n",
        rom::__private::script::LIBRARY_BODY
    )
}

#[test]
fn luacheck_finds_nothing() {
    let dir = std::env::temp_dir().join(format!("rom-luacheck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("library.lua");
    std::fs::write(&file, library_with_registration()).expect("write");
    let out = Command::new("luacheck")
        .args([
            "--std",
            "lua51",
            "--globals",
            "redis",
            "--no-max-line-length",
            "--codes",
            "--no-color",
        ])
        .arg(&file)
        .output()
        .expect(
            "luacheck is installed (Debian package lua-check; scripts/ensure-redis.sh installs it)",
        );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "luacheck:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn lua_unit_tests_pass() {
    let (_s, mut c) = server();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lua");
    let mut ran = 0;
    for entry in std::fs::read_dir(dir).expect("tests/lua") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "lua") {
            continue;
        }
        let test = std::fs::read_to_string(&path).expect("read");
        let source = format!("{}\n{test}", rom::__private::script::LIBRARY_BODY);
        let reply: redis::RedisResult<String> = redis::cmd("EVAL")
            .arg(source)
            .arg(1)
            .arg("{luatest}:z")
            .query(&mut c);
        assert_eq!(reply.as_deref(), Ok("ok"), "{}", path.display());
        ran += 1;
    }
    assert!(ran >= 1, "no Lua test files in {dir}");
}

#[test]
fn the_library_loads_and_registers_every_function() {
    let (_s, mut c) = server();
    rom::library::load_command()
        .exec(&mut c)
        .expect("FUNCTION LOAD");
    let list: Vec<redis::Value> = redis::cmd("FUNCTION")
        .arg("LIST")
        .arg("LIBRARYNAME")
        .arg(rom::library::library_name())
        .query(&mut c)
        .expect("list");
    let text = format!("{list:?}");
    for s in rom::__private::script::ALL {
        assert!(
            text.contains(s.function_name()),
            "{} not registered",
            s.name()
        );
    }
    // loading it again is harmless: rom treats "already exists" as loaded
    let again = rom::library::load_command().exec(&mut c).unwrap_err();
    assert!(again.to_string().contains("already exists"), "{again}");
}
