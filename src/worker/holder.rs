//! Who holds a lease: this process's name in the journal, and whether the process behind
//! another name may still be running (a killed kassa's rows are freed at once).

/// Where this process's pid means something: its pid namespace (`4026531836` of
/// `pid:[4026531836]`) on this boot of this machine (the kernel's boot id, new at every boot
/// and on every host), so that a pid in a lease holder is only ever compared where it was
/// taken: the same number on another till, in another container or before a reboot is
/// another process. `?` when either is unknown.
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
    let proc_dir = std::path::Path::new("/proc");
    if !proc_dir.join("self").exists() {
        return true;
    }
    proc_dir.join(pid.to_string()).exists()
}

#[cfg(test)]
mod lease_tests {
    use super::holder_alive;

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
}
