//! The figures, drawn from small fixed synthetic records: each must decode as a PNG of the
//! expected size with more than one colour; empty data is an error, NaN is not a panic.
//!
//! Set `PLOT_PREVIEW_DIR=/some/folder` to also keep the figures there for a look.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ntm::base::kinds::{HeadKind, ReadMode};
use ntm::pieces::trace::{DncReadStep, DncStep, DncTrace, HeadStep, HeadTrace, LinkSnapshot, Trace};
use ntm::plot::{plot_curves, plot_generalisation, plot_heads, plot_links, plot_outputs, PlotError};
use ntm::records::report::{EvalReport, EvalResult, MetricsRecord, OutputSample};

/// A tiny deterministic bit source (64-bit LCG), so the tests need no RNG crate.
struct Bits(u64);

impl Bits {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) & 1) as f32
    }
    fn vector(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// A sharp weighting over `slots` centred on `at`, with a little spill to the neighbours.
fn peak(slots: usize, at: usize) -> Vec<f32> {
    let mut w = vec![0.0; slots];
    w[at % slots] = 0.9;
    w[(at + 1) % slots] = 0.05;
    w[(at + slots - 1) % slots] = 0.05;
    w
}

fn head_step(weighting: Vec<f32>, kind: HeadKind, vector: Vec<f32>) -> HeadStep {
    HeadStep {
        content_weighting: weighting.clone(),
        weighting,
        key: vec![0.0; 20],
        beta: 1.0,
        gate: 0.5,
        shift: vec![0.0, 0.0, 1.0],
        gamma: 1.0,
        erase: (kind == HeadKind::Write).then(|| vec![0.5; 20]),
        add: (kind == HeadKind::Write).then(|| vector.clone()),
        read: (kind == HeadKind::Read).then_some(vector),
    }
}

/// A copy episode of `length` 8-bit vectors (2 length + 1 steps) as a trained NTM would
/// run it: the write head moves one slot per input step from slot 5, the read head follows
/// the same slots while the target is produced; the outputs have 1 wrong bit.
fn copy_trace(length: usize, slots: usize) -> Trace {
    let mut bits = Bits(length as u64);
    let seq: Vec<Vec<f32>> = (0..length).map(|_| bits.vector(8)).collect();
    let steps = 2 * length + 1;
    let (mut inputs, mut targets, mut mask, mut outputs) = (vec![], vec![], vec![], vec![]);
    for t in 0..steps {
        let mut input = vec![0.0; 9];
        if t < length {
            input[..8].copy_from_slice(&seq[t]);
        } else if t == length {
            input[8] = 1.0;
        }
        inputs.push(input);
        let target = if t > length { seq[t - length - 1].clone() } else { vec![0.0; 8] };
        mask.push(if t > length { 1.0 } else { 0.0 });
        outputs.push(target.iter().map(|&b| if b > 0.5 { 0.93 } else { 0.04 }).collect::<Vec<f32>>());
        targets.push(target);
    }
    outputs[length + 2][3] = 1.0 - outputs[length + 2][3];
    let encode = |v: &[f32]| (0..20).map(|i| if v[i % 8] > 0.5 { 0.8 } else { -0.8 }).collect::<Vec<f32>>();
    let write = (0..steps)
        .map(|t| head_step(peak(slots, 5 + t.min(length)), HeadKind::Write, encode(&inputs[t.min(length - 1)])))
        .collect();
    let read = (0..steps)
        .map(|t| {
            let at = 5 + t.saturating_sub(length + 1);
            head_step(peak(slots, at), HeadKind::Read, encode(&seq[(at - 5).min(length - 1)]))
        })
        .collect();
    Trace {
        task: "copy".into(),
        length,
        repeats: None,
        trained_sequences: 30_000,
        shifts: vec![-1, 0, 1],
        inputs,
        targets,
        mask,
        outputs,
        initial_memory: vec![vec![1e-6; 20]; slots],
        heads: vec![
            HeadTrace { kind: HeadKind::Read, index: 0, steps: read },
            HeadTrace { kind: HeadKind::Write, index: 0, steps: write },
        ],
        dnc: None,
    }
}

/// The copy episode of [`copy_trace`] as a DNC with `reads` read heads would run it: the write
/// head allocates one free slot per input step from slot 0, the usage of each rises when it is
/// written and falls when a read head frees it, the read heads follow the links forward; the
/// link matrix kept after every step (L[i+1, i] = 1 along the written slots).
fn dnc_trace(length: usize, slots: usize, reads: usize) -> Trace {
    let mut trace = copy_trace(length, slots);
    trace.heads.clear();
    trace.shifts.clear();
    trace.initial_memory = vec![vec![0.0; 20]; slots];
    let steps = trace.inputs.len();
    let one_hot = |at: usize| {
        let mut w = vec![0.0; slots];
        w[at % slots] = 1.0;
        w
    };
    let mut links = Vec::new();
    let mut link = vec![vec![0.0f32; slots]; slots];
    let dnc_steps = (0..steps)
        .map(|t| {
            let writing = t < length;
            let (written, read) = (t.min(length - 1), t.saturating_sub(length + 1));
            if writing && t > 0 {
                link[t % slots][(t - 1) % slots] = 1.0;
            }
            links.push(LinkSnapshot { step: t, matrix: link.clone() });
            let usage: Vec<f32> =
                (0..slots).map(|i| if i < written.min(slots) && (writing || i >= read) { 1.0 } else { 0.0 }).collect();
            DncStep {
                usage,
                retention: vec![1.0; slots],
                allocation: one_hot(written + 1),
                write_content: vec![1.0 / slots as f32; slots],
                write_weighting: if writing { one_hot(t) } else { vec![0.0; slots] },
                precedence: one_hot(written),
                write_key: vec![0.0; 20],
                write_strength: 1.0,
                erase: vec![0.0; 20],
                write_vector: vec![0.5; 20],
                free_gates: vec![0.9; reads],
                allocation_gate: 1.0,
                write_gate: if writing { 1.0 } else { 0.0 },
                reads: (0..reads)
                    .map(|_| DncReadStep {
                        key: vec![0.0; 20],
                        strength: 1.0,
                        modes: if t <= length { vec![0.0, 1.0, 0.0] } else { vec![0.05, 0.05, 0.9] },
                        content: one_hot(0),
                        forward: one_hot(read + 1),
                        backward: one_hot(read.saturating_sub(1)),
                        weighting: one_hot(read),
                        read: vec![0.5; 20],
                    })
                    .collect(),
            }
        })
        .collect();
    trace.dnc = Some(DncTrace { read_modes: ReadMode::ALL.to_vec(), steps: dnc_steps, links });
    trace
}

#[test]
fn dnc_heads_figure_has_a_write_and_a_read_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = figure(&dir, "heads-dnc-10.png");
    plot_heads(&dnc_trace(10, 20, 2), "copy, length 10, DNC", &path).unwrap();
    let (w, h, colours) = inspect(&path);
    // The write side and the read heads side by side, as an NTM's 4 + 4 heads (two columns of
    // a short episode: 400 px of cells each).
    assert_eq!(w, 16 + 2 * (64 + 400 + 62) + 24 + 16);
    assert!(h > 500 && h < 2000, "height {h}");
    assert!(colours > 30, "{colours} colours");
    // 128 slots are cropped to those in use, as for an NTM.
    let path = figure(&dir, "heads-dnc-40.png");
    plot_heads(&dnc_trace(40, 128, 1), "copy, length 40, DNC, 128 slots", &path).unwrap();
    assert!(inspect(&path).1 < 2000);
}

