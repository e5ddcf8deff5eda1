//! `job.usage`: what an ended job used, as its runner read it from the scheduler's accounting
//! (Slurm's `sacct`, Grid Engine's `qacct`, LSF's `bjobs`, HTCondor's `condor_history`, the local
//! runner's own measure), and the efficiency `grunt show` derives from it.
//!
//! The file is `KEY=VALUE` lines; blank lines, `#` comments, unknown keys and values that do not
//! parse are ignored, so a runner may add keys and an older client still reads the rest. Values
//! keep the scheduler's own forms, which are parsed here, once, rather than in every runner:
//!
//! | key | value |
//! |---|---|
//! | `source` | where the figures come from: `sacct`, `qacct`, `bjobs`, `condor_history`, `time`, … |
//! | `state` | the scheduler's word for how the job ended |
//! | `elapsed` | wall-clock time: seconds (`754`, `754.2`, `754s`) or `[D-][H:]M:S[.f]` |
//! | `cpu_time` | CPU time (user + system) of all the job's processes, in the same forms |
//! | `cpus` | CPUs allocated |
//! | `nodes` | nodes allocated (1 when missing) |
//! | `mem_used` | peak memory: bytes, or a number with `K`, `M`, `G`, `T` or `P` (powers of 1024; a trailing `B` or `bytes` is ignored) |
//! | `mem_requested` | memory requested for the whole job, in the same forms; only when the job asked for memory. Old `sacct`'s `n`/`c` suffix (per node, per CPU: `4000Mn`, `4Gc`) is multiplied out |
//! | `time_requested` | the time limit the job asked for, in the forms of `elapsed`; only when it asked for one |
//!
//! A file that is huge or binary is no error: only its first [`MAX_TEXT`] bytes are looked at,
//! and what does not parse is left out.

use serde::Serialize;

/// How much of a `job.usage` is read; the figures take a few hundred bytes.
pub const MAX_TEXT: usize = 16 << 10;
/// A memory request is "far too large" below this share used ([`Efficiency::hints`]).
pub const LOW_SHARE: f64 = 0.25;
/// Below this much memory to spare, a request is not worth a hint.
const MIN_SPARE_BYTES: u64 = 256 << 20;
/// Below this much time to spare, a time limit is not worth a hint.
const MIN_SPARE_SECS: f64 = 1800.0;
/// Figures above this (about 1 EiB, or 30 billion years) are taken for garbage.
const MAX_FIGURE: f64 = 1e18;

const KIB: u64 = 1024;
const MIB: u64 = KIB << 10;
const GIB: u64 = MIB << 10;

/// The figures of a `job.usage`, each `None` when missing or unreadable.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    pub source: Option<String>,
    pub state: Option<String>,
    pub elapsed_secs: Option<f64>,
    pub cpu_secs: Option<f64>,
    pub cpus: Option<u32>,
    pub nodes: Option<u32>,
    pub mem_used_bytes: Option<u64>,
    pub mem_requested_bytes: Option<u64>,
    pub time_requested_secs: Option<f64>,
}

impl Usage {
    /// Reads a `job.usage` (see the module's table); never fails.
    pub fn parse(text: &str) -> Usage {
        let mut cut = text.len().min(MAX_TEXT);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut u = Usage::default();
        let mut mem_requested = None;
        for line in text[..cut].lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.trim();
            match k.trim() {
                "source" => u.source = word(v),
                "state" => u.state = word(v),
                "elapsed" => u.elapsed_secs = parse_duration(v),
                "cpu_time" => u.cpu_secs = parse_duration(v),
                "cpus" => u.cpus = count(v),
                "nodes" => u.nodes = count(v),
                "mem_used" => u.mem_used_bytes = parse_size(v).map(|(b, _)| b),
                "mem_requested" => mem_requested = parse_size(v),
                "time_requested" => u.time_requested_secs = parse_duration(v),
                _ => {}
            }
        }
        // Per CPU or per node: times the job's CPUs or nodes, known only once all is read.
        u.mem_requested_bytes = mem_requested.and_then(|(bytes, per)| {
            let times = match per {
                Per::Job => 1,
                Per::Cpu => u.cpus?,
                Per::Node => u.nodes.unwrap_or(1),
            };
            bytes.checked_mul(u64::from(times))
        });
        u
    }

    /// Whether it holds no figure at all.
    pub fn is_empty(&self) -> bool {
        self.elapsed_secs.is_none()
            && self.cpu_secs.is_none()
            && self.mem_used_bytes.is_none()
            && self.mem_requested_bytes.is_none()
            && self.time_requested_secs.is_none()
    }

    /// The efficiency figures and hints.
    pub fn efficiency(&self) -> Efficiency {
        let mem_percent = match (self.mem_used_bytes, self.mem_requested_bytes) {
            (Some(used), Some(req)) if req > 0 => Some(used as f64 * 100.0 / req as f64),
            _ => None,
        };
        let cpu_percent = match (self.cpu_secs, self.elapsed_secs, self.cpus) {
            (Some(cpu), Some(el), Some(n)) if el > 0.0 && n > 0 => {
                Some(cpu * 100.0 / (el * f64::from(n)))
            }
            _ => None,
        };
        let time_percent = match (self.elapsed_secs, self.time_requested_secs) {
            (Some(el), Some(limit)) if limit > 0.0 => Some(el * 100.0 / limit),
            _ => None,
        };
        let mut e = Efficiency {
            mem_percent,
            cpu_percent,
            time_percent,
            hints: Vec::new(),
        };
        e.hints = e.make_hints(self);
        e
    }
}

