//! Parameter sweeps: the axes a user gives (`--sweep lr=0.1,0.01`, `--sweep seed=1..5`, a
//! `--sweep-file params.toml`), the points of their cross product, and how a point is written
//! into its job: `job.args` gets one `--NAME=VALUE` line per parameter after the common
//! arguments (so runners pass them on unchanged), `job.params` holds `NAME=VALUE` lines, and
//! `job.sweep` names the sweep (the id of its first job). All three are ordinary `job.*` files
//! an older client ignores.

use thiserror::Error;

/// Above this many points a sweep is only submitted after a question on a terminal.
pub const ASK_ABOVE: u128 = 10_000;
/// Above this many points a sweep is refused outright (each point is a job directory).
pub const HARD_LIMIT: u128 = 1_000_000;

/// One parameter and its values, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    pub name: String,
    pub values: Vec<String>,
}

/// One point of a sweep: `(name, value)` pairs in the order of the axes.
pub type Point = Vec<(String, String)>;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SweepError {
    #[error("--sweep {0:?} has no `=`: write NAME=V1,V2 or NAME=A..B")]
    NoEquals(String),
    #[error("--sweep {0}= has no values: write {0}=V1,V2 or {0}=A..B")]
    NoValues(String),
    #[error("sweep parameter name {0:?} must be letters, digits, `_` or `-`, starting with a letter or `_`")]
    BadName(String),
    #[error("sweep parameter {name}: value {value:?} is empty or holds a newline")]
    BadValue { name: String, value: String },
    #[error("sweep parameter {0} is given twice")]
    Twice(String),
    #[error("sweep range {name}={range} is empty: the end is below the start")]
    EmptyRange { name: String, range: String },
    #[error("sweep range {name}={range}: both ends must be integers (A..B, inclusive)")]
    BadRange { name: String, range: String },
    #[error("the sweep has {0} points, more than grunt submits at once ({HARD_LIMIT})")]
    Huge(u128),
    #[error("sweep file: {0}")]
    File(String),
}

/// Parses `NAME=V1,V2,..` or `NAME=A..B` (integers, inclusive).
pub fn parse_axis(spec: &str) -> Result<Axis, SweepError> {
    let Some((name, values)) = spec.split_once('=') else {
        return Err(SweepError::NoEquals(spec.to_string()));
    };
    let name = name.trim();
    check_name(name)?;
    let values = values.trim();
    if values.is_empty() {
        return Err(SweepError::NoValues(name.to_string()));
    }
    Ok(Axis {
        name: name.to_string(),
        values: parse_values(name, values)?,
    })
}

/// `A..B` as integers, or a comma list.
fn parse_values(name: &str, values: &str) -> Result<Vec<String>, SweepError> {
    if let Some((a, b)) = values.split_once("..") {
        if !values.contains(',') {
            let bad = || SweepError::BadRange {
                name: name.to_string(),
                range: values.to_string(),
            };
            let a: i64 = a.trim().parse().map_err(|_| bad())?;
            let b: i64 = b.trim().parse().map_err(|_| bad())?;
            if b < a {
                return Err(SweepError::EmptyRange {
                    name: name.to_string(),
                    range: values.to_string(),
                });
            }
            let n = (i128::from(b) - i128::from(a) + 1) as u128;
            if n > HARD_LIMIT {
                return Err(SweepError::Huge(n));
            }
            return Ok((a..=b).map(|v| v.to_string()).collect());
        }
    }
    values
        .split(',')
        .map(|v| check_value(name, v.trim()))
        .collect()
}

fn check_name(name: &str) -> Result<(), SweepError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(SweepError::BadName(name.to_string()));
    }
    Ok(())
}

fn check_value(name: &str, v: &str) -> Result<String, SweepError> {
    if v.is_empty() || v.contains(['\n', '\r']) {
        return Err(SweepError::BadValue {
            name: name.to_string(),
            value: v.to_string(),
        });
    }
    Ok(v.to_string())
}

/// How many points `base` (explicit points; none means one empty point) crossed with `axes`
/// makes, without building them.
pub fn count(base: usize, axes: &[Axis]) -> u128 {
    axes.iter().fold(base.max(1) as u128, |n, a| {
        n.saturating_mul(a.values.len() as u128)
    })
}

/// The points: each of `base` (or one empty point) crossed with every axis, the first axis
/// varying slowest. Refuses a parameter named twice and more than [`HARD_LIMIT`] points.
pub fn points(base: Vec<Point>, axes: &[Axis]) -> Result<Vec<Point>, SweepError> {
    let n = count(base.len(), axes);
    if n > HARD_LIMIT {
        return Err(SweepError::Huge(n));
    }
    let mut names: Vec<&str> = base
        .first()
        .map(|p| p.iter().map(|(k, _)| k.as_str()).collect())
        .unwrap_or_default();
    for a in axes {
        if names.contains(&a.name.as_str()) {
            return Err(SweepError::Twice(a.name.clone()));
        }
        names.push(&a.name);
    }
    let mut out = if base.is_empty() {
        vec![Vec::new()]
    } else {
        base
    };
    for a in axes {
        let mut next = Vec::with_capacity(out.len() * a.values.len());
        for p in &out {
            for v in &a.values {
                let mut q = p.clone();
                q.push((a.name.clone(), v.clone()));
                next.push(q);
            }
        }
        out = next;
    }
    Ok(out)
}

