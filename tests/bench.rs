//! The bench library (`ntm bench`) on tiny settings: every row it measures is finite and
//! positive, for both engines and both kinds of model.

use ntm::base::kinds::Engine;
use ntm::measure::bench::{run_case, BenchCase, BenchMode, BenchSettings};
use ntm::models::factory::ModelConfig;
use ntm::models::lstm::LstmBaselineConfig;
use ntm::models::ntm::{MemoryConfig, NtmConfig};

fn lstm(size: usize, layers: usize, engine: Engine) -> ModelConfig {
    ModelConfig::Lstm(LstmBaselineConfig { size, layers, engine })
}

#[test]
fn bench_rows_are_positive_and_finite() {
    let settings = BenchSettings { length: 2, warmup: 0, reps: 1, steps: 1, ..BenchSettings::default() };
    let tiny_ntm = NtmConfig {
        controller_size: 4,
        memory: MemoryConfig { slots: 6, width: 3, ..MemoryConfig::default() },
        ..NtmConfig::default()
    };
    let cases = [
        BenchCase {
            model: "ntm".into(),
            config: ModelConfig::Ntm(tiny_ntm.clone()),
            batch: 2,
            length: None,
            mode: Default::default(),
        },
        BenchCase {
            model: "ntm".into(),
            config: ModelConfig::Ntm(tiny_ntm),
            batch: 2,
            length: None,
            mode: BenchMode::Eval,
        },
        BenchCase {
            model: "lstm".into(),
            config: lstm(4, 2, Engine::Reference),
            batch: 1,
            length: None,
            mode: Default::default(),
        },
        BenchCase {
            model: "lstm".into(),
            config: lstm(4, 2, Engine::Fused),
            batch: 3,
            length: None,
            mode: Default::default(),
        },
    ];
    for case in &cases {
        let row = run_case(case, &settings).unwrap();
        assert_eq!((row.model.as_str(), row.batch, row.time_steps), (case.model.as_str(), case.batch, 5));
        assert_eq!(row.engine, case.engine().name());
        for (field, v) in [
            ("ms_per_step", row.ms_per_step),
            ("ms_per_step_min", row.ms_per_step_min),
            ("ms_per_step_max", row.ms_per_step_max),
            ("ms_per_sequence", row.ms_per_sequence),
            ("ms_per_sequence_min", row.ms_per_sequence_min),
            ("ms_per_sequence_max", row.ms_per_sequence_max),
            ("peak_rss_mb", row.peak_rss_mb),
            ("estimate_mb", row.estimate_mb),
        ] {
            assert!(v.is_finite() && v > 0.0, "{}: {field} = {v}", case.model);
        }
        assert!(row.ms_per_step_min <= row.ms_per_step && row.ms_per_step <= row.ms_per_step_max);
    }
}

/// `ntm plot bench`'s figure from measured rows: a PNG, and the fitted slope of a power law.
#[test]
fn the_scaling_figure_is_drawn_from_bench_rows() {
    let settings = BenchSettings { length: 2, warmup: 0, reps: 1, steps: 1, ..BenchSettings::default() };
    let mut rows = Vec::new();
    for slots in [4, 8] {
        for mode in [BenchMode::Train, BenchMode::Eval] {
            let config = ModelConfig::Ntm(NtmConfig {
                controller_size: 4,
                memory: MemoryConfig { slots, width: 3, ..MemoryConfig::default() },
                ..NtmConfig::default()
            });
            let case = BenchCase { model: "ntm".into(), config, batch: 1, length: Some(2), mode };
            let row = run_case(&case, &settings).unwrap();
            assert_eq!((row.slots, row.length, row.mode.as_str()), (Some(slots), 2, mode.name()));
            rows.push(row);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scaling.png");
    ntm::plot::plot_scaling(&rows, "scaling", &path).unwrap();
    assert_eq!(&std::fs::read(&path).unwrap()[..4], b"\x89PNG");
    let slope = ntm::plot::log_log_slope(&[(128.0, 0.01), (8192.0, 0.64)]).unwrap();
    assert!((slope - 1.0).abs() < 1e-9, "{slope}");
}
