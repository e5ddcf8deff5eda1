//! Plain aligned tables, as the original prints them (header, a row of `=======`, rows).

/// Renders rows under a header, columns separated by tabs and padded to align.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut all: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    all.push(header.iter().map(|_| "=======".to_string()).collect());
    all.extend(rows.iter().cloned());
    let cols = header.len();
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            all.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(1)
                .max(1)
        })
        .collect();
    let mut s = String::new();
    for r in &all {
        let line: Vec<String> = (0..cols)
            .map(|i| {
                let c = r.get(i).map(String::as_str).unwrap_or("");
                if i + 1 == cols {
                    c.to_string()
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        s.push_str(line.join("\t").trim_end());
        s.push('\n');
    }
    s
}
