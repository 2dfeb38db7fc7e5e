//! The command line: one subcommand per user job.

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Neural Turing Machines and LSTM baselines on the paper's algorithmic tasks.
#[derive(Debug, Parser)]
#[command(name = "ntm", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Parses the command line. A negative number is read as a value (`--lengths -5`), which the
/// option's parser then refuses, naming the option, instead of as an unknown option.
pub fn parse() -> Result<Cli, clap::Error> {
    fn negatives(command: clap::Command) -> clap::Command {
        command.allow_negative_numbers(true).mut_subcommands(negatives)
    }
    let mut command = negatives(Cli::command());
    let matches = command.try_get_matches_from_mut(std::env::args_os())?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
}

/// A parse error as one line: clap's first line (`error: invalid value '-5' for '--lengths
/// <LENGTHS>': ...`) with the usage after it, for errors that clap would follow with a usage
/// block and a tip.
pub fn one_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut line = lines.next().unwrap_or("error: invalid command line").to_owned();
    // `error: the following required arguments were not provided:` lists them on the next lines.
    if line.ends_with(':') {
        let items: Vec<&str> = rendered
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("  ") && !l.trim().is_empty())
            .map(str::trim)
            .collect();
        line = format!("{line} {}", items.join(", "));
    }
    if let Some(usage) = rendered.lines().find_map(|l| l.strip_prefix("Usage: ")) {
        line = format!("{line} (usage: {usage})");
    }
    line
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train every model of an experiment, evaluate them on the test lengths, draw the figures.
    Run(RunArgs),
    /// Train one model of an experiment.
    Train(TrainArgs),
    /// Evaluate trained models on test lengths (bits and bit errors per sequence).
    Eval(EvalArgs),
    /// Draw figures (PNG) from a run folder or a checkpoint.
    #[command(subcommand)]
    Plot(PlotCommand),
    /// Measure training speed (ms per time step and per sequence) and peak memory.
    Bench(BenchArgs),
    /// Print one episode of an experiment's task as text (inputs, targets, mask), or as JSON.
    Episode(EpisodeArgs),
    /// Train an experiment once per seed (one process per seed and model), evaluate every run,
    /// summarise across seeds (summary.json, a table) and draw the sweep's figures.
    Sweep(SweepArgs),
    /// Summarise the seed runs in a sweep folder (summary.json, table, figures), wherever they
    /// were trained; evaluates finished runs that have no eval.json yet.
    Summarize(SummarizeArgs),
}

/// Arguments of `sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The experiment file, e.g. experiments/copy.toml.
    pub experiment: PathBuf,
    /// Seeds, one run each: ranges and single seeds, comma separated, e.g. 1-10 or 1-5,9.
    #[arg(long)]
    pub seeds: String,
    /// Models to train, comma separated [default: every model of the experiment].
    #[arg(long, value_delimiter = ',')]
    pub models: Option<Vec<String>>,
    /// Training processes at once (each single-threaded) [default: the number of cores].
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output folder [default: runs/<experiment name>-sweep].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a field of the experiment by its dotted path, e.g. train.sequences=2000 (not
    /// seed: --seeds sets it).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Replace the runs already in the seed folders.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Skip finished runs, continue unfinished ones from their checkpoints, start absent ones.
    #[arg(long)]
    pub resume: bool,
    /// With --resume: go on with settings that differ from the runs' config.toml (refused
    /// without it, but for train.sequences); each change is recorded in changes.jsonl.
    #[arg(long)]
    pub allow_changes: bool,
    /// Convergence threshold: training bit errors per sequence (mean over a report interval).
    #[arg(long, default_value_t = ntm::sweep::summary::DEFAULT_THRESHOLD)]
    pub threshold: f64,
    /// Print one `ntm train` command per job (for xargs -P, GNU parallel, a SLURM array) and
    /// exit without writing anything; `ntm summarize DIR` then gathers the results.
    #[arg(long)]
    pub print_commands: bool,
    /// Write a SLURM job array (DIR/slurm.sbatch: one task per seed and model, each its `ntm
    /// train --resume` and evaluation, requeue-safe) instead of running the jobs here; submit
    /// it with sbatch, then `ntm summarize DIR` (see docs/sweeps.md).
    #[arg(long, conflicts_with_all = ["print_commands", "overwrite"])]
    pub slurm: bool,
}

