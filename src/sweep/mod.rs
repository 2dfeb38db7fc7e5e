//! Seed sweeps: one independent run of an experiment per seed, `DIR/seed-<k>/`, each model of
//! each seed trained by its own `ntm train` process, then summarised across seeds.
//!
//! ```text
//! DIR/
//!   experiment.toml          the resolved experiment (the file + --set), its own seed
//!   seed-<k>/
//!     experiment.toml        the same with seed = k (what the jobs of this seed train)
//!     <model>/               a model folder exactly as `ntm train` writes it
//!     <model>.log            that job's stdout and stderr
//!   summary.json             per model, per seed and across seeds ([`summary`])
//!   plots/                   sweep-curves.png, sweep-generalisation.png, sweep-convergence.png
//! ```
//!
//! This module holds the pure parts: the seed list, the jobs and the command line of each
//! (what `ntm sweep --print-commands` prints and what `ntm sweep` runs); [`slurm`] writes them
//! as a SLURM job array. [`seed_run`] is the only place that reads a run folder's files;
//! [`summary`] turns what it read into numbers.

pub mod compare;
pub mod seed_run;
pub mod slurm;
pub mod summarize;
pub mod summary;

use std::path::{Path, PathBuf};

/// Most seeds one sweep may have: a typo such as `1-100000` is refused rather than queued.
pub const MAX_SEEDS: usize = 1_000;

/// Prefix of a seed's folder in a sweep folder: `seed-<k>`.
pub const SEED_PREFIX: &str = "seed-";

/// A seed list that cannot be used, with the text given and what is allowed.
#[derive(Debug, thiserror::Error)]
#[error("--seeds {text:?}: {message}")]
pub struct SeedsError {
    pub text: String,
    pub message: String,
}

/// Parses a seed list: comma-separated seeds and inclusive ranges, e.g. `1-10`, `3`,
/// `1,4,9`, `1-5,8`; in increasing order without repeats, at most [`MAX_SEEDS`] seeds.
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, SeedsError> {
    let fail = |message: String| SeedsError { text: text.to_owned(), message };
    let number = |word: &str| {
        word.trim().parse::<u64>().map_err(|_| {
            fail(format!("{:?} is not a seed (a whole number >= 0); give e.g. 1-10 or 1,4,9", word.trim()))
        })
    };
    if text.trim().is_empty() {
        return Err(fail("no seeds; give e.g. 1-10 or 1,4,9".into()));
    }
    let mut seeds: Vec<u64> = Vec::new();
    for part in text.split(',') {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => {
                let k = number(part)?;
                (k, k)
            }
        };
        if last < first {
            return Err(fail(format!("{first}-{last} is reversed; write {last}-{first}")));
        }
        let count = (last - first).saturating_add(1);
        if count > MAX_SEEDS as u64 || seeds.len() + count as usize > MAX_SEEDS {
            return Err(fail(format!("more than {MAX_SEEDS} seeds")));
        }
        for k in first..=last {
            if seeds.last().is_some_and(|&prev| k <= prev) {
                return Err(fail(format!("seed {k} repeats or is out of order; list seeds in increasing order")));
            }
            seeds.push(k);
        }
    }
    Ok(seeds)
}

/// Writes a seed list back compactly (`1-10`, `1-3,7`), as the resume command gives it.
pub fn format_seeds(seeds: &[u64]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < seeds.len() {
        let mut j = i;
        while j + 1 < seeds.len() && seeds[j + 1] == seeds[j] + 1 {
            j += 1;
        }
        parts.push(if j > i { format!("{}-{}", seeds[i], seeds[j]) } else { seeds[i].to_string() });
        i = j + 1;
    }
    parts.join(",")
}

/// The folder of seed `seed` in sweep folder `out`.
pub fn seed_dir(out: &Path, seed: u64) -> PathBuf {
    out.join(format!("{SEED_PREFIX}{seed}"))
}

/// The seed a folder name stands for: `seed-7` -> 7.
pub fn seed_of(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(SEED_PREFIX)?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok())?
}

/// The seed folders in sweep folder `out`, by increasing seed.
pub fn seed_dirs(out: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut dirs: Vec<(u64, PathBuf)> = std::fs::read_dir(out)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| Some((seed_of(e.file_name().to_str()?)?, e.path())))
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// How a job treats what its model folder already holds (the `train` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The folder is empty or absent.
    Fresh,
    /// Continue from the checkpoint there (`--resume`).
    Resume,
    /// Delete what is there and start again (`--overwrite`).
    Overwrite,
}

/// One training process of a sweep: model `model` of the experiment with `seed = seed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub seed: u64,
    pub model: String,
}

impl Job {
    /// The seed's folder (the job's `--out`).
    pub fn out(&self, sweep: &Path) -> PathBuf {
        seed_dir(sweep, self.seed)
    }

    /// The model folder the job trains into.
    pub fn dir(&self, sweep: &Path) -> PathBuf {
        self.out(sweep).join(&self.model)
    }

    /// The file the job's output goes to: `seed-<k>/<model>.log`.
    pub fn log(&self, sweep: &Path) -> PathBuf {
        self.out(sweep).join(format!("{}.log", self.model))
    }

