//! The documentation, checked so that it cannot rot silently: `README.md`, every page under
//! `docs/` and every `README.md` under `experiments/` (the results' pages).
//!
//! - **Links.** Every link and image, `[text](target)` or `![alt](target)`, outside code
//!   resolves, relative to its page, to a file or folder that exists; a `#anchor` into a
//!   markdown page (or into the page itself) names one of its headings as GitHub slugs them
//!   (lower case; every character but letters, digits, spaces, `-` and `_` dropped; spaces to
//!   `-`; a repeated slug numbered `-1`, `-2`, ...). Links with a scheme (`https:`) are not
//!   followed.
//! - **Commands.** A command is a line of a fenced code block, or the text of an inline code
//!   span, that starts with `ntm ` or `cargo run --release -- `. A `\` at the end of a line
//!   joins the next; a `$ ` prompt, a `# comment` and redirections (`> file`, `< file`) are
//!   dropped; a line is cut at `;`, `&&`, `||`, `|`, `(` and `)` and each part that starts so
//!   is a command; words are split as the shell splits them (quotes kept together). Each must
//!   parse with the binary's own parser, `Cli::try_parse_from` of `src/cmd/cli.rs`.
//!   Placeholders are not commands: a command with a word holding `<`, `>`, `[`, `]`, `...`
//!   or a capital letter (`EXPERIMENT`, `DIR`, `FILE.png`, `Kx`) is skipped. An inline span
//!   that only names a command, `ntm plot heads`, is checked as a name: each word must be a
//!   subcommand of the one before.
//! - **Paths.** An inline code span that is one repository path (starting with `src/`,
//!   `tests/`, `tasks/`, `examples/`, `experiments/`, `plots/`, `docs/` or `python/`, without `<`, `*` or
//!   a space) names a file or folder that exists, so a moved source file shows here.
//!
//! Counts guard the extractor: at least [`MIN_COMMANDS`] commands must have been parsed, so an
//! extractor that finds nothing cannot pass; and `a_broken_page_is_reported` feeds a page with
//! a broken link, a broken anchor, a bad command and a missing path and expects each reported.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use clap::{CommandFactory, Parser};

// The binary's command line, compiled into this test: it uses only clap and `ntm::...`.
#[allow(dead_code)]
#[path = "../src/cmd/cli.rs"]
mod cli;

/// Fewer parsed commands than this means the extractor has stopped finding them.
const MIN_COMMANDS: usize = 65;

/// Paths the pages name that are being written on another branch (a pointer only until then).
const NOT_YET: &[&str] = &[];

/// Roots of the repository paths checked in inline code.
const PATH_ROOTS: &[&str] = &["src/", "tests/", "tasks/", "examples/", "experiments/", "plots/", "docs/", "python/"];

/// What checking some pages found.
#[derive(Debug, Default)]
struct Report {
    problems: Vec<String>,
    links: usize,
    anchors: usize,
    commands: usize,
    names: usize,
    placeholders: usize,
    paths: usize,
}

/// A page's text split into what is code and what is not.
struct Parts {
    /// Lines of fenced code blocks, with their line numbers.
    fenced: Vec<(usize, String)>,
    /// The texts of inline code spans (line breaks as spaces, `\|` as `|`), with the line
    /// each starts on.
    inline: Vec<(usize, String)>,
    /// The page without its code (fenced blocks and inline spans blanked), for links.
    prose: String,
    /// The headings, outside fenced code.
    headings: Vec<String>,
}

fn is_fence(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("```") || line.starts_with("~~~")
}

