//! Experiment files at the library level: the shipped `experiments/copy.toml` parses and
//! round-trips through `to_toml`; `--set` overrides reach nested fields, convert integers into
//! float fields and name what they cannot set; every validation message names the field by
//! its dotted path and the value (table-driven).

use std::path::Path;

use ntm::config::{ConfigError, Experiment};
use ntm::models::factory::ModelConfig;
use ntm::optim::OptimizerKind;
use ntm_tasks::TaskSpec;

/// The text of a shipped experiment file.
fn shipped(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn copy_toml() -> String {
    shipped("copy.toml")
}

/// A complete experiment with every field written out, for the override and validation
/// tables (independent of the tuning of the shipped files).
const BASE: &str = r#"
name = "base"
seed = 1

[task]
kind = "copy"
bits = 8
min_length = 1
max_length = 20

[models.ntm]
kind = "ntm"
controller = "lstm"
controller_size = 100
controller_layers = 1
read_heads = 1
write_heads = 1
shifts = [-1, 0, 1]
memory = { slots = 128, width = 20, init = "constant" }

[models.lstm]
kind = "lstm"
size = 256
layers = 3

[train]
sequences = 40000
batch = 16
lr = 1e-3
lr_final = 1e-4
optimizer = "adam"
clip_value = 10.0
clip_norm = 50.0
report_every = 1000
checkpoint_every = 10000

[train.models.lstm]
batch = 32
optimizer = "rmsprop"

[eval]
lengths = [10, 20, 30, 50, 120]
sequences = 64
"#;

fn parse(text: &str, overrides: &[&str]) -> Result<Experiment, ConfigError> {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    Experiment::from_toml(text, Path::new("test.toml"), &overrides)
}

/// The base experiment with `overrides`, which must be accepted.
fn base(overrides: &[&str]) -> Experiment {
    parse(BASE, overrides).unwrap_or_else(|e| panic!("base with {overrides:?}: {e}"))
}

/// The error message of the base experiment with `overrides`, which must fail.
fn base_error(overrides: &[&str]) -> String {
    match parse(BASE, overrides) {
        Ok(_) => panic!("base with {overrides:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

/// The base experiment with the first `from` replaced by `to`.
fn base_with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from:?} is not in the base experiment");
    BASE.replacen(from, to, 1)
}

fn ntm(experiment: &Experiment) -> &ntm::models::ntm::NtmConfig {
    match &experiment.models["ntm"] {
        ModelConfig::Ntm(c) => c,
        other => panic!("models.ntm is {other:?}"),
    }
}

#[test]
fn copy_experiment_parses() {
    let e = parse(&copy_toml(), &[]).unwrap_or_else(|e| panic!("experiments/copy.toml: {e}"));
    assert_eq!(e.name, "copy");
    assert!(matches!(&e.task, TaskSpec::Copy(_)), "task is {:?}", e.task);
    assert_eq!(e.models.keys().collect::<Vec<_>>(), ["lstm", "ntm", "ntm-ff"]);
    assert_eq!(e.models["ntm"].kind(), "ntm");
    // The paper's figure 3 trains a feed-forward NTM beside the LSTM-controlled one.
    assert!(
        matches!(&e.models["ntm-ff"], ModelConfig::Ntm(c) if c.controller == ntm::base::kinds::ControllerKind::FeedForward && c.controller_size == 100),
        "{:?}",
        e.models["ntm-ff"]
    );
    assert_eq!(e.models["lstm"].kind(), "lstm");
    // The paper's sizes (REFERENCE.md, table 1): memory 128 x 20, controller 100, LSTM 3 x 256.
    let n = ntm(&e);
    assert_eq!((n.controller_size, n.memory.slots, n.memory.width), (100, 128, 20));
    assert!(matches!(&e.models["lstm"], ModelConfig::Lstm(c) if (c.size, c.layers) == (256, 3)));
    // The NTMs' RMSProp eps is 1e-2 (experiments/results/copy/README.md, "Over seeds"); the LSTM's
    // Adam keeps 1e-8.
    assert_eq!(e.train.for_model("ntm").epsilon, 0.01);
    assert_eq!(e.train.for_model("ntm-ff").epsilon, 0.01);
    assert_eq!(e.train.for_model("lstm").epsilon, 1e-8);
    // The LSTM-controlled NTM clips the gradient norm at 10 (experiments/results/copy/README.md,
    // "How the gradient-norm clip was chosen"); the feed-forward NTM and the LSTM at 50.
    assert_eq!(e.train.for_model("ntm").clip_norm, 10.0);
    assert_eq!(e.train.for_model("ntm-ff").clip_norm, 50.0);
    assert_eq!(e.train.for_model("lstm").clip_norm, 50.0);
    // Both NTMs start from a fixed random memory (experiments/results/copy/README.md, "How the
    // initial memory was chosen": over 30 seeds for the LSTM-controlled one, over 20 for the
    // feed-forward one).
    assert_eq!(n.memory.init, ntm::base::kinds::MemoryInit::Random);
    assert!(
        matches!(&e.models["ntm-ff"], ModelConfig::Ntm(c) if c.memory.init == ntm::base::kinds::MemoryInit::Random)
    );
}

#[test]
fn repeat_copy_experiment_keeps_its_recipe() {
    let text = shipped("repeat-copy.toml");
    let e = parse(&text, &[]).unwrap_or_else(|e| panic!("experiments/repeat-copy.toml: {e}"));
    assert!(matches!(&e.task, TaskSpec::RepeatCopy(_)), "task is {:?}", e.task);
    // experiments/results/repeat-copy/README.md: batch 1, RMSProp with eps 1e-2 for the NTM; Adam
    // with its usual 1e-8 for the LSTM.
    let (ntm, lstm) = (e.train.for_model("ntm"), e.train.for_model("lstm"));
    assert_eq!((ntm.batch, ntm.epsilon), (1, 0.01));
    assert_eq!(lstm.epsilon, 1e-8);
}

#[test]
fn every_shipped_experiment_parses_and_round_trips() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.contains(&"copy.toml".to_owned()), "{names:?}");
    for name in names {
        let original = parse(&shipped(&name), &[]).unwrap_or_else(|e| panic!("experiments/{name}: {e}"));
        let text = original.to_toml();
        let again = parse(&text, &[]).unwrap_or_else(|e| panic!("{name}: to_toml output does not parse: {e}\n{text}"));
        assert_eq!(again, original, "{name}: to_toml output:\n{text}");
    }
}