    /// A short name for progress lines: `seed 3 ntm`.
    pub fn label(&self) -> String {
        format!("seed {} {}", self.seed, self.model)
    }

    /// The arguments of `ntm` that run this job: `train EXPERIMENT --model M --out
    /// DIR/seed-k --set seed=k [--set ...] [--resume | --overwrite]`.
    pub fn train_args(&self, experiment: &Path, sweep: &Path, overrides: &[String], mode: Mode) -> Vec<String> {
        let mut words: Vec<String> = vec!["train".into(), experiment.display().to_string()];
        words.extend(["--model".into(), self.model.clone(), "--out".into(), self.out(sweep).display().to_string()]);
        words.extend(["--set".into(), format!("seed={}", self.seed)]);
        for assignment in overrides {
            words.extend(["--set".into(), assignment.clone()]);
        }
        match mode {
            Mode::Fresh => {}
            Mode::Resume => words.push("--resume".into()),
            Mode::Overwrite => words.push("--overwrite".into()),
        }
        words
    }
}

/// Every (seed, model) job, seed by seed.
pub fn jobs(seeds: &[u64], models: &[String]) -> Vec<Job> {
    seeds.iter().flat_map(|&seed| models.iter().map(move |m| Job { seed, model: m.clone() })).collect()
}

/// `words` as one POSIX shell command line, each word quoted where needed.
pub fn shell_line(words: &[String]) -> String {
    words.iter().map(|w| shell_quote(w)).collect::<Vec<_>>().join(" ")
}

/// `word` as a POSIX shell reads it back: unchanged if it has only safe characters, else in
/// single quotes.
pub fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_lists() {
        assert_eq!(parse_seeds("1-10").unwrap(), (1..=10).collect::<Vec<_>>());
        assert_eq!(parse_seeds("3").unwrap(), [3]);
        assert_eq!(parse_seeds(" 1, 4 ,9").unwrap(), [1, 4, 9]);
        assert_eq!(parse_seeds("0-2,5,7-8").unwrap(), [0, 1, 2, 5, 7, 8]);
        assert_eq!(parse_seeds("4-4").unwrap(), [4]);
        assert_eq!(parse_seeds("1-1000").unwrap().len(), 1000);
    }

    #[test]
    fn bad_seed_lists_say_why() {
        let cases = [
            ("", "no seeds"),
            ("  ", "no seeds"),
            ("10-1", "reversed"),
            ("a-3", "\"a\" is not a seed"),
            ("1-", "\"\" is not a seed"),
            ("1.5", "not a seed"),
            ("-3", "not a seed"),
            ("1,,2", "not a seed"),
            ("1-1001", "more than 1000 seeds"),
            ("0-18446744073709551615", "more than 1000 seeds"),
            ("1-600,700-1200", "more than 1000 seeds"),
            ("3,2", "out of order"),
            ("1-3,3", "repeats"),
        ];
        for (text, why) in cases {
            let e = parse_seeds(text).expect_err(text).to_string();
            assert!(e.starts_with(&format!("--seeds {text:?}: ")) && e.contains(why), "{text:?}: {e}");
        }
    }

    #[test]
    fn seed_lists_write_back() {
        for text in ["1-10", "3", "1,4,9", "0-2,5,7-8"] {
            assert_eq!(format_seeds(&parse_seeds(text).unwrap()), text);
        }
    }

    #[test]
    fn seed_folder_names() {
        assert_eq!(seed_of("seed-7"), Some(7));
        assert_eq!(seed_of("seed-"), None);
        assert_eq!(seed_of("seed-7x"), None);
        assert_eq!(seed_of("seed--7"), None);
        assert_eq!(seed_of("plots"), None);
        assert_eq!(seed_dir(Path::new("runs/x"), 12), Path::new("runs/x/seed-12"));
    }

    #[test]
    fn job_command_lines() {
        let job = Job { seed: 3, model: "ntm".into() };
        let set = ["train.sequences=2000".to_owned(), "name=a b".to_owned()];
        let args = job.train_args(Path::new("experiments/copy.toml"), Path::new("runs/copy-sweep"), &set, Mode::Resume);
        assert_eq!(
            shell_line(&args),
            "train experiments/copy.toml --model ntm --out runs/copy-sweep/seed-3 --set seed=3 \
             --set train.sequences=2000 --set 'name=a b' --resume"
        );
        let fresh = job.train_args(Path::new("e.toml"), Path::new("d"), &[], Mode::Fresh);
        assert_eq!(fresh.last().unwrap(), "seed=3");
        let over = job.train_args(Path::new("e.toml"), Path::new("d"), &[], Mode::Overwrite);
        assert_eq!(over.last().unwrap(), "--overwrite");
        assert_eq!(job.log(Path::new("d")), Path::new("d/seed-3/ntm.log"));
        let all = jobs(&[1, 2], &["lstm".into(), "ntm".into()]);
        assert_eq!(
            all.iter().map(Job::label).collect::<Vec<_>>(),
            ["seed 1 lstm", "seed 1 ntm", "seed 2 lstm", "seed 2 ntm"]
        );
    }
}