/// Arguments of `summarize`.
#[derive(Debug, clap::Args)]
pub struct SummarizeArgs {
    /// A sweep folder (holding seed-<k>/<model>/ run folders).
    pub dir: PathBuf,
    /// Convergence threshold: training bit errors per sequence (mean over a report interval).
    #[arg(long, default_value_t = ntm::sweep::summary::DEFAULT_THRESHOLD)]
    pub threshold: f64,
    /// Evaluations at once, for runs without eval.json [default: the number of cores].
    #[arg(long)]
    pub jobs: Option<usize>,
}

#[derive(Debug, clap::Args)]
pub struct EpisodeArgs {
    /// The experiment file whose [task] to sample.
    pub experiment: PathBuf,
    /// Sequence length [default: drawn from the training range].
    #[arg(long)]
    pub length: Option<usize>,
    /// Seed of the episode.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Override a field of the experiment by its dotted path, e.g. task.bits=4.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Print the episode as JSON instead of text: its length, inputs, targets and mask
    /// ([time][channel]), the optimal predictor's probabilities (`reference`, dynamic N-grams)
    /// and what the task drew beside them (`info`: the N-gram table, the priorities), so
    /// that a generator can be checked from outside.
    #[arg(long)]
    pub json: bool,
}

/// Arguments shared by `run` and `train`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExperimentArgs {
    /// The experiment file, e.g. experiments/copy.toml.
    pub experiment: PathBuf,
    /// Output folder [default: runs/<experiment name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a field of the experiment by its dotted path, e.g. train.sequences=2000.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Replace a finished or partial run in the output folder.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Continue from the checkpoints in the output folder up to train.sequences (a model
    /// folder without a checkpoint yet starts from scratch).
    #[arg(long)]
    pub resume: bool,
    /// With --resume: go on with settings that differ from the run's config.toml (refused
    /// without it, but for train.sequences); each change is recorded in changes.jsonl.
    #[arg(long)]
    pub allow_changes: bool,
    /// Threads one model's fused kernels may use (1 to 256; the results do not depend on it)
    /// [default: its share of the cores: all of them for a model training alone].
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// More experiment files, trained in the same pool of cores as the first (each into
    /// runs/<its name>/, or <OUT>/<its name>/ with --out), e.g. every task's default run.
    #[arg(value_name = "MORE")]
    pub more: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// The model to train, by its name in the experiment (e.g. ntm).
    #[arg(long)]
    pub model: String,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// A run folder (every model in it), one model's folder, or a checkpoint file.
    pub path: PathBuf,
    /// Test lengths, comma separated [default: the experiment's eval.lengths].
    #[arg(long, value_delimiter = ',')]
    pub lengths: Option<Vec<usize>>,
    /// Repeat counts, comma separated, for repeat copy: every length is evaluated at every
    /// count (a grid; eval.json rows gain `repeats`) [default: the experiment's eval.repeats;
    /// none: counts drawn from the training range].
    #[arg(long, value_name = "R,...", value_parser = parse_counts, allow_hyphen_values = true)]
    pub repeats: Option<Counts>,
    /// Test sequences per length (per length and repeat count) [default: the experiment's
    /// eval.sequences].
    #[arg(long)]
    pub sequences: Option<usize>,
    /// Memory slots of the NTM at test time [default: as trained]: N for every length, or Kx
    /// for K times what each test length needs (e.g. 2x; copy: the length; associative
    /// recall: one slot per step before the answer); its initial weightings (and a random
    /// initial memory) extend as docs/test-time-memory.md says; at least what the
    /// longest test length needs. A run folder's models without memory are left out.
    #[arg(long, value_name = "N|Kx", value_parser = parse_slots)]
    pub slots: Option<Slots>,
    /// Print the results as JSON (the eval.json object; an array for several models).
    #[arg(long)]
    pub json: bool,
    /// Also write the results as eval.json into each model's folder (replacing it), for
    /// `ntm plot generalisation`.
    #[arg(long)]
    pub save: bool,
}