fn split_page(text: &str) -> Parts {
    let mut fenced = Vec::new();
    let mut headings = Vec::new();
    let mut outside = String::new();
    let mut in_fence = false;
    for (i, line) in text.lines().enumerate() {
        if is_fence(line) {
            in_fence = !in_fence;
            outside.push('\n');
            continue;
        }
        if in_fence {
            fenced.push((i + 1, line.to_owned()));
            outside.push('\n');
            continue;
        }
        let trimmed = line.trim_start();
        let hashes = trimmed.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
            headings.push(trimmed[hashes..].trim().trim_end_matches('#').trim().to_owned());
        }
        outside.push_str(line);
        outside.push('\n');
    }
    // Inline code spans: a run of n backticks up to the next run of exactly n.
    let chars: Vec<char> = outside.chars().collect();
    let mut inline = Vec::new();
    let mut prose = String::with_capacity(outside.len());
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        if chars[i] != '`' {
            if chars[i] == '\n' {
                line += 1;
            }
            prose.push(chars[i]);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&c| c == '`').count();
        let start = i + run;
        let mut j = start;
        let mut close = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let n = chars[j..].iter().take_while(|&&c| c == '`').count();
                if n == run {
                    close = Some(j);
                    break;
                }
                j += n;
            } else {
                j += 1;
            }
        }
        let Some(end) = close else {
            prose.extend(&chars[i..start]);
            i = start;
            continue;
        };
        let body: String = chars[start..end].iter().collect();
        inline.push((line, body.replace('\n', " ").replace("\\|", "|").trim().to_owned()));
        for &c in &chars[i..end + run] {
            prose.push(if c == '\n' { '\n' } else { ' ' });
        }
        line += body.matches('\n').count();
        i = end + run;
    }
    Parts { fenced, inline, prose, headings }
}

/// GitHub's anchors for `headings`, in order (repeats numbered).
fn slugs(headings: &[String]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    headings
        .iter()
        .map(|h| {
            let base: String = h
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
                .map(|c| if c == ' ' { '-' } else { c })
                .collect();
            let n = seen.entry(base.clone()).or_insert(0);
            let slug = if *n == 0 { base.clone() } else { format!("{base}-{n}") };
            *n += 1;
            slug
        })
        .collect()
}

/// The targets of the links and images in `prose`, with their line numbers.
fn links(prose: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = prose.chars().collect();
    let mut found = Vec::new();
    let mut line = 1;
    for i in 0..chars.len() {
        if chars[i] == '\n' {
            line += 1;
        }
        if chars[i] != ']' || chars.get(i + 1) != Some(&'(') {
            continue;
        }
        let end = match chars[i + 2..].iter().position(|&c| c == ')') {
            Some(n) => i + 2 + n,
            None => continue,
        };
        let target: String = chars[i + 2..end].iter().collect();
        // `[text](target "title")`: the title is not part of the target.
        let target = target.split_whitespace().next().unwrap_or("").to_owned();
        if !target.is_empty() {
            found.push((line, target));
        }
    }
    found
}

/// `path` with `.` and `..` resolved lexically.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

fn check_links(page: &Path, parts: &Parts, report: &mut Report) {
    let dir = page.parent().unwrap_or(Path::new("."));
    for (line, target) in links(&parts.prose) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        report.links += 1;
        let (file, anchor) = match target.split_once('#') {
            Some((f, a)) => (f, Some(a)),
            None => (target.as_str(), None),
        };
        let resolved = if file.is_empty() { page.to_path_buf() } else { normalise(&dir.join(file)) };
        if !resolved.exists() {
            report.problems.push(format!(
                "{}:{line}: link {target}: {} does not exist",
                page.display(),
                resolved.display()
            ));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        if resolved.extension().is_some_and(|e| e == "md") {
            report.anchors += 1;
            let text = std::fs::read_to_string(&resolved).unwrap_or_default();
            if !slugs(&split_page(&text).headings).iter().any(|s| s == anchor) {
                report.problems.push(format!(
                    "{}:{line}: link {target}: {} has no heading with anchor #{anchor}",
                    page.display(),
                    resolved.display()
                ));
            }
        }
    }
}

/// Shell words of `line` (quotes group and are removed), cut into commands at `;`, `&&`,
/// `||`, `|`, `(` and `)`; a `#` starting a word ends the line.
fn shell_commands(line: &str) -> Vec<Vec<String>> {
    let mut commands = vec![Vec::new()];
    let mut word = String::new();
    let mut has_word = false;
    let mut quote: Option<char> = None;
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let end_word = |word: &mut String, has_word: &mut bool, commands: &mut Vec<Vec<String>>| {
        if *has_word {
            commands.last_mut().unwrap().push(std::mem::take(word));
            *has_word = false;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else {
                word.push(c);
            }
            i += 1;
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                has_word = true;
            }
            '#' if !has_word => break,
            ' ' | '\t' => end_word(&mut word, &mut has_word, &mut commands),
            ';' | '|' | '&' | '(' | ')' => {
                end_word(&mut word, &mut has_word, &mut commands);
                commands.push(Vec::new());
                if matches!(c, '|' | '&') && chars.get(i + 1) == Some(&c) {
                    i += 1;
                }
            }
            c => {
                word.push(c);
                has_word = true;
            }
        }
        i += 1;
    }
    end_word(&mut word, &mut has_word, &mut commands);
    commands.retain(|c| !c.is_empty());
    commands
}