#[test]
fn to_toml_round_trips() {
    for overrides in [
        &[][..],
        // Every kind of value changed, including a switch of the NTM's controller.
        &["models.ntm.controller=feed-forward", "train.lr=0.5", "eval.lengths=[3, 4]", "task.kind=repeat-copy"],
    ] {
        let original = base(overrides);
        let text = original.to_toml();
        let again = parse(&text, &[]).unwrap_or_else(|e| panic!("to_toml output does not parse: {e}\n{text}"));
        assert_eq!(again, original, "with {overrides:?}, to_toml output:\n{text}");
    }
    // Without per-model training settings, none are written.
    let plain = parse(&base_with("[train.models.lstm]\nbatch = 32\noptimizer = \"rmsprop\"\n", ""), &[]).unwrap();
    assert!(plain.train.models.is_empty());
    assert_eq!(parse(&plain.to_toml(), &[]).unwrap(), plain);
}

#[test]
fn overrides_reach_nested_fields() {
    let e = base(&[
        "models.ntm.memory.slots=64",
        "models.ntm.memory.init=learned",
        "models.lstm.layers=1",
        "task.max_length=5",
        "train.sequences=2000",
        "train.optimizer=rmsprop",
        "train.models.lstm.batch=4",
        "eval.lengths=[2, 4]",
        "seed=7",
        "name=\"renamed\"",
    ]);
    assert_eq!(ntm(&e).memory.slots, 64);
    assert_eq!(format!("{:?}", ntm(&e).memory.init), "Learned");
    assert!(matches!(&e.models["lstm"], ModelConfig::Lstm(c) if c.layers == 1));
    assert!(matches!(&e.task, TaskSpec::Copy(s) if s.max_length == 5));
    assert_eq!(e.train.sequences, 2000);
    assert_eq!(e.train.optimizer, OptimizerKind::Rmsprop);
    assert_eq!(e.train.models["lstm"].batch, Some(4));
    assert_eq!(e.eval.lengths, [2, 4]);
    assert_eq!((e.seed, e.name.as_str()), (7, "renamed"));
    // Everything not named stays as in the file.
    let b = base(&[]);
    assert_eq!((e.train.batch, e.train.lr, e.eval.sequences), (b.train.batch, b.train.lr, b.eval.sequences));
    assert_eq!(e.train.models["lstm"].optimizer, Some(OptimizerKind::Rmsprop));
}

