//! The `[task]` table: defaults, validation messages, building, and (de)serialisation from
//! TOML and JSON.

use ntm_tasks::{CopySpec, DynamicNgramsSpec, PrioritySortSpec, RepeatCopySpec, TaskSpec};
use serde::{Deserialize, Serialize};

/// The part of an experiment file this crate owns.
#[derive(Debug, Serialize, Deserialize)]
struct File {
    task: TaskSpec,
}

fn parse(text: &str) -> Result<TaskSpec, String> {
    toml::from_str::<File>(text).map(|f| f.task).map_err(|e| e.to_string())
}

#[test]
fn defaults_are_the_papers() {
    assert_eq!(TaskSpec::default(), TaskSpec::Copy(CopySpec { bits: 8, min_length: 1, max_length: 20 }));
    assert_eq!(
        RepeatCopySpec::default(),
        RepeatCopySpec { bits: 8, min_length: 1, max_length: 10, min_repeats: 1, max_repeats: 10 }
    );
    assert_eq!(TaskSpec::default().validate(), Ok(()));
    assert_eq!(TaskSpec::RepeatCopy(RepeatCopySpec::default()).validate(), Ok(()));
}

#[test]
fn validate_names_field_and_value() {
    // (spec, expected error), table-driven.
    let copy = |bits, min_length, max_length| TaskSpec::Copy(CopySpec { bits, min_length, max_length });
    let repeat = |min_repeats, max_repeats| {
        TaskSpec::RepeatCopy(RepeatCopySpec { min_repeats, max_repeats, ..Default::default() })
    };
    let cases = [
        (copy(0, 1, 20), "task.bits = 0: must be at least 1"),
        (copy(8, 5, 3), "task.min_length = 5 is greater than task.max_length = 3"),
        (copy(8, 0, 3), "task.min_length = 0: must be at least 1"),
        (repeat(0, 10), "task.min_repeats = 0: must be at least 1"),
        (repeat(11, 10), "task.min_repeats = 11 is greater than task.max_repeats = 10"),
        (TaskSpec::RepeatCopy(RepeatCopySpec { bits: 0, ..Default::default() }), "task.bits = 0: must be at least 1"),
        (
            TaskSpec::RepeatCopy(RepeatCopySpec { min_length: 4, max_length: 2, ..Default::default() }),
            "task.min_length = 4 is greater than task.max_length = 2",
        ),
    ];
    for (spec, want) in cases {
        assert_eq!(spec.validate(), Err(want.to_string()), "{spec:?}");
    }
    // Boundaries that are allowed.
    assert_eq!(copy(1, 1, 1).validate(), Ok(()));
    assert_eq!(repeat(4, 4).validate(), Ok(()));
}

#[test]
fn build_gives_the_described_task() {
    let copy = TaskSpec::Copy(CopySpec { bits: 5, min_length: 2, max_length: 7 });
    let task = copy.build();
    assert_eq!((copy.name(), task.name()), ("copy", "copy"));
    assert_eq!((task.input_width(), task.output_width()), (6, 5));
    assert_eq!(task.length_range(), (2, 7));

    let repeat = TaskSpec::RepeatCopy(RepeatCopySpec { bits: 4, max_length: 3, ..Default::default() });
    let task = repeat.build();
    assert_eq!((repeat.name(), task.name()), ("repeat-copy", "repeat-copy"));
    assert_eq!((task.input_width(), task.output_width()), (6, 5));
    assert_eq!(task.length_range(), (1, 3));
}

#[test]
#[should_panic(expected = "task.bits = 0")]
fn build_panics_on_invalid_spec() {
    TaskSpec::Copy(CopySpec { bits: 0, ..Default::default() }).build();
}

#[test]
fn toml_full_copy_table() {
    let spec = parse(
        r#"
[task]
kind = "copy"
bits = 8
min_length = 1
max_length = 20
"#,
    )
    .unwrap();
    assert_eq!(spec, TaskSpec::Copy(CopySpec { bits: 8, min_length: 1, max_length: 20 }));
}

