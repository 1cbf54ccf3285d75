//! The one owner of the terminal: sets it up and restores it on every exit path (normal
//! quit, error, panic via the hook, SIGTERM/SIGHUP), joins crossterm's events, the worker's
//! events and a tick in one `select!`, and draws only when something changed.

use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;

use super::{Model, Msg, update, view};
use crate::config::{DEMO_REQUESTER, Settings};
use crate::emulator::{self, Emulator};
use crate::exit::Exit;
use crate::i18n::Lang;
use crate::i18n::tf;
use crate::journal::Journal;
use crate::worker::{Command, Worker};

fn restore() {
    // Pasted text arrives as keys again in whatever runs after kassa.
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableBracketedPaste);
    if let Err(e) = ratatui::try_restore() {
        tracing::error!(error = %e, "restoring the terminal failed");
    }
}

fn log_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "kassa panicked");
        previous(info);
    }));
}

/// What the TUI starts with.
pub enum Start {
    /// Settings from a config file.
    Configured(Box<Settings>),
    /// `--demo`: the emulator is started after the first frame, and the settings point at it.
    Demo(Lang),
}

/// Runs the TUI until the cashier quits, its log in `log_dir`. Returns the process exit
/// code.
pub async fn run(start: Start, log_dir: std::path::PathBuf) -> Exit {
    let (lang, demo, agent) = match &start {
        Start::Configured(s) => (s.lang, false, s.allpay.requester.clone()),
        Start::Demo(lang) => (*lang, true, DEMO_REQUESTER.to_string()),
    };
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "kassa: {}",
                tf(lang, "error.terminal", &[("error", &e.to_string())])
            );
            return Exit::Usage;
        }
    };
    // Pasted text comes as one paste, never as keys: a paste of "150⏎y" must not confirm.
    if let Err(e) = crossterm::execute!(std::io::stdout(), crossterm::event::EnableBracketedPaste) {
        tracing::warn!(error = %e, "the terminal does not take bracketed paste");
    }
    // ratatui's hook restores the terminal first; ours, outside it, logs the panic.
    log_panics();
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut model = Model::new(lang, demo, agent, color, Instant::now());
    if let Start::Configured(s) = &start {
        model.upay_defaults = (s.upay.service_id, s.upay.hold_minutes);
    } else {
        model.upay_defaults = (628, 60);
    }
    model.wm_purse = match &start {
        Start::Configured(s) => s.webmoney.purse.clone(),
        Start::Demo(_) => crate::emulator::webmoney::DEMO_PURSE.to_string(),
    };
    // On a chain's journal the journal screen can show this till's rows alone.
    if let Start::Configured(s) = &start
        && s.journal_url.is_some()
    {
        model.journal.own_till = Some(s.till.clone());
    }
    model.wooppay_ttl = match &start {
        Start::Configured(s) => s.wooppay.invoice_ttl_minutes,
        Start::Demo(_) => 60,
    };
    // A till's journal before the first frame: its open rows are counted from an index (no
    // row is read, no lock waited for), so the first frame already says what is in flight
    // and nothing on it changes when the worker starts. The demo's journal comes after its
    // emulator, below.
    let mut early = None;
    if let Start::Configured(s) = &start {
        match s.open_journal() {
            Ok(j) => {
                show_counts(&mut model, &j);
                early = Some(j);
            }
            Err(e) => {
                return fail(lang, "error.journal_open", &[("error", &e.to_string())]);
            }
        }
    }
    // First frame before the emulator: the cashier sees kassa at once.
    if let Err(e) = terminal.draw(|f| view(&model, f)) {
        return fail(lang, "error.terminal", &[("error", &e.to_string())]);
    }
    // Now what takes longer: the log, the emulator (under --demo), the journal, the worker.
    let _log = crate::logs::init(&log_dir);
    let (settings, emulator) = match start {
        Start::Configured(s) => (*s, None),
        Start::Demo(lang) => {
            match Emulator::start("127.0.0.1:0", emulator::Options::demo()).await {
                Ok(e) => (Settings::demo(&e.base_url(), lang), Some(e)),
                Err(e) => {
                    return fail(lang, "error.emulator", &[("error", &e.to_string())]);
                }
            }
        }
    };
    // UPay's notifications: where [upay] notify_listen says, or anywhere under --demo (the
    // emulator then notifies this kassa). Bound before the worker starts, so that the
    // address the requests carry is the one listening.
    let mut settings = settings;
    let listen = match (&settings.upay.notify_listen, emulator.is_some()) {
        (Some(l), _) => Some(l.clone()),
        (None, true) => Some("127.0.0.1:0".to_string()),
        (None, false) => None,
    };
    let bound = match listen {
        Some(l) => match crate::callbacks::bind(&l).await {
            Ok(b) => Some(b),
            Err(e) => {
                return fail(
                    lang,
                    "error.listen",
                    &[("addr", &l), ("error", &e.to_string())],
                );
            }
        },
        None => None,
    };
    if let (Some(b), true) = (&bound, emulator.is_some()) {
        settings.upay.notify_url = format!("http://{}/upay/notify", b.addr);
    }
    let upay_settings = settings.upay.clone();
    let settings_warning = settings.plain_http_endpoints();
    crate::logs::starting(demo, &settings.journal_path, &settings_warning);
    let journal = match early {
        Some(j) => j,
        None => {
            let s = settings.clone();
            let j = match tokio::task::spawn_blocking(move || s.open_journal()).await {
                Ok(Ok(j)) => j,
                Ok(Err(e)) => {
                    return fail(lang, "error.journal_open", &[("error", &e.to_string())]);
                }
                Err(e) => {
                    restore();
                    eprintln!("kassa: {e}");
                    return Exit::Usage;
                }
            };
            show_counts(&mut model, &j);
            if model.counts.pending > 0 && terminal.draw(|f| view(&model, f)).is_ok() {
                model.draws = model.draws.wrapping_add(1);
            }
            j
        }
    };
    let (worker, mut events) = match Worker::start(settings, journal) {
        Ok(w) => w,
        Err(e) => {
            return fail(lang, "error.http_client", &[("error", &e)]);
        }
    };
    worker.send(Command::ResumeAll);
    if let Some((key, url)) = settings_warning.first() {
        model.notice = Some(crate::app::Note::Said {
            text: tf(lang, "warn.plain_http", &[("key", key), ("url", url)]),
            good: false,
        });
    }
    worker.send(Command::LoadShift);
    let callbacks =
        match bound.map(|b| crate::callbacks::serve(b, &upay_settings, worker.commands())) {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => {
                // Without the password nothing can be verified: say so, run without it.
                tracing::error!(error = %e, "UPay notifications not listened for");
                None
            }
            None => None,
        };

    let code = event_loop(&mut terminal, &mut model, &worker, &mut events).await;
    worker.stop().await;
    if let Some(c) = callbacks {
        c.stop();
    }
    if let Some(e) = emulator {
        e.stop();
    }
    restore();
    code
}