#[test]
fn overrides_apply_in_order() {
    assert_eq!(base(&["train.batch=4", "train.batch=8"]).train.batch, 8);
}

#[test]
fn overrides_reach_defaulted_fields_absent_from_the_file() {
    // No [train] or [eval] table and a partial [task]: the defaults are still settable.
    let text = "name = \"small\"\n[task]\nkind = \"copy\"\n[models.lstm]\nkind = \"lstm\"\n";
    let e = parse(text, &["train.batch=3", "eval.sequences=5", "task.bits=4", "train.lr_final=1e-5"]).unwrap();
    assert_eq!((e.train.batch, e.eval.sequences, e.train.lr_final), (3, 5, 1e-5));
    assert!(matches!(&e.task, TaskSpec::Copy(s) if s.bits == 4 && s.max_length == 20));
}

#[test]
fn overrides_reach_optional_per_model_fields() {
    let e = base(&["train.models.lstm.lr=1e-2"]);
    assert_eq!(e.train.models["lstm"].lr, Some(1e-2));
}

#[test]
fn per_model_training_settings_apply_to_that_model_only() {
    let e = base(&[]);
    let (lstm, ntm) = (e.train.for_model("lstm"), e.train.for_model("ntm"));
    assert_eq!((lstm.batch, lstm.optimizer, lstm.lr), (32, OptimizerKind::Rmsprop, 1e-3));
    assert_eq!((ntm.batch, ntm.optimizer, ntm.lr), (16, OptimizerKind::Adam, 1e-3));
    assert!(lstm.models.is_empty() && ntm.models.is_empty());
}

#[test]
fn the_learning_rate_follows_a_half_cosine() {
    let t = base(&[]).train; // lr 1e-3 -> lr_final 1e-4 over 40,000 sequences
    let middle = 1e-4 + (1e-3 - 1e-4) * 0.5;
    for (at, expected) in [(0, 1e-3), (20_000, middle), (40_000, 1e-4), (80_000, 1e-4)] {
        assert!((t.lr_at(at) - expected).abs() < 1e-12, "lr after {at}: {} (expected {expected})", t.lr_at(at));
    }
    let constant = base(&["train.lr_final=0"]).train;
    assert_eq!(constant.lr_at(30_000), 1e-3);
}

#[test]
fn an_integer_sets_a_float_field() {
    let e = base(&["train.lr=1", "train.clip_value=3"]);
    assert_eq!(e.train.lr, 1.0);
    assert_eq!(e.train.clip_value, 3.0);
    assert_eq!(base(&["train.lr=2e-4"]).train.lr, 2e-4);
}

#[test]
fn an_unknown_override_path_is_named() {
    for (assignment, named) in [
        ("train.nope=1", "train.nope"),
        ("nope=1", "nope"),
        ("models.ntm.memory.rows=3", "models.ntm.memory.rows"),
        ("models.gru.size=3", "models.gru"),
        // A path through a value that is not a table.
        ("train.batch.size=3", "train.batch.size"),
    ] {
        let message = base_error(&[assignment]);
        assert!(
            message.contains(assignment) && message.contains(&format!("no field {named}")),
            "--set {assignment}: {message:?} should quote the assignment and name {named}"
        );
    }
    // An empty key or an empty step in the path: one line that says what a key is.
    for assignment in ["=5", "train..lr=1", "train.=1"] {
        let message = base_error(&[assignment]);
        assert!(message.contains("is not a dotted path of field names"), "--set {assignment}: {message:?}");
    }
}

#[test]
fn an_override_of_the_wrong_type_is_rejected() {
    for (assignment, words) in [
        ("train.batch=abc", &["train.batch", "abc"][..]),
        ("train.batch=1.5", &["train.batch", "1.5"]),
        ("train.lr=fast", &["train.lr", "fast"]),
        ("eval.lengths=3", &["eval.lengths", "3"]),
        ("train.sequences", &["key=value"]),
        ("train.optimizer=sgd", &["sgd"]),
        ("train.sequences=-5", &["-5"]),
    ] {
        let message = base_error(&[assignment]);
        assert!(message.starts_with(&format!("--set {assignment}")), "--set {assignment}: {message:?}");
        for word in words {
            assert!(message.contains(word), "--set {assignment}: {message:?} should contain {word:?}");
        }
    }
}