/// The figures.
#[derive(Debug, Subcommand)]
pub enum PlotCommand {
    /// Where an NTM's heads read and write over one episode (the paper's figure 6); for a DNC,
    /// its write weighting, allocation, usage, and each read head's weighting and read modes.
    Heads {
        /// A run folder (its NTM and DNC models), one model's folder, or a checkpoint file.
        path: PathBuf,
        /// Sequence length of the episode [default: the longest training length, task.max_length].
        #[arg(long)]
        length: Option<usize>,
        /// Repeat count of the episode, for repeat copy [default: drawn from the training range].
        #[arg(long, value_name = "R", value_parser = parse_count, allow_hyphen_values = true)]
        repeats: Option<usize>,
        /// Memory slots of the NTM at test time [default: as trained]; its initial
        /// weightings (and a random initial memory) extend as docs/test-time-memory.md says; at
        /// least the sequence length.
        #[arg(long, value_name = "N")]
        slots: Option<usize>,
        /// Seed of the episode.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output file [default: <run folder>/plots/heads-<model>-<length>.png, or
        /// heads-<model>-<length>x<repeats>.png with --repeats, -<N>slots added with
        /// --slots]; with several NTMs, each model's name is added to the file's stem.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// Draw the figure without writing the trace (JSON) beside it.
        #[arg(long, conflicts_with = "trace_limit")]
        no_trace: bool,
        /// The largest trace to write beside the figure, e.g. 2G (estimated before tracing;
        /// a larger one is refused) [default: 256M].
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        trace_limit: Option<f64>,
    },
    /// Dynamic N-grams: each NTM head's mean weighting per memory slot, by the context of the
    /// last bits, over one episode (the idea of the paper's figure 15: one slot per context).
    Contexts {
        /// A run folder (its NTM models), one model's folder, or a checkpoint file.
        path: PathBuf,
        /// Bits in the episode [default: the longest training length, task.max_length].
        #[arg(long)]
        length: Option<usize>,
        /// Seed of the episode.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output file [default: <run folder>/plots/contexts-<model>-<length>.png]; with
        /// several NTMs, each model's name is added to the file's stem.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Priority sort: the slot each head weights against the priority of the vector
    /// concerned, one panel per head (the paper's figure 17).
    Priorities {
        /// A run folder (its NTM models), one model's folder, or a checkpoint file.
        path: PathBuf,
        /// Number of input vectors of the episode [default: the most trained on, task.max_inputs].
        #[arg(long)]
        length: Option<usize>,
        /// Seed of the episode (the same episode as `plot heads` with the same --length and --seed).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output file [default: <run folder>/plots/priorities-<model>-<length>.png]; with
        /// several NTMs, each model's name is added to the file's stem.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// A DNC's link matrix after the input and after the last step of one episode.
    Links {
        /// A run folder (its DNC models), one model's folder, or a checkpoint file.
        path: PathBuf,
        /// Sequence length of the episode [default: the longest training length].
        #[arg(long)]
        length: Option<usize>,
        /// Repeat count of the episode, for repeat copy [default: drawn from the training range].
        #[arg(long, value_name = "R", value_parser = parse_count, allow_hyphen_values = true)]
        repeats: Option<usize>,
        /// Memory slots of the DNC at test time [default: as trained].
        #[arg(long, value_name = "N")]
        slots: Option<usize>,
        /// Seed of the episode.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output file [default: <run folder>/plots/links-<model>-<length>.png]; with several
        /// DNCs, each model's name is added to the file's stem.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// How far back the gradient reaches: the mean norm of the gradient of each answer step's
    /// loss with respect to the input d steps earlier, against d, every model trained and
    /// untrained (freshly initialised from the experiment's seed), on a log axis; the numbers
    /// as JSON beside the figure.
    GradientFlow {
        /// A run folder (its models), one model's folder, or a checkpoint file.
        path: PathBuf,
        /// Models to draw, comma separated [default: every model under PATH].
        #[arg(long, value_delimiter = ',')]
        models: Option<Vec<String>>,
        /// Sequence length of the episode [default: the longest training length].
        #[arg(long)]
        length: Option<usize>,
        /// Seed of the episode (the same episode as `plot heads` with the same --length and --seed).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output file [default: <run folder>/plots/gradient-flow-<length>.png].
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// A film of training: the heads figure (a model without memory: its output against the
    /// target) of one episode at each snapshot of the weights (train.snapshot_every), as an
    /// animated GIF with the training sequences on every frame.
    Evolution {
        /// One model's folder (holding snapshots/), or a run folder of one model.
        path: PathBuf,
        /// Sequence length of the episode [default: the longest training length].
        #[arg(long)]
        length: Option<usize>,
        /// Seed of the episode (the same episode as `plot heads` with the same --length and --seed).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Milliseconds each frame shows (a GIF counts in hundredths of a second).
        #[arg(long, default_value_t = 200)]
        frame_ms: u32,
        /// Only the snapshots taken at or before this many training sequences [default: all].
        #[arg(long)]
        until: Option<u64>,
        /// Output file [default: <run folder>/plots/evolution-<model>-<length>.gif].
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Loss and bit errors against sequences seen, every model of a run.
    Curves {
        /// A run folder.
        run: PathBuf,
        /// Output file [default: <run folder>/plots/curves.png].
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Bit errors and loss against test length (from each model's eval.json); for reports
    /// with repeat counts (repeat copy), a heatmap of bit errors over length x repeats per model.
    Generalisation {
        /// A run folder.
        run: PathBuf,
        /// Output file [default: <run folder>/plots/generalisation.png].
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Time per sequence-step and peak memory of `ntm bench --json` rows against the NTM's
    /// memory slots, log-log, one line per mode and length with its fitted slope.
    Bench {
        /// One or more files of `ntm bench --json` output (their rows are joined).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output file [default: bench-scaling.png].
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Target and output side by side at several lengths (the paper's figures 4, 5 and, for
    /// repeat copy, 8 and 9).
    Outputs {
        /// A run folder.
        run: PathBuf,
        /// Sequence lengths, comma separated [default: the experiment's eval.lengths; for
        /// repeat copy, see --cells].
        #[arg(long, value_delimiter = ',')]
        lengths: Option<Vec<usize>>,
        /// Repeat copy: episodes of LENGTHxREPEATS, comma separated, e.g. 10x20,20x10
        /// [default for repeat copy without --lengths: 10x20,20x10, as the paper shows].
        #[arg(long, value_name = "LxR,...", value_parser = parse_cells, allow_hyphen_values = true)]
        cells: Option<Cells>,
        /// Memory slots of the NTM at test time [default: as trained]; its initial
        /// weightings (and a random initial memory) extend as docs/test-time-memory.md says; at
        /// least the sequence length.
        #[arg(long, value_name = "N")]
        slots: Option<usize>,
        /// Seed of the episodes.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output file [default: <run folder>/plots/outputs.png].
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
}

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Print the rows as a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Batch sizes, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 16])]
    pub batches: Vec<usize>,
    /// Models: ntm, dnc, lstm, rnn, gru, dsgu, attention (comma separated).
    #[arg(long, value_delimiter = ',', default_values_t = vec!["ntm".to_string(), "lstm".to_string()])]
    pub models: Vec<String>,
    /// Memory width of the NTM and the DNC [default: 20, the paper's].
    #[arg(long)]
    pub width: Option<usize>,
    /// Read heads of the NTM and the DNC [default: 1].
    #[arg(long)]
    pub read_heads: Option<usize>,
    /// Controller units of the NTM and the DNC [default: 100, the paper's].
    #[arg(long)]
    pub controller_size: Option<usize>,
    /// Engines: reference, fused (comma separated).
    #[arg(long, value_delimiter = ',', default_values_t = vec!["reference".to_string(), "fused".to_string()])]
    pub engines: Vec<String>,
    /// Copy sequence lengths, comma separated (an episode has 2 * length + 1 time steps).
    #[arg(long, alias = "length", value_delimiter = ',', default_values_t = vec![20])]
    pub lengths: Vec<usize>,
    /// Memory slots, comma separated (every NTM and DNC case at each) [default: 128, the paper's].
    #[arg(long, value_delimiter = ',')]
    pub slots: Option<Vec<usize>>,
    /// What to time, comma separated: train (whole optimiser steps), eval (evaluation passes,
    /// which keep no tape).
    #[arg(long, value_delimiter = ',', default_values_t = vec!["train".to_string(), "eval".to_string()])]
    pub modes: Vec<String>,
    /// Untimed optimiser steps before measuring each case.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Timed repetitions per case (the median and min-max are over these).
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Optimiser steps per repetition.
    #[arg(long, default_value_t = 25)]
    pub steps: usize,
    /// Measure every case in this process instead of one fresh process per case (the peak
    /// memory is then the process's peak so far).
    #[arg(long)]
    pub in_process: bool,
    /// Threads each case's fused kernels use (1 to 256; the LSTM's kernel splits its work).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Internal: measure only case number N (what each child process of the bench runs).
    #[arg(long, hide = true)]
    pub case: Option<usize>,
}

/// `--slots` of `ntm eval`: a number of slots, or a multiple of each test length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slots {
    /// `N`: this many slots at every length.
    Fixed(usize),
    /// `Kx`: K times the slots a test length needs.
    PerLength(usize),
}

impl Slots {
    /// The slots for a test length that needs `needed` slots ([`ntm::models::resize::slots_needed`]:
    /// the length itself for copy and repeat copy).
    pub fn at(self, needed: usize) -> usize {
        match self {
            Slots::Fixed(n) => n,
            Slots::PerLength(k) => k.saturating_mul(needed),
        }
    }
}

impl std::fmt::Display for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Slots::Fixed(n) => write!(f, "{n}"),
            Slots::PerLength(k) => write!(f, "{k}x"),
        }
    }
}

/// `N` (a whole number; 0 is refused later, naming the model) or `Kx` (K at least 1).
pub fn parse_slots(text: &str) -> Result<Slots, String> {
    let text = text.trim();
    if let Some(k) = text.strip_suffix(['x', 'X']) {
        return parse_count(k)
            .map(Slots::PerLength)
            .map_err(|e| format!("{e} (Kx: K times each test length, e.g. 2x)"));
    }
    text.parse::<usize>()
        .map(Slots::Fixed)
        .map_err(|_| format!("{text:?} is not a number of slots N or a multiple Kx of the test length, e.g. 2x"))
}

/// A list of counts of at least 1, given as `5,10,15,20`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts(pub Vec<usize>);

/// A list of (length, repeat count) pairs, given as `10x20,20x10`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cells(pub Vec<(usize, usize)>);

/// A size in bytes: `1234`, `512K`, `300M`, `2G` (powers of 1024).
pub fn parse_size(text: &str) -> Result<f64, String> {
    ntm::measure::budget::parse_bytes(text)
        .ok_or_else(|| format!("{:?} is not a size in bytes, e.g. 300M or 2G", text.trim()))
}

/// One count of at least 1 (a whole number: no sign, no fraction).
pub fn parse_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{:?} is not a whole number of at least 1", text.trim())),
    }
}

/// Counts of at least 1, comma separated; an empty list is refused.
pub fn parse_counts(text: &str) -> Result<Counts, String> {
    if text.trim().is_empty() {
        return Err("give one or more counts of at least 1, comma separated, e.g. 5,10,15,20".into());
    }
    text.split(',').map(parse_count).collect::<Result<_, _>>().map(Counts)
}

/// `LENGTHxREPEATS` pairs of counts of at least 1, comma separated; an empty list is refused.
pub fn parse_cells(text: &str) -> Result<Cells, String> {
    if text.trim().is_empty() {
        return Err("give one or more LENGTHxREPEATS pairs, comma separated, e.g. 10x20,20x10".into());
    }
    let cell = |pair: &str| -> Result<(usize, usize), String> {
        let (length, repeats) = pair
            .split_once(['x', 'X'])
            .ok_or_else(|| format!("{:?} is not LENGTHxREPEATS, e.g. 10x20", pair.trim()))?;
        Ok((parse_count(length)?, parse_count(repeats)?))
    };
    text.split(',').map(cell).collect::<Result<_, _>>().map(Cells)
}
