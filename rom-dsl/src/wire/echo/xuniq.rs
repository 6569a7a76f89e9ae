//! Echoes of the functions of uniques claimed across partitions
//! (`xuniq.lua`).

use super::writes::{save_back, save_cases};
use super::{Echo, echo, odd};
use crate::wire::xuniq::{CompareSet, FencedSave, ProbeArgs, ReserveArgs, SettleAttempt};

#[test]
fn xuniq_reserve_args_echo() {
    for i in 0..3 {
        let args = ReserveArgs {
            claims: odd(i),
            value: odd(i + 1),
            token: b"0123456789abcdef0123456789abcdef".to_vec(),
            member: odd(i + 2),
            expect: if i == 0 { Vec::new() } else { odd(i + 3) },
        };
        let mut e = Echo::new(echo(&args, "xuniq_reserve"));
        let back = ReserveArgs {
            claims: e.b(),
            value: e.b(),
            token: e.b(),
            member: e.b(),
            expect: e.b(),
        };
        e.done();
        assert_eq!(back, args);
    }
}

#[test]
fn xuniq_commit_and_release_args_echo() {
    for release in [false, true] {
        let args = SettleAttempt {
            claims: odd(1),
            value: odd(2),
            token: b"ff".to_vec(),
            // a release does not send the member
            member: if release { Vec::new() } else { odd(3) },
            release,
        };
        let mut e = Echo::new(echo(&args, "xuniq_attempt"));
        let back = SettleAttempt {
            claims: e.b(),
            value: e.b(),
            token: e.b(),
            member: e.b(),
            release,
        };
        e.done();
        assert_eq!(back, args);
    }
}

#[test]
fn xuniq_settle_args_echo() {
    let args = CompareSet {
        claims: odd(0),
        value: odd(1),
        expect: odd(2),
        new: Vec::new(),
    };
    let mut e = Echo::new(echo(&args, "xuniq_settle"));
    let back = CompareSet {
        claims: e.b(),
        value: e.b(),
        expect: e.b(),
        new: e.b(),
    };
    e.done();
    assert_eq!(back, args);
}

#[test]
fn xuniq_probe_args_echo() {
    let args = ProbeArgs {
        unique: odd(0),
        row: odd(1),
        fences: odd(2),
        value: odd(3),
        member: odd(4),
        fence: Vec::new(),
    };
    let mut e = Echo::new(echo(&args, "xuniq_probe"));
    let back = ProbeArgs {
        unique: e.b(),
        row: e.b(),
        fences: e.b(),
        value: e.b(),
        member: e.b(),
        fence: e.b(),
    };
    e.done();
    assert_eq!(back, args);
}

#[test]
fn xsave_args_echo() {
    for save in save_cases() {
        let args = FencedSave {
            fences: odd(5),
            token: b"0a".to_vec(),
            save,
        };
        let mut e = Echo::new(echo(&args, "xsave"));
        let (fences, token) = (e.b(), e.b());
        let back = save_back(e.next());
        e.done();
        assert_eq!((fences, token), (args.fences.clone(), args.token.clone()));
        assert_eq!(back, args.save);
    }
}
