//! The runner's `submit-batch` call: the jobs of one sweep, pushed together, handed to the
//! runner in ONE call, which submits them as one scheduler array (`sbatch --array`, `qsub -t`,
//! one HTCondor cluster, an LSF job array).
//!
//! Request: the file named by `GRUNT_BATCH_FILE`, one line per job, in task order,
//! `<jobid> TAB <absolute job directory>` ([`SubmitJob`]). Answer: the jobs' own files, as for
//! `submit`: the runner writes each submitted job's `job.slurmid` (creating it before it calls
//! the scheduler, removing it only when nothing was queued). grund then submits every job of
//! the batch that has no `job.slurmid` with a `submit` of its own, so a runner without
//! `submit-batch` (the original `grunter.py`, which exits non-zero for a word it does not know)
//! gets one `submit` per job, as before.

use std::path::PathBuf;

use crate::jobid::JobId;

/// The runner command word.
pub use super::words::SUBMIT_BATCH as WORD;

/// One job of a `submit-batch` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitJob {
    pub id: JobId,
    /// The job's directory on the server, where its task runs.
    pub dir: PathBuf,
}

impl SubmitJob {
    /// The request file's text for `jobs`. A directory holding a tab or a newline is left out
    /// rather than garbled (grund then submits that job on its own).
    pub fn render_all(jobs: &[SubmitJob]) -> String {
        jobs.iter()
            .filter_map(|j| {
                let dir = j.dir.to_str()?;
                if dir.contains(['\t', '\n', '\r']) {
                    return None;
                }
                Some(format!("{}\t{dir}\n", j.id))
            })
            .collect()
    }

    /// Which of `jobs` a request file for them carries (the others are submitted one by one).
    pub fn renderable(j: &SubmitJob) -> bool {
        j.dir
            .to_str()
            .is_some_and(|d| !d.contains(['\t', '\n', '\r']))
    }

    /// Reads a request file (for runners written in Rust, and for tests); malformed lines are
    /// skipped.
    pub fn parse_all(text: &str) -> Vec<SubmitJob> {
        text.lines()
            .filter_map(|l| {
                let (id, dir) = l.split_once('\t')?;
                Some(SubmitJob {
                    id: id.parse().ok()?,
                    dir: PathBuf::from(dir),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips() {
        let id = |s: &str| s.parse::<JobId>().unwrap();
        let jobs = vec![
            SubmitJob {
                id: id("ore000001"),
                dir: "/s/a b/ore000001/sim".into(),
            },
            SubmitJob {
                id: id("ore000002"),
                dir: "/s/x\ty".into(),
            },
            SubmitJob {
                id: id("ore000003"),
                dir: "/s/ore000003/sim".into(),
            },
        ];
        let text = SubmitJob::render_all(&jobs);
        assert_eq!(
            text,
            "ore000001\t/s/a b/ore000001/sim\nore000003\t/s/ore000003/sim\n"
        );
        assert!(!SubmitJob::renderable(&jobs[1]));
        assert_eq!(
            SubmitJob::parse_all(&text),
            vec![jobs[0].clone(), jobs[2].clone()]
        );
        assert!(SubmitJob::parse_all("x\ty\n\nore000001 /a\n").is_empty());
    }
}
