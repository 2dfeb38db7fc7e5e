//! Training as a film, end to end through the `ntm` binary on the tiny copy experiment:
//! `train.snapshot_every` keeps the weights at the right counts (the untrained ones and the
//! last included), a resumed run keeps its earlier snapshots and takes the later ones as an
//! uninterrupted run does (bit for bit, a stale one past its checkpoint replaced), `ntm plot
//! evolution` writes a GIF of one frame per snapshot (counted by decoding it), for a model with
//! memory and one without, and every bad field, folder or option gets one line.

use std::path::Path;

mod sandbox;
use sandbox::{bytes, Sandbox};

/// The sequences of the snapshots in model folder `dir`, from their file names.
fn snapshots(dir: &Path) -> Vec<u64> {
    let mut counts: Vec<u64> = std::fs::read_dir(dir.join("snapshots"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .map(|name| name.strip_suffix(".safetensors").unwrap_or_else(|| panic!("{name}")).parse().unwrap())
        .collect();
    counts.sort();
    counts
}

/// The frames of the GIF at `path`, decoded: their count and the image's size.
fn gif_frames(path: &Path) -> (usize, (u16, u16)) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut decoder = gif::DecodeOptions::new().read_info(file).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let size = (decoder.width(), decoder.height());
    let mut frames = 0;
    while let Some(frame) = decoder.read_next_frame().unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
        assert_eq!((frame.width, frame.height), size, "{}: frame {frames} is not the whole image", path.display());
        frames += 1;
    }
    (frames, size)
}

#[test]
fn snapshots_are_kept_at_each_multiple_and_at_the_ends() {
    let s = Sandbox::new();
    // 64 sequences in batches of 4: every 16 lands on a batch; every 10 is passed at 12, 20, 32, ...
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "sixteen", "--set", "train.snapshot_every=16"]);
    assert_eq!(snapshots(&s.path("sixteen/ntm")), [0, 16, 32, 48, 64]);
    s.ok(&["train", "tiny.toml", "--model", "lstm", "--out", "ten", "--set", "train.snapshot_every=10"]);
    assert_eq!(snapshots(&s.path("ten/lstm")), [0, 12, 20, 32, 40, 52, 60, 64]);
    // The last snapshot is the checkpoint's weights; none without the field.
    assert!(
        bytes(&s.path("sixteen/ntm/snapshots/000064.safetensors"))
            == bytes(&s.path("sixteen/ntm/checkpoint.safetensors"))
    );
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "none"]);
    assert!(!s.path("none/ntm/snapshots").exists());
    assert!(!std::fs::read_to_string(s.path("none/ntm/config.toml")).unwrap().contains("snapshot_every"));
}

#[test]
fn a_resumed_run_keeps_its_snapshots_and_takes_the_rest_as_one_run_does() {
    let s = Sandbox::new();
    let every = "train.snapshot_every=16";
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "whole", "--set", every]);
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "parts", "--set", every, "--set", "train.sequences=32"]);
    let dir = s.path("parts/ntm");
    assert_eq!(snapshots(&dir), [0, 16, 32]);
    let early = bytes(&dir.join("snapshots/000016.safetensors"));
    // What a run killed after its checkpoint at 32 might leave: a later snapshot, and a half-written one.
    std::fs::write(dir.join("snapshots/000048.safetensors"), b"not the weights").unwrap();
    std::fs::write(dir.join("snapshots/000052.safetensors.tmp"), b"half").unwrap();
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "parts", "--set", every, "--resume"]);
    assert_eq!(snapshots(&dir), [0, 16, 32, 48, 64]);
    assert!(bytes(&dir.join("snapshots/000016.safetensors")) == early, "the resume rewrote an earlier snapshot");
    for n in [0, 16, 32, 48, 64] {
        let file = format!("snapshots/{n:06}.safetensors");
        assert!(
            bytes(&dir.join(&file)) == bytes(&s.path("whole/ntm").join(&file)),
            "{file}: not the uninterrupted run's"
        );
    }
}

#[test]
fn the_film_has_one_frame_per_snapshot() {
    let s = Sandbox::new();
    for model in ["ntm", "lstm"] {
        s.ok(&["train", "tiny.toml", "--model", model, "--out", "out", "--set", "train.snapshot_every=16"]);
    }
    let printed = s.ok(&["plot", "evolution", "out/ntm", "--length", "3"]);
    assert_eq!(printed.trim(), "out/plots/evolution-ntm-3.gif");
    let (frames, (width, height)) = gif_frames(&s.path("out/plots/evolution-ntm-3.gif"));
    assert_eq!(frames, 5);
    assert!(width > 600 && height > 300, "{width} x {height}");
    // A model without memory: its outputs, one frame per snapshot too.
    s.ok(&["plot", "evolution", "out/lstm", "--length", "2", "--frame-ms", "50", "-o", "lstm.gif"]);
    assert_eq!(gif_frames(&s.path("lstm.gif")).0, 5);
    // --until keeps the snapshots taken at or before it (the untrained weights, at 0, always).
    let counts = snapshots(&s.path("out/ntm"));
    let until = counts[2];
    s.ok(&["plot", "evolution", "out/ntm", "--length", "3", "--until", &until.to_string(), "-o", "early.gif"]);
    assert_eq!(gif_frames(&s.path("early.gif")).0, counts.iter().filter(|&&n| n <= until).count());
    assert_eq!(gif_frames(&s.path("early.gif")).0, 3);
}

#[test]
fn bad_fields_folders_and_options_get_one_line() {
    let s = Sandbox::new();
    fn train<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["train", "tiny.toml", "--model", "ntm", "--out", "bad"];
        args.extend_from_slice(extra);
        args
    }
    s.fails(
        &train(&["--set", "train.sequences=100000", "--set", "train.snapshot_every=5"]),
        &["train.snapshot_every = 5", "20001 snapshots", "at least 10"],
    );
    s.fails(&train(&["--set", "train.snapshot_every=-5"]), &["train.snapshot_every"]);
    s.fails(&train(&["--set", "train.snapshot_every=often"]), &["train.snapshot_every"]);
    assert!(!s.path("bad").exists(), "a refused training wrote its folder");

    s.fails(&["plot", "evolution", "nowhere"], &["nowhere"]);
    s.ok(&["train", "tiny.toml", "--model", "ntm", "--out", "plain"]);
    s.fails(&["plot", "evolution", "plain/ntm"], &["no snapshots", "train.snapshot_every"]);
    s.ok(&["train", "tiny.toml", "--model", "lstm", "--out", "plain"]);
    s.fails(&["plot", "evolution", "plain"], &["2 models", "lstm, ntm"]);
    s.fails(&["plot", "evolution", "plain/ntm", "--frame-ms", "0"], &["--frame-ms 0"]);
    s.fails(&["plot", "evolution", "plain/ntm", "--length", "0"], &["--length"]);
}