/// Gives the terminal back and says in the cashier's language why kassa cannot start.
fn fail(lang: Lang, key: &str, args: &[(&str, &str)]) -> Exit {
    restore();
    eprintln!("kassa: {}", tf(lang, key, args));
    Exit::Usage
}

/// What the journal holds open, counted (not read) before the worker starts: the screen
/// says it at once, and the worker's own counts then change nothing on it.
fn show_counts(model: &mut Model, journal: &Journal) {
    let Ok((pending, recon)) = journal.counts() else {
        return;
    };
    // What the worker will resume: every open row no person has to look at (one another
    // process holds is told when the worker has claimed its own).
    let resumable = pending.saturating_sub(recon);
    model.counts = crate::app::Counts {
        pending,
        recon,
        active: 0,
    };
    model.resuming = (resumable > 0).then_some(resumable as usize);
}

/// How long the worker's news waits to be taken after the last was: hundreds of rows
/// polling in the background wake the screen a few times a second, not at every answer.
/// A key is taken at once, and whatever news came before it with it.
const WORKER_FRAME: Duration = Duration::from_millis(50);

/// The same after news that was only polls going on (an attempt made, the next one's
/// time, the counts): what a cashier reads, not what a cashier answers.
const POLLING_FRAME: Duration = Duration::from_millis(250);

/// What a wake took from the worker.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum News {
    None,
    /// Polls going on: attempts made, the counts.
    Polling,
    /// Anything else: an outcome, a question, an answer to the cashier.
    Told,
}