/// Memory used against requested, CPU efficiency (CPU time / (elapsed × CPUs)) and elapsed
/// against the time limit, in percent, and what to ask for next time when a request was far
/// too large.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Efficiency {
    pub mem_percent: Option<f64>,
    pub cpu_percent: Option<f64>,
    pub time_percent: Option<f64>,
    pub hints: Vec<String>,
}

impl Efficiency {
    fn make_hints(&self, u: &Usage) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(pct), Some(used), Some(req)) =
            (self.mem_percent, u.mem_used_bytes, u.mem_requested_bytes)
        {
            let ask = suggest_mem(used);
            if pct < LOW_SHARE * 100.0 && req.saturating_sub(ask) >= MIN_SPARE_BYTES {
                out.push(format!(
                    "requested {}, used {} ({}): ask for ~{} next time (mem in the profile)",
                    format_bytes(req),
                    format_bytes(used),
                    percent(pct),
                    format_bytes(ask)
                ));
            }
        }
        if let (Some(pct), Some(cpu), Some(el), Some(n)) =
            (self.cpu_percent, u.cpu_secs, u.elapsed_secs, u.cpus)
        {
            if n > 1 && pct < LOW_SHARE * 100.0 {
                let busy = cpu / el;
                // A fifth more than the average, at least one, fewer than asked for.
                let ask = ((busy * 1.2).ceil() as u32).clamp(1, n - 1);
                out.push(format!(
                    "asked for {n} CPUs, kept {busy:.1} busy on average ({}): ask for ~{ask} next time (cpus in the profile)",
                    percent(pct)
                ));
            }
        }
        if let (Some(pct), Some(el), Some(limit)) =
            (self.time_percent, u.elapsed_secs, u.time_requested_secs)
        {
            let ask = suggest_time(el);
            if pct < LOW_SHARE * 100.0 && limit - ask >= MIN_SPARE_SECS {
                out.push(format!(
                    "time limit {}, ran {} ({}): ask for ~{} next time (time in the profile)",
                    format_hms(limit),
                    format_hms(el),
                    percent(pct),
                    format_hms(ask)
                ));
            }
        }
        out
    }
}

/// A time limit for a job that ran `elapsed`: half as long again, rounded up to 15 minutes
/// below 2 hours and to whole hours above.
pub fn suggest_time(elapsed: f64) -> f64 {
    let want = (elapsed * 1.5).max(1.0);
    let step = if want < 7200.0 { 900.0 } else { 3600.0 };
    (want / step).ceil() * step
}

/// Seconds as a profile's `time` takes them: `H:MM:SS`, with days as `D-H:MM:SS`.
pub fn format_hms(secs: f64) -> String {
    let s = secs.round().clamp(0.0, MAX_FIGURE) as u64;
    let (d, h, m, s) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}-{h}:{m:02}:{s:02}")
    } else {
        format!("{h}:{m:02}:{s:02}")
    }
}