/// The `ntm` arguments of `words` (`ntm ...` or `cargo run --release -- ...`), redirections
/// dropped; `None` if it is not such a command.
fn ntm_argv(words: &[String]) -> Option<Vec<String>> {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let rest = match words.as_slice() {
        ["$", rest @ ..] => rest,
        rest => rest,
    };
    let args = match rest {
        ["ntm", args @ ..] => args,
        ["cargo", "run", "--release", "--", args @ ..] => args,
        _ => return None,
    };
    let mut argv = vec!["ntm".to_owned()];
    let mut skip_next = false;
    for &word in args {
        if skip_next {
            skip_next = false;
        } else if matches!(word, ">" | ">>" | "<" | "2>" | "2>>" | "&>") {
            skip_next = true;
        } else if word.starts_with('>') || word.starts_with("2>") {
            // `>file`, `2>&1`: a redirection with its target attached.
        } else {
            argv.push(word.to_owned());
        }
    }
    Some(argv)
}

fn is_placeholder(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_uppercase() || matches!(c, '<' | '>' | '[' | ']')) || word.contains("...")
}

/// Whether `words` (after `ntm`) are a chain of subcommand names of the CLI.
fn is_command_name(words: &[String]) -> bool {
    let mut command = cli::Cli::command();
    for word in words {
        match command.find_subcommand(word) {
            Some(sub) => command = sub.clone(),
            None => return false,
        }
    }
    true
}

/// Checks one command line (`inline`: it came from an inline code span).
fn check_command(page: &Path, line: usize, text: &str, inline: bool, report: &mut Report) {
    for words in shell_commands(text) {
        // `ntm` alone is the binary's name.
        let Some(argv) = ntm_argv(&words).filter(|argv| argv.len() > 1) else { continue };
        if argv.iter().skip(1).any(|w| is_placeholder(w)) {
            report.placeholders += 1;
            continue;
        }
        // `ntm eval`, `ntm plot gradient-flow` in prose: the name of a command, not a command line.
        let only_words = argv[1..].iter().all(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
        if inline && only_words && is_command_name(&argv[1..]) {
            report.names += 1;
            continue;
        }
        report.commands += 1;
        if let Err(e) = cli::Cli::try_parse_from(&argv) {
            use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
            if !matches!(e.kind(), DisplayHelp | DisplayVersion) {
                let first = e.to_string().lines().next().unwrap_or("").to_owned();
                report.problems.push(format!(
                    "{}:{line}: `{}` does not parse: {first}",
                    page.display(),
                    argv.join(" ")
                ));
            }
        }
    }
}

fn check_commands(page: &Path, parts: &Parts, report: &mut Report) {
    // Fenced lines, a trailing `\` joining the next.
    let mut pending: Option<(usize, String)> = None;
    for (line, text) in &parts.fenced {
        let (start, mut joined) = pending.take().unwrap_or((*line, String::new()));
        joined.push_str(text.trim());
        match joined.strip_suffix('\\') {
            Some(head) => pending = Some((start, format!("{head} "))),
            None => check_command(page, start, &joined, false, report),
        }
    }
    if let Some((start, joined)) = pending {
        check_command(page, start, &joined, false, report);
    }
    for (line, text) in &parts.inline {
        check_command(page, *line, text, true, report);
    }
}

fn check_paths(root: &Path, page: &Path, parts: &Parts, report: &mut Report) {
    for (line, text) in &parts.inline {
        let is_path = PATH_ROOTS.iter().any(|r| text.starts_with(r))
            && !text.contains(|c: char| c.is_whitespace() || matches!(c, '<' | '*' | '{'));
        if !is_path {
            continue;
        }
        report.paths += 1;
        if !root.join(text).exists() && !NOT_YET.contains(&text.trim_end_matches('/')) {
            report.problems.push(format!("{}:{line}: `{text}` does not exist", page.display()));
        }
    }
}

/// Checks page `page` (a path under `root`) with text `text`.
fn check_page(root: &Path, page: &Path, text: &str, report: &mut Report) {
    let parts = split_page(text);
    check_links(page, &parts, report);
    check_commands(page, &parts, report);
    check_paths(root, page, &parts, report);
}

/// `README.md`, every markdown page under `docs/` and every `README.md` under `experiments/`.
fn pages(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, keep, out);
            } else if keep(&path) {
                out.push(path);
            }
        }
    }
    let mut out = vec![root.join("README.md")];
    walk(&root.join("docs"), &|p| p.extension().is_some_and(|e| e == "md"), &mut out);
    walk(&root.join("experiments"), &|p| p.file_name().is_some_and(|n| n == "README.md"), &mut out);
    out.sort();
    out
}

