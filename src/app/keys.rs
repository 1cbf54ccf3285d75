//! Keys mean actions: one table from key presses to named actions. Screens say which
//! actions they take, and the footer shows exactly those.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// What a key asks for, independent of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    Submit,
    Back,
    Help,
    Quit,
    /// Ctrl+C: quit from anywhere, asking first when money is in flight.
    Interrupt,
    NextField,
    Yes,
    No,
    /// A digit key: home's shortcuts.
    Digit(u8),
    Reload,
    /// `f`: a list's filter.
    Filter,
}

/// The letters of the Russian (ЙЦУКЕН) layout and the Latin letters on the same keys of a
/// US layout: a cashier who types names in Russian presses `q` as `й`.
const RU_KEYS: [(char, char); 33] = [
    ('й', 'q'),
    ('ц', 'w'),
    ('у', 'e'),
    ('к', 'r'),
    ('е', 't'),
    ('н', 'y'),
    ('г', 'u'),
    ('ш', 'i'),
    ('щ', 'o'),
    ('з', 'p'),
    ('х', '['),
    ('ъ', ']'),
    ('ф', 'a'),
    ('ы', 's'),
    ('в', 'd'),
    ('а', 'f'),
    ('п', 'g'),
    ('р', 'h'),
    ('о', 'j'),
    ('л', 'k'),
    ('д', 'l'),
    ('ж', ';'),
    ('э', '\''),
    ('я', 'z'),
    ('ч', 'x'),
    ('с', 'c'),
    ('м', 'v'),
    ('и', 'b'),
    ('т', 'n'),
    ('ь', 'm'),
    ('б', ','),
    ('ю', '.'),
    ('ё', '`'),
];

/// A command key as the same key on a US layout: a Russian letter becomes the Latin one
/// on its key (`й` → `q`, `Н` → `Y`). For keys outside a text field only: inside one every
/// letter is text.
pub fn by_position(key: KeyEvent) -> KeyEvent {
    let KeyCode::Char(c) = key.code else {
        return key;
    };
    let lower = c.to_lowercase().next().unwrap_or(c);
    match RU_KEYS.iter().find(|(ru, _)| *ru == lower) {
        Some((_, latin)) if lower != c => KeyEvent {
            code: KeyCode::Char(latin.to_ascii_uppercase()),
            ..key
        },
        Some((_, latin)) => KeyEvent {
            code: KeyCode::Char(*latin),
            ..key
        },
        None => key,
    }
}

/// The Russian letter on the key of a one-letter hint (`q` → `й`), for the help.
pub fn ru_twin(label: &str) -> Option<char> {
    let mut chars = label.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return None;
    };
    RU_KEYS
        .iter()
        .find(|(_, latin)| *latin == c && c.is_ascii_alphabetic())
        .map(|(ru, _)| *ru)
}

/// The action a key means outside a text field, if any. Key releases are ignored. A
/// Russian letter means what the Latin one on its key means.
pub fn action(key: &KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let key = &by_position(*key);
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c') => Some(Action::Interrupt),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Enter => Action::Submit,
        KeyCode::Esc => Action::Back,
        KeyCode::Char('?') | KeyCode::F(1) => Action::Help,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Tab => Action::NextField,
        KeyCode::BackTab => Action::Up,
        KeyCode::Char('y') | KeyCode::Char('Y') => Action::Yes,
        KeyCode::Char('n') | KeyCode::Char('N') => Action::No,
        KeyCode::Char('r') => Action::Reload,
        KeyCode::Char('f') => Action::Filter,
        KeyCode::Char(c @ '1'..='9') => Action::Digit(c as u8 - b'0'),
        _ => return None,
    })
}

/// The action a key means inside a text field: only what cannot be typed.
pub fn field_action(key: &KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Interrupt);
    }
    match key.code {
        KeyCode::Enter => Some(Action::Submit),
        KeyCode::Esc => Some(Action::Back),
        KeyCode::Tab => Some(Action::NextField),
        KeyCode::BackTab => Some(Action::Up),
        KeyCode::F(1) => Some(Action::Help),
        KeyCode::Up => Some(Action::Up),
        KeyCode::Down => Some(Action::Down),
        _ => None,
    }
}

/// A key hint for the footer and the help: the key as printed, and the catalogue key of
/// what it does.
pub type Hint = (&'static str, &'static str);