#[test]
fn toml_full_repeat_copy_table() {
    let spec = parse(
        r#"
[task]
kind = "repeat-copy"
bits = 6
min_length = 2
max_length = 9
min_repeats = 3
max_repeats = 12
"#,
    )
    .unwrap();
    let want = RepeatCopySpec { bits: 6, min_length: 2, max_length: 9, min_repeats: 3, max_repeats: 12 };
    assert_eq!(spec, TaskSpec::RepeatCopy(want));
}

#[test]
fn toml_partial_tables_take_defaults() {
    assert_eq!(parse("[task]\nkind = \"copy\"\n").unwrap(), TaskSpec::default());
    let spec = parse("[task]\nkind = \"copy\"\nmax_length = 30\n").unwrap();
    assert_eq!(spec, TaskSpec::Copy(CopySpec { max_length: 30, ..Default::default() }));
    let spec = parse("[task]\nkind = \"repeat-copy\"\nmax_repeats = 20\n").unwrap();
    let want = RepeatCopySpec { max_repeats: 20, ..Default::default() };
    assert_eq!(spec, TaskSpec::RepeatCopy(want));
}

#[test]
fn toml_unknown_key_rejected() {
    let err = parse("[task]\nkind = \"copy\"\nmax_lenght = 30\n").unwrap_err();
    assert!(err.contains("max_lenght"), "{err}");
    // A repeat-copy key is unknown to the copy task.
    let err = parse("[task]\nkind = \"copy\"\nmax_repeats = 3\n").unwrap_err();
    assert!(err.contains("max_repeats"), "{err}");
}

#[test]
fn toml_unknown_or_missing_kind_rejected() {
    let err = parse("[task]\nkind = \"reverse\"\n").unwrap_err();
    assert!(err.contains("reverse"), "{err}");
    // The Rust variant name is not the file's spelling.
    assert!(parse("[task]\nkind = \"RepeatCopy\"\n").is_err());
    let err = parse("[task]\nbits = 8\n").unwrap_err();
    assert!(err.contains("kind"), "{err}");
}

#[test]
fn toml_round_trip() {
    let spec = TaskSpec::RepeatCopy(RepeatCopySpec { bits: 3, ..Default::default() });
    let text = toml::to_string(&File { task: spec.clone() }).unwrap();
    assert!(text.contains("kind = \"repeat-copy\""), "{text}");
    assert_eq!(parse(&text).unwrap(), spec);
}

#[test]
fn json_round_trip_and_shape() {
    let spec = TaskSpec::default();
    let json = serde_json::to_value(&spec).unwrap();
    assert_eq!(json, serde_json::json!({"kind": "copy", "bits": 8, "min_length": 1, "max_length": 20}));
    assert_eq!(serde_json::from_value::<TaskSpec>(json).unwrap(), spec);
    let partial: TaskSpec = serde_json::from_str(r#"{"kind": "repeat-copy", "bits": 4}"#).unwrap();
    let want = RepeatCopySpec { bits: 4, ..Default::default() };
    assert_eq!(partial, TaskSpec::RepeatCopy(want));
}

#[test]
fn new_tasks_defaults_are_the_papers_and_round_trip() {
    // Sec. 4.4: 6-grams (5 bits of context), 200-bit sequences; sec. 4.5: 20 vectors of 8
    // bits, the 16 of highest priority.
    let ngrams = TaskSpec::DynamicNgrams(DynamicNgramsSpec::default());
    let sort = TaskSpec::PrioritySort(PrioritySortSpec::default());
    assert_eq!(
        serde_json::to_value(&ngrams).unwrap(),
        serde_json::json!({"kind": "dynamic-ngrams", "context": 5, "min_length": 200, "max_length": 200})
    );
    assert_eq!(
        serde_json::to_value(&sort).unwrap(),
        serde_json::json!({"kind": "priority-sort", "bits": 8, "min_inputs": 20, "max_inputs": 20, "answers": 16})
    );
    for spec in [ngrams, sort] {
        assert_eq!(spec.validate(), Ok(()));
        assert_eq!(parse(&format!("[task]\nkind = \"{}\"\n", spec.name())).unwrap(), spec);
        let text = toml::to_string(&File { task: spec.clone() }).unwrap();
        assert_eq!(parse(&text).unwrap(), spec);
        let task = spec.build();
        assert_eq!(task.name(), spec.name());
    }
}
