//! The differences between two experiments, field by field: what a `--resume` with other
//! settings would change (refused unless `--allow-changes`, then recorded in the model folder's
//! `changes.jsonl`), and what tells the runs of two experiments apart (`ntm summarize`).

use serde::{Deserialize, Serialize};

use super::Experiment;

/// One field whose value differs, by its dotted path (`train.lr`); `None` where a side does
/// not have the field (an optional one left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    pub field: String,
    pub old: Option<toml::Value>,
    pub new: Option<toml::Value>,
}

impl Difference {
    /// False for the number of training sequences (`train.sequences`, or a model's own), which
    /// a `--resume` may raise to train longer without saying so; true for every other field.
    pub fn needs_consent(&self) -> bool {
        let parts: Vec<&str> = self.field.split('.').collect();
        !matches!(parts.as_slice(), ["train", "sequences"] | ["train", "models", _, "sequences"])
    }
}

impl std::fmt::Display for Difference {
    /// `train.lr = 0.0001 -> 0.01`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {} -> {}", self.field, show(self.old.as_ref()), show(self.new.as_ref()))
    }
}

/// A value as the messages show it: `(absent)`, `(a table)`, or as TOML writes it.
pub fn show(v: Option<&toml::Value>) -> String {
    v.map_or("(absent)".to_owned(), |v| match v {
        toml::Value::Table(_) => "(a table)".to_owned(),
        v => v.to_string(),
    })
}

/// Every field in which `old` and `new` differ, in the order of their dotted paths (a table
/// only one of them has counts as an empty one on the other side, so each of its fields is
/// named). Empty if they are the same experiment.
pub fn differences(old: &Experiment, new: &Experiment) -> Vec<Difference> {
    let value = |e: &Experiment| toml::Value::try_from(e).expect("an experiment always serialises");
    let mut found = Vec::new();
    walk(Some(&value(old)), Some(&value(new)), "", &mut found);
    found
}

fn walk(a: Option<&toml::Value>, b: Option<&toml::Value>, at: &str, found: &mut Vec<Difference>) {
    let join = |key: &str| if at.is_empty() { key.to_owned() } else { format!("{at}.{key}") };
    let empty = toml::Value::Table(Default::default());
    let (a, b) = match (a, b) {
        (None, Some(toml::Value::Table(_))) => (Some(&empty), b),
        (Some(toml::Value::Table(_)), None) => (a, Some(&empty)),
        other => other,
    };
    match (a, b) {
        (Some(toml::Value::Table(x)), Some(toml::Value::Table(y))) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                walk(x.get(key), y.get(key), &join(key), found);
            }
        }
        _ if a == b => {}
        _ => found.push(Difference { field: at.to_owned(), old: a.cloned(), new: b.cloned() }),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn every_field_is_named_and_only_the_sequences_may_change_unasked() {
        let toml = "name = 't'\n[models.ntm]\nkind = 'ntm'\n";
        let load = |set: &[&str]| {
            let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
            Experiment::from_toml(toml, Path::new("t.toml"), &set).unwrap()
        };
        let base = load(&[]);
        assert!(differences(&base, &base).is_empty());
        let changed = load(&["train.lr=0.01", "train.sequences=99", "eval.lengths=[3]"]);
        let found: Vec<String> = differences(&base, &changed).iter().map(|d| d.to_string()).collect();
        let sequences = format!("train.sequences = {} -> 99", base.train.sequences);
        assert_eq!(found, ["eval.lengths = [10, 20, 30, 50, 120] -> [3]", "train.lr = 0.001 -> 0.01", &sequences]);
        let consent: Vec<bool> = differences(&base, &changed).iter().map(Difference::needs_consent).collect();
        assert_eq!(consent, [true, true, false]);
        let own = load(&["train.models.ntm.sequences=5"]);
        let d = differences(&base, &own);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].to_string(), "train.models.ntm.sequences = (absent) -> 5");
        assert!(!d[0].needs_consent());
    }
}