#[test]
fn an_override_cannot_bypass_validation() {
    let message = base_error(&["models.ntm.memory.slots=0"]);
    assert!(message.contains("models.ntm.memory.slots = 0"), "{message}");
    let message = base_error(&["train.models.lstm.batch=0"]);
    assert!(message.contains("train.models.lstm.batch = 0"), "{message}");
}

#[test]
fn unknown_keys_in_the_file_are_rejected_by_name() {
    let cases = [
        ("sequences = 40000", "sequencez = 40000", "sequencez"),
        ("controller_size = 100", "controller_sise = 100", "controller_sise"),
        ("bits = 8", "bitz = 8", "bitz"),
        ("name = \"base\"", "name = \"base\"\nnmae = 1", "nmae"),
        ("sequences = 64", "sequences = 64\nbatch = 3", "batch"),
        ("batch = 32", "batch = 32\nreport_every = 10", "report_every"),
    ];
    for (from, to, key) in cases {
        let message = parse(&base_with(from, to), &[]).map(|_| ()).expect_err(key).to_string();
        assert!(message.contains(key), "{key}: {message:?}");
        assert!(!message.contains('\n'), "{key}: message on several lines: {message:?}");
    }
}

/// Table: a replacement in the base experiment, and what the message must contain (the field
/// by its dotted path and the offending value).
const INVALID: &[(&str, &str, &str)] = &[
    ("name = \"base\"", "name = \" \"", "name = \"\""),
    ("bits = 8", "bits = 0", "task.bits = 0"),
    ("min_length = 1", "min_length = 0", "task.min_length = 0"),
    ("min_length = 1", "min_length = 25", "task.min_length = 25 is greater than task.max_length = 20"),
    ("controller_size = 100", "controller_size = 0", "models.ntm.controller_size = 0"),
    ("controller_layers = 1", "controller_layers = 0", "models.ntm.controller_layers = 0"),
    ("read_heads = 1", "read_heads = 0", "models.ntm.read_heads = 0"),
    ("write_heads = 1", "write_heads = 0", "models.ntm.write_heads = 0"),
    ("slots = 128", "slots = 0", "models.ntm.memory.slots = 0"),
    ("width = 20", "width = 0", "models.ntm.memory.width = 0"),
    ("shifts = [-1, 0, 1]", "shifts = []", "models.ntm.shifts = []"),
    ("shifts = [-1, 0, 1]", "shifts = [0, 128]", "models.ntm.shifts contains 128"),
    ("shifts = [-1, 0, 1]", "shifts = [0, 1, 1]", "models.ntm.shifts = [0, 1, 1]"),
    ("size = 256", "size = 0", "models.lstm.size = 0"),
    ("layers = 3", "layers = 0", "models.lstm.layers = 0"),
    ("batch = 32", "batch = 0", "train.models.lstm.batch = 0"),
    ("batch = 32", "batch = 32\nlr = -2", "train.models.lstm.lr = -2"),
    ("[train.models.lstm]", "[train.models.gru]", "train.models.gru: no model named \"gru\""),
    ("lengths = [10, 20, 30, 50, 120]", "lengths = [10, 0]", "eval.lengths = [10, 0]"),
    ("sequences = 64", "sequences = 0", "eval.sequences = 0"),
    ("sequences = 64", "sequences = 64\nrepeats = [5]", "eval.repeats = [5]: the copy task has no repeat count"),
    (
        "batch = 32",
        "batch = 32\ncurriculum = { start = 30, sequences = 5 }",
        "train.models.lstm.curriculum.start = 30: must be between task.min_length = 1 and task.max_length = 20",
    ),
];

