//! A real PostgreSQL for the chain's tests: the server `KASSA_TEST_PG_URL` names, else a
//! throwaway cluster started once per test process from the installed binaries (initdb into
//! a temporary directory, as the `postgres` or `nobody` user when run as root), stopped when
//! the process ends. Each test gets a database of its own. Where there is neither, the
//! tests say so in one line and are skipped, unless `KASSA_REQUIRE_PG=1` (CI) makes that a
//! failure.
//!
//! Shared by the library's unit tests (`#[path]`) and the integration tests.

#![allow(dead_code, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The server every test of this process uses: a URL without a database, and the bin
/// directory its tools come from.
struct Server {
    /// `postgresql://user@host:port`
    base: String,
    bin: Option<PathBuf>,
    /// The cluster's data directory when this process started it.
    data: Option<PathBuf>,
    user: Option<String>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A new, empty database on the test server: its URL. `None` (with one line said) where no
/// PostgreSQL can be had and it is not required.
pub fn database() -> Option<String> {
    let server = match SERVER.get_or_init(start) {
        Ok(s) => s,
        Err(why) => {
            if std::env::var("KASSA_REQUIRE_PG").is_ok_and(|v| v == "1") {
                panic!("KASSA_REQUIRE_PG=1 but PostgreSQL cannot be had: {why}");
            }
            eprintln!("PostgreSQL tests skipped: {why}");
            return None;
        }
    };
    let name = format!(
        "kassa_t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let psql = tool(server.bin.as_deref(), "psql");
    let out = Command::new(&psql)
        .arg(format!("{}/postgres", server.base))
        .args([
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", psql.display()));
    assert!(
        out.status.success(),
        "CREATE DATABASE: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(format!("{}/{name}", server.base))
}

/// Runs SQL on a test database through psql (a test's look behind the journal's back).
pub fn psql(url: &str, sql: &str) -> String {
    let bin = SERVER
        .get()
        .and_then(|s| s.as_ref().ok())
        .and_then(|s| s.bin.clone());
    let out = Command::new(tool(bin.as_deref(), "psql"))
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Stops the throwaway server at once (as a crash would) and starts it again on the same
/// data and port; `false` where the server is not this process's own.
pub fn restart() -> bool {
    let Some(Ok(s)) = SERVER.get() else {
        return false;
    };
    let (Some(data), Some(bin)) = (&s.data, &s.bin) else {
        return false;
    };
    let ctl = |args: &[&str]| {
        let mut c = as_user(s.user.as_deref(), &tool(Some(bin), "pg_ctl"));
        c.args(args).arg("-D").arg(data);
        c.stdout(Stdio::null()).stderr(Stdio::null());
        c.status().map(|st| st.success()).unwrap_or(false)
    };
    let log = data.join("restart.log");
    let log = log.to_string_lossy();
    ctl(&["stop", "-m", "immediate", "-w"]) && ctl(&["start", "-w", "-l", &log])
}

fn tool(bin: Option<&Path>, name: &str) -> PathBuf {
    bin.map(|b| b.join(name))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

fn as_user(user: Option<&str>, program: &Path) -> Command {
    match user {
        Some(u) => {
            let mut c = Command::new("runuser");
            c.args(["-u", u, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// The directory of the installed server's binaries (Debian keeps them outside PATH).
fn bin_dir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").exists() && dir.join("postgres").exists() {
                // A link to the server's own directory (where its other tools are).
                return std::fs::canonicalize(dir.join("initdb"))
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .or(Some(dir));
            }
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").exists() && b.join("postgres").exists())
        .collect();
    // The newest version installed.
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn start() -> Result<Server, String> {
    if let Ok(url) = std::env::var("KASSA_TEST_PG_URL") {
        // The server's URL without its database: each test makes its own.
        let base = match url.rfind('/') {
            Some(i) if url[..i].contains("://") && i > url.find("://").unwrap_or(0) + 2 => {
                url[..i].to_string()
            }
            _ => url.trim_end_matches('/').to_string(),
        };
        return Ok(Server {
            base,
            bin: bin_dir(),
            data: None,
            user: None,
        });
    }
    if cfg!(windows) {
        return Err("no KASSA_TEST_PG_URL (a throwaway cluster is started on Unix only)".into());
    }
    let bin = bin_dir().ok_or("no KASSA_TEST_PG_URL and no PostgreSQL binaries (initdb) found")?;
    let user = if is_root() {
        let u = ["postgres", "nobody"]
            .into_iter()
            .find(|u| {
                Command::new("id")
                    .arg(u)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
            .ok_or("running as root and no postgres or nobody user to run PostgreSQL as")?;
        Some(u.to_string())
    } else {
        None
    };
    let root = std::env::temp_dir().join(format!("kassa-pg-{}", std::process::id()));
    let data = root.join("data");
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    if let Some(u) = &user {
        let ok = Command::new("chown")
            .arg(u)
            .arg(&root)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err(format!("cannot give {} to {u}", root.display()));
        }
    }
    let out = as_user(user.as_deref(), &bin.join("initdb"))
        .args([
            "-A",
            "trust",
            "-U",
            "kassa",
            "-E",
            "UTF8",
            "--no-locale",
            "-D",
        ])
        .arg(&data)
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!("initdb: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("a free port: {e}"))?;
    let conf = format!(
        "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nmax_connections = 200\n",
        root.display()
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, conf.as_bytes()))
        .map_err(|e| format!("postgresql.conf: {e}"))?;
    let log = root.join("server.log");
    let st = as_user(user.as_deref(), &bin.join("pg_ctl"))
        .args(["start", "-w", "-D"])
        .arg(&data)
        .arg("-l")
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("pg_ctl: {e}"))?;
    if !st.success() {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        return Err(format!("pg_ctl start failed: {log}"));
    }
    // Stopped when this process ends, however it ends: a watcher outlives it by a second.
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {runas} \"{ctl}\" stop -m immediate -D \"{data}\" >/dev/null 2>&1; rm -rf \"{root}\"",
            runas = user.as_deref().map(|u| format!("runuser -u {u} --")).unwrap_or_default(),
            pid = std::process::id(),
            ctl = bin.join("pg_ctl").display(),
            data = data.display(),
            root = root.display(),
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let base = format!("postgresql://kassa@127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let ok = Command::new(bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(Server {
                base,
                bin: Some(bin),
                data: Some(data),
                user,
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("the throwaway PostgreSQL did not come up in 30 s".into())
}