#[test]
fn dnc_link_figure_shows_the_matrix_after_the_input_and_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = figure(&dir, "links-dnc-10.png");
    let trace = dnc_trace(10, 20, 1);
    plot_links(&trace, "copy, length 10, DNC", &path).unwrap();
    let (w, h, colours) = inspect(&path);
    // Two square panels of 20 slots x 5 px (at least 260), 48 px apart, and the colour bar.
    assert_eq!(w, 16 + 2 * (64 + 260) + 48 + 62 + 16);
    assert_eq!(h, 62 + 24 + 260 + 46 + 16);
    assert!(colours > 20, "{colours} colours");
    // Without a scored step: only the last matrix.
    let mut unscored = trace.clone();
    unscored.mask = vec![0.0; unscored.mask.len()];
    plot_links(&unscored, "no mask", &figure(&dir, "links-one.png")).unwrap();
    assert_eq!(inspect(&figure(&dir, "links-one.png")).0, 16 + 64 + 260 + 62 + 16);
    // An NTM's trace has no link matrix.
    let e = plot_links(&copy_trace(5, 8), "ntm", &figure(&dir, "links-ntm.png")).unwrap_err();
    assert!(matches!(e, PlotError::Empty { .. }) && e.to_string().contains("not a DNC's"), "{e}");
}

