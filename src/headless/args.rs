//! The command line's arguments, derived by clap straight onto the structs the commands
//! use: what is parsed is what runs.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Parser, Subcommand};

use crate::i18n::Lang;

fn seconds(raw: &str) -> Result<Duration, String> {
    raw.trim()
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| format!("{raw:?} is not a whole number of seconds"))
}

/// How a command waits for an outcome and how it prints it.
#[derive(Debug, Clone, clap::Args)]
pub struct Wait {
    /// How long to wait for the outcome, in seconds.
    #[arg(long, default_value = "120", value_parser = seconds, value_name = "TIMEOUT")]
    pub timeout: Duration,
    /// Return after the first reply.
    #[arg(long)]
    pub no_wait: bool,
    /// One JSON object on stdout: the operation, or kassa's error (docs/cli.schema.json).
    #[arg(long)]
    pub json: bool,
    /// Done when the operation is issued (a Wooppay invoice without `--wait-paid`).
    #[arg(skip)]
    pub until_issued: bool,
}

/// The flags every money command takes (DESIGN.md: `--yes`, `--id`, `--new`, `--timeout`,
/// `--no-wait`, `--json`).
#[derive(Debug, Clone, clap::Args)]
pub struct Money {
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// The client id to use (cash-in GUID, rrn, orderid, Wooppay referenceId); a known one follows that operation.
    #[arg(long)]
    pub id: Option<String>,
    /// Send even if a like operation was made in the last 10 minutes.
    #[arg(long)]
    pub new: bool,
    #[command(flatten)]
    pub wait: Wait,
}

/// The flags of an action on an existing hold.
#[derive(Debug, Clone, clap::Args)]
pub struct Act {
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub wait: Wait,
}

/// `kassa --version`: the version, and the git commit and build date when the build knew
/// them (build.rs).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), env!("KASSA_BUILD_INFO"));

/// The heading of the flags every command takes, in every `--help`.
const GLOBAL: &str = "Global options";

#[derive(Debug, Parser)]
#[command(
    name = "kassa",
    version = VERSION,
    about = "Terminal cashier console (Allpay, Wooppay, UPay, WebMoney)",
    after_help = "Exit codes: 0 done as asked; 1 usage or configuration error; 2 declined, \
rejected, cancelled or expired; 3 still pending or waiting for a person; 4 nothing was sent \
and nothing is pending (not confirmed, a likely duplicate, or a check that could not be \
made). A row once committed is never 4: never retry it with a new id."
)]
pub struct Cli {
    /// Configuration file (default: config.toml in the platform's config dir).
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        env = "KASSA_CONFIG",
        help_heading = GLOBAL
    )]
    pub config: Option<PathBuf>,
    /// Run against the built-in emulator with a separate demo journal; needs no config.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub demo: bool,
    /// Language of the interface and of the messages (default: [ui] lang).
    #[arg(long, global = true, value_enum, env = "KASSA_LANG", help_heading = GLOBAL)]
    pub lang: Option<Lang>,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

