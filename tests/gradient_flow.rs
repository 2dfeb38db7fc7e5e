//! The gradient flow (`ntm plot gradient-flow`, `ntm::measure::gradient_flow`): the input
//! gradients of each answer step's loss against central finite differences in f64 on a tiny
//! untrained RNN, the mean by distance, every kind of model differentiable in its inputs on
//! the reference engine (and the fused NTM refused with a line, not a zero), the figure with
//! zeros and NaN in its data, and the command: a PNG with its JSON, one line for a bad folder
//! or model name.

mod common;
mod sandbox;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use common::{rng, t64, uniform, values};
use ntm::measure::gradient_flow::{input_gradients, on_reference_engine, FlowCurve, StepGradients};
use ntm::models::factory::ModelConfig;
use ntm::models::SequenceModel;
use ntm::plot::{plot_gradient_flow, FlowLine, FlowPanel, PlotError};
use sandbox::{assert_png, read_json, Sandbox};

/// (time steps, input width, output width) of the hand-made episodes.
const T: usize = 6;
const X: usize = 3;
const Y: usize = 2;
/// The answer steps of the hand-made episodes.
const MASK: [f32; T] = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0];

fn model(toml: &str, seed: u64) -> Box<dyn SequenceModel> {
    let config: ModelConfig = toml::from_str(toml).unwrap_or_else(|e| panic!("{toml}: {e}"));
    let config = on_reference_engine(&config);
    config.build(&VarMap::new(), seed, X, Y, DType::F64, &Device::Cpu).unwrap()
}

/// A random episode: inputs `[T, 1, X]` in [-1, 1], targets `[T, 1, Y]` of 0 and 1.
fn episode(seed: u64) -> (Vec<f64>, Tensor) {
    let inputs = uniform(&mut rng(seed), T * X, -1.0, 1.0);
    let bits: Vec<f64> = uniform(&mut rng(seed + 1), T * Y, 0.0, 1.0).iter().map(|v| v.round()).collect();
    (inputs, t64(&bits, &[T, 1, Y]))
}

/// `L_t` computed by hand from the logits: the cross-entropy of step t alone, in nats,
/// `sum_c max(z, 0) - z y + ln(1 + e^-|z|)`.
fn step_loss(model: &dyn SequenceModel, inputs: &[f64], targets: &Tensor, t: usize) -> f64 {
    let logits = values(&model.forward(&t64(inputs, &[T, 1, X])).unwrap());
    let targets = values(targets);
    (0..Y)
        .map(|c| {
            let (z, y) = (logits[t * Y + c], targets[t * Y + c]);
            z.max(0.0) - z * y + (-z.abs()).exp().ln_1p()
        })
        .sum()
}

#[test]
fn input_gradients_of_a_tiny_rnn_match_finite_differences() {
    let rnn = model("kind = \"rnn\"\nsize = 4\nlayers = 2", 7);
    let (inputs, targets) = episode(11);
    let steps = input_gradients(rnn.as_ref(), &t64(&inputs, &[T, 1, X]), &targets, &MASK).unwrap();
    assert_eq!(steps.iter().map(|s| s.step).collect::<Vec<_>>(), [2, 4, 5]);
    const EPS: f64 = 1e-6;
    let mut worst: f64 = 0.0;
    for step in &steps {
        let t = step.step;
        assert_eq!(step.gradients.len(), t + 1, "step {t}: gradients for s = 0..=t");
        assert!((step.loss - step_loss(rnn.as_ref(), &inputs, &targets, t)).abs() < 1e-12, "L_{t}");
        for s in 0..=t {
            let mut numeric = Vec::new();
            for c in 0..X {
                let (mut up, mut down) = (inputs.clone(), inputs.clone());
                up[s * X + c] += EPS;
                down[s * X + c] -= EPS;
                let d = (step_loss(rnn.as_ref(), &up, &targets, t) - step_loss(rnn.as_ref(), &down, &targets, t))
                    / (2.0 * EPS);
                let analytic = step.gradients[s][c];
                let error = (analytic - d).abs() / (analytic.abs() + d.abs()).max(1e-8);
                assert!(error < 1e-6, "dL_{t}/dx_{s}[{c}]: autograd {analytic}, finite differences {d}");
                worst = worst.max(error);
                numeric.push(d);
            }
            let norm = numeric.iter().map(|v| v * v).sum::<f64>().sqrt();
            let g = step.norms()[s];
            assert!((g - norm).abs() <= 1e-6 * norm.max(1e-8), "g({t}, {s}) = {g}, finite differences {norm}");
            assert!(g > 0.0, "g({t}, {s}) is 0: an RNN's answer depends on every earlier input");
        }
    }
    eprintln!("worst relative error {worst:.1e}");
}

#[test]
fn the_mean_by_distance_counts_the_answer_steps_that_reach_that_far() {
    // Answer steps 1 and 3 with g(t, s) = 10 t + s: distance 0 averages g(1,1) and g(3,3),
    // distance 2 only g(3,1), distance 3 only g(3,0).
    let step = |t: usize| StepGradients {
        step: t,
        loss: 0.0,
        gradients: (0..=t).map(|s| vec![(10 * t + s) as f64, 0.0]).collect(),
    };
    let curve = FlowCurve::of(&[step(1), step(3)]);
    assert_eq!(curve.answer_steps, [1, 3]);
    assert_eq!(curve.norms, [vec![10.0, 11.0], vec![30.0, 31.0, 32.0, 33.0]]);
    assert_eq!(curve.by_distance, [(11.0 + 33.0) / 2.0, (10.0 + 32.0) / 2.0, 31.0, 30.0]);
}

