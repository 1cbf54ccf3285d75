//! The console in a real pseudo-terminal (issue 16), as a cashier's terminal drives it: a
//! paste of `150⏎y` into the amount, and the same keys typed in one burst, send nothing;
//! a `y` pressed after the question was on screen sends the payment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kassa::journal::{Journal, ListFilter, State};
use nix::pty::{Winsize, openpty};

/// kassa running in a pseudo-terminal of 80x24, and everything it has written to it.
struct Console {
    master: std::fs::File,
    out: Arc<Mutex<Vec<u8>>>,
    child: Child,
}

impl Console {
    fn start(home: &Path) -> Console {
        let size = Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&size), None).unwrap();
        let slave = pty.slave;
        let child = Command::new(env!("CARGO_BIN_EXE_kassa"))
            .args(["--demo", "--lang", "en"])
            .env("HOME", home)
            .env("TERM", "xterm-256color")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .unwrap();
        let master = std::fs::File::from(pty.master);
        let out = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends when the child closes the terminal (EIO) or the test ends.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Console { master, out, child }
    }

    /// Writes `bytes` to the terminal in one write, as one burst.
    fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
        self.master.flush().unwrap();
    }

    fn written(&self) -> usize {
        self.out.lock().unwrap().len()
    }

    /// Waits until the console has written `text` since byte `from`.
    fn wait_for(&self, text: &str, from: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let seen = String::from_utf8_lossy(&self.out.lock().unwrap()[from..]).into_owned();
            if seen.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {text:?} on the console; it wrote:\n{seen}"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rows(home: &Path) -> Vec<kassa::journal::Operation> {
    let path = home.join(".local/share/kassa/kassa-demo.db");
    if !path.exists() {
        return Vec::new();
    }
    Journal::open(&path)
        .unwrap()
        .list(&ListFilter::default())
        .unwrap()
}

#[test]
fn a_paste_or_a_burst_of_keys_never_confirms_a_payment_in_a_real_terminal() {
    let home = tempfile::tempdir().unwrap();
    let mut c = Console::start(home.path());
    c.wait_for("Allpay wallet top-up", 0);
    let at = c.written();
    c.send(b"1");
    c.wait_for("Login", at);
    let at = c.written();
    c.send(b"77072734954\r");
    c.wait_for("identified", at);

    // A paste (bracketed, as terminals send it) of 150, Enter, y into the amount.
    let at = c.written();
    c.send(b"\x1b[200~150\ry\x1b[201~");
    c.wait_for("150", at);
    std::thread::sleep(Duration::from_millis(700));
    assert!(rows(home.path()).is_empty(), "a paste sent a payment");

    // The same keys typed in one burst (a terminal that does not bracket pastes): the
    // question comes up, the y in the burst does not answer it.
    let at = c.written();
    c.send(b"\x7f\x7f\x7f\x7f\x7f\x7f150\ry");
    c.wait_for("before the question", at);
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        rows(home.path()).is_empty(),
        "a burst of keys sent a payment"
    );

    // The cashier reads the question, then presses y: sent, once, and completed.
    std::thread::sleep(Duration::from_millis(300));
    c.send(b"y");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = rows(home.path());
        if r.first().is_some_and(|o| o.state == State::Completed) {
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].amount.minor(), 15_000, "150 ₸, as typed");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the payment never completed: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    c.send(b"q");
}
