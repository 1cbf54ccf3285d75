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

/// The action a key means outside a text field, if any. Key releases are ignored.
pub fn action(key: &KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
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
        KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Char('н') => Action::Yes,
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Char('т') => Action::No,
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
