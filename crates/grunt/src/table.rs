//! Tables for people (comfy-table): fitted to the terminal's width, one line per row with long
//! cells truncated, and never longer than [`MAX_CELL`] characters when piped. Also the short
//! forms of durations and times that tables show.

use comfy_table::{presets, Row, Table};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// No cell is longer than this, on a terminal or not (a 64 KiB argument must not flood it).
pub const MAX_CELL: usize = 200;

/// The width to fit tables to: stdout's terminal (or `$COLUMNS`), none when piped.
pub fn width() -> Option<u16> {
    use std::io::IsTerminal;
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
    {
        return std::io::stdout().is_terminal().then_some(c);
    }
    terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0)
}

/// Renders rows under a header: columns aligned, a dashed line under the header.
/// `shrink` are the columns that give way (cut, with `…`) when the width is short, in order:
/// the first gives way down to [`MIN_SHRUNK`] before the next one does.
pub fn render_fitted(
    header: &[&str],
    rows: &[Vec<String>],
    width: Option<u16>,
    shrink: &[usize],
) -> String {
    let mut cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| truncate(c, MAX_CELL)).collect())
        .collect();
    if let Some(w) = width {
        let widths = fitted_widths(header, &cells, usize::from(w), shrink);
        for row in &mut cells {
            for (c, cell) in row.iter_mut().enumerate() {
                if let Some(&max) = widths.get(c) {
                    *cell = truncate_width(cell, max);
                }
            }
        }
    }
    // comfy-table only aligns: the cells already fit, so it never wraps or cuts at a word.
    let mut t = Table::new();
    t.load_style(
        presets::NOTHING.header_separator(comfy_table::LineStyle::new(' ', '-', ' ', ' ')),
    );
    t.set_header(header.iter().copied());
    for r in cells {
        t.add_row(Row::from(r));
    }
    let mut s: String = t
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    s.push('\n');
    s
}

/// A column that gives way keeps at least this many characters.
pub const MIN_SHRUNK: usize = 4;

/// Each column's width so that a line fits `width`, taking from the `shrink` columns in
/// order. A line is a border space, then each cell with a space of padding either side, with
/// a space between cells: three columns more than its cells.
fn fitted_widths(
    header: &[&str],
    cells: &[Vec<String>],
    width: usize,
    shrink: &[usize],
) -> Vec<usize> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in cells {
        for (c, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(visible_width(cell));
            }
        }
    }
    let line = |ws: &[usize]| ws.iter().map(|w| w + 3).sum::<usize>();
    for &c in shrink {
        let over = line(&widths).saturating_sub(width);
        if over == 0 {
            break;
        }
        if let Some(w) = widths.get_mut(c) {
            let floor = MIN_SHRUNK.max(header.get(c).map_or(0, |h| h.width()));
            *w = w.saturating_sub(over).max(floor.min(*w));
        }
    }
    widths
}

/// `s` cut to `max` display columns, with `…` where it was cut. Colour escapes are kept
/// whole and take no room.
fn truncate_width(s: &str, max: usize) -> String {
    if visible_width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    let mut coloured = false;
    for piece in pieces(s) {
        match piece {
            Piece::Escape(e) => {
                coloured = true;
                out.push_str(e);
            }
            Piece::Char(ch) => {
                let w = ch.width().unwrap_or(0);
                if used + w + 1 > max {
                    break;
                }
                used += w;
                out.push(ch);
            }
        }
    }
    out.push('…');
    if coloured {
        out.push_str("\x1b[0m");
    }
    out
}

/// The columns `s` takes on a terminal: its characters' widths, colour escapes not counted.
fn visible_width(s: &str) -> usize {
    pieces(s)
        .map(|p| match p {
            Piece::Char(ch) => ch.width().unwrap_or(0),
            Piece::Escape(_) => 0,
        })
        .sum()
}

enum Piece<'a> {
    Char(char),
    /// A CSI sequence (`ESC [ … final byte`), as colours are written.
    Escape(&'a str),
}

fn pieces(s: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let ch = rest.chars().next()?;
        if let Some(tail) = rest.strip_prefix("\x1b[") {
            let end = tail
                .find(|c: char| ('@'..='~').contains(&c))
                .map_or(tail.len(), |i| i + 1);
            let (escape, after) = rest.split_at(2 + end);
            rest = after;
            return Some(Piece::Escape(escape));
        }
        rest = &rest[ch.len_utf8()..];
        Some(Piece::Char(ch))
    })
}

/// Renders rows under a header, without fitting (lists whose every cell matters).
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    render_fitted(header, rows, None, &[])
}

/// At most `max` characters of `s`, on one line, with `…` where it was cut.
pub fn truncate(s: &str, max: usize) -> String {
    let one_line = s.replace(['\n', '\r', '\t'], " ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A duration as tables show it: `42s`, `3m05s`, `1h02m`, `2d03h`.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s:02}s"),
        (0, _, _) => format!("{h}h{m:02}m"),
        _ => format!("{d}d{h:02}h"),
    }
}

/// A stored timestamp as a short local time: `12-02 09:30` (the year only when not this one).
pub fn short_time(stored: &str) -> String {
    use chrono::{Datelike, Local};
    match grunt_core::time::parse(stored) {
        Some(t) => {
            let t = t.with_timezone(&Local);
            if t.year() == Local::now().year() {
                t.format("%m-%d %H:%M").to_string()
            } else {
                t.format("%Y-%m-%d %H:%M").to_string()
            }
        }
        None => stored.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_the_width_one_line_per_row() {
        let long = "a very long message ".repeat(20);
        let rows = vec![vec!["ore000001".to_string(), "Done".into(), long]];
        let s = render_fitted(&["JobId", "State", "Message"], &rows, Some(40), &[2]);
        for l in s.lines() {
            assert!(l.chars().count() <= 40, "{l:?} is wider than 40");
        }
        assert_eq!(s.lines().count(), 3, "{s}");
        assert!(s.contains("ore000001") && s.contains('…'), "{s}");
        let widest = s.lines().map(|l| l.chars().count()).max();
        assert_eq!(
            widest,
            Some(40),
            "a cut row should use the whole width:\n{s}"
        );
        // Cut by characters, not at a word: the message keeps as much as fits.
        assert!(s.contains("a very long mess…"), "{s}");
        // Colour takes no room, and survives a cut.
        let red = "\x1b[31mFailed(3)\x1b[0m".to_string();
        assert_eq!(visible_width(&red), 9);
        assert_eq!(truncate_width(&red, 5), "\x1b[31mFail…\x1b[0m");
        // Wide characters count twice.
        let rows = vec![vec!["x".to_string(), "é漢字".repeat(20)]];
        let s = render_fitted(&["A", "B"], &rows, Some(20), &[1]);
        for l in s.lines() {
            assert!(l.width() <= 20, "{l:?} is wider than 20");
        }
    }

    #[test]
    fn huge_cells_are_cut_even_when_piped() {
        let rows = vec![vec!["x".repeat(65536)]];
        let s = render(&["Args"], &rows);
        assert!(s.len() < 1000);
    }

    #[test]
    fn durations() {
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(185), "3m05s");
        assert_eq!(duration(3720), "1h02m");
        assert_eq!(duration(2 * 86400 + 3 * 3600), "2d03h");
    }
}
