//! A DNC through the `ntm` binary, as the NTM is in `tests/cli.rs`: a tiny DNC (6 x 4 memory, 2
//! read heads, an 8-unit controller) beside a tiny LSTM on copy (`tests/data/tiny-dnc.toml`):
//! trained, evaluated (also at other memory sizes), traced, drawn, benched and swept; its trace
//! checked against the paper's equations from outside, from the JSON alone; and one clear
//! `error:` line for each bad setting.

use serde_json::Value;
mod sandbox;
use sandbox::{assert_png, read_json, Sandbox};

const TINY_DNC: &str = include_str!("data/tiny-dnc.toml");

fn sandbox() -> Sandbox {
    let s = Sandbox::new();
    s.write("tiny-dnc.toml", TINY_DNC);
    s
}

/// `tiny-dnc.toml` with `from` replaced by `to`, written as `name`.
fn variant(s: &Sandbox, name: &str, from: &str, to: &str) {
    assert!(TINY_DNC.contains(from), "{from:?} is not in the tiny DNC experiment");
    s.write(name, &TINY_DNC.replacen(from, to, 1));
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}")).iter().map(|x| x.as_f64().unwrap()).collect()
}

fn close(what: &str, t: usize, actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len(), "step {t}: {what}");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() < 2e-5, "step {t}: {what}[{i}] is {a}, the equation gives {e}");
    }
}