/// A sweep file: `[sweep]` holds axes (`lr = [0.1, 0.01]`, `seed = "1..5"`), `[[point]]`
/// tables hold explicit points (`{ lr = 0.1, seed = 1 }`). Returns the points and the axes.
pub fn from_toml(text: &str) -> Result<(Vec<Point>, Vec<Axis>), SweepError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| SweepError::File(e.message().to_string()))?;
    let mut axes = Vec::new();
    let mut base = Vec::new();
    for (key, value) in &table {
        match (key.as_str(), value) {
            ("sweep", toml::Value::Table(t)) => {
                for (name, v) in t {
                    check_name(name)?;
                    let values = match v {
                        toml::Value::Array(vs) => vs
                            .iter()
                            .map(|x| check_value(name, &scalar(name, x)?))
                            .collect::<Result<Vec<_>, _>>()?,
                        toml::Value::String(s) => parse_values(name, s)?,
                        other => vec![check_value(name, &scalar(name, other)?)?],
                    };
                    if values.is_empty() {
                        return Err(SweepError::NoValues(name.clone()));
                    }
                    axes.push(Axis {
                        name: name.clone(),
                        values,
                    });
                }
            }
            ("point", toml::Value::Array(rows)) => {
                for row in rows {
                    let toml::Value::Table(t) = row else {
                        return Err(SweepError::File(
                            "each [[point]] must be a table of NAME = VALUE".into(),
                        ));
                    };
                    let mut p = Point::new();
                    for (name, v) in t {
                        check_name(name)?;
                        p.push((name.clone(), check_value(name, &scalar(name, v)?)?));
                    }
                    base.push(p);
                }
            }
            (other, _) => {
                return Err(SweepError::File(format!(
                "unknown entry {other:?}: a sweep file holds [sweep] (axes) and [[point]] tables"
            )))
            }
        }
    }
    // Every explicit point must name the same parameters, so the table of points is square.
    if let Some(first) = base.first() {
        let names = |p: &Point| {
            let mut n: Vec<String> = p.iter().map(|(k, _)| k.clone()).collect();
            n.sort();
            n
        };
        let want = names(first);
        if let Some(bad) = base.iter().find(|p| names(p) != want) {
            return Err(SweepError::File(format!(
                "every [[point]] must name the same parameters ({}), not {}",
                want.join(", "),
                names(bad).join(", ")
            )));
        }
    }
    Ok((base, axes))
}

fn scalar(name: &str, v: &toml::Value) -> Result<String, SweepError> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        _ => {
            return Err(SweepError::File(format!(
                "{name}: values are strings, numbers or booleans"
            )))
        }
    })
}

/// The job's arguments: the common ones, then `--NAME=VALUE` per parameter.
pub fn args_for(common: &[String], point: &Point) -> Vec<String> {
    let mut out = common.to_vec();
    out.extend(point.iter().map(|(k, v)| format!("--{k}={v}")));
    out
}

/// `job.params`: one `NAME=VALUE` line per parameter.
pub fn params_text(point: &Point) -> String {
    point.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// Reads `job.params` back.
pub fn parse_params(text: &str) -> Point {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_end_matches('\r').to_string()))
        .collect()
}

/// A point as people read it: `lr=0.1 seed=3`.
pub fn describe(point: &Point) -> String {
    point
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        assert_eq!(parse_axis("lr=0.1,0.01").unwrap().values, ["0.1", "0.01"]);
        assert_eq!(parse_axis("seed=1..3").unwrap().values, ["1", "2", "3"]);
        assert_eq!(parse_axis("s=-1..1").unwrap().values, ["-1", "0", "1"]);
        assert_eq!(
            parse_axis("lr=").unwrap_err(),
            SweepError::NoValues("lr".into())
        );
        assert!(matches!(parse_axis("lr"), Err(SweepError::NoEquals(_))));
        assert!(matches!(
            parse_axis("s=5..1"),
            Err(SweepError::EmptyRange { .. })
        ));
        assert!(matches!(
            parse_axis("s=a..b"),
            Err(SweepError::BadRange { .. })
        ));
        assert!(matches!(
            parse_axis("s=1,,2"),
            Err(SweepError::BadValue { .. })
        ));
        assert!(matches!(parse_axis("9x=1"), Err(SweepError::BadName(_))));
        assert!(matches!(
            parse_axis("s=0..99999999999"),
            Err(SweepError::Huge(_))
        ));
    }

    #[test]
    fn cross_product_first_axis_slowest() {
        let axes = [
            parse_axis("lr=0.1,0.01").unwrap(),
            parse_axis("seed=1..5").unwrap(),
        ];
        assert_eq!(count(0, &axes), 10);
        let p = points(Vec::new(), &axes).unwrap();
        assert_eq!(p.len(), 10);
        assert_eq!(describe(&p[0]), "lr=0.1 seed=1");
        assert_eq!(describe(&p[5]), "lr=0.01 seed=1");
        assert_eq!(
            args_for(&["--x".into()], &p[1]),
            ["--x", "--lr=0.1", "--seed=2"]
        );
        assert_eq!(parse_params(&params_text(&p[1])), p[1]);
        let twice = [parse_axis("a=1").unwrap(), parse_axis("a=2").unwrap()];
        assert!(matches!(
            points(Vec::new(), &twice),
            Err(SweepError::Twice(_))
        ));
    }

    #[test]
    fn sweep_files() {
        let (base, axes) = from_toml(
            "[sweep]\nseed = \"1..2\"\n[[point]]\nlr = 0.1\nlayers = 2\n[[point]]\nlr = 0.5\nlayers = 4\n",
        )
        .unwrap();
        let p = points(base, &axes).unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(describe(&p[3]), "layers=4 lr=0.5 seed=2");
        assert!(from_toml("[[point]]\na = 1\n[[point]]\nb = 2\n").is_err());
        assert!(from_toml("x = 1\n").is_err());
        assert!(from_toml("[sweep]\na = []\n").is_err());
    }
}
