//! A QR code drawn with Unicode half blocks, two modules per character cell vertically, for a
//! payment link a customer scans off the cashier's screen (Wooppay's operationUrl, UPay's
//! 3-D Secure ConfirmUrl).
//!
//! It owns the encoding (the `qrcode` crate, error correction level L so that a long URL
//! still gets a small version) and the drawing; it does no I/O and knows no provider. A code
//! is only useful whole: [`QrView::fits`] says whether an area can hold it, and the widget
//! draws nothing into an area that cannot (the screen then shows the link as text instead).
//!
//! Colours: by default the code is drawn black on white, whatever the terminal's own colours,
//! because a scanner wants dark modules on a light ground. Under NO_COLOR nothing may be
//! coloured, and a terminal is usually light text on a dark ground, so [`Polarity::Inverted`]
//! draws the light modules (and the quiet zone) as blocks instead.

use qrcode::{EcLevel, QrCode};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::Widget;

/// The quiet zone kassa draws around a code, in modules. The standard asks for 4; phone
/// scanners read a code with 1 when the screen around it is plain, and every module saved
/// lets a bigger code fit in 24 rows.
pub const MIN_QUIET_ZONE: usize = 1;

/// How dark and light modules become cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polarity {
    /// Dark modules as blocks in black on a white background (colour terminals).
    DarkOnLight,
    /// Light modules as blocks in the terminal's own colours, dark modules as blanks: for
    /// NO_COLOR on a dark terminal.
    Inverted,
}

/// Why a QR code could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The text is too long for any QR version at level L.
    #[error("text too long for a QR code ({0} bytes)")]
    TooLong(usize),
}

/// An encoded code, ready to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrView {
    /// Modules per side, without the quiet zone.
    width: usize,
    /// Row-major, `true` = dark.
    dark: Vec<bool>,
    quiet: usize,
    polarity: Polarity,
}

impl QrView {
    /// Encodes `text` at error correction level L with the minimal quiet zone, dark on light.
    pub fn new(text: &str) -> Result<QrView, QrError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L)
            .map_err(|_| QrError::TooLong(text.len()))?;
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        Ok(QrView {
            width,
            dark,
            quiet: MIN_QUIET_ZONE,
            polarity: Polarity::DarkOnLight,
        })
    }

    /// The same code with another quiet zone (in modules).
    pub fn quiet_zone(mut self, modules: usize) -> QrView {
        self.quiet = modules;
        self
    }

    pub fn polarity(mut self, polarity: Polarity) -> QrView {
        self.polarity = polarity;
        self
    }

    /// Modules per side, without the quiet zone (21 for version 1, 4 more per version).
    pub fn modules(&self) -> usize {
        self.width
    }

    /// The cells the code takes, quiet zone included: (columns, rows).
    pub fn size(&self) -> (u16, u16) {
        let side = self.width + 2 * self.quiet;
        let cols = u16::try_from(side).unwrap_or(u16::MAX);
        let rows = u16::try_from(side.div_ceil(2)).unwrap_or(u16::MAX);
        (cols, rows)
    }

    /// Whether `area` can hold the whole code.
    pub fn fits(&self, area: Rect) -> bool {
        let (w, h) = self.size();
        area.width >= w && area.height >= h
    }

    /// Whether module (x, y), counted from the quiet zone's corner, is dark.
    fn is_dark(&self, x: usize, y: usize) -> bool {
        let (Some(mx), Some(my)) = (x.checked_sub(self.quiet), y.checked_sub(self.quiet)) else {
            return false;
        };
        mx < self.width && my < self.width && self.dark[my * self.width + mx]
    }

    /// The code as lines of text, one per cell row.
    pub fn lines(&self) -> Vec<Line<'static>> {
        let side = self.width + 2 * self.quiet;
        let style = self.style();
        (0..side.div_ceil(2))
            .map(|row| {
                let text: String = (0..side).map(|x| self.cell(x, row * 2, side)).collect();
                Line::styled(text, style)
            })
            .collect()
    }

    fn style(&self) -> Style {
        match self.polarity {
            Polarity::DarkOnLight => Style::default().fg(Color::Black).bg(Color::White),
            Polarity::Inverted => Style::default(),
        }
    }

    fn cell(&self, x: usize, y: usize, side: usize) -> char {
        let top = self.is_dark(x, y);
        // Below the last module row (odd sides) is the page, light.
        let bottom = y + 1 < side && self.is_dark(x, y + 1);
        let (top, bottom) = match self.polarity {
            Polarity::DarkOnLight => (top, bottom),
            Polarity::Inverted => (!top, y + 1 < side && !bottom),
        };
        match (top, bottom) {
            (true, true) => '█',
            (true, false) => '▀',
            (false, true) => '▄',
            (false, false) => ' ',
        }
    }
}