/// A percentage for people: `8%`, `0.4%`, `<0.1%`, `112%`.
pub fn percent(p: f64) -> String {
    if p > 0.0 && p < 0.05 {
        "<0.1%".into()
    } else if p > 0.0 && p < 1.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// What to ask for when `used` was the peak: a fifth more, rounded up to 128M below 1G and to
/// whole G above.
pub fn suggest_mem(used: u64) -> u64 {
    let want = used.saturating_add(used / 5).max(1);
    let step = if want < GIB { 128 * MIB } else { GIB };
    want.div_ceil(step).saturating_mul(step)
}

/// Bytes for people, in the units profiles take: `16G`, `1.2G`, `384M`, `12K`, `900B`.
pub fn format_bytes(b: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 50, "P"),
        (1 << 40, "T"),
        (GIB, "G"),
        (MIB, "M"),
        (KIB, "K"),
    ];
    for (size, unit) in UNITS {
        if b >= size {
            let v = b as f64 / size as f64;
            return if v < 10.0 && (v * 10.0).round() % 10.0 != 0.0 {
                format!("{v:.1}{unit}")
            } else {
                format!("{v:.0}{unit}")
            };
        }
    }
    format!("{b}B")
}

/// Whom a memory request counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Per {
    Job,
    Node,
    Cpu,
}

/// A duration in seconds: `754`, `754.2`, `754s`, `M:S[.f]`, `H:M:S[.f]`, `D-H[:M[:S]]`.
pub fn parse_duration(text: &str) -> Option<f64> {
    let t = text.trim();
    let t = t.strip_suffix('s').unwrap_or(t);
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (number(d)?, r),
        None => (0.0, t),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let secs = if t.contains('-') {
        // Slurm's D-H, D-H:M, D-H:M:S.
        match parts.as_slice() {
            [h] => number(h)? * 3600.0,
            [h, m] => number(h)? * 3600.0 + number(m)? * 60.0,
            [h, m, s] => number(h)? * 3600.0 + number(m)? * 60.0 + number(s)?,
            _ => return None,
        }
    } else {
        match parts.as_slice() {
            [s] => number(s)?,
            [m, s] => number(m)? * 60.0 + number(s)?,
            [h, m, s] => number(h)? * 3600.0 + number(m)? * 60.0 + number(s)?,
            _ => return None,
        }
    };
    let total = days * 86400.0 + secs;
    (total <= MAX_FIGURE).then_some(total)
}

/// A memory size in bytes and whom it counts for: `1234` (bytes), `219724K`, `4G`, `4000M`,
/// `209.875MB`, `2 Mbytes`, old sacct's `4000Mn` (per node) and `4Gc` (per CPU).
pub fn parse_size(text: &str) -> Option<(u64, Per)> {
    let mut t: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let mut per = Per::Job;
    for (suffix, p) in [("n", Per::Node), ("c", Per::Cpu)] {
        // `4000Mn`, `4Gc`: a unit before the suffix, so that no plain number is misread.
        if t.len() >= 2
            && t.ends_with(suffix)
            && t[..t.len() - 1].ends_with(|c: char| "kmgtp".contains(c))
        {
            t.pop();
            per = p;
        }
    }
    for s in ["bytes", "byte", "b"] {
        if let Some(x) = t.strip_suffix(s) {
            t = x.to_string();
            break;
        }
    }
    let (num, shift) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 10),
        'm' => (&t[..t.len() - 1], 20),
        'g' => (&t[..t.len() - 1], 30),
        't' => (&t[..t.len() - 1], 40),
        'p' => (&t[..t.len() - 1], 50),
        _ => (t.as_str(), 0),
    };
    let bytes = number(num)? * (1u64 << shift) as f64;
    (bytes <= MAX_FIGURE).then_some((bytes.round() as u64, per))
}

/// A plain non-negative decimal number.
fn number(t: &str) -> Option<f64> {
    let t = t.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    t.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v <= MAX_FIGURE)
}

fn count(t: &str) -> Option<u32> {
    t.trim().parse::<u32>().ok()
}

