//! [`Diagnostic`] and [`Diagnostics`]: problems in a pipeline file, rendered rustc-style.
//!
//! A diagnostic is self-contained (it keeps the source line it points into), so a batch of them
//! can be printed long after the file text is gone:
//!
//! ```text
//! error: unknown input `semvr` for stage `history`
//!   --> pipelines/default/versions.toml:12:11
//!    |
//! 12 | inputs = ["semvr"]
//!    |           ^^^^^^^
//!    |
//!    = help: did you mean `semver`?
//!
//! error: could not load pipeline: 1 error
//! ```

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use crate::source::SourceFile;

/// Tabs are shown as this many spaces so that carets line up with what they underline.
const TAB_WIDTH: usize = 4;

/// One problem in a pipeline file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The pipeline file, as given to [`load`](crate::load).
    pub file: PathBuf,
    /// 1-based line of the start of `span`; 1 when there is no span.
    pub line: usize,
    /// 1-based column (in characters) of the start of `span`; 1 when there is no span.
    pub column: usize,
    /// What is wrong, lowercase, identifiers quoted: ``unknown input `semvr` for stage `history` ``.
    pub message: String,
    /// The byte range of the offending text in the file; `None` for problems with the file as a
    /// whole (such as its name).
    pub span: Option<Range<usize>>,
    /// A hint on how to fix it, rendered as `= help: ...`.
    pub help: Option<String>,
    /// The text of line `line`, kept for rendering.
    source_line: String,
    /// How many characters of `source_line` to underline.
    caret_len: usize,
}

impl Diagnostic {
    /// A diagnostic underlining `span` (a byte range) of `file`.
    pub fn new(file: &SourceFile, span: Range<usize>, message: impl Into<String>) -> Self {
        let text = &file.text;
        // Spans come from the TOML parser and lie on char boundaries; clamp anyway so that a
        // wrong span degrades the snippet rather than panicking.
        let mut start = span.start.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let line_start = text[..start].rfind('\n').map_or(0, |at| at + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |at| start + at);
        let mut end = span.end.clamp(start, line_end);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let source_line = text[line_start..line_end].trim_end_matches('\r');
        let before = &text[line_start..start];
        Diagnostic {
            file: file.path.clone(),
            line: text[..line_start].matches('\n').count() + 1,
            column: before.chars().count() + 1,
            message: message.into(),
            span: Some(span),
            help: None,
            source_line: source_line.to_owned(),
            caret_len: display_width(&text[start..end]).max(1),
        }
    }