/// Learning curves of an NTM that converges by 40k sequences and an LSTM that does not.
fn runs() -> Vec<(String, Vec<MetricsRecord>)> {
    let mut noise = Bits(7);
    let curve = |rate: f64, floor: f64, noise: &mut Bits| -> Vec<MetricsRecord> {
        (1..=200u64)
            .map(|i| {
                let x = i as f64 * 500.0;
                let wobble = 1.0 + 0.6 * (noise.next() as f64 - 0.5);
                let loss = (60.0 * (-x * rate).exp() + floor) * wobble;
                let errors = if loss < 0.05 { 0.0 } else { loss * 0.3 };
                MetricsRecord {
                    sequences: i * 500,
                    loss_bits: loss,
                    optimal_loss_bits: None,
                    bit_errors: errors,
                    seconds: i as f64,
                    skipped: 0,
                }
            })
            .collect()
    };
    vec![("ntm".to_string(), curve(1.5e-4, 0.0, &mut noise)), ("lstm".to_string(), curve(3e-5, 2.0, &mut noise))]
}

/// Copy generalisation results: the NTM stays near 0 errors, the LSTM falls apart past 20.
fn reports() -> Vec<EvalReport> {
    let lengths = [10, 20, 30, 50, 120];
    let report = |model: &str, errors: &dyn Fn(f64) -> f64| EvalReport {
        model: model.into(),
        task: "copy".into(),
        results: lengths
            .iter()
            .map(|&l| EvalResult {
                length: l,
                repeats: None,
                loss_bits: errors(l as f64) * 2.5 + 0.01,
                optimal_loss_bits: None,
                bit_errors: errors(l as f64),
                sequences: 100,
                slots: None,
            })
            .collect(),
    };
    vec![
        report("ntm", &|l| if l <= 30.0 { 0.0 } else { (l - 30.0) * 0.05 }),
        report("lstm", &|l| if l <= 20.0 { 0.2 } else { (l - 20.0) * 3.0 }),
    ]
}

/// Output samples at the test lengths, cut from copy traces (only the scored steps).
fn samples(lengths: &[usize]) -> Vec<OutputSample> {
    let mut out = vec![];
    for model in ["ntm", "lstm"] {
        for &length in lengths {
            let trace = copy_trace(length, 128);
            let mut output = trace.outputs[length + 1..].to_vec();
            if model == "lstm" && length > 20 {
                for v in output.iter_mut().skip(20) {
                    v.iter_mut().for_each(|b| *b = 0.5 + (*b - 0.5) * -0.4);
                }
            }
            out.push(OutputSample {
                model: model.into(),
                length,
                repeats: None,
                target: trace.targets[length + 1..].to_vec(),
                output,
            });
        }
    }
    out
}

/// Where a figure goes: the test's temporary folder, copied to `PLOT_PREVIEW_DIR` if set.
fn figure(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// Decodes the PNG at `path`, keeps a preview copy if asked, returns (width, height, colours).
fn inspect(path: &Path) -> (u32, u32, usize) {
    if let Ok(preview) = std::env::var("PLOT_PREVIEW_DIR") {
        std::fs::create_dir_all(&preview).unwrap();
        std::fs::copy(path, Path::new(&preview).join(path.file_name().unwrap())).unwrap();
    }
    let decoder = png::Decoder::new(std::fs::File::open(path).expect("figure written"));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG pixels");
    let px = info.color_type.samples();
    let colours: HashSet<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    (info.width, info.height, colours.len())
}

#[test]
fn heads_figure_short_episode_small_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = figure(&dir, "heads-copy-10.png");
    plot_heads(&copy_trace(10, 20), "copy, length 10, NTM after 30000 sequences", &path).unwrap();
    let (w, h, colours) = inspect(&path);
    // 21 steps are below the 640 px minimum of cells: 16 + 64 + 640 + 62 + 16.
    assert_eq!(w, 798);
    assert!(h > 500 && h < 1500, "height {h}");
    assert!(colours > 50, "{colours} colours");
}