/// Tiny models of every kind the factory builds.
const KINDS: [&str; 6] = [
    "kind = \"ntm\"\ncontroller_size = 5\nmemory = { slots = 6, width = 4 }",
    "kind = \"dnc\"\ncontroller_size = 5\nmemory = { slots = 6, width = 4 }",
    "kind = \"lstm\"\nsize = 4\nlayers = 2",
    "kind = \"rnn\"\nsize = 4\nlayers = 2",
    "kind = \"gru\"\nsize = 4\nlayers = 2",
    "kind = \"attention\"\nsize = 4\nattention = 3",
];

#[test]
fn every_kind_is_differentiable_in_its_inputs_on_the_reference_engine() {
    let (inputs, targets) = episode(21);
    for toml in KINDS {
        let model = model(toml, 3);
        let steps = input_gradients(model.as_ref(), &t64(&inputs, &[T, 1, X]), &targets, &MASK)
            .unwrap_or_else(|e| panic!("{toml}: {e}"));
        for step in &steps {
            let g = step.norms();
            assert!(g.iter().all(|v| v.is_finite()), "{toml}: step {}: {g:?}", step.step);
            assert!(g[step.step] > 0.0, "{toml}: the answer at step {} does not depend on its own input", step.step);
        }
    }
}

#[test]
fn the_fused_ntm_gives_no_input_gradient_and_says_so() {
    let config: ModelConfig = toml::from_str(KINDS[0]).unwrap();
    let fused = config.build(&VarMap::new(), 3, X, Y, DType::F64, &Device::Cpu).unwrap();
    let (inputs, targets) = episode(21);
    let Err(e) = input_gradients(fused.as_ref(), &t64(&inputs, &[T, 1, X]), &targets, &MASK) else {
        panic!("the fused NTM's kernel takes its inputs as data; a gradient for them would be news")
    };
    assert!(e.to_string().contains("no gradient reaches the inputs"), "{e}");
}

#[test]
fn the_figure_leaves_out_what_a_log_axis_cannot_show_and_refuses_nothing_to_draw() {
    let dir = tempfile::tempdir().unwrap();
    let line = |model: &str, by_distance: Vec<f64>| FlowLine { model: model.into(), label: model.into(), by_distance };
    let panel = |lines: Vec<FlowLine>| FlowPanel { caption: "panel".into(), lines };
    let file = dir.path().join("flow.png");
    let panels = [
        panel(vec![line("rnn", vec![1.0, 1e-3, 1e-9, 0.0, 1e-15]), line("ntm", vec![0.5, f64::NAN, 1e-2])]),
        panel(vec![line("rnn", vec![2.0, 0.0]), line("ntm", vec![1e-20, 3.0])]),
    ];
    plot_gradient_flow(&panels, "zeros and NaN", &file).unwrap();
    assert_png(&file);
    let nothing = [panel(vec![line("rnn", vec![0.0, f64::NAN])]), panel(vec![])];
    let empty = plot_gradient_flow(&nothing, "all zero", &dir.path().join("empty.png"));
    assert!(matches!(empty, Err(PlotError::Empty { .. })), "{empty:?}");
}

#[test]
fn the_command_writes_a_figure_and_its_numbers_and_refuses_bad_input_in_a_line() {
    let s = Sandbox::new();
    for model in ["ntm", "lstm"] {
        s.ok(&["train", "tiny.toml", "--model", model, "--out", "out"]);
    }
    let printed = s.ok(&["plot", "gradient-flow", "out", "--length", "3"]);
    let file = s.path("out/plots/gradient-flow-3.png");
    assert_eq!(printed.trim(), "out/plots/gradient-flow-3.png");
    assert_png(&file);
    let json = read_json(&file.with_extension("json"));
    assert_eq!(json["task"], "copy");
    assert_eq!(json["steps"], 2 * 3 + 1);
    let models = json["models"].as_array().unwrap();
    assert_eq!(models.iter().map(|m| m["name"].as_str().unwrap()).collect::<Vec<_>>(), ["lstm", "ntm"]);
    for m in models {
        assert_eq!(m["trained_sequences"], 64);
        for which in ["trained", "untrained"] {
            assert_eq!(m[which]["answer_steps"], serde_json::json!([4, 5, 6]), "{which}");
            let by_distance = m[which]["by_distance"].as_array().unwrap();
            assert_eq!(by_distance.len(), 7, "{which}: distances 0..=6");
            assert!(by_distance.iter().all(|v| v.as_f64().is_some_and(|v| v > 0.0)), "{which}: {by_distance:?}");
        }
        assert_ne!(m["trained"]["by_distance"], m["untrained"]["by_distance"], "training changed nothing");
    }
    s.ok(&["plot", "gradient-flow", "out/ntm", "--models", "ntm", "-o", "one.png"]);
    assert_png(&s.path("one.png"));
    assert_eq!(read_json(&s.path("one.json"))["models"].as_array().unwrap().len(), 1);

    s.fails(&["plot", "gradient-flow", "nowhere"], &["nowhere"]);
    s.fails(&["plot", "gradient-flow", "out", "--models", "ntm,gru"], &["gru", "lstm, ntm"]);
    s.fails(&["plot", "gradient-flow", "out", "--length", "0"], &["--length"]);
}