impl Cli {
    /// The console's own command lines (`kassa`, with `--config PATH`, `--demo`, `--lang
    /// ru|en`) read without building clap's tree of every command: a third of a millisecond
    /// of the first frame. Anything else, a flag given twice, or `env` naming a variable
    /// these flags read (`KASSA_CONFIG`, `KASSA_LANG`), is `None`, and clap reads it, with
    /// its help and its errors.
    pub fn console(
        args: &[std::ffi::OsString],
        env: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Option<Cli> {
        if env("KASSA_CONFIG").is_some() || env("KASSA_LANG").is_some() {
            return None;
        }
        let mut cli = Cli {
            config: None,
            demo: false,
            lang: None,
            command: None,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let arg = arg.to_str()?;
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (arg, None),
            };
            match name {
                "--demo" if inline.is_none() && !cli.demo => cli.demo = true,
                "--config" | "--lang" => {
                    let value = match inline {
                        Some(v) => v,
                        None => args.next()?.to_str()?,
                    };
                    if value.is_empty() || value.starts_with('-') {
                        return None;
                    }
                    if name == "--config" && cli.config.is_none() {
                        cli.config = Some(PathBuf::from(value));
                    } else if name == "--lang" && cli.lang.is_none() {
                        cli.lang = Some(match value {
                            "ru" => Lang::Ru,
                            "en" => Lang::En,
                            _ => return None,
                        });
                    } else {
                        return None;
                    }
                }
                _ => return None,
            }
        }
        Some(cli)
    }
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// The sandbox emulator of every provider, standalone.
    Emulator {
        /// The address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:8089")]
        listen: String,
        /// Polls a payment stays PENDING before its final state.
        #[arg(long, default_value_t = 2)]
        pending_polls: u32,
        /// How late a "slow" fault reply comes, in milliseconds.
        #[arg(long, default_value_t = 15_000)]
        slow_ms: u64,
    },
    /// Allpay: wallet check and cash-in.
    #[command(subcommand)]
    Allpay(AllpayCmd),
    /// UPay: card registration (3-D Secure) and holds.
    #[command(subcommand)]
    Upay(UpayCmd),
    /// WebMoney X1: invoices to a customer's WMID.
    #[command(subcommand)]
    Webmoney(WebmoneyCmd),
    /// Wooppay: invoices paid by QR code or link, the SMS code, status, balance.
    #[command(subcommand)]
    Wooppay(WooppayCmd),
    /// The journal of operations.
    #[command(subcommand)]
    Journal(JournalCmd),
    /// A day's report: counts and sums per provider, kind and state; cash at the till; shifts.
    Report {
        /// The local day (default: today).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        /// On a chain's journal: one till's operations (default: this till's).
        #[arg(long, value_name = "NAME", conflicts_with = "all")]
        till: Option<String>,
        /// On a chain's journal: every till's operations.
        #[arg(long)]
        all: bool,
        /// One JSON object on stdout (docs/cli.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// Drive every pending operation of the journal until stopped (Ctrl-C, SIGTERM): on a
    /// chain's journal, a head office's machine that sends what the tills left.
    Worker {
        /// Lines as JSON objects on stdout, one per operation that ends.
        #[arg(long)]
        json: bool,
    },
    /// Shell completions on stdout: `kassa completions bash > /etc/bash_completion.d/kassa`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff) on stdout: `kassa man > kassa.1; man ./kassa.1`.
    Man,
}

impl Cmd {
    /// Whether the command was asked for `--json` (its errors are JSON too).
    pub fn json(&self) -> bool {
        match self {
            Cmd::Emulator { .. } | Cmd::Completions { .. } | Cmd::Man => false,
            Cmd::Report { json, .. } | Cmd::Worker { json } => *json,
            Cmd::Allpay(AllpayCmd::CheckUser { json, .. }) => *json,
            Cmd::Allpay(AllpayCmd::CashIn(a)) => a.money.wait.json,
            Cmd::Allpay(AllpayCmd::Pay(a)) => a.money.wait.json,
            Cmd::Webmoney(WebmoneyCmd::Invoice(a)) => a.money.wait.json,
            Cmd::Upay(UpayCmd::RegisterCard(a)) => a.money.wait.json,
            Cmd::Upay(UpayCmd::Hold(h)) => match h {
                HoldCmd::Create(a) => a.money.wait.json,
                HoldCmd::Capture { act, .. } | HoldCmd::Cancel { act, .. } => act.wait.json,
                HoldCmd::Check { json, .. } => *json,
            },
            Cmd::Wooppay(w) => match w {
                WooppayCmd::Invoice(a) => a.money.wait.json,
                WooppayCmd::RequestCode { json, .. }
                | WooppayCmd::Status { json, .. }
                | WooppayCmd::Balance { json } => *json,
            },
            Cmd::Journal(j) => match j {
                JournalCmd::List { json, .. }
                | JournalCmd::Show { json, .. }
                | JournalCmd::Resume { json, .. }
                | JournalCmd::Resolve { json, .. }
                | JournalCmd::Export { json, .. }
                | JournalCmd::Migrate { json, .. } => *json,
            },
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AllpayCmd {
    /// Who owns a wallet login, and are they identified.
    CheckUser {
        /// The wallet login: the customer's phone (77071234567).
        login: String,
        /// One JSON object on stdout (docs/cli.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// Top up a wallet for cash; waits for a final state.
    CashIn(CashInArgs),
    /// Pay for a service (utilities, mobile): check, then pay; waits for a final state.
    Pay(PayArgs),
}

/// `kassa allpay cash-in LOGIN AMOUNT`
#[derive(Debug, Clone, clap::Args)]
pub struct CashInArgs {
    /// The wallet login: the customer's phone (77071234567).
    pub login: String,
    /// In tenge: 1000, "1 000", 1000,50 or 1000.5.
    #[arg(allow_hyphen_values = true)]
    pub amount: String,
    #[command(flatten)]
    pub money: Money,
}

/// `kassa allpay pay --login L --service S --account A --amount X`
#[derive(Debug, Clone, clap::Args)]
pub struct PayArgs {
    /// The client on whose behalf Allpay pays (a wallet login, e.g. 77071234567).
    #[arg(long)]
    pub login: String,
    /// The service's public code (an integer, e.g. 185).
    #[arg(long)]
    pub service: String,
    /// The account at that service (its format depends on the service).
    #[arg(long, allow_hyphen_values = true)]
    pub account: String,
    /// In tenge: 1000, "1 000", 1000,50 or 1000.5.
    #[arg(long, allow_hyphen_values = true)]
    pub amount: String,
    #[command(flatten)]
    pub money: Money,
}

#[derive(Debug, Subcommand)]
pub enum WebmoneyCmd {
    /// Send an invoice to a customer's WMID (X1); waits until it is issued.
    Invoice(InvoiceArgs),
}

/// `kassa webmoney invoice --wmid WMID --amount AMOUNT --desc TEXT`
#[derive(Debug, Clone, clap::Args)]
pub struct InvoiceArgs {
    /// The customer's WMID (12 digits).
    #[arg(long)]
    pub wmid: String,
    /// In the purse's currency: 10.5, "1 000", 1000,50.
    #[arg(long, allow_hyphen_values = true)]
    pub amount: String,
    /// What is being paid for (Windows-1251, at most 255 characters).
    #[arg(long, allow_hyphen_values = true)]
    pub desc: String,
    /// The store purse (default: [webmoney] purse).
    #[arg(long)]
    pub purse: Option<String>,
    /// Delivery address (Windows-1251, at most 255 characters).
    #[arg(long, allow_hyphen_values = true)]
    pub address: Option<String>,
    /// Maximum protection period in days (0-255).
    #[arg(long, allow_hyphen_values = true)]
    pub period: Option<String>,
    /// Maximum valid period in days (0-255).
    #[arg(long, allow_hyphen_values = true)]
    pub expiration: Option<String>,
    #[command(flatten)]
    pub money: Money,
}

#[derive(Debug, Subcommand)]
pub enum UpayCmd {
    /// Register a customer's card; the card number and CVV are typed unseen (or read from
    /// stdin with --stdin), never given as arguments. Waits for the 3-D Secure link.
    RegisterCard(RegisterArgs),
    /// Holds on a registered card: create, capture, cancel, check.
    #[command(subcommand)]
    Hold(HoldCmd),
}

/// `kassa upay register-card`
#[derive(Debug, Clone, clap::Args)]
pub struct RegisterArgs {
    /// MM/YY or MMYY.
    #[arg(long)]
    pub expiry: String,
    /// The card holder's phone: 998XXXXXXXXX.
    #[arg(long)]
    pub phone: String,
    /// The name on the card, in Latin letters.
    #[arg(long)]
    pub holder: String,
    /// Read the card number and the CVV from stdin, one per line.
    #[arg(long)]
    pub stdin: bool,
    #[command(flatten)]
    pub money: Money,
}

#[derive(Debug, Subcommand)]
pub enum HoldCmd {
    /// Place a hold; waits until it is held.
    Create(HoldArgs),
    /// Capture a held hold (its PartnerTrxId is committed before sending).
    Capture {
        /// UPay's HoldId of the hold.
        #[arg(long)]
        hold_id: String,
        /// The sum you expect taken (sum: 1000, "1 000", 1000,50): refused if the journal's
        /// hold is of another; for a hold placed elsewhere, a capture UPay reports of another
        /// sum waits for a person.
        #[arg(long, allow_hyphen_values = true)]
        amount: Option<String>,
        #[command(flatten)]
        act: Act,
    },
    /// Cancel a held hold.
    Cancel {
        /// UPay's HoldId of the hold.
        #[arg(long)]
        hold_id: String,
        #[command(flatten)]
        act: Act,
    },
    /// Ask UPay about a hold, by HoldId or by a capture's PartnerTrxId.
    #[command(group(ArgGroup::new("target").required(true).args(["hold_id", "partner_trx_id"])))]
    Check {
        /// The hold's HoldId.
        #[arg(long)]
        hold_id: Option<String>,
        /// A capture's PartnerTrxId.
        #[arg(long)]
        partner_trx_id: Option<String>,
        /// One JSON object on stdout (docs/cli.schema.json).
        #[arg(long)]
        json: bool,
    },
}

/// `kassa upay hold create`
#[derive(Debug, Clone, clap::Args)]
pub struct HoldArgs {
    /// The CardToken, or the journal id of a confirmed card registration.
    #[arg(long)]
    pub card_token: String,
    /// The account at the service.
    #[arg(long, allow_hyphen_values = true)]
    pub account: String,
    /// In sum: 1000, "1 000", 1000,50.
    #[arg(long, allow_hyphen_values = true)]
    pub amount: String,
    /// The service (default: [upay] service_id).
    #[arg(long, allow_hyphen_values = true)]
    pub service_id: Option<String>,
    /// How long the money stays held (default: [upay] hold_minutes).
    #[arg(long, allow_hyphen_values = true)]
    pub minutes: Option<String>,
    #[command(flatten)]
    pub money: Money,
}

#[derive(Debug, Subcommand)]
pub enum WooppayCmd {
    /// Issue an invoice; waits until it is issued (operationId and link), or paid.
    Invoice(Box<WpInvoiceArgs>),
    /// Ask Wooppay to send the customer the SMS code for the mobile variant (once).
    RequestCode {
        /// The customer's mobile number (77012345678, +7 701 234-56-78).
        #[arg(long)]
        phone: String,
        /// One JSON object on stdout (docs/cli.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// An operation's status (cash_getOperationData).
    Status {
        /// Wooppay's operationId (a number).
        operation_id: String,
        /// One JSON object on stdout (docs/cli.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// The merchant's balance.
    Balance {
        /// One JSON object on stdout (docs/cli.schema.json).
        #[arg(long)]
        json: bool,
    },
}

/// `kassa wooppay invoice --amount AMOUNT [--variant ...]`
#[derive(Debug, Clone, clap::Args)]
pub struct WpInvoiceArgs {
    /// In tenge: 1500, "1 500", 1500,50.
    #[arg(long, allow_hyphen_values = true)]
    pub amount: String,
    /// plain (cash_createInvoice), card (card binding), service (by service name),
    /// mobile (from the mobile balance, needs --phone and --sms-code).
    #[arg(long)]
    pub variant: Option<String>,
    /// A short comment that goes into the customer's history (at most 255 characters).
    #[arg(long, allow_hyphen_values = true)]
    pub description: Option<String>,
    /// The customer's phone (userPhone).
    #[arg(long)]
    pub phone: Option<String>,
    /// The customer's e-mail (userEmail).
    #[arg(long)]
    pub email: Option<String>,
    /// The merchant's service name (the service variant).
    #[arg(long)]
    pub service: Option<String>,
    /// The SMS code the customer reads out (the mobile variant; never stored).
    #[arg(long)]
    pub sms_code: Option<String>,
    /// When the invoice stops being payable: "YYYY-MM-DD HH:MM[:SS]", local time
    /// (default: now + [wooppay] invoice_ttl_minutes).
    #[arg(long)]
    pub death_date: Option<String>,
    /// Wait until the invoice is paid, not only issued.
    #[arg(long)]
    pub wait_paid: bool,
    #[command(flatten)]
    pub money: Money,
}

#[derive(Debug, Subcommand)]
pub enum JournalCmd {
    /// Operations, newest first.
    List {
        /// Only the operations not final yet.
        #[arg(long)]
        pending: bool,
        /// Only the operations one till recorded (a chain's journal).
        #[arg(long, value_name = "NAME")]
        till: Option<String>,
        /// One JSON object on stdout (docs/cli.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// One operation with its audit trail.
    Show {
        /// The operation's id (a GUID may be typed without braces).
        id: String,
        /// One JSON object on stdout (docs/cli.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// Drive every pending operation to a final state.
    Resume {
        /// How long to drive them, in seconds.
        #[arg(long, default_value = "120", value_parser = seconds, value_name = "TIMEOUT")]
        timeout: Duration,
        /// One JSON object on stdout (docs/cli.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// A person's finding for an operation that waits for them: what happened
    /// (--to), or the provider's id for it (--provider-id: a UPay HoldId, a Wooppay
    /// operationId, a WebMoney invoice id), which brings it back into its lifecycle.
    Resolve {
        /// The operation's id.
        id: String,
        /// completed, declined or cancelled.
        #[arg(
            long,
            conflicts_with = "provider_id",
            required_unless_present = "provider_id"
        )]
        to: Option<String>,
        /// The provider's id for it: a UPay HoldId, a Wooppay operationId, a WebMoney
        /// invoice id.
        #[arg(long)]
        provider_id: Option<String>,
        /// What the person found and where (always written to the trail).
        #[arg(long, allow_hyphen_values = true)]
        note: String,
        /// One JSON object on stdout (docs/cli.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// Copies a till's own SQLite journal into the journal the configuration names (a
    /// chain's PostgreSQL); running it again adds nothing.
    Migrate {
        /// The till's journal file (kassa.db).
        #[arg(long, value_name = "PATH")]
        from: PathBuf,
        /// The till its rows are recorded for, where they name none (default: this till).
        #[arg(long, value_name = "NAME")]
        till: Option<String>,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Operations as a CSV file for a spreadsheet (UTF-8 with BOM), oldest first.
    Export {
        /// The file to write (replaced if it exists).
        #[arg(long, value_name = "FILE")]
        csv: PathBuf,
        /// The first day, YYYY-MM-DD, local time (default: the first operation).
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// The last day, YYYY-MM-DD, local time, included (default: the last operation).
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        /// One JSON object on stdout (docs/cli.schema.json).
        #[arg(long)]
        json: bool,
    },
}

#[cfg(test)]
mod console_tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<std::ffi::OsString> {
        args.iter().map(Into::into).collect()
    }

    /// What the console's quick reading gives is what clap gives for the same line; what
    /// it does not take, clap reads.
    #[test]
    fn the_consoles_command_lines_read_as_clap_reads_them() {
        let taken: &[&[&str]] = &[
            &[],
            &["--demo"],
            &["--config", "kassa.toml"],
            &["--config=/etc/kassa/kassa.toml", "--lang", "en"],
            &["--lang=ru", "--demo"],
            &["--demo", "--config", "касса.toml", "--lang=en"],
        ];
        for line in taken {
            let quick = Cli::console(&os(line), |_| None)
                .unwrap_or_else(|| panic!("{line:?} is the console's"));
            let mut full = vec!["kassa"];
            full.extend_from_slice(line);
            let clap = Cli::try_parse_from(&full).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            assert_eq!(
                (
                    &quick.config,
                    quick.demo,
                    quick.lang,
                    quick.command.is_none()
                ),
                (&clap.config, clap.demo, clap.lang, clap.command.is_none()),
                "{line:?}"
            );
        }
        let left_to_clap: &[&[&str]] = &[
            &["--demo", "--demo"],
            &["--demo=true"],
            &["allpay", "check-user", "x"],
            &["--config"],
            &["--config", "--demo"],
            &["--config", "a.toml", "--config", "b.toml"],
            &["--config="],
            &["--lang", "de"],
            &["--lang", "RU"],
            &["--help"],
            &["-h"],
            &["--version"],
            &["--json"],
            &["journal", "--demo"],
        ];
        for line in left_to_clap {
            assert!(Cli::console(&os(line), |_| None).is_none(), "{line:?}");
        }
        let env = |name: &str| (name == "KASSA_CONFIG").then(|| "from-env.toml".into());
        assert!(
            Cli::console(&os(&[]), env).is_none(),
            "clap reads the environment"
        );
    }
}
