//! A sweep's summary: per model, what each seed's training did (when its bit errors first fell
//! below a threshold, whether they rose again, where it ended, how it generalises) and the same
//! numbers across seeds (median, quartiles, extremes), as `summary.json` and a printed table.
//!
//! Pure functions of plain data: the records of `metrics.jsonl` and `eval.json` per seed
//! ([`SeedData`]), read elsewhere ([`super::seed_run`]).
//!
//! Definitions (also in `docs/sweeps.md`):
//! - **converged at**: the `sequences` of the first metrics record (a mean over one report
//!   interval) whose bit errors per sequence are below `threshold`; null if none is.
//! - **relapse**: from that record on, the highest bit errors of any record, and the
//!   `sequences` of every record above [`RELAPSE_BIT_ERRORS`].
//! - **final**: the last record's bit errors and loss.
//! - **across seeds**: converged at and relapse over the seeds that converged; final and eval
//!   over the seeds that finished training (and were evaluated); quartiles by linear
//!   interpolation between order statistics ([`QUARTILES`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::records::report::{EvalResult, MetricsRecord};

/// Default threshold of convergence, in bit errors per sequence (mean over a report interval).
pub const DEFAULT_THRESHOLD: f64 = 0.05;

/// `Err` (one line) unless `threshold`, a convergence threshold in bit errors per sequence
/// (`--threshold`), is a number greater than 0.
pub fn check_threshold(threshold: f64) -> Result<(), String> {
    if !(threshold.is_finite() && threshold > 0.0) {
        return Err(format!("--threshold {threshold}: must be a number greater than 0 (bit errors per sequence)"));
    }
    Ok(())
}

/// A record with more bit errors per sequence than this, after convergence, is a relapse:
/// half a wrong bit per sequence on average is a visible failure, not a rare slip.
pub const RELAPSE_BIT_ERRORS: f64 = 0.5;

/// How the quartiles are computed, as `summary.json` states it.
pub const QUARTILES: &str = "linear interpolation between order statistics (R type 7, numpy's default)";

/// How a seed's training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Trained to `train.sequences`.
    Finished,
    /// Stopped by a loss, gradient or parameter that was not finite (`failure.json`).
    Diverged,
    /// Neither: interrupted, still running, or not started.
    Unfinished,
}

/// What one seed's run of one model recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedData {
    pub seed: u64,
    pub status: Status,
    /// Its `metrics.jsonl`, in order.
    pub metrics: Vec<MetricsRecord>,
    /// Its `eval.json` results, if it was evaluated.
    pub eval: Option<Vec<EvalResult>>,
}

/// The whole `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The experiment's name.
    pub experiment: String,
    /// The task's name.
    pub task: String,
    /// Convergence threshold in bit errors per sequence.
    pub threshold: f64,
    /// Relapse threshold in bit errors per sequence.
    pub relapse_threshold: f64,
    /// How the quartiles are computed.
    pub quartiles: String,
    /// Per model, by name.
    pub models: BTreeMap<String, ModelSummary>,
}

/// One model across the seeds of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// `"k of n"`: seeds whose bit errors fell below the threshold, of all seeds.
    pub converged: String,
    pub counts: Counts,
    /// Across seeds.
    pub across_seeds: AcrossSeeds,
    /// Per seed, by increasing seed.
    pub seeds: Vec<SeedSummary>,
}

/// How many seeds are in each state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub seeds: usize,
    pub converged: usize,
    pub finished: usize,
    pub diverged: usize,
    pub unfinished: usize,
    /// Finished seeds whose last record is below the threshold too.
    pub final_below_threshold: usize,
    /// Seeds with an `eval.json`.
    pub evaluated: usize,
}

/// One seed of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedSummary {
    pub seed: u64,
    pub status: Status,
    /// Sequences of the last metrics record (0 if none).
    pub sequences: u64,
    /// Sequences of the first record below the threshold.
    pub converged_at: Option<u64>,
    /// After convergence (null if it never converged).
    pub relapse: Option<Relapse>,
    /// The last record (null if none).
    #[serde(rename = "final")]
    pub last: Option<Final>,
    /// Per test length (null if not evaluated).
    pub eval: Option<Vec<EvalPoint>>,
}

