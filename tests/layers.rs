//! The library's layers, checked: every module edge (`use crate::...`, a `crate::` path in
//! code, `super::`) either stays in its layer or points to a layer listed before it in the
//! table of `src/lib.rs`, and no modules use each other in a circle. `docs/architecture.md`
//! shows the same table.
//!
//! Edges are read from the source text with comments and string literals removed, so a doc
//! link (`[`crate::x`]`) is not an edge. A folder's `mod.rs` (and `lib.rs`) may use its own
//! submodules (it declares and re-exports them): those edges are not counted; a submodule
//! using its parent's items is an edge like any other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path, e.g. `["plot", "curves"]`; the crate root is `[]`.
type Module = Vec<String>;

/// The rows of the layer table between `<!-- layers -->` and `<!-- /layers -->` in `text`
/// (`//! | n | `folder/`, `file.rs` | ... |`): each layer's number and the folders and root
/// files it holds.
fn layer_table(text: &str) -> Vec<(usize, Vec<String>)> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_start_matches("//!").trim()).collect();
    let start = lines.iter().position(|l| *l == "<!-- layers -->").expect("a <!-- layers --> marker");
    let end = lines.iter().position(|l| *l == "<!-- /layers -->").expect("a <!-- /layers --> marker");
    lines[start + 1..end]
        .iter()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let number = cells.first()?.parse::<usize>().ok()?;
            let places = cells.get(1)?.split(',').map(|p| p.trim().trim_matches('`').to_owned()).collect();
            Some((number, places))
        })
        .collect()
}