/// Fields of `[train]` that every model shares: an invalid one is `train.<field>` in the
/// message. The base experiment has no `[train.models.ntm]`, so the NTM's settings are
/// exactly `[train]`'s; these cases remove `[train.models.lstm]` too, so no model has
/// overrides (see `a_shared_train_field_is_named_as_such` for the case where one does).
const INVALID_SHARED: &[(&str, &str, &str)] = &[
    ("sequences = 40000", "sequences = 0", "train.sequences = 0"),
    ("batch = 16", "batch = 0", "train.batch = 0"),
    ("lr = 1e-3", "lr = 0", "train.lr = 0"),
    ("lr = 1e-3", "lr = -1", "train.lr = -1"),
    ("lr = 1e-3", "lr = nan", "train.lr = NaN"),
    ("lr = 1e-3", "lr = inf", "train.lr = inf"),
    ("lr = 1e-3", "lr = 1e-3\nepsilon = 0.0", "train.epsilon = 0"),
    ("lr_final = 1e-4", "lr_final = -1e-4", "train.lr_final = -0.0001"),
    ("lr = 1e-3", "lr = 1e-3\nmomentum = 1.0", "train.momentum = 1: must be at least 0 and less than 1"),
    ("lr = 1e-3", "lr = 1e-3\nmomentum = -0.1", "train.momentum = -0.1"),
    ("lr = 1e-3", "lr = 1e-3\nweight_decay = -1.0", "train.weight_decay = -1: must be a finite number >= 0"),
    (
        "lr = 1e-3",
        "lr = 1e-3\nweight_decay = 1000.0",
        "train.weight_decay = 1000: lr * weight_decay = 1 must be below 1",
    ),
    (
        "lr_final = 1e-4",
        "lr_final = 2e-2\nweight_decay = 50.0",
        "train.weight_decay = 50: lr * weight_decay = 1 must be below 1",
    ),
    ("clip_value = 10.0", "clip_value = -1.0", "train.clip_value = -1"),
    ("clip_norm = 50.0", "clip_norm = inf", "train.clip_norm = inf"),
    ("report_every = 1000", "report_every = 0", "train.report_every = 0"),
    ("checkpoint_every = 10000", "checkpoint_every = 0", "train.checkpoint_every = 0"),
    (
        "checkpoint_every = 10000",
        "checkpoint_every = 10000\ncurriculum = { start = 0, sequences = 10 }",
        "train.curriculum.start = 0: must be between task.min_length = 1 and task.max_length = 20",
    ),
    (
        "checkpoint_every = 10000",
        "checkpoint_every = 10000\ncurriculum = { start = 21, sequences = 10 }",
        "train.curriculum.start = 21: must be between",
    ),
    (
        "checkpoint_every = 10000",
        "checkpoint_every = 10000\ncurriculum = { start = 5, sequences = 0 }",
        "train.curriculum.sequences = 0: must be at least 1",
    ),
];

const LSTM_OVERRIDES: &str = "[train.models.lstm]\nbatch = 32\noptimizer = \"rmsprop\"\n";

fn assert_invalid(text: &str, change: &str, expected: &str) {
    match parse(text, &[]) {
        Ok(_) => panic!("{change:?} was accepted"),
        Err(e @ ConfigError::Invalid { .. }) => {
            let message = e.to_string();
            assert!(message.starts_with("test.toml: "), "{change:?}: {message:?} should name the file");
            assert!(message.contains(expected), "{change:?}: {message:?} should contain {expected:?}");
        }
        Err(e) => panic!("{change:?}: not a validation error: {e}"),
    }
}

#[test]
fn validation_messages_name_the_field_and_value() {
    for &(from, to, expected) in INVALID {
        assert_invalid(&base_with(from, to), to, expected);
    }
    for &(from, to, expected) in INVALID_SHARED {
        let text = base_with(from, to).replacen(LSTM_OVERRIDES, "", 1);
        assert_invalid(&text, to, expected);
    }
}

#[test]
fn a_shared_train_field_is_named_as_such() {
    for &(from, to, expected) in INVALID_SHARED {
        assert_invalid(&base_with(from, to), to, expected);
    }
}

#[test]
fn an_experiment_without_models_is_invalid() {
    let message = parse("name = \"x\"\n[models]\n", &[]).map(|_| ()).unwrap_err().to_string();
    assert!(message.contains("models: no model"), "{message}");
}

#[test]
fn a_missing_file_is_named() {
    let e = Experiment::load(Path::new("/nonexistent/exp.toml"), &[]).map(|_| ()).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e:?}");
    assert!(e.to_string().starts_with("/nonexistent/exp.toml: cannot read"), "{e}");
}

/// The base experiment on the repeat copy task.
fn repeat_copy_base() -> String {
    base_with("kind = \"copy\"", "kind = \"repeat-copy\"").replacen("max_length = 20", "max_length = 10", 1)
}