/// What the bit errors did from convergence on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relapse {
    /// The highest bit errors per sequence of any record from the converging one on.
    pub max_bit_errors: f64,
    /// Sequences of the records above the relapse threshold.
    pub above: Vec<u64>,
}

/// Where training ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Final {
    pub bit_errors: f64,
    pub loss_bits: f64,
}

/// Evaluation at one test length (and repeat count, for repeat copy's grid).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    pub length: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<usize>,
    pub bit_errors: f64,
    pub loss_bits: f64,
    /// The optimal predictor's loss on the same sequences, for a task that has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimal_loss_bits: Option<f64>,
}

/// A number across seeds: `n` values, their median, quartiles and extremes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub n: usize,
    pub median: f64,
    pub q1: f64,
    pub q3: f64,
    pub min: f64,
    pub max: f64,
}

/// Every number across seeds (null where no seed has it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcrossSeeds {
    pub converged_at: Option<Stats>,
    pub relapse_max_bit_errors: Option<Stats>,
    pub final_bit_errors: Option<Stats>,
    pub final_loss_bits: Option<Stats>,
    /// Per test length, over the evaluated seeds.
    pub eval: Vec<EvalStats>,
}

/// Evaluation at one test length (and repeat count) across seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalStats {
    pub length: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<usize>,
    pub bit_errors: Stats,
    pub loss_bits: Stats,
    /// For a task with a known optimal predictor: its loss on each seed's test sequences, and
    /// each seed's loss above it (the seeds' test sequences differ, their optima too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimal_loss_bits: Option<Stats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_above_optimum: Option<Stats>,
}

/// The `p`-quantile (0..=1) of sorted finite `x` by linear interpolation between order
/// statistics (R's type 7).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

impl Stats {
    /// The statistics of the finite `values`; None if there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stats> {
        let mut x: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        if x.is_empty() {
            return None;
        }
        x.sort_by(f64::total_cmp);
        Some(Stats {
            n: x.len(),
            median: quantile(&x, 0.5),
            q1: quantile(&x, 0.25),
            q3: quantile(&x, 0.75),
            min: x[0],
            max: x[x.len() - 1],
        })
    }
}

/// The `sequences` of the first record with fewer bit errors than `threshold`.
pub fn converged_at(metrics: &[MetricsRecord], threshold: f64) -> Option<u64> {
    metrics.iter().find(|r| r.bit_errors < threshold).map(|r| r.sequences)
}

/// What the bit errors did from the first record below `threshold` on; None if none is.
pub fn relapse(metrics: &[MetricsRecord], threshold: f64) -> Option<Relapse> {
    let first = metrics.iter().position(|r| r.bit_errors < threshold)?;
    let after = &metrics[first..];
    Some(Relapse {
        max_bit_errors: after.iter().map(|r| r.bit_errors).fold(f64::NEG_INFINITY, f64::max),
        above: after.iter().filter(|r| r.bit_errors > RELAPSE_BIT_ERRORS).map(|r| r.sequences).collect(),
    })
}

/// One seed's summary.
pub fn summarize_seed(data: &SeedData, threshold: f64) -> SeedSummary {
    let last = data.metrics.last();
    SeedSummary {
        seed: data.seed,
        status: data.status,
        sequences: last.map_or(0, |r| r.sequences),
        converged_at: converged_at(&data.metrics, threshold),
        relapse: relapse(&data.metrics, threshold),
        last: last.map(|r| Final { bit_errors: r.bit_errors, loss_bits: r.loss_bits }),
        eval: data.eval.as_ref().map(|results| {
            results
                .iter()
                .map(|r| EvalPoint {
                    length: r.length,
                    repeats: r.repeats,
                    bit_errors: r.bit_errors,
                    loss_bits: r.loss_bits,
                    optimal_loss_bits: r.optimal_loss_bits,
                })
                .collect()
        }),
    }
}