#[test]
fn heads_figure_of_many_heads_has_two_columns() {
    // 4 read and 4 write heads (the feed-forward NTM of associative recall): write heads in a
    // column on the left, read heads on the right, each as tall as one column of 4 heads.
    let mut trace = copy_trace(10, 20);
    let (read, write) = (trace.heads[0].clone(), trace.heads[1].clone());
    trace.heads = (0..4)
        .flat_map(|i| [HeadTrace { index: i, ..read.clone() }, HeadTrace { index: i, ..write.clone() }])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = figure(&dir, "heads-8.png");
    plot_heads(&trace, "associative-recall, 6 items: NTM-FF", &path).unwrap();
    let (w, h, _) = inspect(&path);
    // Two columns of 64 + 400 + 62 px (a short episode's cells narrower than in one column, 400
    // px at least, so that the page keeps its labels readable when shown at a text column's
    // width), 24 px apart, within the 16 px margins.
    assert_eq!(w, 16 + 2 * (64 + 400 + 62) + 24 + 16);
    let one_column = figure(&dir, "heads-2.png");
    trace.heads.truncate(2);
    plot_heads(&trace, "one read, one write head", &one_column).unwrap();
    let (w1, h1, _) = inspect(&one_column);
    assert_eq!(w1, 798);
    // 4 heads a column against 2 in one: taller, but far less than 4x.
    assert!(h > h1 && h < 3 * h1, "height {h} against {h1}");
}

#[test]
fn heads_figure_long_episode_crops_large_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = figure(&dir, "heads-copy-120.png");
    plot_heads(&copy_trace(120, 128), "copy, length 120, NTM after 30000 sequences", &path).unwrap();
    let (w, h, colours) = inspect(&path);
    assert_eq!(w, 16 + 64 + 241 * 5 + 62 + 16);
    assert!(h > 800 && h < 2500, "height {h}");
    assert!(colours > 50);
}

#[test]
fn heads_figure_short_episode_large_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = figure(&dir, "heads-copy-10-n128.png");
    plot_heads(&copy_trace(10, 128), "copy, length 10, 128 slots", &path).unwrap();
    assert_eq!(inspect(&path).0, 798);
}

#[test]
fn learning_curves() {
    let dir = tempfile::tempdir().unwrap();
    let path = figure(&dir, "curves.png");
    plot_curves(&runs(), "copy: learning curves", &path).unwrap();
    let (w, h, colours) = inspect(&path);
    assert_eq!((w, h), (1400, 560));
    assert!(colours > 10);
}

#[test]
fn generalisation() {
    let dir = tempfile::tempdir().unwrap();
    let path = figure(&dir, "generalisation.png");
    plot_generalisation(&reports(), (1, 20), "copy: generalisation to longer sequences", &path).unwrap();
    let (w, h, colours) = inspect(&path);
    assert_eq!((w, h), (1400, 560));
    assert!(colours > 10);
}

#[test]
fn outputs_at_long_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let path = figure(&dir, "outputs.png");
    plot_outputs(&samples(&[10, 20, 30, 50, 120]), "copy: outputs at test lengths", &path).unwrap();
    let (w, h, colours) = inspect(&path);
    // 6 px per step for 120 steps: the longest block 720 + 44 wide, in a shelf of at least
    // 1000 beside the row names (72) and the colour bar (70); the four shorter lengths share
    // the first shelf, 120 has the second.
    assert_eq!(w, 16 + 72 + 1000 + 70 + 16);
    assert!(h > 2 * 150 && h < 5 * 150, "height {h}");
    assert!(colours > 10);
}

#[test]
fn outputs_short_lengths_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = figure(&dir, "outputs-short.png");
    plot_outputs(&samples(&[10]), "copy: length 10", &path).unwrap();
    assert!(inspect(&path).2 > 10);
}

#[test]
fn empty_data_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = figure(&dir, "empty.png");
    let mut trace = copy_trace(10, 20);
    trace.inputs.clear();
    trace.targets.clear();
    trace.outputs.clear();
    trace.mask.clear();
    trace.heads.clear();
    let errors = [
        plot_heads(&trace, "t", &path).unwrap_err(),
        plot_curves(&[], "t", &path).unwrap_err(),
        plot_curves(&[("ntm".into(), vec![])], "t", &path).unwrap_err(),
        plot_generalisation(&[], (1, 20), "t", &path).unwrap_err(),
        plot_outputs(&[], "t", &path).unwrap_err(),
    ];
    for e in errors {
        assert!(matches!(e, PlotError::Empty { .. }), "{e:?}");
        let message = e.to_string();
        assert!(message.starts_with("nothing to plot") && message.contains("empty.png"), "{message}");
    }
    assert!(!path.exists());
}

