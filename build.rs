//! Build information for `kassa --version`: the git commit and the build date, when known.
//! Never fails: without git (a tarball) or a clock the version stands alone.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    catalogues();
    // Rebuilt when the checked-out commit moves (only files that exist: a missing one
    // would make cargo rerun this every time).
    let mut watched = vec![".git/HEAD".to_string(), ".git/packed-refs".to_string()];
    if let Ok(head) = std::fs::read_to_string(".git/HEAD")
        && let Some(r) = head.trim().strip_prefix("ref: ")
    {
        watched.push(format!(".git/{r}"));
    }
    for f in watched.iter().filter(|f| std::path::Path::new(f).exists()) {
        println!("cargo:rerun-if-changed={f}");
    }
    let commit = Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()));
    let date = build_date();
    let info = match (commit, date) {
        (Some(c), Some(d)) => format!(" ({c} {d})"),
        (Some(c), None) => format!(" ({c})"),
        (None, Some(d)) => format!(" ({d})"),
        (None, None) => String::new(),
    };
    println!("cargo:rustc-env=KASSA_BUILD_INFO={info}");
}

/// The build's UTC day, YYYY-MM-DD; `SOURCE_DATE_EPOCH` wins for reproducible builds.
fn build_date() -> Option<String> {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let secs = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) => s.trim().parse::<u64>().ok()?,
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs(),
    };
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// The message catalogues as sorted `(key, text)` tables in `$OUT_DIR/catalogues.rs`: the
/// first screen looks its words up at once instead of parsing TOML first (half of the
/// first frame's time). A catalogue that does not parse stops the build.
#[allow(clippy::expect_used, clippy::panic)]
fn catalogues() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let mut code = String::new();
    for (name, file) in [("RU", "assets/i18n/ru.toml"), ("EN", "assets/i18n/en.toml")] {
        println!("cargo:rerun-if-changed={file}");
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let table: std::collections::BTreeMap<String, String> =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        code.push_str(&format!("pub static {name}: &[(&str, &str)] = &[\n"));
        for (k, v) in &table {
            code.push_str(&format!("    ({k:?}, {v:?}),\n"));
        }
        code.push_str("];\n");
    }
    std::fs::write(out.join("catalogues.rs"), code).expect("writing catalogues.rs");
}