/// Source text with comments, string and character literals blanked out (lifetimes kept).
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !chars.get(i.wrapping_sub(1)).is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (1..=hashes).all(|h| chars.get(j + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A character literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
            let literal_end = if next == Some('\\') {
                (i + 2..chars.len()).find(|&j| chars[j] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match literal_end {
                Some(end) => {
                    out.push_str("' '");
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Every library module of `src/` (the binary's `main.rs` and `cmd/` left out), by path.
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut found = BTreeMap::new();
    walk(src, &[], &mut found);
    found
}

/// The binary's command modules (`src/cmd/`), by path from the binary's root (`cmd::run`).
fn command_modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut found = BTreeMap::new();
    walk(&src.join("cmd"), &["cmd".to_owned()], &mut found);
    found
}

/// The `.rs` files under `dir` as modules below `prefix` (at the root, `main.rs` and `cmd/`,
/// the binary's, are left out).
fn walk(dir: &Path, prefix: &[String], found: &mut BTreeMap<Module, PathBuf>) {
    {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if prefix.is_empty() && (name == "main.rs" || name == "cmd") {
                continue;
            }
            if path.is_dir() {
                let mut inner = prefix.to_vec();
                inner.push(name);
                walk(&path, &inner, found);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let mut module = prefix.to_vec();
                if stem != "mod" && stem != "lib" {
                    module.push(stem.to_owned());
                }
                found.insert(module, path);
            }
        }
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The paths named in `code` (of module `module`), each as absolute segments: `crate::a::b`,
/// `super::x`, `self::y`, `use crate::{a, b::c}` groups expanded. `super` inside an inline
/// `mod name { ... }` refers to the module around that block.
fn paths(code: &str, module: &Module) -> Vec<Module> {
    let chars: Vec<char> = code.chars().collect();
    // Inline modules open at a brace depth: (name, depth).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut found = Vec::new();
    let mut i = 0;
    let word_at = |i: usize| -> String { chars[i..].iter().take_while(|c| is_ident(**c)).collect() };
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            depth += 1;
            i += 1;
            continue;
        }
        if c == '}' {
            depth = depth.saturating_sub(1);
            if inline.last().is_some_and(|(_, d)| *d > depth) {
                inline.pop();
            }
            i += 1;
            continue;
        }
        if !is_ident(c) || (i > 0 && (is_ident(chars[i - 1]) || chars[i - 1] == '$')) {
            if c == '$' && word_at(i + 1) == "crate" {
                i += 1;
            } else {
                i += 1;
                continue;
            }
        }
        let word = word_at(i);
        let after = i + word.chars().count();
        if word == "mod" {
            // `mod name {`: an inline module.
            let mut j = after;
            while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                j += 1;
            }
            let name = word_at(j);
            let mut k = j + name.chars().count();
            while chars.get(k).is_some_and(|c| c.is_whitespace()) {
                k += 1;
            }
            if !name.is_empty() && chars.get(k) == Some(&'{') {
                inline.push((name, depth + 1));
            }
            i = after;
            continue;
        }
        if (word == "crate" || word == "super" || word == "self")
            && chars.get(after) == Some(&':')
            && chars.get(after + 1) == Some(&':')
        {
            let mut here = module.clone();
            here.extend(inline.iter().map(|(n, _)| n.clone()));
            let (text, end) = path_text(&chars, i);
            for expanded in expand(&text) {
                if let Some(absolute) = resolve(&expanded, &here) {
                    found.push(absolute);
                }
            }
            i = end;
            continue;
        }
        i = after;
    }
    found
}

/// The path starting at `i` (`crate::a::{b, c::d}`), braces included, and where it ends.
fn path_text(chars: &[char], mut i: usize) -> (String, usize) {
    let mut text = String::new();
    let mut braces = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            braces += 1;
        } else if c == '}' {
            if braces == 0 {
                break;
            }
            braces -= 1;
        } else if braces == 0 && !(is_ident(c) || c == ':' || c == '*') {
            break;
        }
        if !c.is_whitespace() {
            text.push(c);
        }
        i += 1;
    }
    (text, i)
}

/// `a::{b, c::{d, e}}` -> `a::b`, `a::c::d`, `a::c::e` (as segment lists; `self` in a group
/// names the group's own path).
fn expand(text: &str) -> Vec<Vec<String>> {
    let Some(open) = text.find('{') else {
        return vec![text.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect()];
    };
    let prefix: Vec<String> = text[..open].split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let inner = &text[open + 1..text.rfind('}').unwrap_or(text.len())];
    let mut parts = Vec::new();
    let (mut level, mut start) = (0, 0);
    for (k, c) in inner.char_indices() {
        match c {
            '{' => level += 1,
            '}' => level -= 1,
            ',' if level == 0 => {
                parts.push(&inner[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(expand)
        .map(|tail| {
            let mut path = prefix.clone();
            path.extend(tail.into_iter().filter(|s| s != "self"));
            path
        })
        .collect()
}

/// `segments` (starting with crate, super or self) as an absolute path from module `here`.
fn resolve(segments: &[String], here: &Module) -> Option<Module> {
    let mut at: Module = here.clone();
    let mut rest = segments;
    match rest.first()?.as_str() {
        "crate" => {
            at.clear();
            rest = &rest[1..];
        }
        _ => {
            while let Some(first) = rest.first() {
                match first.as_str() {
                    "super" => {
                        at.pop()?;
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
        }
    }
    at.extend(rest.iter().filter(|s| s.as_str() != "*").cloned());
    Some(at)
}

/// The longest prefix of `path` that is one of `known` modules.
fn module_of(path: &Module, known: &BTreeMap<Module, PathBuf>) -> Option<Module> {
    (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|m| known.contains_key(m))
}

/// What the crate root re-exports (`pub use a::b::{X, Y};` in `lib.rs`): item name -> the
/// module it comes from, so that `crate::X` is an edge to that module.
fn root_items(lib: &str, known: &BTreeMap<Module, PathBuf>) -> BTreeMap<String, Module> {
    let code = code_only(lib);
    let mut items = BTreeMap::new();
    for statement in code.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else { continue };
        for path in expand(&rest.split_whitespace().collect::<String>()) {
            let path: Module = path.into_iter().filter(|s| s != "crate").collect();
            if let (Some(item), Some(module)) = (path.last(), module_of(&path, known)) {
                items.insert(item.clone(), module);
            }
        }
    }
    items
}

/// The module edges of the library: (from, to), each pair once, without self-edges and
/// without a module's edges to its own submodules.
fn edges(src: &Path) -> BTreeSet<(Module, Module)> {
    let known = modules(src);
    let items = root_items(&std::fs::read_to_string(src.join("lib.rs")).unwrap(), &known);
    let mut edges = BTreeSet::new();
    for (module, file) in &known {
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        for path in paths(&code, module) {
            let Some(mut target) = module_of(&path, &known) else { continue };
            if let (true, Some(from_root)) = (target.is_empty(), path.first().and_then(|item| items.get(item))) {
                target = from_root.clone();
            }
            if target != *module && !target.starts_with(module) {
                edges.insert((module.clone(), target));
            }
        }
    }
    edges
}

/// The layer number of module `m` in `table`: the row naming its top folder, or its file at
/// the root.
fn layer_of(m: &Module, table: &[(usize, Vec<String>)]) -> Option<usize> {
    let first = m.first()?;
    table
        .iter()
        .find(|(_, places)| {
            places.iter().any(|p| *p == format!("{first}/") || (m.len() == 1 && *p == format!("{first}.rs")))
        })
        .map(|(n, _)| *n)
}

fn name(m: &Module) -> String {
    match m.is_empty() {
        true => "crate".to_owned(),
        false => m.join("::"),
    }
}

/// Every problem with `edges` against `table`: modules in no layer, edges to a later layer,
/// circles (each reported once, by its modules).
fn problems(edges: &BTreeSet<(Module, Module)>, table: &[(usize, Vec<String>)]) -> Vec<String> {
    let mut found = Vec::new();
    for (from, to) in edges {
        if from.is_empty() {
            continue;
        }
        match (layer_of(from, table), layer_of(to, table)) {
            (Some(a), Some(b)) if b > a => found.push(format!(
                "{} (layer {a}) uses {} (layer {b}), a layer listed after its own",
                name(from),
                name(to)
            )),
            (None, _) => found.push(format!("{} is in no layer of the table", name(from))),
            (_, None) => found.push(format!("{} is in no layer of the table", name(to))),
            _ => {}
        }
    }
    // Circles: strongly connected components with more than one module (Tarjan).
    let nodes: BTreeSet<&Module> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
    let nodes: Vec<&Module> = nodes.into_iter().collect();
    let index_of = |m: &Module| nodes.iter().position(|n| *n == m).unwrap();
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (a, b) in edges {
        next[index_of(a)].push(index_of(b));
    }
    struct Tarjan<'a> {
        next: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        stack: Vec<usize>,
        on_stack: Vec<bool>,
        counter: usize,
        components: Vec<Vec<usize>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: usize) {
            self.index[v] = Some(self.counter);
            self.low[v] = self.counter;
            self.counter += 1;
            self.stack.push(v);
            self.on_stack[v] = true;
            for k in 0..self.next[v].len() {
                let w = self.next[v][k];
                match self.index[w] {
                    None => {
                        self.visit(w);
                        self.low[v] = self.low[v].min(self.low[w]);
                    }
                    Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                    _ => {}
                }
            }
            if Some(self.low[v]) == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                self.components.push(component);
            }
        }
    }
    let n = nodes.len();
    let mut t = Tarjan {
        next: &next,
        index: vec![None; n],
        low: vec![0; n],
        stack: vec![],
        on_stack: vec![false; n],
        counter: 0,
        components: vec![],
    };
    for v in 0..n {
        if t.index[v].is_none() {
            t.visit(v);
        }
    }
    for component in t.components.iter().filter(|c| c.len() > 1) {
        let mut names: Vec<String> = component.iter().map(|&v| name(nodes[v])).collect();
        names.sort();
        found.push(format!("a circle: {} use each other", names.join(", ")));
    }
    found
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_module_edge_points_down_the_layers_and_none_closes_a_circle() {
    let table = layer_table(&std::fs::read_to_string(root().join("src/lib.rs")).unwrap());
    assert!(table.len() >= 5, "the layer table in src/lib.rs has {} rows", table.len());
    let edges = edges(&root().join("src"));
    assert!(edges.len() > 50, "only {} module edges found: the reader is broken", edges.len());
    let problems = problems(&edges, &table);
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

/// The commands do not call each other: a command file may use the library, the CLI's
/// definitions (`cmd::cli`) and what every command shares (`cmd/mod.rs`), but not another
/// command's file.
#[test]
fn no_command_uses_another_command() {
    let known = command_modules(&root().join("src"));
    assert!(known.len() >= 8, "only {} command modules found", known.len());
    let mut sideways = Vec::new();
    for (module, file) in &known {
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        for path in paths(&code, module) {
            let Some(target) = module_of(&path, &known) else { continue };
            let shared = target == ["cmd"] || target == ["cmd", "cli"];
            let related = target.starts_with(module) || module.starts_with(&target);
            if !shared && !related {
                sideways.push(format!("{} uses {}", name(module), name(&target)));
            }
        }
    }
    sideways.sort();
    sideways.dedup();
    assert!(sideways.is_empty(), "commands calling each other:\n{}", sideways.join("\n"));
}

#[test]
fn every_library_module_sits_in_a_layer() {
    let table = layer_table(&std::fs::read_to_string(root().join("src/lib.rs")).unwrap());
    let missing: Vec<String> = modules(&root().join("src"))
        .keys()
        .filter(|m| !m.is_empty() && layer_of(m, &table).is_none())
        .map(name)
        .collect();
    assert!(missing.is_empty(), "modules in no layer of src/lib.rs's table: {missing:?}");
}

#[test]
fn the_architecture_page_shows_the_same_layer_table() {
    let lib = layer_table(&std::fs::read_to_string(root().join("src/lib.rs")).unwrap());
    let page = layer_table(&std::fs::read_to_string(root().join("docs/architecture.md")).unwrap());
    assert_eq!(page, lib, "docs/architecture.md's layer table differs from src/lib.rs's");
}

/// The checker itself: a deliberate upward edge, a circle and an unknown module are each
/// reported; comments, strings and doc links are not edges; groups and `super` resolve.
#[test]
fn the_checker_finds_an_upward_edge_a_circle_and_reads_paths_as_rust_does() {
    let table = vec![(1, vec!["base/".to_owned()]), (2, vec!["top/".to_owned(), "error.rs".to_owned()])];
    let m = |s: &str| s.split("::").map(str::to_owned).collect::<Module>();
    let mut edges = BTreeSet::new();
    edges.insert((m("top::a"), m("base::b")));
    assert!(problems(&edges, &table).is_empty(), "a downward edge is fine");
    edges.insert((m("base::b"), m("top::a")));
    let found = problems(&edges, &table);
    assert!(found.iter().any(|p| p.contains("base::b (layer 1) uses top::a (layer 2)")), "{found:?}");
    assert!(found.iter().any(|p| p.contains("a circle: base::b, top::a")), "{found:?}");
    let mut edges = BTreeSet::new();
    edges.insert((m("error"), m("nowhere::x")));
    assert!(problems(&edges, &table).iter().any(|p| p.contains("nowhere::x is in no layer")));

    let code = code_only(
        "//! [`crate::doc::link`]\nuse crate::{a::b, c::{d, self}};\nuse super::sibling::X;\nfn f() { let s = \"crate::in_string\"; let c = '{'; crate::e::f(); }\nmod tests { use super::*; }\n",
    );
    let found: Vec<String> = paths(&code, &m("top::here")).iter().map(name).collect();
    assert_eq!(found, ["a::b", "c::d", "c", "top::sibling::X", "e::f", "top::here"]);
}