#[test]
fn nan_and_infinite_values_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut trace = copy_trace(10, 40);
    trace.outputs[3][2] = f32::NAN;
    trace.inputs[1][1] = f32::INFINITY;
    trace.heads[0].steps[4].weighting[3] = f32::NAN;
    trace.heads[1].steps[2].add.as_mut().unwrap()[0] = f32::NEG_INFINITY;
    trace.heads[1].steps.truncate(5); // ragged: a head shorter than the episode
    plot_heads(&trace, "NaN trace", &figure(&dir, "nan-heads.png")).unwrap();

    let mut runs = runs();
    runs[0].1[3].loss_bits = f64::NAN;
    runs[1].1[5].bit_errors = f64::INFINITY;
    runs[1].1[6].loss_bits = -1.0;
    plot_curves(&runs, "NaN curves", &figure(&dir, "nan-curves.png")).unwrap();
    let all_nan = vec![MetricsRecord {
        sequences: 1,
        loss_bits: f64::NAN,
        optimal_loss_bits: None,
        bit_errors: f64::NAN,
        seconds: 0.0,
        skipped: 0,
    }];
    assert!(plot_curves(&[("x".into(), all_nan)], "t", &figure(&dir, "x.png")).is_err());

    let mut reports = reports();
    reports[0].results[1].bit_errors = f64::NAN;
    reports[1].results[2].loss_bits = f64::INFINITY;
    plot_generalisation(&reports, (20, 1), "NaN eval", &figure(&dir, "nan-eval.png")).unwrap();

    let mut samples = samples(&[10]);
    samples[0].output[0][0] = f32::NAN;
    samples[1].output.pop(); // ragged: output shorter than target
    plot_outputs(&samples, "NaN outputs", &figure(&dir, "nan-outputs.png")).unwrap();
    for name in ["nan-heads.png", "nan-curves.png", "nan-eval.png", "nan-outputs.png"] {
        assert!(inspect(&figure(&dir, name)).2 > 10);
    }
}

#[test]
fn missing_folders_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/curves.png");
    plot_curves(&runs(), "nested", &path).unwrap();
    assert!(path.exists());
}

#[test]
fn degenerate_shapes_still_draw() {
    let dir = tempfile::tempdir().unwrap();
    // One time step, no heads, no mask, no memory.
    let trace = Trace {
        task: "copy".into(),
        length: 0,
        repeats: None,
        trained_sequences: 0,
        shifts: vec![],
        inputs: vec![vec![1.0]],
        targets: vec![],
        mask: vec![],
        outputs: vec![],
        initial_memory: vec![],
        heads: vec![],
        dnc: None,
    };
    plot_heads(&trace, "one step", &figure(&dir, "one-step.png")).unwrap();
    // A head whose weightings are empty.
    let mut trace = copy_trace(10, 20);
    trace.heads[0].steps.iter_mut().for_each(|s| s.weighting.clear());
    plot_heads(&trace, "empty weightings", &figure(&dir, "no-slots.png")).unwrap();

    let one = vec![MetricsRecord {
        sequences: 0,
        loss_bits: 0.0,
        optimal_loss_bits: None,
        bit_errors: 0.0,
        seconds: 0.0,
        skipped: 0,
    }];
    plot_curves(&[("ntm".into(), one)], "one record", &figure(&dir, "one-record.png")).unwrap();
    let single = EvalReport {
        model: "ntm".into(),
        task: "copy".into(),
        results: vec![EvalResult {
            length: 5,
            repeats: None,
            loss_bits: 0.0,
            optimal_loss_bits: None,
            bit_errors: 0.0,
            sequences: 1,
            slots: None,
        }],
    };
    plot_generalisation(&[single], (0, 0), "one length", &figure(&dir, "one-length.png")).unwrap();
    let mut samples = samples(&[10, 30]);
    samples.remove(1); // ntm has no length-30 sample
    samples[0].target.clear();
    samples[0].output.clear(); // and its length-10 sample is empty
    plot_outputs(&samples, "gaps", &figure(&dir, "gaps.png")).unwrap();
    for name in ["one-step.png", "no-slots.png", "one-record.png", "one-length.png", "gaps.png"] {
        assert!(inspect(&figure(&dir, name)).2 > 2, "{name}");
    }
}

#[test]
fn absurd_sizes_are_refused_not_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let wide = vec![OutputSample {
        model: "ntm".into(),
        length: 100_000,
        repeats: None,
        target: vec![vec![0.0; 8]; 100_000],
        output: vec![vec![0.0; 8]; 100_000],
    }];
    let e = plot_outputs(&wide, "huge", &figure(&dir, "huge.png")).unwrap_err();
    assert!(matches!(e, PlotError::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("huge.png"));
}
