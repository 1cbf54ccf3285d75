//! Who holds a lease: this process's name in the journal, and whether the process behind
//! another name may still be running (a killed kassa's rows are freed at once).

/// Where this process's pid means something. On Linux: its pid namespace (`4026531836` of
/// `pid:[4026531836]`) on this boot of this machine (the kernel's boot id, new at every boot
/// and on every host). On Windows: this host (`win-` and its computer name). A pid in a
/// lease holder is only ever compared where it was taken: the same number on another till,
/// in another container or (on Linux) before a reboot is another process. `?` when unknown.
#[cfg(not(windows))]
pub(super) fn pid_namespace() -> String {
    let ns = std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|p| {
            p.to_string_lossy()
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        })
        .filter(|n| !n.is_empty());
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|b| {
            b.chars()
                .filter(char::is_ascii_hexdigit)
                .take(16)
                .collect::<String>()
        })
        .filter(|b| !b.is_empty());
    match (ns, boot) {
        (Some(ns), Some(boot)) => format!("{ns}.{boot}"),
        _ => "?".into(),
    }
}

#[cfg(windows)]
pub(super) fn pid_namespace() -> String {
    // Only letters, digits and `-` of the computer name: the holder is `pid<N>-<r>@<this>`.
    let host: String = std::env::var("COMPUTERNAME")
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if host.is_empty() {
        "?".into()
    } else {
        format!("win-{host}")
    }
}

/// Whether process `pid` of this host or pid namespace exists: `None` when that cannot be
/// told (then the holder counts as alive).
#[cfg(not(windows))]
fn pid_exists(pid: u32) -> Option<bool> {
    let proc_dir = std::path::Path::new("/proc");
    if !proc_dir.join("self").exists() {
        return None;
    }
    Some(proc_dir.join(pid.to_string()).exists())
}

/// Windows: asks the system's process list (`tasklist`, no `unsafe` in kassa). A pid reused
/// by another program reads as alive, the safe side: its lease is waited out. A list that
/// does not show this very process cannot be read (Wine's `tasklist` is a stub; a
/// localized or changed output): then nothing is known, and the holder counts as alive.
#[cfg(windows)]
fn pid_exists(pid: u32) -> Option<bool> {
    let listed = |pid: u32| -> Option<bool> {
        let out = std::process::Command::new("tasklist")
            .args(["/FI", &format!("PID eq {pid}"), "/NH", "/FO", "CSV"])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        // One CSV line per process: "image","pid",...
        let quoted = format!("\"{pid}\"");
        Some(
            text.lines()
                .any(|l| l.split(',').nth(1) == Some(quoted.as_str())),
        )
    };
    if listed(std::process::id()) != Some(true) {
        return None;
    }
    listed(pid)
}

/// Whether the process that wrote lease holder `h` (`pid<N>-<random>@<pid namespace>`) may
/// still be running. Only a holder that is certainly gone is `false`: a process of our own pid
/// namespace whose pid no longer exists. Anything unsure (our own pid under another holder:
/// a reused pid, or a second worker in this process; another namespace or machine; no /proc;
/// a holder in another form) counts as alive and waits for its lease to run out.
pub(super) fn holder_alive(ours: &str, h: &str) -> bool {
    if h == ours {
        return true;
    }
    let namespace = |x: &str| x.rsplit_once('@').map(|(_, n)| n.to_string());
    match (namespace(ours), namespace(h)) {
        (Some(a), Some(b)) if a == b && a != "?" => {}
        _ => return true,
    }
    let Some(pid) = h
        .strip_prefix("pid")
        .and_then(|rest| rest.split('-').next())
        .and_then(|n| n.parse::<u32>().ok())
    else {
        return true;
    };
    if pid == std::process::id() {
        return true;
    }
    pid_exists(pid).unwrap_or(true)
}

#[cfg(test)]
mod lease_tests {
    #[cfg(not(windows))]
    use super::holder_alive;

    #[cfg(not(windows))]
    #[test]
    fn only_a_holder_certainly_gone_is_dead() {
        let ns = super::pid_namespace();
        let ours = format!("pid{}-aaaa@{ns}", std::process::id());
        assert!(holder_alive(&ours, &ours));
        assert!(holder_alive(&ours, "someone-else"));
        if ns != "?" {
            let me_before = format!("pid{}-bbbb@{ns}", std::process::id());
            assert!(
                holder_alive(&ours, &me_before),
                "our pid, another holder: perhaps another worker here, so unsure"
            );
            assert!(
                !holder_alive(&ours, &format!("pid4000000000-cccc@{ns}")),
                "no such pid"
            );
            assert!(
                holder_alive(&ours, &format!("pid1-dddd@{ns}")),
                "init is alive"
            );
            assert!(
                holder_alive(&ours, "pid4000000000-cccc@1"),
                "another pid namespace: unsure, so alive"
            );
        }
    }

    #[cfg(not(windows))]
    #[test]
    fn the_place_of_a_pid_names_the_boot_of_the_host() {
        let here = super::pid_namespace();
        if here != "?" {
            let (ns, boot) = here.split_once('.').unwrap_or_default();
            assert!(!ns.is_empty() && !boot.is_empty(), "{here}");
            // The same pid namespace number on another host (another boot id) is unsure.
            let ours = format!("pid{}-aaaa@{here}", std::process::id());
            let elsewhere = format!("pid4000000000-cccc@{ns}.0000000000000000");
            assert!(super::holder_alive(&ours, &elsewhere));
        }
    }

    /// On Windows the place is the host, and a pid gone from its process list is dead.
    #[cfg(windows)]
    #[test]
    fn on_windows_a_holder_is_named_by_its_host_and_checked_in_the_process_list() {
        let here = super::pid_namespace();
        assert!(here.starts_with("win-"), "{here}");
        let ours = format!("pid{}-aaaa@{here}", std::process::id());
        let gone = format!("pid4000000000-cccc@{here}");
        match super::pid_exists(std::process::id()) {
            // The process list can be read: a pid not in it is gone.
            Some(true) => assert!(!super::holder_alive(&ours, &gone)),
            // It cannot (Wine's tasklist is a stub): unsure, so alive.
            None => assert!(super::holder_alive(&ours, &gone)),
            Some(false) => panic!("this process is not in its own list"),
        }
        assert!(super::holder_alive(
            &ours,
            "pid4000000000-cccc@win-ELSEWHERE"
        ));
    }
}
