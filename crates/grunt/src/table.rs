//! Tables for people (comfy-table): fitted to the terminal's width, one line per row with long
//! cells truncated, and never longer than [`MAX_CELL`] characters when piped. Also the short
//! forms of durations and times that tables show.

use comfy_table::{presets, ColumnConstraint, ContentArrangement, Row, Table, Width};

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
/// `shrink` are the columns that give way (truncated) when the width is short, in order.
pub fn render_fitted(
    header: &[&str],
    rows: &[Vec<String>],
    width: Option<u16>,
    shrink: &[usize],
) -> String {
    let mut t = Table::new();
    t.load_style(
        presets::NOTHING.header_separator(comfy_table::LineStyle::new(' ', '-', ' ', ' ')),
    );
    t.set_truncation_indicator("…");
    t.set_header(header.iter().copied());
    for r in rows {
        let mut row = Row::from(r.iter().map(|c| truncate(c, MAX_CELL)));
        row.max_height(1);
        t.add_row(row);
    }
    if let Some(w) = width {
        t.set_width(w);
        t.set_content_arrangement(ContentArrangement::Dynamic);
        // Columns that do not give way keep their full width.
        let constraints: Vec<ColumnConstraint> = (0..header.len())
            .map(|i| {
                if shrink.contains(&i) {
                    ColumnConstraint::LowerBoundary(Width::Fixed(4))
                } else {
                    ColumnConstraint::ContentWidth
                }
            })
            .collect();
        t.set_constraints(constraints);
    }
    let mut s: String = t
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    s.push('\n');
    s
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
