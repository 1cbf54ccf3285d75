//! `[printer]`: where receipts are printed (a device or `host:port`) and on what paper.

use std::path::{Path, PathBuf};

use super::{ConfigError, PrinterSection};

/// Where receipts go: a device file (`/dev/usb/lp0`) or a network printer (`host:9100`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterTarget {
    Device(PathBuf),
    Tcp(String),
}

/// The receipt paper: 58 mm (32 characters a line) or 80 mm (48).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaperWidth {
    Mm58,
    #[default]
    Mm80,
}

impl PaperWidth {
    pub fn from_mm(mm: u32) -> Option<PaperWidth> {
        match mm {
            58 => Some(PaperWidth::Mm58),
            80 => Some(PaperWidth::Mm80),
            _ => None,
        }
    }

    pub fn mm(self) -> u32 {
        match self {
            PaperWidth::Mm58 => 58,
            PaperWidth::Mm80 => 80,
        }
    }
}

/// `[printer]`: where receipts are printed and on what paper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterSettings {
    pub target: PrinterTarget,
    pub paper: PaperWidth,
}

pub(super) fn printer_settings(
    p: &PrinterSection,
    path: &Path,
) -> Result<PrinterSettings, ConfigError> {
    let invalid = |key: &str, expected: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        expected,
    };
    let paper = match p.width_mm {
        None => PaperWidth::default(),
        Some(w) => PaperWidth::from_mm(w)
            .ok_or_else(|| invalid("printer.width_mm", format!("58 or 80, got {w}")))?,
    };
    let target = match (&p.device, &p.tcp) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "printer.device",
                "either `device` or `tcp`, not both".into(),
            ));
        }
        (None, None) => {
            return Err(invalid(
                "printer.device",
                "a device path (/dev/usb/lp0) or `tcp = \"host:9100\"`: [printer] names no printer"
                    .into(),
            ));
        }
        (Some(d), None) if d.as_os_str().is_empty() => {
            return Err(invalid("printer.device", "a device path, got \"\"".into()));
        }
        (Some(d), None) => PrinterTarget::Device(windows_port(d)),
        (None, Some(t)) => {
            let t = t.trim();
            let port_ok = t
                .rsplit_once(':')
                .filter(|(host, _)| !host.trim_matches(['[', ']']).is_empty())
                .and_then(|(_, port)| port.parse::<u16>().ok())
                .is_some_and(|port| port > 0);
            if !port_ok {
                return Err(invalid(
                    "printer.tcp",
                    format!("host:port, e.g. \"192.0.2.10:9100\", got \"{t}\""),
                ));
            }
            PrinterTarget::Tcp(t.to_string())
        }
    };
    Ok(PrinterSettings { target, paper })
}

/// A Windows printer port as kassa opens it: `COM3` or `LPT1` becomes `\\.\COM3` (the
/// device namespace, which ports above 9 need); `\\.\COM3` and a shared printer's
/// `\\server\Receipt` are kept as written. Elsewhere, the path as it is.
fn windows_port(d: &Path) -> PathBuf {
    if !cfg!(windows) {
        return d.to_path_buf();
    }
    let name = d.to_string_lossy();
    let upper = name.to_ascii_uppercase();
    let port = ["COM", "LPT"].iter().any(|p| {
        upper
            .strip_prefix(p)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    if port {
        PathBuf::from(format!(r"\\.\{upper}"))
    } else {
        d.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixture::resolve;

    #[test]
    fn printer_section_gives_the_target_and_the_paper() {
        let s = resolve("[printer]\ntcp = \"192.0.2.10:9100\"\nwidth_mm = 58\n")
            .map_err(|e| e.to_string());
        let p = s.as_ref().ok().and_then(|s| s.printer.clone());
        assert_eq!(
            p,
            Some(PrinterSettings {
                target: PrinterTarget::Tcp("192.0.2.10:9100".into()),
                paper: PaperWidth::Mm58,
            })
        );
        let s = resolve("[printer]\ndevice = \"/dev/usb/lp0\"\n").map_err(|e| e.to_string());
        let p = s.as_ref().ok().and_then(|s| s.printer.clone());
        assert_eq!(
            p,
            Some(PrinterSettings {
                target: PrinterTarget::Device("/dev/usb/lp0".into()),
                paper: PaperWidth::Mm80,
            })
        );
        let s = resolve("").map_err(|e| e.to_string());
        assert_eq!(s.map(|s| s.printer.is_none()), Ok(true));
    }

    #[test]
    fn a_windows_port_is_opened_in_the_device_namespace() {
        let shown = |d: &str| windows_port(Path::new(d)).display().to_string();
        if cfg!(windows) {
            assert_eq!(shown("COM3"), r"\\.\COM3");
            assert_eq!(shown("com12"), r"\\.\COM12");
            assert_eq!(shown("LPT1"), r"\\.\LPT1");
            assert_eq!(shown(r"\\.\COM3"), r"\\.\COM3");
            assert_eq!(shown(r"\\shop\Receipt"), r"\\shop\Receipt");
            assert_eq!(shown("COMX"), "COMX");
        } else {
            assert_eq!(shown("COM3"), "COM3");
            assert_eq!(shown("/dev/usb/lp0"), "/dev/usb/lp0");
        }
    }
}