#[test]
fn every_link_command_and_path_in_the_docs_holds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pages = pages(root);
    let mut report = Report::default();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        check_page(root, page, &text, &mut report);
    }
    let prefix = format!("{}/", root.display());
    let problems: Vec<String> = report.problems.iter().map(|p| p.replace(&prefix, "")).collect();
    assert!(problems.is_empty(), "{} problems in the docs:\n{}", problems.len(), problems.join("\n"));
    let pages: Vec<String> = pages.iter().map(|p| p.strip_prefix(root).unwrap().display().to_string()).collect();
    for expected in ["README.md", "docs/README.md", "docs/architecture.md", "experiments/results/copy/README.md"] {
        assert!(pages.contains(&expected.to_owned()), "{expected} not among the checked pages {pages:?}");
    }
    assert!(
        report.commands >= MIN_COMMANDS,
        "only {} commands parsed (at least {MIN_COMMANDS} expected): has the extractor stopped finding them? {report:?}",
        report.commands
    );
    assert!(
        report.links >= 100 && report.anchors >= 20 && report.paths >= 30,
        "too few links or paths checked: {report:?}"
    );
    println!("{} pages: {report:?}", pages.len());
}

#[test]
fn a_broken_page_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/there.rs"), "").unwrap();
    std::fs::write(root.join("docs/other.md"), "# Other page\n\n## A `section`, here\n").unwrap();
    let page = root.join("docs/page.md");
    let text = "# Page\n\n\
        [fine](other.md#a-section-here) and ![fine too](../src/there.rs) and [self](#page)\n\
        and [broken](missing.md) and [bad anchor](other.md#no-such-heading)\n\n\
        ```sh\n\
        ntm run experiments/copy.toml --out runs/x \\\n  --set seed=2   # fine\n\
        cargo run --release -- trian experiments/copy.toml\n\
        ntm eval runs/x --lengths 10 > out.txt\n\
        (ulimit -v 4000000; ntm plot heads runs/x --length abc)\n\
        ntm eval DIR/seed-<k>/ntm --lengths 120\n\
        ```\n\n\
        Names: `ntm plot heads` is one, `ntm plot hedas` is not; `ntm train --set seed=2` lacks its experiment.\n\
        Paths: `src/there.rs` and `src/gone.rs`.\n";
    std::fs::write(&page, text).unwrap();
    let mut report = Report::default();
    check_page(root, &page, text, &mut report);
    let problems = report.problems.join("\n");
    for expected in [
        "link missing.md",
        "link other.md#no-such-heading",
        "`ntm trian experiments/copy.toml` does not parse",
        "`ntm plot heads runs/x --length abc` does not parse",
        "`ntm plot hedas` does not parse",
        "`ntm train --set seed=2` does not parse",
        "`src/gone.rs` does not exist",
    ] {
        assert!(problems.contains(expected), "{expected:?} not reported; got:\n{problems}");
    }
    assert_eq!(report.problems.len(), 7, "only the seven planted problems:\n{problems}");
    assert_eq!(report.links, 5, "{report:?}");
    assert_eq!(report.anchors, 3, "{report:?}");
    assert_eq!(report.placeholders, 1, "{report:?}");
    assert_eq!(report.names, 1, "{report:?}");
    // Parsed: the joined run line, trian, eval (redirection dropped), plot heads, plot hedas, train.
    assert_eq!(report.commands, 6, "{report:?}");
    assert_eq!(report.paths, 2, "{report:?}");
}

#[test]
fn slugs_follow_github() {
    let headings: Vec<String> =
        ["How the optimiser's eps was chosen", "Over seeds", "Over seeds", "Results: copy", "`ntm` and *it*"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    assert_eq!(
        slugs(&headings),
        ["how-the-optimisers-eps-was-chosen", "over-seeds", "over-seeds-1", "results-copy", "ntm-and-it"]
    );
}