    /// A diagnostic about `file` as a whole, rendered without a snippet.
    pub fn whole_file(file: &SourceFile, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.path.clone(),
            line: 1,
            column: 1,
            message: message.into(),
            span: None,
            help: None,
            source_line: String::new(),
            caret_len: 0,
        }
    }

    /// Adds a `= help: ...` line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// How many columns `text` takes on screen, counting a tab as [`TAB_WIDTH`].
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| if c == '\t' { TAB_WIDTH } else { 1 })
        .sum()
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if self.span.is_none() {
            writeln!(f, " --> {}", self.file.display())?;
            if let Some(help) = &self.help {
                writeln!(f, "  = help: {help}")?;
            }
            return Ok(());
        }
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        writeln!(
            f,
            "{gutter}--> {}:{}:{}",
            self.file.display(),
            self.line,
            self.column
        )?;
        writeln!(f, "{gutter} |")?;
        let shown = self.source_line.replace('\t', &" ".repeat(TAB_WIDTH));
        writeln!(f, "{number} | {shown}")?;
        let indent: String = self
            .source_line
            .chars()
            .take(self.column - 1)
            .map(|c| {
                if c == '\t' {
                    " ".repeat(TAB_WIDTH)
                } else {
                    " ".to_owned()
                }
            })
            .collect();
        writeln!(f, "{gutter} | {indent}{}", "^".repeat(self.caret_len))?;
        if let Some(help) = &self.help {
            writeln!(f, "{gutter} |")?;
            writeln!(f, "{gutter} = help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found while loading one or more pipeline files, in file order.
///
/// `Display` renders each [`Diagnostic`] rustc-style, then a summary line
/// (`error: could not load pipeline: 3 errors`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// No diagnostics yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Adds all diagnostics of `other` (e.g. to report several files together).
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// The diagnostics, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorts by file, then position, then message, so reports are stable whatever order the
    /// checks ran in.
    pub(crate) fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                (
                    d.file.clone(),
                    d.span.as_ref().map(|span| (span.start, span.end)),
                    d.message.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        self.0.dedup();
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(diagnostics: Vec<Diagnostic>) -> Self {
        Diagnostics(diagnostics)
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.0 {
            writeln!(f, "{diagnostic}")?;
        }
        let count = self.0.len();
        let plural = if count == 1 { "" } else { "s" };
        write!(f, "error: could not load pipeline: {count} error{plural}")
    }
}

impl std::error::Error for Diagnostics {}

/// The candidate closest to `word`, if it is close enough to be a likely typo (edit distance at
/// most a third of the word, and at least 1).
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let budget = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != word)
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= budget)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Edit distance between `a` and `b` in characters, counting a swap of two neighbours as one
/// edit (optimal string alignment): `kinsd` is one typo away from `kinds`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile {
            path: PathBuf::from("pipelines/default/versions.toml"),
            text: text.to_owned(),
        }
    }

    #[test]
    fn renders_like_rustc() {
        let text = "\n".repeat(11) + "inputs = [\"semvr\"]\n";
        let file = file(&text);
        let start = text.find("\"semvr\"").unwrap();
        let diagnostic = Diagnostic::new(
            &file,
            start..start + 7,
            "unknown input `semvr` for stage `history`",
        );
        assert_eq!((diagnostic.line, diagnostic.column), (12, 11));
        assert_eq!(
            diagnostic.to_string(),
            "error: unknown input `semvr` for stage `history`
  --> pipelines/default/versions.toml:12:11
   |
12 | inputs = [\"semvr\"]
   |           ^^^^^^^
"
        );
    }

    #[test]
    fn renders_help_and_summary() {
        let file = file("a = 1\n");
        let diagnostics = Diagnostics::from(vec![
            Diagnostic::new(&file, 4..5, "bad value").with_help("use 2"),
            Diagnostic::whole_file(&file, "bad name"),
        ]);
        assert_eq!(
            diagnostics.to_string(),
            "error: bad value
 --> pipelines/default/versions.toml:1:5
  |
1 | a = 1
  |     ^
  |
  = help: use 2

error: bad name
 --> pipelines/default/versions.toml

error: could not load pipeline: 2 errors"
        );
    }

    #[test]
    fn multi_line_spans_underline_the_first_line_and_empty_spans_one_char() {
        let file = file("x = [\n  1,\n]\n");
        let diagnostic = Diagnostic::new(&file, 4..12, "m");
        assert_eq!(
            (diagnostic.line, diagnostic.column, diagnostic.caret_len),
            (1, 5, 1)
        );
        let diagnostic = Diagnostic::new(&file, 8..8, "m");
        assert_eq!(
            (diagnostic.line, diagnostic.column, diagnostic.caret_len),
            (2, 3, 1)
        );
    }

    #[test]
    fn columns_count_characters_and_tabs_line_up() {
        let file = file("\té = \"ü\"\n");
        let start = file.text.find('"').unwrap();
        let diagnostic = Diagnostic::new(&file, start..file.text.len() - 1, "m");
        assert_eq!(diagnostic.column, 6);
        let rendered = diagnostic.to_string();
        assert!(
            rendered.contains("1 |     é = \"ü\"\n  |         ^^^\n"),
            "{rendered}"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            closest("semvr", ["api", "semver", "history"]),
            Some("semver")
        );
        assert_eq!(closest("kinsd", ["type", "kinds"]), Some("kinds"));
        assert_eq!(closest("xyz", ["api", "semver"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn spans_past_the_end_do_not_panic() {
        let file = file("a = 1");
        let diagnostic = Diagnostic::new(&file, 5..9, "m");
        assert_eq!((diagnostic.line, diagnostic.column), (1, 6));
    }
}