#[test]
fn eval_repeats_are_for_repeat_copy_and_at_least_one() {
    let text = repeat_copy_base();
    let e = parse(&text, &["eval.repeats=[5, 10, 15, 20]"]).unwrap();
    assert_eq!(e.eval.repeats, [5, 10, 15, 20]);
    // Left out of the written experiment when empty (copy's files stay as they were), written
    // and read back when set.
    assert!(!base(&[]).to_toml().contains("repeats"));
    assert_eq!(parse(&e.to_toml(), &[]).unwrap(), e);
    assert_invalid(
        &text.replacen("sequences = 64", "sequences = 64\nrepeats = [5, 0]", 1),
        "[5, 0]",
        "eval.repeats = [5, 0]: repeat counts must be at least 1",
    );
    let message = base_error(&["eval.repeats=[3]"]);
    assert!(message.contains("eval.repeats = [3]") && message.contains("copy task"), "{message}");
}

/// `--set train.clip_norm=...` does not reach copy's NTM, which sets its own clip: the note
/// names the override, the model and the key that would change it; models without their own
/// value, and overrides of other fields, get none.
#[test]
fn overrides_a_model_hides_are_named() {
    let sets = ["train.clip_norm=12", "train.lr=1e-3", "train.models.ntm-ff.clip_norm=20"];
    let overrides: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let e = parse(&copy_toml(), &sets).unwrap();
    assert_eq!(e.train.for_model("ntm").clip_norm, 10.0, "the model's own clip wins");
    let notes = e.shadowed_overrides(&overrides, "ntm");
    assert_eq!(notes.len(), 1, "{notes:?}");
    for words in [
        "--set train.clip_norm=12",
        "model ntm",
        "train.models.ntm.clip_norm = 10",
        "--set train.models.ntm.clip_norm=",
    ] {
        assert!(notes[0].contains(words), "{words:?} not in {:?}", notes[0]);
    }
    // ntm-ff now has its own clip too (set on the command line): the general one misses it.
    assert_eq!(e.shadowed_overrides(&overrides, "ntm-ff").len(), 1);
    // The LSTM sets its own lr (not its clip): only `train.lr` misses it.
    let lstm = e.shadowed_overrides(&overrides, "lstm");
    assert_eq!(lstm.len(), 1, "{lstm:?}");
    assert!(lstm[0].contains("train.models.lstm.lr"), "{lstm:?}");
    assert!(e.shadowed_overrides(&[], "ntm").is_empty());
}

/// `train.curriculum` is set whole (an inline table) or field by field, in either order, for
/// all models or one; it is written into the experiment when set and left out when not; one
/// field alone is an error that says how to give both; a model's own curriculum shadows
/// `--set train.curriculum.<field>`.
#[test]
fn a_curriculum_is_set_whole_or_by_field() {
    use ntm::optim::curriculum::Curriculum;
    let expected = Some(Curriculum { start: 5, sequences: 10_000 });
    for sets in [
        &["train.curriculum={start=5,sequences=10000}"][..],
        &["train.curriculum={ start = 5, sequences = 10000 }"],
        &["train.curriculum.start=5", "train.curriculum.sequences=10000"],
        &["train.curriculum.sequences=10000", "train.curriculum.start=5"],
        &["train.curriculum={start=3,sequences=10000}", "train.curriculum.start=5"],
    ] {
        let e = base(sets);
        assert_eq!((e.train.curriculum, e.train.for_model("lstm").curriculum), (expected, expected), "{sets:?}");
        assert!(e.to_toml().contains("[train.curriculum]"), "{sets:?}");
        assert_eq!(parse(&e.to_toml(), &[]).unwrap(), e, "{sets:?}: round trip");
    }
    assert!(!base(&[]).to_toml().contains("curriculum"), "absent, it is left out");
    // One model's own.
    let e = base(&["train.models.lstm.curriculum.start=2", "train.models.lstm.curriculum.sequences=7"]);
    assert_eq!(e.train.for_model("lstm").curriculum, Some(Curriculum { start: 2, sequences: 7 }));
    assert_eq!(e.train.for_model("ntm").curriculum, None);
    assert!(e.single_model("lstm").to_toml().contains("[train.models.lstm.curriculum]"));
    let sets = ["train.curriculum.start=4".to_owned()];
    assert_eq!(e.shadowed_overrides(&sets, "lstm").len(), 1, "the model's own curriculum wins");
    // Incomplete, or not a table.
    let message = base_error(&["train.curriculum.start=5"]);
    for words in ["--set train.curriculum.start=5", "missing field `sequences`", "--set train.curriculum.sequences="] {
        assert!(message.contains(words), "{words:?} not in {message:?}");
    }
    let message = base_error(&["train.curriculum.start=5", "train.batch=4"]);
    assert!(message.starts_with("--set train.curriculum.start=5:"), "names the override at fault: {message}");
    // A later override that completes the curriculum but brings an error of its own is the one
    // named, with its own error (not the earlier, mended one's hint).
    for sets in [
        &["train.curriculum.start=5", "train.curriculum.sequences=\"abc\""][..],
        &["train.curriculum.start=5", "train.optimizer=foo", "train.curriculum.sequences=\"abc\""],
    ] {
        let message = base_error(sets);
        let last = sets.last().unwrap();
        assert!(message.starts_with(&format!("--set {last}:")), "{sets:?}: {message}");
        assert!(!message.contains("needs both fields"), "{sets:?}: {message}");
    }
    for (sets, words) in [
        (&["train.curriculum=5"][..], "train.curriculum=5"),
        (&["train.curriculum={start=5,sequences=10,end=9}"], "unknown field `end`"),
        (&["train.curriculum={start=5,sequences=-1}"], "-1"),
    ] {
        let message = base_error(sets);
        assert!(message.contains(words), "{sets:?}: {words:?} not in {message:?}");
    }
}