/// One model's summary over `seeds` (any order; listed by increasing seed).
pub fn summarize_model(seeds: &[SeedData], threshold: f64) -> ModelSummary {
    let mut per_seed: Vec<SeedSummary> = seeds.iter().map(|d| summarize_seed(d, threshold)).collect();
    per_seed.sort_by_key(|s| s.seed);
    let finished: Vec<&SeedSummary> = per_seed.iter().filter(|s| s.status == Status::Finished).collect();
    let count = |status| per_seed.iter().filter(|s| s.status == status).count();
    let counts = Counts {
        seeds: per_seed.len(),
        converged: per_seed.iter().filter(|s| s.converged_at.is_some()).count(),
        finished: finished.len(),
        diverged: count(Status::Diverged),
        unfinished: count(Status::Unfinished),
        final_below_threshold: finished.iter().filter(|s| s.last.is_some_and(|f| f.bit_errors < threshold)).count(),
        evaluated: per_seed.iter().filter(|s| s.eval.is_some()).count(),
    };
    // The (length, repeats) cells of every evaluated seed, in increasing order.
    let mut cells: Vec<(usize, Option<usize>)> =
        per_seed.iter().flat_map(|s| s.eval.iter().flatten().map(|p| (p.length, p.repeats))).collect();
    cells.sort_unstable();
    cells.dedup();
    let at = |cell: (usize, Option<usize>)| {
        per_seed.iter().flat_map(move |s| s.eval.iter().flatten().filter(move |p| (p.length, p.repeats) == cell))
    };
    let eval = cells
        .into_iter()
        .filter_map(|cell| {
            Some(EvalStats {
                length: cell.0,
                repeats: cell.1,
                bit_errors: Stats::of(at(cell).map(|p| p.bit_errors))?,
                loss_bits: Stats::of(at(cell).map(|p| p.loss_bits))?,
                optimal_loss_bits: Stats::of(at(cell).filter_map(|p| p.optimal_loss_bits)),
                loss_above_optimum: Stats::of(at(cell).filter_map(|p| Some(p.loss_bits - p.optimal_loss_bits?))),
            })
        })
        .collect();
    let across_seeds = AcrossSeeds {
        converged_at: Stats::of(per_seed.iter().filter_map(|s| s.converged_at).map(|n| n as f64)),
        relapse_max_bit_errors: Stats::of(per_seed.iter().filter_map(|s| s.relapse.as_ref()).map(|r| r.max_bit_errors)),
        final_bit_errors: Stats::of(finished.iter().filter_map(|s| s.last).map(|f| f.bit_errors)),
        final_loss_bits: Stats::of(finished.iter().filter_map(|s| s.last).map(|f| f.loss_bits)),
        eval,
    };
    ModelSummary {
        converged: format!("{} of {}", counts.converged, counts.seeds),
        counts,
        across_seeds,
        seeds: per_seed,
    }
}

/// The summary of every model: `models` maps a model name to its seeds' data.
pub fn summarize(experiment: &str, task: &str, models: &BTreeMap<String, Vec<SeedData>>, threshold: f64) -> Summary {
    Summary {
        experiment: experiment.to_owned(),
        task: task.to_owned(),
        threshold,
        relapse_threshold: RELAPSE_BIT_ERRORS,
        quartiles: QUARTILES.to_owned(),
        models: models.iter().map(|(name, seeds)| (name.clone(), summarize_model(seeds, threshold))).collect(),
    }
}

/// A number for the table: 3 decimals below 1,000, whole numbers above.
fn cell(x: f64) -> String {
    if x.abs() >= 1000.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.3}")
    }
}

/// A column label: `L=20`, or `10x5` for length 10 repeated 5 times.
pub fn cell_label((length, repeats): (usize, Option<usize>)) -> String {
    match repeats {
        Some(r) => format!("{length}x{r}"),
        None => format!("L={length}"),
    }
}