impl News {
    fn of(ev: &crate::worker::Event) -> News {
        use crate::worker::Event;
        match ev {
            Event::Progress { .. } | Event::Counts { .. } => News::Polling,
            _ => News::Told,
        }
    }
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    model: &mut Model,
    worker: &Worker,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<crate::worker::Event>,
) -> Exit {
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut stop = super::stop::Stop::new();
    let mut dirty = true;
    // The worker's news is taken again from then on.
    let mut gate = tokio::time::Instant::now();
    loop {
        if dirty {
            if let Err(e) = terminal.draw(|f| view(model, f)) {
                tracing::error!(error = %e, "drawing failed");
                return Exit::Usage;
            }
            model.draws = model.draws.wrapping_add(1);
            dirty = false;
        }
        if model.quit {
            return Exit::Done;
        }
        let open = tokio::time::Instant::now() >= gate;
        // Worker events first: what happened to money reaches the model before the next key.
        let msg = tokio::select! {
            biased;
            why = stop.recv() => {
                tracing::info!(%why, "asked to stop: quitting; operations in flight resume on the next start");
                return Exit::Done;
            }
            ev = events.recv(), if open => match ev {
                Some(e) => Msg::Worker(e),
                None => return Exit::Usage,
            },
            input = keys.next() => match input {
                Some(Ok(TermEvent::Key(k))) => Msg::Key(k),
                Some(Ok(TermEvent::Resize(_, _))) => Msg::Resize,
                Some(Ok(TermEvent::Paste(text))) => Msg::Paste(text),
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    tracing::error!(error = %e, "reading the terminal failed");
                    return Exit::Usage;
                }
                None => return Exit::Done,
            },
            _ = tick.tick(), if model.animating() => Msg::Tick,
            () = tokio::time::sleep_until(gate), if !open => continue,
        };
        let keyed = matches!(msg, Msg::Key(_) | Msg::Paste(_) | Msg::Resize);
        model.now = Instant::now();
        model.local_now = chrono::Local::now().naive_local();
        let news = if keyed {
            // The news that came before this key is the model's before the key is.
            let news = take_news(model, worker, events);
            // Ids for a request only a key can start: the worker's news needs none.
            model.fresh = crate::app::Fresh::new();
            for c in update(model, msg) {
                worker.send(c);
            }
            news
        } else {
            let first = match &msg {
                Msg::Worker(ev) => News::of(ev),
                _ => News::None,
            };
            for c in update(model, msg) {
                worker.send(c);
            }
            // One wake takes all the news there is.
            first.max(take_news(model, worker, events))
        };
        match news {
            News::None => {}
            News::Polling => gate = tokio::time::Instant::now() + POLLING_FRAME,
            News::Told => gate = tokio::time::Instant::now() + WORKER_FRAME,
        }
        if let Some(text) = model.clipboard.take() {
            let copy = crossterm::clipboard::CopyToClipboard::to_clipboard_from(text);
            if let Err(e) = crossterm::execute!(terminal.backend_mut(), copy) {
                tracing::warn!(error = %e, "copying to the clipboard failed");
            }
        }
        // Keys that came in one burst are handled before the screen they lead to is drawn,
        // so a `y` among them never answers a question nobody has seen yet. Only after a
        // key: the terminal is not asked again at every answer a poll brings (crossterm's
        // reader is shared with its own thread, and asking costs).
        if keyed {
            loop {
                // Polled in this task's own context (never with a no-op waker: crossterm's
                // stream hands its waker to a thread once, and a lost one loses the next keys).
                let ready = tokio::select! {
                    biased;
                    input = keys.next() => input,
                    () = std::future::ready(()) => None,
                };
                let Some(Ok(input)) = ready else { break };
                let msg = match input {
                    TermEvent::Key(k) => Msg::Key(k),
                    TermEvent::Paste(text) => Msg::Paste(text),
                    TermEvent::Resize(_, _) => Msg::Resize,
                    _ => continue,
                };
                // Each key its own moment and its own fresh ids, as if it came alone.
                model.now = Instant::now();
                model.local_now = chrono::Local::now().naive_local();
                model.fresh = crate::app::Fresh::new();
                for c in update(model, msg) {
                    worker.send(c);
                }
                if model.quit {
                    break;
                }
            }
        }
        dirty = true;
    }
}

/// Hands every worker event waiting to the model; what they were.
fn take_news(
    model: &mut Model,
    worker: &Worker,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<crate::worker::Event>,
) -> News {
    let mut news = News::None;
    while let Ok(e) = events.try_recv() {
        news = news.max(News::of(&e));
        for c in update(model, Msg::Worker(e)) {
            worker.send(c);
        }
    }
    news
}