impl Widget for &QrView {
    /// Draws the code at the top left of `area`, or nothing if it does not fit.
    fn render(self, area: Rect, buf: &mut Buffer) {
        if !self.fits(area) {
            return;
        }
        for (i, line) in self.lines().into_iter().enumerate() {
            let y = area.y.saturating_add(u16::try_from(i).unwrap_or(u16::MAX));
            buf.set_line(area.x, y, &line, area.width);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const URL: &str = "https://www.test.wooppay.com/invoice/operation?id=34365&key=67751f22e270df006bd9f357709d47af";

    /// Reads the modules back from drawn cells and decodes them with an independent decoder,
    /// as a phone would: each module becomes a 4x4 pixel block, the page around it is white.
    fn decode(buf: &Buffer, area: Rect, polarity: Polarity) -> String {
        let scale = 4usize;
        let cols = usize::from(area.width);
        let rows = usize::from(area.height) * 2;
        let mut dark = vec![false; cols * rows];
        for cy in 0..area.height {
            for cx in 0..area.width {
                let sym = buf[(area.x + cx, area.y + cy)].symbol().to_string();
                let (mut t, mut b) = match sym.as_str() {
                    "█" => (true, true),
                    "▀" => (true, false),
                    "▄" => (false, true),
                    _ => (false, false),
                };
                if polarity == Polarity::Inverted {
                    (t, b) = (!t, !b);
                }
                let (x, y) = (usize::from(cx), usize::from(cy) * 2);
                dark[y * cols + x] = t;
                dark[(y + 1) * cols + x] = b;
            }
        }
        let mut img =
            rqrr::PreparedImage::prepare_from_greyscale(cols * scale, rows * scale, |x, y| {
                if dark[(y / scale) * cols + x / scale] {
                    0
                } else {
                    255
                }
            });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "one code found");
        let (_, content) = grids[0].decode().expect("decodes");
        content
    }

    #[test]
    fn a_wooppay_link_is_scannable_as_drawn() {
        for polarity in [Polarity::DarkOnLight, Polarity::Inverted] {
            let qr = QrView::new(URL).unwrap().polarity(polarity);
            let (w, h) = qr.size();
            let area = Rect::new(0, 0, w, h);
            let mut buf = Buffer::empty(area);
            qr.render(area, &mut buf);
            assert_eq!(decode(&buf, area, polarity), URL, "{polarity:?}");
        }
    }

    /// A cashier's terminal is usually dark: the code drawn inside a dark screen, with dark
    /// cells on all four sides of it, must still decode (its light border is its own).
    #[test]
    fn a_code_decodes_on_a_dark_surround() {
        for polarity in [Polarity::DarkOnLight, Polarity::Inverted] {
            let qr = QrView::new(URL).unwrap().polarity(polarity);
            let (w, h) = qr.size();
            let (mx, my) = (6u16, 3u16);
            let screen = Rect::new(0, 0, w + 2 * mx, h + 2 * my);
            let mut buf = Buffer::empty(screen);
            qr.render(Rect::new(mx, my, w, h), &mut buf);
            // What the eye (and a phone) sees: a cell is light where it is drawn light.
            let light = |x: u16, y: u16, half: usize| -> bool {
                let c = &buf[(x, y)];
                let sym = c.symbol();
                let drawn_top = matches!(sym, "█" | "▀");
                let drawn_bottom = matches!(sym, "█" | "▄");
                let drawn = if half == 0 { drawn_top } else { drawn_bottom };
                match polarity {
                    // Blocks in black on a white cell background; outside the code the
                    // terminal's own dark background.
                    Polarity::DarkOnLight => c.bg == Color::White && !drawn,
                    // Blocks in the terminal's light foreground on its dark background.
                    Polarity::Inverted => drawn,
                }
            };
            let scale = 4usize;
            let cols = usize::from(screen.width);
            let rows = usize::from(screen.height) * 2;
            let mut img =
                rqrr::PreparedImage::prepare_from_greyscale(cols * scale, rows * scale, |x, y| {
                    let (cx, py) = (x / scale, y / scale);
                    let cx = u16::try_from(cx).unwrap();
                    let cy = u16::try_from(py / 2).unwrap();
                    if light(cx, cy, py % 2) { 255 } else { 0 }
                });
            let grids = img.detect_grids();
            assert_eq!(grids.len(), 1, "{polarity:?}: one code found");
            let (_, content) = grids[0].decode().expect("decodes");
            assert_eq!(content, URL, "{polarity:?}");
            // Its light border is whole on all four sides: the quiet rows top and bottom,
            // the quiet columns left and right.
            let side = qr.modules() + 2;
            for x in 0..side {
                let x16 = mx + u16::try_from(x).unwrap();
                assert!(light(x16, my, 0), "{polarity:?}: top at {x}");
                let last = side - 1;
                let y = my + u16::try_from(last / 2).unwrap();
                assert!(light(x16, y, last % 2), "{polarity:?}: bottom at {x}");
            }
            for row in 0..side {
                let y = my + u16::try_from(row / 2).unwrap();
                assert!(light(mx, y, row % 2), "{polarity:?}: left at {row}");
                let right = mx + u16::try_from(side - 1).unwrap();
                assert!(light(right, y, row % 2), "{polarity:?}: right at {row}");
            }
        }
    }

    #[test]
    fn the_documents_links_fit_in_24_rows() {
        let qr = QrView::new(URL).unwrap();
        assert!(qr.modules() <= 37, "version 5 at most: {}", qr.modules());
        let (w, h) = qr.size();
        assert!(h <= 20 && w <= 40, "{w}x{h}");
        assert!(qr.fits(Rect::new(0, 0, 80, 22)));
    }

    #[test]
    fn too_small_an_area_draws_nothing() {
        let qr = QrView::new(URL).unwrap();
        let (w, h) = qr.size();
        let area = Rect::new(0, 0, w, h - 1);
        assert!(!qr.fits(area));
        let mut buf = Buffer::empty(area);
        qr.render(area, &mut buf);
        assert!(buf.content().iter().all(|c| c.symbol() == " "));
    }

    #[test]
    fn the_quiet_zone_grows_the_code() {
        let qr = QrView::new("kassa").unwrap();
        assert_eq!(qr.modules(), 21);
        assert_eq!(qr.size(), (23, 12));
        assert_eq!(qr.clone().quiet_zone(4).size(), (29, 15));
        let lines = qr.lines();
        assert_eq!(lines.len(), 12);
        // The quiet zone's first row and the finder's top edge share the first cell row.
        assert!(lines[0].to_string().starts_with(" ▄▄▄▄▄▄▄ "));
    }

    #[test]
    fn too_long_a_text_is_an_error() {
        let long = "x".repeat(3000);
        assert_eq!(QrView::new(&long), Err(QrError::TooLong(3000)));
    }
}
