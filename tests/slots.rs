//! Test-time memory size (`--slots`, `src/models/resize.rs`): how a trained NTM's initial
//! weightings and random memory extend to more (or fewer) slots, the same numbers at the trained
//! size, and one clear error line where no extension makes sense.

mod common;
mod sandbox;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use common::values;
use ntm::base::kinds::MemoryInit;
use ntm::models::factory::ModelConfig;
use ntm::models::ntm::{MemoryConfig, NtmConfig};
use ntm::models::resize::resize_logits;
use sandbox::{assert_png, lengths_and_slots, snapshot, Sandbox, TINY};
use std::path::Path;

#[test]
fn initial_logits_keep_the_trained_ones_and_pad_with_their_mean() {
    let logits = Tensor::new(&[4.0f32, 1.0, -2.0], &Device::Cpu).unwrap();
    // Mean of the trained logits: 1.
    assert_eq!(values(&resize_logits(&logits, 5).unwrap()), [4.0, 1.0, -2.0, 1.0, 1.0]);
    assert_eq!(values(&resize_logits(&logits, 3).unwrap()), [4.0, 1.0, -2.0]);
    assert_eq!(values(&resize_logits(&logits, 2).unwrap()), [4.0, 1.0]);
}

/// A random initial memory run with more slots keeps its trained rows (same generator, same
/// scale) and draws the new rows after them; with fewer, its first rows.
#[test]
fn a_random_memory_keeps_its_trained_rows() {
    let memory = |slots: usize, trained: Option<usize>| {
        let config = NtmConfig {
            controller_size: 4,
            memory: MemoryConfig { slots, width: 3, init: MemoryInit::Random },
            trained_slots: trained,
            ..NtmConfig::default()
        };
        let model = ModelConfig::Ntm(config).build(&VarMap::new(), 1, 2, 2, DType::F32, &Device::Cpu).unwrap();
        let x = Tensor::zeros((1, 1, 2), DType::F32, &Device::Cpu).unwrap();
        model.forward_traced(&x).unwrap().1.unwrap().initial_memory
    };
    let trained = memory(8, None);
    let more = memory(13, Some(8));
    let fewer = memory(5, Some(8));
    assert_eq!(more.len(), 13);
    assert_eq!(&more[..8], &trained[..], "the trained rows changed");
    assert!(more[8..].iter().all(|row| row != &trained[7]), "the new rows repeat a trained one");
    assert_eq!(&fewer[..], &trained[..5]);
}

#[test]
fn eval_and_plots_run_a_trained_ntm_with_other_memory_sizes() {
    let s = Sandbox::new();
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "t"]);
    // At the trained size (8), --slots changes nothing.
    let trained = s.ok(&["eval", "t/ntm", "--lengths", "2,4", "--json"]);
    let same = s.ok(&["eval", "t/ntm", "--lengths", "2,4", "--json", "--slots", "8"]);
    assert_eq!(same.replace(",\n      \"slots\": 8", ""), trained, "rows besides their slots differ");
    // More slots than trained, and a test length past the trained size.
    let table = s.ok(&["eval", "t/ntm", "--lengths", "2,12", "--slots", "24"]);
    assert!(table.contains("L=12"), "{table}");
    s.ok(&["eval", "t/ntm", "--lengths", "3", "--slots", "3"]);
    // Kx: K times each length, each result naming its slots; at 1x the same numbers as N = L.
    let json = s.ok(&["eval", "t/ntm", "--lengths", "12,2", "--slots", "2x", "--json"]);
    assert_eq!(lengths_and_slots(&json), [(12, 24), (2, 4)]);
    let fixed = s.ok(&["eval", "t/ntm", "--lengths", "12", "--slots", "12", "--json"]);
    assert_eq!(s.ok(&["eval", "t/ntm", "--lengths", "12", "--slots", "1x", "--json"]), fixed);
    s.ok(&["plot", "heads", "t/ntm", "--length", "12", "--slots", "24", "-o", "h.png"]);
    assert_png(&s.path("h.png"));
    s.ok(&["plot", "outputs", "t", "--lengths", "2,12", "--slots", "16", "-o", "o.png"]);
    assert_png(&s.path("o.png"));
}

