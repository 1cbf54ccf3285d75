//! The `kassa` command: parses the arguments, loads the configuration, starts the emulator
//! under `--demo`, and hands over to the TUI or a headless command. Exit codes: 0 done,
//! 1 usage or configuration, 2 declined/rejected/not found, 3 pending or needs
//! reconciliation, 4 nothing sent and nothing pending. Under `--json` every error, clap's
//! and the configuration's included, is one JSON object on stdout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use kassa::config::{self, ConfigFile, Settings};
use kassa::emulator::{self, Emulator};
use kassa::exit::Exit;
use kassa::headless::args::{
    AllpayCmd, Cli, Cmd, HoldCmd, JournalCmd, UpayCmd, WebmoneyCmd, WooppayCmd,
};
use kassa::headless::{self, Wait};
use kassa::i18n::{Lang, t, tf};

fn main() -> ExitCode {
    // Usage errors are exit 1 by the contract (clap's own is 2, which means "declined").
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let parsed = match Cli::console(&args, |k| std::env::var_os(k)) {
        Some(c) => Ok(c),
        None => Cli::try_parse(),
    };
    let cli = match parsed {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            // --help and --version: printed as asked, exit 0.
            let _ = e.print();
            return ExitCode::from(Exit::Done);
        }
        Err(e) => {
            usage_error(&e);
            return ExitCode::from(Exit::Usage);
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

/// A command line clap refused: a one-line summary in the chosen language (`--lang`, else
/// `KASSA_LANG`, else the config file's), then clap's own text; under `--json` one error object on
/// stdout with both (docs/cli.schema.json `error`, code `cli.usage_error`).
fn usage_error(e: &clap::Error) {
    use clap::error::ErrorKind;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json_out = args.iter().any(|a| a == "--json");
    let arg = |name: &str| {
        let prefix = format!("{name}=");
        args.iter().enumerate().find_map(|(i, a)| {
            a.strip_prefix(&prefix)
                .map(str::to_string)
                .or_else(|| (a == name).then(|| args.get(i + 1).cloned()).flatten())
        })
    };
    // The language as the command line, the environment, or the config file's [ui] lang
    // would have set it.
    let from_config = || {
        let path = arg("--config")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("KASSA_CONFIG").map(PathBuf::from))
            .or_else(config::default_config_path)?;
        ConfigFile::load(&path).ok()?.ui.lang
    };
    let lang = arg("--lang")
        .or_else(|| std::env::var("KASSA_LANG").ok())
        .and_then(|l| <Lang as clap::ValueEnum>::from_str(l.trim(), true).ok())
        .or_else(from_config)
        .unwrap_or_default();
    let summary = match e.kind() {
        ErrorKind::UnknownArgument | ErrorKind::InvalidSubcommand => "cli.usage_unknown",
        ErrorKind::MissingRequiredArgument
        | ErrorKind::MissingSubcommand
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => "cli.usage_missing",
        ErrorKind::InvalidValue | ErrorKind::ValueValidation | ErrorKind::InvalidUtf8 => {
            "cli.usage_invalid"
        }
        ErrorKind::ArgumentConflict => "cli.usage_conflict",
        _ => "cli.usage_error",
    };
    let text = t(lang, summary);
    if json_out {
        let usage = e.render().to_string();
        println!(
            "{}",
            serde_json::json!({
                "error": text,
                "code": "cli.usage_error",
                "usage": usage.trim_end(),
                "id": null,
                "sent": false,
            })
        );
    } else {
        eprintln!("kassa: {text}");
        let _ = e.print();
    }
}

/// Settings from `--demo` (with the emulator it needs) or from the config file; an error
/// is its catalogue key and its text.
async fn settings(cli: &Cli) -> Result<(Settings, Option<Emulator>), (&'static str, String)> {
    let lang_override = cli.lang;
    let lang = lang_override.unwrap_or_default();
    let invalid = |e: String| {
        (
            "config.invalid",
            tf(lang, "config.invalid", &[("error", &e)]),
        )
    };
    if cli.demo {
        let emu = Emulator::start("127.0.0.1:0", emulator::Options::demo())
            .await
            .map_err(|e| {
                let error = e.to_string();
                (
                    "error.emulator",
                    tf(lang, "error.emulator", &[("error", &error)]),
                )
            })?;
        let s = Settings::demo(&emu.base_url(), lang_override.unwrap_or_default());
        return Ok((s, Some(emu)));
    }
    let path = match &cli.config {
        Some(p) => p.clone(),
        None => config::default_config_path().unwrap_or_else(|| PathBuf::from("config.toml")),
    };
    if cli.config.is_none() && !path.exists() {
        return Err((
            "cli.no_config",
            tf(
                lang,
                "cli.no_config",
                &[("path", &path.display().to_string())],
            ),
        ));
    }
    let file = ConfigFile::load(&path).map_err(|e| invalid(e.to_string()))?;
    let mut s = Settings::resolve(&file, &path).map_err(|e| invalid(e.to_string()))?;
    // [network] proxy and [log] keep_days, read by every HTTP client and the log clean-up.
    config::ProcessSettings::resolve(&file, &path)
        .map_err(|e| invalid(e.to_string()))?
        .install();
    if let Some(l) = lang_override {
        s.lang = l;
    }
    Ok((s, None))
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
    match &cli.command {
        // Made in memory, then written: a closed pipe (`| head`) is no panic.
        Some(Cmd::Completions { shell }) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "kassa", &mut out);
            return write_out(&out);
        }
        Some(Cmd::Man) => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            return match clap_mangen::Man::new(cmd).render(&mut out) {
                Ok(()) => write_out(&out),
                Err(e) => {
                    eprintln!("kassa: {e}");
                    Exit::Usage
                }
            };
        }
        _ => {}
    }
    let json_out = cli.command.as_ref().is_some_and(Cmd::json);
    if cli.command.is_none() && cli.demo {
        // The TUI draws its first frame before it starts the emulator and its log.
        let start = kassa::app::Start::Demo(cli.lang.unwrap_or_default());
        return kassa::app::run(start, config::data_dir()).await;
    }
    let (settings, emu) = match settings(&cli).await {
        Ok(x) => x,
        Err((key, msg)) => {
            headless::print_error(
                json_out,
                key,
                &msg,
                serde_json::json!({"id": null, "sent": false}),
            );
            return Exit::Usage;
        }
    };
    let log_dir = settings
        .journal_path
        .parent()
        .map(|p| p.to_path_buf())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| settings.log_dir.clone());
    // The console starts its log after its first frame (and says there what follows);
    // a command before its work.
    let plain_http = settings.plain_http_endpoints();
    let _log = cli.command.as_ref().and_then(|_| {
        let guard = kassa::logs::init(&log_dir);
        kassa::logs::starting(settings.demo, &settings.journal_path, &plain_http);
        guard
    });
    for (key, url) in &plain_http {
        eprintln!(
            "kassa: {}",
            tf(
                settings.lang,
                "warn.plain_http",
                &[("key", key), ("url", url)]
            )
        );
    }
    let lang = settings.lang;
    let code = match cli.command {
        None => {
            let start = kassa::app::Start::Configured(Box::new(settings));
            kassa::app::run(start, log_dir).await
        }
        Some(cmd) => {
            let journal = match settings.open_journal() {
                Ok(j) => j,
                Err(e) => {
                    let key = "error.journal_open";
                    let msg = tf(lang, key, &[("error", &e.to_string())]);
                    headless::print_error(
                        json_out,
                        key,
                        &msg,
                        serde_json::json!({"id": null, "sent": false}),
                    );
                    return Exit::Usage;
                }
            };
            match cmd {
                Cmd::Emulator { .. } | Cmd::Completions { .. } | Cmd::Man => Exit::Usage,
                Cmd::Allpay(AllpayCmd::CheckUser { login, json }) => {
                    headless::check_user(&settings, journal, &login, json).await
                }
                Cmd::Allpay(AllpayCmd::CashIn(args)) => {
                    headless::cash_in(&settings, journal, args).await
                }
                Cmd::Allpay(AllpayCmd::Pay(args)) => headless::pay(&settings, journal, args).await,
                Cmd::Webmoney(WebmoneyCmd::Invoice(args)) => {
                    headless::wm_invoice(&settings, journal, args).await
                }
                Cmd::Upay(UpayCmd::RegisterCard(args)) => {
                    headless::upay::register_card(&settings, journal, args).await
                }
                Cmd::Upay(UpayCmd::Hold(HoldCmd::Create(args))) => {
                    headless::upay::hold_create(&settings, journal, args).await
                }
                Cmd::Upay(UpayCmd::Hold(
                    cmd @ (HoldCmd::Capture { .. } | HoldCmd::Cancel { .. }),
                )) => {
                    let (hold_id, act, action, amount) = match cmd {
                        HoldCmd::Capture {
                            hold_id,
                            amount,
                            act,
                        } => (
                            hold_id,
                            act,
                            kassa::worker::upay::HoldAction::Capture,
                            amount,
                        ),
                        HoldCmd::Cancel { hold_id, act } => {
                            (hold_id, act, kassa::worker::upay::HoldAction::Cancel, None)
                        }
                        _ => unreachable!("matched above"),
                    };
                    let target = headless::upay::HoldTarget {
                        hold_id: &hold_id,
                        action,
                        amount: amount.as_deref(),
                    };
                    headless::upay::hold_act(&settings, journal, target, act.yes, act.wait).await
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
                Cmd::Report {
                    date,
                    till,
                    all,
                    json,
                } => {
                    let till = match (all, till) {
                        (true, _) => None,
                        (false, Some(t)) => Some(t),
                        (false, None) => journal.own_till().map(str::to_string),
                    };
                    headless::day::report(lang, &journal, date.as_deref(), till.as_deref(), json)
                }
                Cmd::Worker { json } => headless::journal::worker(&settings, journal, json).await,
                Cmd::Wooppay(WooppayCmd::Invoice(args)) => {
                    headless::wooppay::invoice(&settings, journal, *args).await
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
                Cmd::Journal(JournalCmd::List {
                    pending,
                    till,
                    json,
                }) => headless::journal_list(lang, &journal, pending, till, json),
                Cmd::Journal(JournalCmd::Migrate { from, till, json }) => {
                    let till = till.unwrap_or_else(|| settings.till.clone());
                    headless::migrate::migrate(lang, journal, &from, &till, json)
                }
                Cmd::Journal(JournalCmd::Resolve {
                    id,
                    to,
                    provider_id,
                    note,
                    json,
                }) => {
                    headless::journal_resolve(
                        &settings,
                        journal,
                        &id,
                        to.as_deref(),
                        provider_id.as_deref(),
                        &note,
                        json,
                    )
                    .await
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
                        timeout,
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

/// Writes generated text to stdout; a reader that went away early is not an error.
fn write_out(bytes: &[u8]) -> Exit {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
    Exit::Done
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
