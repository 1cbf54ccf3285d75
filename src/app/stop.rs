//! The operating system asking the console to stop: SIGTERM or SIGHUP on Unix (a service
//! manager, a closed SSH session); Ctrl+Break, the console window closing, log-off or
//! shutdown on Windows. The loop then restores the terminal and leaves; operations in
//! flight stay pending and resume at the next start. (Ctrl+C is a key in raw mode, and
//! asks first when money is in flight.)

/// The stop requests this process listens for; [`Stop::recv`] waits for the first.
pub struct Stop {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
    #[cfg(windows)]
    brk: Option<tokio::signal::windows::CtrlBreak>,
    #[cfg(windows)]
    close: Option<tokio::signal::windows::CtrlClose>,
    #[cfg(windows)]
    logoff: Option<tokio::signal::windows::CtrlLogoff>,
    #[cfg(windows)]
    shutdown: Option<tokio::signal::windows::CtrlShutdown>,
}

/// Waits on `s` if it could be installed, for ever otherwise.
macro_rules! on {
    ($s:expr) => {
        async {
            match $s.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
    };
}

impl Stop {
    /// Installs the listeners (one that cannot be installed is simply never heard).
    pub fn new() -> Stop {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Stop {
                term: signal(SignalKind::terminate()).ok(),
                hup: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(windows)]
        {
            use tokio::signal::windows;
            Stop {
                brk: windows::ctrl_break().ok(),
                close: windows::ctrl_close().ok(),
                logoff: windows::ctrl_logoff().ok(),
                shutdown: windows::ctrl_shutdown().ok(),
            }
        }
    }

    /// The first stop request that comes, named for the log.
    pub async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                () = on!(self.term) => "SIGTERM",
                () = on!(self.hup) => "SIGHUP",
            }
        }
        #[cfg(windows)]
        {
            tokio::select! {
                () = on!(self.brk) => "Ctrl+Break",
                () = on!(self.close) => "the console window closing",
                () = on!(self.logoff) => "log-off",
                () = on!(self.shutdown) => "shutdown",
            }
        }
    }
}