/// One short printable word, or nothing.
fn word(t: &str) -> Option<String> {
    let w: String = t
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect();
    (!w.is_empty()).then_some(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_schedulers_form() {
        for (t, want) in [
            ("754", 754.0),
            ("754.5", 754.5),
            ("6s", 6.0),
            ("0.012s", 0.012),
            // sacct Elapsed and TotalCPU.
            ("00:00:03", 3.0),
            ("00:02.844", 2.844),
            ("12:34.567", 754.567),
            ("01:02:03", 3723.0),
            ("1-02:03:04", 93784.0),
            ("2-00:00:00", 172800.0),
            // Slurm time limits.
            ("1-2", 93600.0),
            ("1-2:30", 95400.0),
        ] {
            let got = parse_duration(t).unwrap_or_else(|| panic!("{t}"));
            assert!((got - want).abs() < 1e-9, "{t}: {got} != {want}");
        }
        for bad in [
            "",
            "-",
            "abc",
            "1:2:3:4",
            "-5",
            "1e5",
            "nan",
            "inf",
            "Unknown",
            "9999999999999999999999",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn sizes_in_every_schedulers_form() {
        for (t, bytes, per) in [
            ("1234", 1234, Per::Job),
            // sacct MaxRSS (default and --noconvert), ReqMem of 21.08 and later.
            ("219724K", 219724 * KIB, Per::Job),
            ("224997376", 224997376, Per::Job),
            ("500M", 500 * MIB, Per::Job),
            ("4G", 4 * GIB, Per::Job),
            ("1.50G", 1536 * MIB, Per::Job),
            // ReqMem of Slurm before 21.08: per node or per CPU.
            ("4000Mn", 4000 * MIB, Per::Node),
            ("4Gc", 4 * GIB, Per::Cpu),
            ("2Gn", 2 * GIB, Per::Node),
            // qacct maxvmem, bjobs max_mem, with units spelled out.
            ("209.875MB", 220069888, Per::Job),
            ("0.000B", 0, Per::Job),
            ("2 Mbytes", 2 * MIB, Per::Job),
            ("10 GB", 10 * GIB, Per::Job),
            ("16384 KB", 16 * MIB, Per::Job),
        ] {
            assert_eq!(parse_size(t), Some((bytes, per)), "{t}");
        }
        for bad in ["", "M", "n", "c", "4X", "-4G", "4GG", "1e9", "lots", "4Gx"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    /// Real `job.usage` files, as the runners write them.
    #[test]
    fn reads_what_the_runners_write() {
        let slurm = "source=sacct\nstate=COMPLETED\nelapsed=00:00:03\ncpu_time=00:02.844\ncpus=1\nnodes=1\nmem_used=219724K\nmem_requested=500M\n";
        let u = Usage::parse(slurm);
        assert_eq!(u.source.as_deref(), Some("sacct"));
        assert_eq!(u.state.as_deref(), Some("COMPLETED"));
        assert_eq!(u.elapsed_secs, Some(3.0));
        assert_eq!(u.cpu_secs, Some(2.844));
        assert_eq!(u.cpus, Some(1));
        assert_eq!(u.mem_used_bytes, Some(219724 * KIB));
        assert_eq!(u.mem_requested_bytes, Some(500 * MIB));
        let e = u.efficiency();
        assert!((e.mem_percent.unwrap() - 42.9).abs() < 0.1, "{e:?}");
        assert!((e.cpu_percent.unwrap() - 94.8).abs() < 0.1, "{e:?}");
        assert!(e.hints.is_empty(), "{e:?}");

        // Old sacct: 4000M per CPU on 4 CPUs is 16000M for the job.
        let old = Usage::parse("cpus=4\nmem_requested=4000Mc\nmem_used=1G\n");
        assert_eq!(old.mem_requested_bytes, Some(16000 * MIB));
        // Per node, on 2 nodes; and without the count of CPUs, a per-CPU request is unknown.
        let nodes = Usage::parse("nodes=2\nmem_requested=4Gn\n");
        assert_eq!(nodes.mem_requested_bytes, Some(8 * GIB));
        assert_eq!(
            Usage::parse("mem_requested=4Gc\n").mem_requested_bytes,
            None
        );

        let sge = "source=qacct\nelapsed=3s\ncpu_time=2.449s\ncpus=1\nmem_used=209.875MB\nmem_requested=1000M\n";
        let u = Usage::parse(sge);
        assert_eq!(u.elapsed_secs, Some(3.0));
        assert_eq!(u.mem_used_bytes, Some(220069888));
        assert!(!u.is_empty());
    }

    #[test]
    fn hints_when_a_request_is_far_too_large() {
        let u =
            Usage::parse("elapsed=1000\ncpu_time=1300\ncpus=8\nmem_used=1.2G\nmem_requested=16G\n");
        let e = u.efficiency();
        assert_eq!(
            e.hints,
            [
                "requested 16G, used 1.2G (8%): ask for ~2G next time (mem in the profile)",
                "asked for 8 CPUs, kept 1.3 busy on average (16%): ask for ~2 next time (cpus in the profile)",
            ]
        );
        // A time limit far above what the job ran.
        let t = Usage::parse("elapsed=00:35:00\ntime_requested=10:00:00\n").efficiency();
        assert_eq!(
            t.hints,
            ["time limit 10:00:00, ran 0:35:00 (6%): ask for ~1:00:00 next time (time in the profile)"]
        );
        assert_eq!(format_hms(suggest_time(3.0 * 3600.0)), "5:00:00");
        assert_eq!(format_hms(2.0 * 86400.0 + 61.0), "2-0:01:01");
        // Well used, or one CPU, or too little to spare: no hint.
        for text in [
            "elapsed=100\ncpu_time=390\ncpus=4\nmem_used=3G\nmem_requested=4G\n",
            "elapsed=100\ncpu_time=1\ncpus=1\n",
            "mem_used=10M\nmem_requested=200M\n",
            "elapsed=50:00\ntime_requested=1:00:00\n",
            "elapsed=60\ntime_requested=30:00\n",
        ] {
            assert!(Usage::parse(text).efficiency().hints.is_empty(), "{text}");
        }
        // Nothing requested: a peak, no percentage.
        let e = Usage::parse("mem_used=3G\n").efficiency();
        assert_eq!(e.mem_percent, None);
    }

    #[test]
    fn suggestions_and_sizes_read_as_profiles_take_them() {
        assert_eq!(format_bytes(suggest_mem(1288490188)), "2G");
        assert_eq!(format_bytes(suggest_mem(219724 * KIB)), "384M");
        assert_eq!(format_bytes(suggest_mem(0)), "128M");
        assert_eq!(format_bytes(16 * GIB), "16G");
        assert_eq!(format_bytes(21694 * MIB), "21G");
        assert_eq!(format_bytes(1536 * MIB), "1.5G");
        assert_eq!(format_bytes(500 * MIB), "500M");
        assert_eq!(format_bytes(900), "900B");
        assert_eq!(percent(8.4), "8%");
        assert_eq!(percent(0.42), "0.4%");
        assert_eq!(percent(0.011), "<0.1%");
        assert_eq!(percent(0.0), "0%");
    }

    #[test]
    fn hostile_files_are_no_error() {
        // Binary, huge, and lines of garbage: what parses is kept, the rest left out.
        let mut huge = "cpus=2\n".to_string();
        huge.push_str(&"x".repeat(10 << 20));
        huge.push_str("\nmem_used=1G\n");
        let u = Usage::parse(&huge);
        assert_eq!(u.cpus, Some(2));
        assert_eq!(u.mem_used_bytes, None, "past MAX_TEXT");
        let bin = String::from_utf8_lossy(&[0xff, 0, b'=', 0xfe, b'\n', b'=', b'=']).into_owned();
        assert!(Usage::parse(&bin).is_empty());
        let u = Usage::parse("elapsed=-1\ncpus=-3\nmem_used=nan\ncpu_time=1e400\nstate=\u{7}\n");
        assert!(
            u.is_empty() && u.cpus.is_none() && u.state.is_none(),
            "{u:?}"
        );
        // Multi-byte text cut at MAX_TEXT does not panic.
        let wide = "é".repeat(MAX_TEXT);
        assert!(Usage::parse(&wide).is_empty());
        // Random bytes through every parser: no panic, and figures stay in range.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet = b"0123456789.:-=snckmgtpbKMGTBN \n\xc3\xa9\xff";
        for _ in 0..2000 {
            let mut bytes = Vec::new();
            for _ in 0..(x % 24) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                bytes.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse_size(&text);
            assert!(parse_duration(&text).is_none_or(|d| (0.0..=MAX_FIGURE).contains(&d)));
            let line = format!(
                "mem_used={text}\ncpu_time={text}\nelapsed={text}\ncpus=3\nmem_requested={text}c"
            );
            let e = Usage::parse(&line).efficiency();
            let _ = e.hints;
        }
        // Zero elapsed or CPUs: no efficiency, no division by zero.
        let e = Usage::parse("elapsed=0\ncpu_time=5\ncpus=0\nmem_requested=0\nmem_used=5\n")
            .efficiency();
        assert_eq!((e.mem_percent, e.cpu_percent), (None, None));
    }
}
