//! Telling runs of different experiments apart: two seeds' runs belong to one sweep when their
//! experiments are equal once the seed is ignored.

use crate::config::Experiment;

/// `experiment` restricted to model `name` (what that model's `config.toml` holds).
pub fn restrict(experiment: &Experiment, name: &str) -> Experiment {
    let mut single = experiment.clone();
    single.models.retain(|n, _| n == name);
    single.train.models.retain(|n, _| n == name);
    single
}

/// `experiment` without its models: the task, training and evaluation every model shares.
pub fn shared(experiment: &Experiment) -> Experiment {
    let mut shared = experiment.clone();
    shared.models.clear();
    shared.train.models.clear();
    shared
}

/// The first field in which `a` and `b` differ, seed ignored, as `field = A vs B`
/// (`(absent)` for a field only one has); None if they are the same experiment.
pub fn difference(a: &Experiment, b: &Experiment) -> Option<String> {
    let value = |e: &Experiment| {
        let mut e = e.clone();
        e.seed = 0;
        toml::Value::try_from(&e).expect("an experiment always serialises")
    };
    first_difference(&value(a), &value(b), "")
}

fn first_difference(a: &toml::Value, b: &toml::Value, at: &str) -> Option<String> {
    let join = |key: &str| if at.is_empty() { key.to_owned() } else { format!("{at}.{key}") };
    match (a, b) {
        (toml::Value::Table(x), toml::Value::Table(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|key| match (x.get(key), y.get(key)) {
                (Some(p), Some(q)) => first_difference(p, q, &join(key)),
                (p, q) => Some(format!("{} = {} vs {}", join(key), show(p), show(q))),
            })
        }
        _ if a == b => None,
        _ => Some(format!("{at} = {a} vs {b}")),
    }
}

fn show(v: Option<&toml::Value>) -> String {
    v.map_or("(absent)".to_owned(), |v| match v {
        toml::Value::Table(_) => "(a table)".to_owned(),
        v => v.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const TOML: &str = r#"
name = "t"
seed = 1
[models.ntm]
kind = "ntm"
[models.lstm]
kind = "lstm"
"#;

    fn experiment(overrides: &[&str]) -> Experiment {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        Experiment::from_toml(TOML, Path::new("t.toml"), &overrides).unwrap()
    }

    #[test]
    fn the_seed_is_ignored_and_other_fields_are_named() {
        let base = experiment(&[]);
        assert_eq!(difference(&base, &experiment(&["seed=7"])), None);
        assert_eq!(difference(&base, &experiment(&["train.lr=0.5"])).unwrap(), "train.lr = 0.001 vs 0.5");
        assert_eq!(
            difference(&base, &experiment(&["models.ntm.memory.slots=64"])).unwrap(),
            "models.ntm.memory.slots = 128 vs 64"
        );
        let d = difference(&restrict(&base, "ntm"), &restrict(&base, "lstm")).unwrap();
        assert_eq!(d, "models.lstm = (absent) vs (a table)");
        assert_eq!(difference(&shared(&restrict(&base, "ntm")), &shared(&base)), None);
        assert_eq!(restrict(&base, "ntm").models.len(), 1);
    }
}
