//! The `kassa` command: parses the arguments, loads the configuration, starts the emulator
//! under `--demo`, and hands over to the TUI or a headless command. Exit codes: 0 done,
//! 1 usage or configuration, 2 declined/rejected, 3 pending or needs reconciliation.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use kassa::config::{self, ConfigFile, Settings};
use kassa::emulator::{self, Emulator};
use kassa::exit::Exit;
use kassa::headless::{self, CashInArgs, Money, Wait};
use kassa::i18n::{Lang, t, tf};
use kassa::journal::Journal;

#[derive(Debug, Parser)]
#[command(
    name = "kassa",
    version,
    about = "Terminal cashier console (Allpay, Wooppay, UPay, WebMoney)"
)]
struct Cli {
    /// Configuration file (default: config.toml in the platform's config dir).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Run against the built-in emulator with a separate demo journal; needs no config.
    #[arg(long, global = true)]
    demo: bool,
    /// Language of the interface.
    #[arg(long, global = true, value_enum)]
    lang: Option<Lang>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// The sandbox emulator of every provider, standalone.
    Emulator {
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
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum UpayCmd {
    /// Register a customer's card; the card number and CVV are typed unseen (or read from
    /// stdin with --stdin), never given as arguments. Waits for the 3-D Secure link.
    RegisterCard {
        /// MM/YY or MMYY.
        #[arg(long)]
        expiry: String,
        /// The card holder's phone: 998XXXXXXXXX.
        #[arg(long)]
        phone: String,
        /// The name on the card, in Latin letters.
        #[arg(long)]
        holder: String,
        /// Read the card number and the CVV from stdin, one per line.
        #[arg(long)]
        stdin: bool,
        #[command(flatten)]
        money: MoneyFlags,
    },
    /// Holds on a registered card: create, capture, cancel, check.
    #[command(subcommand)]
    Hold(HoldCmd),
}

#[derive(Debug, Subcommand)]
enum HoldCmd {
    /// Place a hold; waits until it is held.
    Create {
        /// The CardToken, or the journal id of a confirmed card registration.
        #[arg(long)]
        card_token: String,
        /// The account at the service.
        #[arg(long, allow_hyphen_values = true)]
        account: String,
        /// In sum: 1000, "1 000", 1000,50.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// The service (default: [upay] service_id).
        #[arg(long, allow_hyphen_values = true)]
        service_id: Option<String>,
        /// How long the money stays held (default: [upay] hold_minutes).
        #[arg(long, allow_hyphen_values = true)]
        minutes: Option<String>,
        #[command(flatten)]
        money: MoneyFlags,
    },
    /// Capture a held hold (its PartnerTrxId is committed before sending).
    Capture {
        #[arg(long)]
        hold_id: String,
        #[command(flatten)]
        act: ActFlags,
    },
    /// Cancel a held hold.
    Cancel {
        #[arg(long)]
        hold_id: String,
        #[command(flatten)]
        act: ActFlags,
    },
    /// Ask UPay about a hold, by HoldId or by a capture's PartnerTrxId.
    Check {
        #[arg(long, group = "target", required = true)]
        hold_id: Option<String>,
        #[arg(long, group = "target", required = true)]
        partner_trx_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// The flags of an action on an existing hold.
#[derive(Debug, clap::Args)]
struct ActFlags {
    /// Do not ask for confirmation.
    #[arg(long)]
    yes: bool,
    /// How long to wait for the outcome, in seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Return after the first reply.
    #[arg(long)]
    no_wait: bool,
    /// One JSON object on stdout with the operation's id and state.
    #[arg(long)]
    json: bool,
}

impl ActFlags {
    fn wait(&self) -> Wait {
        Wait {
            timeout: Duration::from_secs(self.timeout),
            no_wait: self.no_wait,
            json: self.json,
            until_issued: false,
        }
    }
}

#[derive(Debug, Subcommand)]
enum WooppayCmd {
    /// Issue an invoice; waits until it is issued (operationId and link), or paid.
    Invoice(Box<WooppayInvoiceCmd>),
    /// Ask Wooppay to send the customer the SMS code for the mobile variant (once).
    RequestCode {
        /// The customer's mobile number (77012345678, +7 701 234-56-78).
        #[arg(long)]
        phone: String,
        #[arg(long)]
        json: bool,
    },
    /// An operation's status (cash_getOperationData).
    Status {
        operation_id: String,
        #[arg(long)]
        json: bool,
    },
    /// The merchant's balance.
    Balance {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
struct WooppayInvoiceCmd {
    /// In tenge: 1500, "1 500", 1500,50.
    #[arg(long, allow_hyphen_values = true)]
    amount: String,
    /// plain (cash_createInvoice), card (card binding), service (by service name),
    /// mobile (from the mobile balance, needs --phone and --sms-code).
    #[arg(long)]
    variant: Option<String>,
    /// A short comment that goes into the customer's history (at most 255 characters).
    #[arg(long, allow_hyphen_values = true)]
    description: Option<String>,
    /// The customer's phone (userPhone).
    #[arg(long)]
    phone: Option<String>,
    /// The customer's e-mail (userEmail).
    #[arg(long)]
    email: Option<String>,
    /// The merchant's service name (the service variant).
    #[arg(long)]
    service: Option<String>,
    /// The SMS code the customer reads out (the mobile variant; never stored).
    #[arg(long)]
    sms_code: Option<String>,
    /// When the invoice stops being payable: "YYYY-MM-DD HH:MM[:SS]", local time
    /// (default: now + [wooppay] invoice_ttl_minutes).
    #[arg(long)]
    death_date: Option<String>,
    /// Wait until the invoice is paid, not only issued.
    #[arg(long)]
    wait_paid: bool,
    #[command(flatten)]
    money: MoneyFlags,
}

#[derive(Debug, Subcommand)]
enum WebmoneyCmd {
    /// Send an invoice to a customer's WMID (X1); waits until it is issued.
    Invoice(InvoiceCmd),
}

#[derive(Debug, clap::Args)]
struct InvoiceCmd {
    /// The customer's WMID (12 digits).
    #[arg(long)]
    wmid: String,
    /// In the purse's currency: 10.5, "1 000", 1000,50.
    #[arg(long, allow_hyphen_values = true)]
    amount: String,
    /// What is being paid for (Windows-1251, at most 255 characters).
    #[arg(long, allow_hyphen_values = true)]
    desc: String,
    /// The store purse (default: [webmoney] purse).
    #[arg(long)]
    purse: Option<String>,
    /// Delivery address (Windows-1251, at most 255 characters).
    #[arg(long, allow_hyphen_values = true)]
    address: Option<String>,
    /// Maximum protection period in days (0-255).
    #[arg(long, allow_hyphen_values = true)]
    period: Option<String>,
    /// Maximum valid period in days (0-255).
    #[arg(long, allow_hyphen_values = true)]
    expiration: Option<String>,
    #[command(flatten)]
    money: MoneyFlags,
}

#[derive(Debug, Subcommand)]
enum AllpayCmd {
    /// Who owns a wallet login, and are they identified.
    CheckUser {
        login: String,
        #[arg(long)]
        json: bool,
    },
    /// Top up a wallet for cash; waits for a final state.
    CashIn {
        login: String,
        /// In tenge: 1000, "1 000", 1000,50 or 1000.5.
        #[arg(allow_hyphen_values = true)]
        amount: String,
        #[command(flatten)]
        money: MoneyFlags,
    },
    /// Pay for a service (utilities, mobile): check, then pay; waits for a final state.
    Pay(PayCmd),
}

#[derive(Debug, clap::Args)]
struct PayCmd {
    /// The client on whose behalf Allpay pays (a wallet login, e.g. 77071234567).
    #[arg(long)]
    login: String,
    /// The service's public code (an integer, e.g. 185).
    #[arg(long)]
    service: String,
    /// The account at that service (its format depends on the service).
    #[arg(long, allow_hyphen_values = true)]
    account: String,
    /// In tenge: 1000, "1 000", 1000,50 or 1000.5.
    #[arg(long, allow_hyphen_values = true)]
    amount: String,
    #[command(flatten)]
    money: MoneyFlags,
}

/// The flags every money command takes (DESIGN.md: `--yes`, `--id`, `--new`, `--timeout`,
/// `--no-wait`, `--json`).
#[derive(Debug, clap::Args)]
struct MoneyFlags {
    /// Do not ask for confirmation.
    #[arg(long)]
    yes: bool,
    /// The client id to use (cash-in GUID, rrn, orderid, Wooppay referenceId); a known one follows that operation.
    #[arg(long)]
    id: Option<String>,
    /// Send even if a like operation was made in the last 10 minutes.
    #[arg(long)]
    new: bool,
    /// How long to wait for the outcome, in seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Return after the first reply.
    #[arg(long)]
    no_wait: bool,
    /// One JSON object on stdout with the operation's id and state.
    #[arg(long)]
    json: bool,
}

impl MoneyFlags {
    fn into_money(self) -> Money {
        Money {
            yes: self.yes,
            id: self.id,
            new: self.new,
            wait: Wait {
                timeout: Duration::from_secs(self.timeout),
                no_wait: self.no_wait,
                json: self.json,
                until_issued: false,
            },
        }
    }
}

#[derive(Debug, Subcommand)]
enum JournalCmd {
    /// Operations, newest first.
    List {
        #[arg(long)]
        pending: bool,
        #[arg(long)]
        json: bool,
    },
    /// One operation with its audit trail.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Drive every pending operation to a final state.
    Resume {
        #[arg(long, default_value_t = 120)]
        timeout: u64,
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
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    // Usage errors are exit 1 by the contract (clap's own is 2, which means "declined").
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Done
            });
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kassa: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::Usage);
        }
    };
    ExitCode::from(rt.block_on(run(cli)))
}

/// Settings from `--demo` (with the emulator it needs) or from the config file.
async fn settings(cli: &Cli) -> Result<(Settings, Option<Emulator>), String> {
    let lang_override = cli.lang;
    if cli.demo {
        let emu = Emulator::start("127.0.0.1:0", emulator::Options::demo())
            .await
            .map_err(|e| format!("cannot start the demo emulator: {e}"))?;
        let s = Settings::demo(&emu.base_url(), lang_override.unwrap_or_default());
        return Ok((s, Some(emu)));
    }
    let path = match &cli.config {
        Some(p) => p.clone(),
        None => config::default_config_path().unwrap_or_else(|| PathBuf::from("config.toml")),
    };
    if cli.config.is_none() && !path.exists() {
        let lang = lang_override.unwrap_or_default();
        return Err(tf(
            lang,
            "cli.no_config",
            &[("path", &path.display().to_string())],
        ));
    }
    let file = ConfigFile::load(&path).map_err(|e| e.to_string())?;
    let mut s = Settings::resolve(&file, &path).map_err(|e| e.to_string())?;
    if let Some(l) = lang_override {
        s.lang = l;
    }
    Ok((s, None))
}

fn init_logging(dir: &std::path::Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    std::fs::create_dir_all(dir).ok()?;
    let appender = tracing_appender::rolling::daily(dir, "kassa.log");
    // The default buffer of 128,000 lines is preallocated (about 4 MiB); a till logs a few
    // lines a minute, and a full buffer waits rather than drops.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(1024)
        .lossy(false)
        .finish(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("KASSA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}

async fn run(cli: Cli) -> Exit {
    if let Some(Cmd::Emulator {
        listen,
        pending_polls,
        slow_ms,
    }) = &cli.command
    {
        return run_emulator(listen, *pending_polls, *slow_ms).await;
    }
    if cli.command.is_none() && cli.demo {
        // The TUI draws its first frame before it starts the emulator.
        let _log = init_logging(&config::data_dir());
        tracing::info!(demo = true, "kassa starting");
        return kassa::app::run(kassa::app::Start::Demo(cli.lang.unwrap_or_default())).await;
    }
    let (settings, emu) = match settings(&cli).await {
        Ok(x) => x,
        Err(msg) => {
            eprintln!("kassa: {msg}");
            return Exit::Usage;
        }
    };
    let log_dir = settings
        .journal_path
        .parent()
        .map(|p| p.to_path_buf())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| settings.log_dir.clone());
    let _log = init_logging(&log_dir);
    tracing::info!(demo = settings.demo, journal = %settings.journal_path.display(), "kassa starting");
    for (key, url) in settings.plain_http_endpoints() {
        tracing::warn!(key, %url, "plain http to another machine: payments and keys travel unencrypted");
        eprintln!(
            "kassa: {}",
            tf(
                settings.lang,
                "warn.plain_http",
                &[("key", key), ("url", &url)]
            )
        );
    }
    let lang = settings.lang;
    let code = match cli.command {
        None => kassa::app::run(kassa::app::Start::Configured(Box::new(settings))).await,
        Some(cmd) => {
            let journal = match Journal::open(&settings.journal_path) {
                Ok(j) => j,
                Err(e) => {
                    eprintln!(
                        "kassa: {}",
                        tf(lang, "error.journal_open", &[("error", &e.to_string())])
                    );
                    return Exit::Usage;
                }
            };
            match cmd {
                Cmd::Emulator { .. } => Exit::Usage,
                Cmd::Allpay(AllpayCmd::CheckUser { login, json }) => {
                    headless::check_user(&settings, journal, &login, json).await
                }
                Cmd::Allpay(AllpayCmd::CashIn {
                    login,
                    amount,
                    money,
                }) => {
                    let args = CashInArgs {
                        login,
                        amount,
                        money: money.into_money(),
                    };
                    headless::cash_in(&settings, journal, args).await
                }
                Cmd::Allpay(AllpayCmd::Pay(p)) => {
                    let args = kassa::headless::PayArgs {
                        login: p.login,
                        service: p.service,
                        account: p.account,
                        amount: p.amount,
                        money: p.money.into_money(),
                    };
                    headless::pay(&settings, journal, args).await
                }
                Cmd::Webmoney(WebmoneyCmd::Invoice(i)) => {
                    let args = kassa::headless::InvoiceArgs {
                        wmid: i.wmid,
                        amount: i.amount,
                        desc: i.desc,
                        purse: i.purse,
                        address: i.address,
                        period: i.period,
                        expiration: i.expiration,
                        money: i.money.into_money(),
                    };
                    headless::wm_invoice(&settings, journal, args).await
                }
                Cmd::Upay(UpayCmd::RegisterCard {
                    expiry,
                    phone,
                    holder,
                    stdin,
                    money,
                }) => {
                    let args = kassa::headless::upay::RegisterArgs {
                        expiry,
                        phone,
                        holder,
                        stdin,
                        money: money.into_money(),
                    };
                    headless::upay::register_card(&settings, journal, args).await
                }
                Cmd::Upay(UpayCmd::Hold(HoldCmd::Create {
                    card_token,
                    account,
                    amount,
                    service_id,
                    minutes,
                    money,
                })) => {
                    let args = kassa::headless::upay::HoldArgs {
                        card_token,
                        account,
                        amount,
                        service_id,
                        minutes,
                        money: money.into_money(),
                    };
                    headless::upay::hold_create(&settings, journal, args).await
                }
                Cmd::Upay(UpayCmd::Hold(
                    cmd @ (HoldCmd::Capture { .. } | HoldCmd::Cancel { .. }),
                )) => {
                    let (hold_id, act, action) = match cmd {
                        HoldCmd::Capture { hold_id, act } => {
                            (hold_id, act, kassa::worker::upay::HoldAction::Capture)
                        }
                        HoldCmd::Cancel { hold_id, act } => {
                            (hold_id, act, kassa::worker::upay::HoldAction::Cancel)
                        }
                        _ => unreachable!("matched above"),
                    };
                    let w = act.wait();
                    headless::upay::hold_act(&settings, journal, &hold_id, action, act.yes, w).await
                }
                Cmd::Upay(UpayCmd::Hold(HoldCmd::Check {
                    hold_id,
                    partner_trx_id,
                    json,
                })) => {
                    use kassa::providers::upay::codec::CheckBy;
                    let (by, target) = match (hold_id, partner_trx_id) {
                        (Some(h), _) => (CheckBy::HoldId, h),
                        (None, Some(p)) => (CheckBy::PartnerTrxId, p),
                        (None, None) => (CheckBy::HoldId, String::new()),
                    };
                    headless::upay::hold_check(&settings, journal, by, &target, json).await
                }
                Cmd::Report { date, json } => {
                    headless::day::report(lang, &journal, date.as_deref(), json)
                }
                Cmd::Wooppay(WooppayCmd::Invoice(i)) => {
                    let args = headless::wooppay::WpInvoiceArgs {
                        amount: i.amount,
                        variant: i.variant,
                        description: i.description,
                        phone: i.phone,
                        email: i.email,
                        service: i.service,
                        sms_code: i.sms_code,
                        death_date: i.death_date,
                        wait_paid: i.wait_paid,
                        money: i.money.into_money(),
                    };
                    headless::wooppay::invoice(&settings, journal, args).await
                }
                Cmd::Wooppay(WooppayCmd::RequestCode { phone, json }) => {
                    headless::wooppay::request_code(&settings, journal, &phone, json).await
                }
                Cmd::Wooppay(WooppayCmd::Status { operation_id, json }) => {
                    headless::wooppay::status(&settings, journal, &operation_id, json).await
                }
                Cmd::Wooppay(WooppayCmd::Balance { json }) => {
                    headless::wooppay::balance(&settings, journal, json).await
                }
                Cmd::Journal(JournalCmd::List { pending, json }) => {
                    headless::journal_list(lang, &journal, pending, json)
                }
                Cmd::Journal(JournalCmd::Show { id, json }) => {
                    headless::journal_show(lang, &journal, &id, json)
                }
                Cmd::Journal(JournalCmd::Export {
                    csv,
                    from,
                    to,
                    json,
                }) => headless::export::journal_export(
                    lang,
                    &journal,
                    &csv,
                    from.as_deref(),
                    to.as_deref(),
                    json,
                ),
                Cmd::Journal(JournalCmd::Resume { timeout, json }) => {
                    let w = Wait {
                        timeout: Duration::from_secs(timeout),
                        no_wait: false,
                        json,
                        until_issued: false,
                    };
                    headless::journal_resume(&settings, journal, w).await
                }
            }
        }
    };
    if let Some(e) = emu {
        e.stop();
    }
    code
}

async fn run_emulator(listen: &str, pending_polls: u32, slow_ms: u64) -> Exit {
    let options = emulator::Options {
        pending_polls,
        slow: Duration::from_millis(slow_ms),
        ..emulator::Options::default()
    };
    let emu = match Emulator::start(listen, options).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!(
                "kassa: {}",
                tf(
                    Lang::En,
                    "emulator.bind",
                    &[("addr", listen), ("error", &e.to_string())]
                )
            );
            return Exit::Usage;
        }
    };
    // Tests and scripts read the address from this line.
    println!("kassa emulator listening on {}", emu.base_url());
    println!("{}", t(Lang::En, "emulator.stop_hint"));
    let _ = tokio::signal::ctrl_c().await;
    emu.stop();
    Exit::Done
}