/// The paper's equations (Methods; `src/pieces/dnc/mod.rs`), checked on a trace from its JSON
/// alone: retention, usage, allocation, write weighting, precedence, read weighting by the
/// read modes, and the link matrix between two kept steps.
fn check_equations(trace: &Value) {
    let dnc = &trace["dnc"];
    let modes: Vec<&str> = dnc["read_modes"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    let steps = dnc["steps"].as_array().unwrap();
    let n = floats(&steps[0]["usage"]).len();
    let zeros = vec![0.0; n];
    let heads = steps[0]["reads"].as_array().unwrap().len();
    for (t, s) in steps.iter().enumerate() {
        let previous = t.checked_sub(1).map(|p| &steps[p]);
        let before = |field: &str| previous.map_or(zeros.clone(), |p| floats(&p[field]));
        let read_before = |i: usize| previous.map_or(zeros.clone(), |p| floats(&p["reads"][i]["weighting"]));
        // psi = prod_i (1 - f^i w^{r,i}_{t-1})
        let free = floats(&s["free_gates"]);
        let psi: Vec<f64> = (0..n).map(|j| (0..heads).map(|i| 1.0 - free[i] * read_before(i)[j]).product()).collect();
        close("retention", t, &floats(&s["retention"]), &psi);
        // u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} w^w_{t-1}) psi
        let (u0, w0) = (before("usage"), before("write_weighting"));
        let u: Vec<f64> = (0..n).map(|j| (u0[j] + w0[j] - u0[j] * w0[j]) * psi[j]).collect();
        close("usage", t, &floats(&s["usage"]), &u);
        // a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i], phi ascending (ties: lower index)
        let usage = floats(&s["usage"]);
        let mut phi: Vec<usize> = (0..n).collect();
        phi.sort_by(|&a, &b| usage[a].partial_cmp(&usage[b]).unwrap());
        let mut a = vec![0.0; n];
        let mut product = 1.0;
        for &slot in &phi {
            a[slot] = (1.0 - usage[slot]) * product;
            product *= usage[slot];
        }
        close("allocation", t, &floats(&s["allocation"]), &a);
        // w^w = g^w (g^a a + (1 - g^a) c^w)
        let (ga, gw) = (s["allocation_gate"].as_f64().unwrap(), s["write_gate"].as_f64().unwrap());
        let (a, c) = (floats(&s["allocation"]), floats(&s["write_content"]));
        let ww: Vec<f64> = (0..n).map(|j| gw * (ga * a[j] + (1.0 - ga) * c[j])).collect();
        close("write weighting", t, &floats(&s["write_weighting"]), &ww);
        // p_t = (1 - sum w^w) p_{t-1} + w^w
        let p0 = before("precedence");
        let total: f64 = ww.iter().sum();
        let p: Vec<f64> = (0..n).map(|j| (1.0 - total) * p0[j] + ww[j]).collect();
        close("precedence", t, &floats(&s["precedence"]), &p);
        // w^r = sum_k pi_k w_k, the modes in the trace's order
        for i in 0..heads {
            let r = &s["reads"][i];
            let pi = floats(&r["modes"]);
            assert!((pi.iter().sum::<f64>() - 1.0).abs() < 1e-5, "step {t}: read modes sum to 1");
            let by_mode: Vec<Vec<f64>> = modes.iter().map(|m| floats(&r[*m])).collect();
            let w: Vec<f64> = (0..n).map(|j| (0..pi.len()).map(|k| pi[k] * by_mode[k][j]).sum()).collect();
            close("read weighting", t, &floats(&r["weighting"]), &w);
        }
    }
    // L_t[i,j] = (1 - w_i - w_j) L_{t-1}[i,j] + w_i p_{t-1}[j], L_t[i,i] = 0, for kept t - 1, t.
    let links = dnc["links"].as_array().unwrap();
    assert_eq!(links.len(), steps.len(), "a small DNC's trace keeps every step's link matrix");
    for pair in links.windows(2) {
        let t = pair[1]["step"].as_u64().unwrap() as usize;
        let matrix = |l: &Value| -> Vec<Vec<f64>> { l["matrix"].as_array().unwrap().iter().map(floats).collect() };
        let (before, now) = (matrix(&pair[0]), matrix(&pair[1]));
        let (w, p) = (floats(&steps[t]["write_weighting"]), floats(&steps[t - 1]["precedence"]));
        for i in 0..n {
            let expected: Vec<f64> =
                (0..n).map(|j| if i == j { 0.0 } else { (1.0 - w[i] - w[j]) * before[i][j] + w[i] * p[j] }).collect();
            close(&format!("link row {i}"), t, &now[i], &expected);
        }
    }
}

#[test]
fn a_dnc_trains_evaluates_and_draws_as_an_ntm_does() {
    let s = sandbox();
    let out = s.ok(&["run", "tiny-dnc.toml", "--out", "out"]);
    assert!(out.contains("dnc") && out.contains("lstm"), "{out}");
    for file in ["config.toml", "metrics.jsonl", "checkpoint.safetensors", "checkpoint.json", "eval.json"] {
        assert!(s.path("out/dnc").join(file).is_file(), "out/dnc/{file}");
    }
    for figure in ["heads-dnc-3.png", "links-dnc-3.png", "curves.png", "generalisation.png", "outputs.png"] {
        assert_png(&s.path("out/plots").join(figure));
    }
    let trace = read_json(&s.path("out/plots/heads-dnc-3.json"));
    assert_eq!(trace["heads"].as_array().map(Vec::len), Some(0));
    let steps = trace["dnc"]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 7, "copy of 3: 2 L + 1 steps");
    // The first write: every slot free, the allocation one-hot on slot 0.
    assert_eq!(floats(&steps[0]["allocation"]), vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    check_equations(&trace);
    let report = read_json(&s.path("out/dnc/eval.json"));
    assert_eq!(report["model"], "dnc");

    // Other memory sizes: a DNC has no parameter with a slot axis.
    let text = s.ok(&["eval", "out/dnc", "--slots", "12", "--lengths", "4,6", "--json"]);
    let report: Value = serde_json::from_str(&text).unwrap();
    let slots: Vec<u64> = report["results"].as_array().unwrap().iter().map(|r| r["slots"].as_u64().unwrap()).collect();
    assert_eq!(slots, [12, 12]);
    let text = s.ok(&["eval", "out", "--slots", "2x", "--lengths", "4"]);
    assert!(text.contains("dnc") && !text.contains("lstm"), "{text}");
    s.ok(&["plot", "heads", "out/dnc", "--length", "5", "--slots", "10", "-o", "h.png"]);
    assert_png(&s.path("h.png"));
    check_equations(&read_json(&s.path("h.json")));
    // The size of a trace is known before it is traced (plot heads refuses one over its limit).
    s.ok(&["plot", "heads", "out/dnc", "--length", "40", "-o", "long.png"]);
    let written = std::fs::metadata(s.path("long.json")).unwrap().len() as f64;
    let experiment = ntm::Experiment::load(&s.path("out/dnc/config.toml"), &[]).unwrap();
    let ntm::ModelConfig::Dnc(config) = &experiment.models["dnc"] else { panic!("a DNC") };
    let estimate = ntm::plot::episodes::dnc_trace_json_bytes(config, (6, 4), 81.0);
    assert!((0.6..1.6).contains(&(estimate / written)), "estimated {estimate} bytes, written {written}");
    s.fails(&["plot", "heads", "out/dnc", "--length", "40", "--trace-limit", "1K", "-o", "x.png"], &["--no-trace"]);
    s.ok(&["plot", "links", "out", "--length", "2", "-o", "l.png"]);
    assert_png(&s.path("l.png"));
    s.fails(&["plot", "links", "out/lstm", "-o", "l.png"], &["lstm", "no link matrix"]);
    s.fails(&["eval", "out/dnc", "--slots", "1", "--lengths", "1"], &["--slots 1", "at least 2 slots"]);
}

#[test]
fn bad_dnc_settings_get_one_line_naming_the_field() {
    let s = sandbox();
    let cases: [(&str, &str, &[&str]); 5] = [
        ("read_heads = 2", "read_heads = 0", &["models.dnc.read_heads = 0", "at least one read head"]),
        ("slots = 6", "slots = 1", &["models.dnc.memory.slots = 1", "at least 2 slots"]),
        ("\"backward\", \"content\", \"forward\"", "\"backward\", \"sideways\"", &["sideways", "read_modes"]),
        ("\"backward\", \"content\", \"forward\"", "", &["models.dnc.read_modes = []"]),
        ("\"backward\", \"content\", \"forward\"", "\"content\", \"content\"", &["models.dnc.read_modes", "once"]),
    ];
    for (i, (from, to, words)) in cases.iter().enumerate() {
        let name = format!("bad-{i}.toml");
        variant(&s, &name, from, to);
        s.fails(&["train", &name, "--model", "dnc"], words);
    }
}

#[test]
fn a_dnc_too_large_for_the_memory_is_refused_before_it_starts() {
    let s = sandbox();
    variant(&s, "huge.toml", "slots = 6", "slots = 4096");
    let out = s.command(&["train", "huge.toml", "--model", "dnc"]).env("NTM_MEMORY_LIMIT", "2G").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("model dnc: training needs about") && stderr.contains("link matrix"), "{stderr}");
}

#[test]
fn the_bench_and_a_sweep_take_a_dnc() {
    let s = sandbox();
    let json = s.ok(&[
        "bench",
        "--models",
        "dnc",
        "--engines",
        "fused,reference",
        "--batches",
        "2",
        "--lengths",
        "2",
        "--slots",
        "4",
        "--width",
        "3",
        "--read-heads",
        "2",
        "--controller-size",
        "4",
        "--warmup",
        "0",
        "--reps",
        "1",
        "--steps",
        "1",
        "--modes",
        "train,eval",
        "--in-process",
        "--json",
    ]);
    let rows: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.len(), 4);
    for row in &rows {
        assert_eq!((row["model"].as_str(), row["slots"].as_u64()), (Some("dnc"), Some(4)), "{row}");
        assert!(row["ms_per_step"].as_f64().unwrap() > 0.0, "{row}");
    }
    s.ok(&["sweep", "tiny-dnc.toml", "--seeds", "1-2", "--models", "dnc", "--jobs", "1", "--out", "sweep"]);
    let summary = read_json(&s.path("sweep/summary.json"));
    assert!(summary["models"]["dnc"].is_object(), "{summary}");
}