/// `plot heads` on a run folder of two NTMs (and an LSTM): `-o F` gives each NTM its own file
/// (F with the model's name added), and `--slots` names the default file after the slots, so
/// neither overwrites the figure of another model or of the trained size.
#[test]
fn heads_figures_of_several_models_or_sizes_do_not_overwrite_each_other() {
    let s = Sandbox::new();
    let two_ntms = TINY.replacen("[models.lstm]", "[models.ntm-ff]\nkind = \"ntm\"\ncontroller = \"feed-forward\"\ncontroller_size = 16\nmemory = { slots = 8, width = 6, init = \"constant\" }\n\n[models.lstm]", 1);
    s.write("two.toml", &two_ntms);
    s.ok(&["run", "two.toml", "--out", "r"]);
    let printed = s.ok(&["plot", "heads", "r", "--length", "2", "-o", "figs.png"]);
    let files: Vec<&str> = printed.lines().collect();
    assert_eq!(files, ["figs-ntm.png", "figs-ntm-ff.png"], "{printed}");
    for file in files {
        assert_png(&s.path(file));
        assert!(s.path(file).with_extension("json").is_file());
    }
    assert!(!s.path("figs.png").exists());
    // One NTM (a model folder, or a run folder whose other model is an LSTM): F itself.
    s.ok(&["plot", "heads", "r/ntm-ff", "--length", "2", "-o", "ff.png"]);
    assert_png(&s.path("ff.png"));
    s.ok(&["run", "tiny.toml", "--out", "one"]);
    assert_eq!(s.ok(&["plot", "heads", "one", "--length", "2", "-o", "one.png"]).trim(), "one.png");
    // --slots without -o: its own file beside the trained size's (`run` drew heads-ntm-3.png).
    let trained_size = std::fs::read(s.path("r/plots/heads-ntm-3.png")).unwrap();
    let printed = s.ok(&["plot", "heads", "r/ntm", "--length", "3", "--slots", "16"]);
    assert_eq!(Path::new(printed.trim()), Path::new("r/plots/heads-ntm-3-16slots.png"));
    assert_png(&s.path("r/plots/heads-ntm-3-16slots.png"));
    assert_eq!(
        std::fs::read(s.path("r/plots/heads-ntm-3.png")).unwrap(),
        trained_size,
        "the trained size's figure was overwritten"
    );
}

#[test]
fn slots_that_make_no_sense_give_one_error_line() {
    let s = Sandbox::new();
    s.ok(&["run", "tiny.toml", "--out", "r"]);
    s.variant("learned.toml", "init = \"constant\"", "init = \"learned\"");
    s.ok(&["train", "learned.toml", "--model", "ntm", "--out", "l"]);
    let cases: &[(&[&str], &[&str])] = &[
        (&["eval", "r/ntm", "--slots", "0"], &["--slots 0", "at least 1"]),
        (&["eval", "r/ntm", "--slots", "3", "--lengths", "2,4"], &["--slots 3", "length 4", "at least 4"]),
        // A run folder: the note that leaves its LSTM out is not said before an error.
        (&["eval", "r", "--slots", "3", "--lengths", "2,4"], &["--slots 3", "length 4", "at least 4"]),
        (&["eval", "r/lstm", "--slots", "16"], &["--slots 16", "lstm"]),
        (&["eval", "l/ntm", "--slots", "16"], &["--slots 16", "learned"]),
        (&["eval", "r/ntm", "--slots", "1", "--lengths", "1"], &["--slots 1", "shifts"]),
        (&["plot", "heads", "r/ntm", "--length", "10", "--slots", "9"], &["--slots 9", "length 10"]),
        (&["plot", "outputs", "r", "--lengths", "5", "--slots", "4"], &["--slots 4", "length 5"]),
    ];
    let before = snapshot(s.dir.path());
    for (args, words) in cases {
        s.fails(args, words);
    }
    assert!(snapshot(s.dir.path()) == before, "a failed command wrote files");
    // A run folder: the NTM is evaluated, the LSTM left out with a note.
    let out = s.ntm(&["eval", "r", "--slots", "16", "--lengths", "2"]);
    assert!(out.status.success());
    let (stdout, stderr) = (sandbox::text(&out.stdout), sandbox::text(&out.stderr));
    assert!(stdout.contains("ntm") && !stdout.contains("lstm"), "{stdout}");
    assert!(stderr.contains("model lstm has no memory slots"), "{stderr}");
    // So is plot outputs on the run folder.
    let out = s.ntm(&["plot", "outputs", "r", "--lengths", "2", "--slots", "16", "-o", "o.png"]);
    assert!(out.status.success(), "{}", sandbox::text(&out.stderr));
    assert!(sandbox::text(&out.stderr).contains("model lstm has no memory slots"));
    sandbox::assert_png(&s.path("o.png"));
}
