//! The harness of the screen tests (`screens`, `upay_screens`, `day`, `hygiene`): a model
//! as the console starts it, keys and worker events fed to `update`, `view` rendered into
//! ratatui's TestBackend, and `snap!`, which compares a rendering with its snapshot per
//! language.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use kassa::app::{Model, Msg, update, view};
use kassa::i18n::Lang;
use kassa::worker::{Command, Event};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The agent the test models work as.
pub const AGENT: &str = "72222222221";
/// A fixed operation id, so that snapshots are stable.
pub const GUID: &str = "{0f8fad5b-d9cb-469f-a165-70867728950e}";
/// A fixed moment (ms since the epoch) for the rows the screens are shown.
pub const T0: i64 = 1_795_000_000_000;

/// What `snap!` masks: the local times and dates a screen draws (they depend on the time
/// zone of the machine).
pub const FILTERS: [(&str, &str); 4] = [
    (
        r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}",
        "DD.MM.YYYY hh:mm:ss",
    ),
    (r"\d{4}-\d{2}-\d{2}", "YYYY-MM-DD"),
    (r"\b\d{2}:\d{2}:\d{2}\b", "hh:mm:ss"),
    (r"\b\d{2}:\d{2}\b", "hh:mm"),
];

/// The model of a demo console on its home screen.
pub fn model(lang: Lang) -> Model {
    Model::new(lang, true, AGENT.into(), false, Instant::now())
}

/// A key pressed without modifiers.
pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// A key pressed as a cashier presses one: the screen it leads to is drawn before the next
/// (the loop draws between keys that do not come in one burst).
pub fn press(m: &mut Model, code: KeyCode) -> Vec<Command> {
    let cmds = update(m, key(code));
    m.draws += 1;
    cmds
}

/// Every character of `text` pressed in turn; the commands of all the presses.
pub fn type_text(m: &mut Model, text: &str) -> Vec<Command> {
    let mut cmds = Vec::new();
    for c in text.chars() {
        cmds.extend(press(m, KeyCode::Char(c)));
    }
    cmds
}

/// `ev` arriving from the worker.
pub fn worker(m: &mut Model, ev: Event) -> Vec<Command> {
    let cmds = update(m, Msg::Worker(ev));
    m.draws += 1;
    cmds
}

/// The screen drawn on a `width` x `height` terminal.
pub fn render_at(m: &Model, width: u16, height: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
    t.draw(|f| view(m, f)).unwrap();
    t.backend().to_string()
}

/// The screen drawn at 80x24, the size the snapshots are taken at.
pub fn render(m: &Model) -> String {
    render_at(m, 80, 24)
}

/// The snapshot suffix of a language.
pub fn lang_suffix(lang: Lang) -> &'static str {
    match lang {
        Lang::Ru => "ru",
        Lang::En => "en",
    }
}

/// No text drawn so far was missing from the catalogue.
pub fn assert_catalogue_complete() {
    let missing = kassa::i18n::missing_keys();
    assert!(
        missing.is_empty(),
        "texts missing from the catalogue: {missing:?}"
    );
}

/// `snap!(name, &model)`: the model rendered at 80x24 matches the snapshot
/// `it__<module>__<name>@<lang>.snap`, and every text it drew is in the catalogue.
///
/// A macro, not a function: insta names the snapshot after `module_path!()` (and records
/// `file!()`) where `assert_snapshot!` is expanded, which must be the calling test module.
macro_rules! snap {
    ($name:expr, $model:expr) => {{
        let model: &::kassa::app::Model = $model;
        let screen = $crate::screen::render(model);
        ::insta::with_settings!({
            snapshot_suffix => $crate::screen::lang_suffix(model.lang),
            filters => $crate::screen::FILTERS,
        }, {
            ::insta::assert_snapshot!($name, screen);
        });
        $crate::screen::assert_catalogue_complete();
    }};
}
pub(crate) use snap;
