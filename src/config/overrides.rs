//! `--set key=value` overrides: each sets the field at a dotted path of the experiment read
//! from its file (creating the optional fields left out of the written experiment), and the
//! experiment is read again after each one, so an error names the override at fault.

use std::path::Path;

use super::{one_line, ConfigError, Experiment};

/// `experiment` (read from `path`) with `overrides` applied in order. Checked after each
/// one: an error names the override after which the experiment's remaining error first
/// appeared; a later one may complete an earlier one (`train.curriculum.start=5`, then
/// `train.curriculum.sequences=10000`), and one that brings a different error is named instead.
pub(super) fn apply(experiment: &Experiment, overrides: &[String], path: &Path) -> Result<Experiment, ConfigError> {
    let mut value = toml::Value::try_from(experiment)
        .map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })?;
    let mut read = experiment.clone();
    // The override at fault and the error the experiment has had since it.
    let mut fault: Option<(&String, toml::de::Error)> = None;
    for assignment in overrides {
        apply_override(&mut value, assignment)?;
        match value.clone().try_into() {
            Ok(experiment) => (read, fault) = (experiment, None),
            Err(e) => {
                let e: toml::de::Error = e;
                if fault.as_ref().is_none_or(|(_, before)| before.message() != e.message()) {
                    fault = Some((assignment, e));
                }
            }
        }
    }
    match fault {
        None => Ok(read),
        Some((assignment, e)) => {
            let message = one_line(&e, "") + &curriculum_hint(assignment, e.message());
            Err(ConfigError::Override { assignment: assignment.clone(), message })
        }
    }
}

/// Sets the field at a dotted `key` of `value` from `key=value` text; the field must exist,
/// or be one of the [optional](is_optional) ones, which this creates.
fn apply_override(root: &mut toml::Value, assignment: &str) -> Result<(), ConfigError> {
    let fail = |message: String| ConfigError::Override { assignment: assignment.to_owned(), message };
    let (key, text) =
        assignment.split_once('=').ok_or_else(|| fail("expected key=value, e.g. train.sequences=2000".into()))?;
    let key = key.trim();
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|part| part.trim().is_empty()) {
        return Err(fail(format!("{key:?} is not a dotted path of field names, e.g. train.sequences")));
    }
    let parsed = parse_value(text.trim());
    if let ["train", "models", model, ..] = parts.as_slice() {
        if root.get("models").and_then(|m| m.get(*model)).is_none() {
            return Err(fail(format!("no model named {model:?} in [models]")));
        }
    }
    let mut slot = &mut *root;
    for (i, part) in parts.iter().enumerate() {
        let path = &parts[..=i];
        let toml::Value::Table(table) = slot else {
            return Err(fail(format!("no field {} in the experiment", path.join("."))));
        };
        // Created here, checked when the experiment is deserialised (unknown fields and
        // wrong types are rejected there).
        if !table.contains_key(*part) && is_optional(path) {
            if i + 1 == parts.len() {
                table.insert((*part).to_owned(), parsed);
                return Ok(());
            }
            table.insert((*part).to_owned(), toml::Value::Table(Default::default()));
        }
        slot = table.get_mut(*part).ok_or_else(|| fail(format!("no field {} in the experiment", path.join("."))))?;
    }
    let fits = std::mem::discriminant(&parsed) == std::mem::discriminant(slot)
        || matches!((&*slot, &parsed), (toml::Value::Float(_), toml::Value::Integer(_)));
    if !fits {
        let kind = slot.type_str();
        let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
        return Err(fail(format!("{key} takes {article} {kind}, not {:?}", text.trim())));
    }
    *slot = match (&*slot, parsed) {
        (toml::Value::Float(_), toml::Value::Integer(i)) => toml::Value::Float(i as f64),
        (_, v) => v,
    };
    Ok(())
}

/// Fields left out of the serialised experiment when unset, which `--set` creates:
/// `eval.repeats` (when empty), `train.snapshot_every` (when 0), `train.curriculum` and its
/// fields, and a model's `[train.models.<name>]` with any of its fields (its curriculum's too).
fn is_optional(path: &[&str]) -> bool {
    matches!(
        path,
        ["eval", "repeats"]
            | ["train", "snapshot_every"]
            | ["train", "curriculum"]
            | ["train", "curriculum", _]
            | ["train", "models"]
            | ["train", "models", _]
            | ["train", "models", _, _]
            | ["train", "models", _, "curriculum", _]
    )
}

/// For a curriculum given one field at a time and left incomplete: how to give all of it.
fn curriculum_hint(assignment: &str, message: &str) -> String {
    let key = assignment.split_once('=').map_or(assignment, |(key, _)| key.trim());
    let parts: Vec<&str> = key.split('.').collect();
    let at = parts.iter().position(|part| *part == "curriculum");
    match at.map(|i| parts[..i].iter().map(|p| format!("{p}.")).collect::<String>()) {
        Some(prefix) if message.contains("missing field") => format!(
            " (a curriculum needs both fields: --set {prefix}curriculum.start=5 --set {prefix}curriculum.sequences=10000, \
             or --set '{prefix}curriculum={{start=5,sequences=10000}}')"
        ),
        _ => String::new(),
    }
}

/// A TOML value from override text; bare words are strings (`model.engine=fused`).
fn parse_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}
