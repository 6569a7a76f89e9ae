//! rom over TLS (`rediss://`), with certificates made for the test by the
//! `openssl` command: a server that requires TLS, a client that trusts the
//! test's certificate authority (and one that does not), and mutual TLS.
//! It runs with rustls (every feature on) and, in `scripts/test.sh`, with
//! native-tls alone.
#![cfg(any(feature = "tls-rustls", feature = "tls-native-tls"))]
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use redis::{ClientTlsConfig, TlsCertificates};

/// A certificate authority, a server certificate for 127.0.0.1 and a client
/// certificate, in a directory removed on drop.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    fn make() -> Certs {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rom-tls-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &dir,
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.crt",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=rom test CA",
                ],
            ]
            .concat(),
        );
        // extensions make both v3 certificates, which rustls requires
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
        for who in ["server", "client"] {
            let key = format!("{who}.key");
            let csr = format!("{who}.csr");
            let crt = format!("{who}.crt");
            let ext = format!("{who}.ext");
            let subj = format!("/CN=rom test {who}");
            openssl(
                &dir,
                &[
                    &["req"][..],
                    &ec,
                    &["-keyout", &key, "-out", &csr, "-subj", &subj],
                ]
                .concat(),
            );
            let sign = [
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                "2",
                "-extfile",
                &ext,
            ];
            openssl(&dir, &sign);
        }
        Certs { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).unwrap()
    }

    /// Trust the test authority; present the client certificate if asked.
    fn client(&self, url: &str, with_client_cert: bool) -> redis::Client {
        let client_tls = with_client_cert.then(|| ClientTlsConfig {
            client_cert: self.read("client.crt"),
            client_key: self.read("client.key"),
        });
        redis::Client::build_with_tls(
            url,
            TlsCertificates {
                client_tls,
                root_cert: Some(self.read("ca.crt")),
            },
        )
        .unwrap()
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (Debian package openssl; scripts/ensure-redis.sh installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server that speaks only TLS on TCP (its unix socket, which the test
/// harness uses to see it is up, stays plain).
fn tls_server(certs: &Certs, client_certs: bool) -> (RedisServer, String) {
    let port = free_port().to_string();
    let (cert, key, ca) = (
        certs.path("server.crt"),
        certs.path("server.key"),
        certs.path("ca.crt"),
    );
    let auth = if client_certs { "yes" } else { "no" };
    let server = RedisServer::start_with_args(&[
        "--tls-port",
        &port,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca,
        "--tls-auth-clients",
        auth,
    ])
    .unwrap();
    (server, format!("rediss://127.0.0.1:{port}"))
}

fn crud(c: &mut redis::Connection) {
    let mut ann = user("ann@example.com", "Ann", 30, 1.0).insert(c).unwrap();
    ann.age = 31;
    ann.save(c).unwrap();
    let found = users::table
        .filter(users::email.eq("ANN@example.com"))
        .first(c)
        .unwrap();
    assert_eq!(found.age, 31);
    assert!(ann.delete(c).unwrap());
    assert_eq!(users::table.count(c).unwrap(), 0);
}

#[test]
fn every_operation_over_tls_with_the_test_authority() {
    let certs = Certs::make();
    let (_server, url) = tls_server(&certs, false);
    let client = certs.client(&url, false);
    let mut c = rom::connect::Options::new()
        .connection_from_client(&client)
        .unwrap();
    crud(&mut c);
    let mut r = rom::connect::Options::new()
        .reconnecting_from_client(client)
        .unwrap();
    user("bob@example.com", "Bob", 40, 2.0)
        .insert(&mut r)
        .unwrap();
    assert_eq!(users::table.count(&mut r).unwrap(), 1);
}

#[tokio::test]
async fn the_async_manager_over_tls() {
    let certs = Certs::make();
    let (_server, url) = tls_server(&certs, false);
    let mut conn = rom::connect::Options::new()
        .manager_from_client(certs.client(&url, false))
        .await
        .unwrap();
    let ann = user("ann@example.com", "Ann", 30, 1.0)
        .insert_async(&mut conn)
        .await
        .unwrap();
    let got = User::get_async(&mut conn, *ann.key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.email, "ann@example.com");
}

#[test]
fn a_server_certificate_from_an_unknown_authority_is_refused() {
    let certs = Certs::make();
    let (_server, url) = tls_server(&certs, false);
    // the machine's trust store does not know the test authority
    match rom::connect::connection(url.as_str()) {
        Err(Error::Redis(_)) => {}
        Err(other) => panic!("expected Error::Redis, got {other:?}"),
        Ok(_) => panic!("connected to a server whose certificate nobody vouches for"),
    }
}

#[test]
fn mutual_tls_needs_the_client_certificate() {
    let certs = Certs::make();
    let (_server, url) = tls_server(&certs, true);
    let mut c = rom::connect::Options::new()
        .connection_from_client(&certs.client(&url, true))
        .unwrap();
    crud(&mut c);
    // without a client certificate the server ends the handshake: the
    // connection or its first command fails, as an Error::Redis
    let without = rom::connect::Options::new().connection_from_client(&certs.client(&url, false));
    match without {
        Err(Error::Redis(_)) => {}
        Err(other) => panic!("expected Error::Redis, got {other:?}"),
        Ok(mut c) => assert!(matches!(User::get(&mut c, 1u64), Err(Error::Redis(_)))),
    }
}