#[test]
fn a_curriculum_is_checked_against_the_tasks_own_range() {
    let text = base_with("kind = \"copy\"\nbits = 8\nmin_length = 1\nmax_length = 20", "kind = \"associative-recall\"");
    assert_eq!(parse(&text, &["train.curriculum={start=2,sequences=10}"]).unwrap().train.curriculum.unwrap().start, 2);
    let message = parse(&text, &["train.curriculum={start=1,sequences=10}"]).map(|_| ()).unwrap_err().to_string();
    let expected = "test.toml: train.curriculum.start = 1: must be between task.min_items = 2 and task.max_items = 6";
    assert_eq!(message, expected);
}

/// The baselines beside the LSTM: each kind's fields, one bad value each, named by its dotted
/// path on one line.
#[test]
fn baseline_settings_are_validated_by_field() {
    let cases: &[(&str, &str, &str)] = &[
        ("rnn", "size = 0", "models.m.size = 0: must be at least 1"),
        ("rnn", "layers = 0", "models.m.layers = 0: must be at least 1"),
        ("rnn", "layers = 100000", "models.m.layers = 100000: must be at most"),
        ("gru", "size = 0", "models.m.size = 0: must be at least 1"),
        ("gru", "layers = 0", "models.m.layers = 0: must be at least 1"),
        ("gru", "size = 100000", "models.m.size = 100000: must be at most"),
        ("dsgu", "size = 0", "models.m.size = 0: must be at least 1"),
        ("dsgu", "layers = 0", "models.m.layers = 0: must be at least 1"),
        ("dsgu", "size = 100000", "models.m.size = 100000: must be at most"),
        ("attention", "size = 0", "models.m.size = 0: must be at least 1"),
        ("attention", "layers = 0", "models.m.layers = 0: must be at least 1"),
        ("attention", "attention = 0", "models.m.attention = 0: must be at least 1"),
    ];
    for &(kind, field, expected) in cases {
        let text = format!("name = \"b\"\n[task]\nkind = \"copy\"\n[models.m]\nkind = \"{kind}\"\n{field}\n");
        assert_invalid(&text, field, expected);
        let message = parse(&text, &[]).map(|_| ()).unwrap_err().to_string();
        assert!(!message.contains('\n'), "{kind} {field}: message on several lines: {message:?}");
    }
    // An unknown field is named too.
    for kind in ["rnn", "dsgu"] {
        let text = format!("name = \"b\"\n[task]\nkind = \"copy\"\n[models.m]\nkind = \"{kind}\"\nsise = 4\n");
        let message = parse(&text, &[]).map(|_| ()).unwrap_err().to_string();
        assert!(message.contains("sise") && !message.contains('\n'), "{kind}: {message:?}");
    }
}