/// The printed form of a summary: per model, one line per seed, then each number across
/// seeds (median, quartiles, min-max, how many seeds).
pub fn table(summary: &Summary) -> String {
    let mut s = String::new();
    for (name, model) in &summary.models {
        let c = &model.counts;
        s += &format!(
            "{name}: {} seeds converged (training bit errors < {} per sequence); {} finished ({} of them below it at the end), {} diverged, {} unfinished\n",
            model.converged, summary.threshold, c.finished, c.final_below_threshold, c.diverged, c.unfinished
        );
        let cells: Vec<(usize, Option<usize>)> =
            model.across_seeds.eval.iter().map(|e| (e.length, e.repeats)).collect();
        s += &format!(
            "{:>6} {:<10} {:>12} {:>8} {:>10} {:>10}",
            "seed", "status", "converged", "relapses", "final err", "final loss"
        );
        for &cell in &cells {
            s += &format!(" {:>8}", cell_label(cell));
        }
        s += "\n";
        for seed in &model.seeds {
            let status = format!("{:?}", seed.status).to_lowercase();
            let converged = seed.converged_at.map_or("never".to_owned(), |n| n.to_string());
            let relapses = seed.relapse.as_ref().map_or("-".to_owned(), |r| r.above.len().to_string());
            let (err, loss) =
                seed.last.map_or(("-".to_owned(), "-".to_owned()), |f| (cell(f.bit_errors), cell(f.loss_bits)));
            s += &format!("{:>6} {status:<10} {converged:>12} {relapses:>8} {err:>10} {loss:>10}", seed.seed);
            for &at in &cells {
                let value = seed
                    .eval
                    .iter()
                    .flatten()
                    .find(|p| (p.length, p.repeats) == at)
                    .map_or("-".to_owned(), |p| cell(p.bit_errors));
                s += &format!(" {value:>8}");
            }
            s += "\n";
        }
        s += &format!("{:<28} {:>10} {:>21} {:>21} {:>4}\n", "across seeds", "median", "q1 - q3", "min - max", "n");
        let a = &model.across_seeds;
        if let Some(t) = a.converged_at {
            let whole = |x: f64| format!("{x:.0}");
            s += &format!(
                "{:<28} {:>10} {:>21} {:>21} {:>4}\n",
                "converged at (sequences)",
                whole(t.median),
                format!("{} - {}", whole(t.q1), whole(t.q3)),
                format!("{} - {}", whole(t.min), whole(t.max)),
                t.n
            );
        }
        let mut rows: Vec<(String, Option<Stats>)> = vec![
            ("relapse max (bit errors)".into(), a.relapse_max_bit_errors),
            ("final bit errors".into(), a.final_bit_errors),
            ("final loss (bits)".into(), a.final_loss_bits),
        ];
        if a.converged_at.is_none() {
            rows.insert(0, ("converged at (sequences)".into(), None));
        }
        rows.extend(
            a.eval
                .iter()
                .map(|e| (format!("eval {} bit errors", cell_label((e.length, e.repeats))), Some(e.bit_errors))),
        );
        // With a known optimum (dynamic N-grams): the loss, the optimum's and the difference.
        for e in a.eval.iter().filter(|e| e.optimal_loss_bits.is_some()) {
            let label = cell_label((e.length, e.repeats));
            rows.push((format!("eval {label} loss (bits)"), Some(e.loss_bits)));
            rows.push((format!("eval {label} optimum (bits)"), e.optimal_loss_bits));
            rows.push((format!("eval {label} above optimum"), e.loss_above_optimum));
        }
        for (label, stats) in rows {
            match stats {
                Some(t) => {
                    s += &format!(
                        "{label:<28} {:>10} {:>21} {:>21} {:>4}\n",
                        cell(t.median),
                        format!("{} - {}", cell(t.q1), cell(t.q3)),
                        format!("{} - {}", cell(t.min), cell(t.max)),
                        t.n
                    )
                }
                None => s += &format!("{label:<28} {:>10} {:>21} {:>21} {:>4}\n", "-", "-", "-", 0),
            }
        }
        s += "\n";
    }
    s.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records every 1,000 sequences with these bit errors (loss = 2 x errors + 0.01).
    fn curve(errors: &[f64]) -> Vec<MetricsRecord> {
        errors
            .iter()
            .enumerate()
            .map(|(i, &e)| MetricsRecord {
                sequences: (i as u64 + 1) * 1000,
                loss_bits: 2.0 * e + 0.01,
                optimal_loss_bits: None,
                bit_errors: e,
                seconds: i as f64,
                skipped: 0,
            })
            .collect()
    }

    fn eval(errors: &[(usize, f64)]) -> Option<Vec<EvalResult>> {
        Some(
            errors
                .iter()
                .map(|&(length, e)| EvalResult {
                    length,
                    repeats: None,
                    loss_bits: 1.0 + e,
                    optimal_loss_bits: None,
                    bit_errors: e,
                    sequences: 4,
                    slots: None,
                })
                .collect(),
        )
    }

    fn seed(seed: u64, status: Status, errors: &[f64], ev: Option<Vec<EvalResult>>) -> SeedData {
        SeedData { seed, status, metrics: curve(errors), eval: ev }
    }

    #[test]
    fn quartiles_interpolate_between_order_statistics() {
        // numpy.percentile([1, 2, 3, 4], [25, 50, 75]) = [1.75, 2.5, 3.25]
        let s = Stats::of([4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.n, s.q1, s.median, s.q3, s.min, s.max), (4, 1.75, 2.5, 3.25, 1.0, 4.0));
        let one = Stats::of([7.0]).unwrap();
        assert_eq!((one.q1, one.median, one.q3), (7.0, 7.0, 7.0));
        // numpy.percentile([0, 10, 20, 100, 1000], [25, 50, 75]) = [10, 20, 100]
        let five = Stats::of([1000.0, 0.0, 20.0, 10.0, 100.0, f64::NAN]).unwrap();
        assert_eq!((five.n, five.q1, five.median, five.q3), (5, 10.0, 20.0, 100.0));
        assert_eq!(Stats::of([f64::NAN]), None);
        assert_eq!(Stats::of([]), None);
    }

    #[test]
    fn convergence_is_the_first_record_below_the_threshold() {
        let m = curve(&[30.0, 8.0, 0.05, 0.04, 0.0]);
        assert_eq!(converged_at(&m, 0.05), Some(4000), "0.05 is not below 0.05");
        assert_eq!(converged_at(&m, 0.06), Some(3000));
        let r = relapse(&m, 0.05).unwrap();
        assert_eq!((r.max_bit_errors, r.above.len()), (0.04, 0));
    }

    #[test]
    fn a_relapse_is_recorded_with_its_height_and_places() {
        let m = curve(&[30.0, 0.01, 0.2, 15.0, 26.0, 0.08, 0.0]);
        assert_eq!(converged_at(&m, 0.05), Some(2000));
        let r = relapse(&m, 0.05).unwrap();
        assert_eq!(r.max_bit_errors, 26.0);
        assert_eq!(r.above, [4000, 5000], "0.2 and 0.08 rose, but not above 0.5");
    }

    #[test]
    fn never_converged() {
        let m = curve(&[30.0, 20.0, 5.0]);
        assert_eq!(converged_at(&m, 0.05), None);
        assert_eq!(relapse(&m, 0.05), None);
        assert_eq!(converged_at(&[], 0.05), None);
    }

    #[test]
    fn a_model_across_seeds() {
        let seeds = [
            // Listed out of order: the summary sorts by seed.
            seed(3, Status::Finished, &[30.0, 0.0, 0.0, 0.0], eval(&[(10, 0.0), (20, 1.0)])),
            seed(1, Status::Finished, &[30.0, 8.0, 0.01, 0.0], eval(&[(10, 0.5), (20, 3.0)])),
            // Converged, relapsed, then diverged: in the convergence numbers, not the final ones.
            seed(2, Status::Diverged, &[30.0, 0.0, 12.0], None),
            // Never converged, finished.
            seed(4, Status::Finished, &[30.0, 25.0, 20.0, 19.0], eval(&[(10, 9.0), (20, 20.0)])),
            // Stopped early (Ctrl-C, or still running), no records at all.
            seed(5, Status::Unfinished, &[], None),
        ];
        let m = summarize_model(&seeds, 0.05);
        assert_eq!(m.converged, "3 of 5");
        assert_eq!(
            m.counts,
            Counts {
                seeds: 5,
                converged: 3,
                finished: 3,
                diverged: 1,
                unfinished: 1,
                final_below_threshold: 2,
                evaluated: 3
            }
        );
        assert_eq!(m.seeds.iter().map(|s| s.seed).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        let s2 = &m.seeds[1];
        assert_eq!((s2.status, s2.converged_at, s2.sequences), (Status::Diverged, Some(2000), 3000));
        assert_eq!(s2.relapse.as_ref().unwrap().above, [3000]);
        let s5 = &m.seeds[4];
        assert_eq!((s5.sequences, s5.converged_at, s5.last, s5.eval.is_none()), (0, None, None, true));

        let a = &m.across_seeds;
        let conv = a.converged_at.unwrap();
        assert_eq!((conv.n, conv.min, conv.median, conv.max), (3, 2000.0, 2000.0, 3000.0));
        assert_eq!(a.relapse_max_bit_errors.unwrap().max, 12.0);
        let fin = a.final_bit_errors.unwrap();
        assert_eq!((fin.n, fin.min, fin.median, fin.max), (3, 0.0, 0.0, 19.0), "finished seeds only");
        assert_eq!(a.eval.iter().map(|e| e.length).collect::<Vec<_>>(), [10, 20]);
        assert_eq!((a.eval[1].bit_errors.n, a.eval[1].bit_errors.median), (3, 3.0));
        assert_eq!(a.eval[1].loss_bits.median, 4.0);
    }

    #[test]
    fn no_seed_with_numbers_gives_nulls() {
        let m = summarize_model(&[seed(1, Status::Unfinished, &[], None)], 0.05);
        assert_eq!(m.converged, "0 of 1");
        assert_eq!(
            m.across_seeds,
            AcrossSeeds {
                converged_at: None,
                relapse_max_bit_errors: None,
                final_bit_errors: None,
                final_loss_bits: None,
                eval: vec![]
            }
        );
        let json = serde_json::to_value(&m).unwrap();
        assert!(json["across_seeds"]["converged_at"].is_null() && json["seeds"][0]["final"].is_null(), "{json}");
    }

    #[test]
    fn summary_json_and_table() {
        let mut models = BTreeMap::new();
        models.insert(
            "ntm".to_owned(),
            vec![
                seed(1, Status::Finished, &[30.0, 0.01, 0.0], eval(&[(10, 0.0)])),
                seed(2, Status::Diverged, &[30.0], None),
            ],
        );
        let summary = summarize("copy", "copy", &models, 0.05);
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["models"]["ntm"]["converged"], "1 of 2");
        assert_eq!(json["models"]["ntm"]["seeds"][0]["final"]["bit_errors"], 0.0);
        assert_eq!(json["models"]["ntm"]["seeds"][1]["status"], "diverged");
        assert_eq!(json["relapse_threshold"], 0.5);
        let back: Summary = serde_json::from_value(json).unwrap();
        assert_eq!(back, summary);
        let t = table(&summary);
        assert!(t.starts_with("ntm: 1 of 2 seeds converged"), "{t}");
        assert!(t.contains("diverged") && t.contains("never") && t.contains("L=10"), "{t}");
        assert!(t.contains("converged at (sequences)") && t.contains("eval L=10 bit errors"), "{t}");
    }
}
