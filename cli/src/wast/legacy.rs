//! The legacy exception-handling proposal's folded `try`, in the flat form
//! the text parser reads.
//!
//! The spec's `legacy/` scripts write `try` folded:
//!
//! ```text
//! (try $l (result i32) (do instr*) (catch $e instr*)* (catch_all instr*)?)
//! (try $l (result i32) (do instr*) (delegate $label))
//! ```
//!
//! The `wast` crate reads the flat instructions (`try`, `catch`,
//! `catch_all`, `delegate`, `end`) but no longer the folded form. The
//! folded form is only notation for the flat one, so the script is
//! rewritten before parsing: the parentheses of the `try` and of its
//! clauses become spaces, `do` disappears, and the `try`'s closing
//! parenthesis becomes `end` (nothing after `delegate`, which ends the
//! block itself). Only line breaks are kept as they are, so every
//! directive keeps its line number. Strings (quoted modules among them)
//! and comments are left alone, and so is a `try` whose clauses do not
//! follow the grammar above, for the parser to report.

use std::borrow::Cow;

/// `source` with every folded legacy `try` written flat; borrowed when it
/// has none.
pub(crate) fn unfold_try(source: &str) -> Cow<'_, str> {
    let bytes = source.as_bytes();
    let lists = lists(bytes);
    let mut edits: Vec<(usize, usize, &str)> = Vec::new();
    for list in &lists {
        if keyword(bytes, list) == Some(b"try") {
            edits.extend(try_edits(bytes, &lists, list));
        }
    }
    if edits.is_empty() {
        return Cow::Borrowed(source);
    }
    edits.sort_by_key(|e| e.0);
    let mut out = String::with_capacity(source.len() + 2 * edits.len());
    let mut at = 0;
    for (start, end, text) in edits {
        out.push_str(&source[at..start]);
        out.push_str(text);
        at = end;
    }
    out.push_str(&source[at..]);
    Cow::Owned(out)
}

/// A parenthesized list: the byte offsets of its `(` and `)`, and the
/// indices (into the list of all lists) of the lists directly inside it.
struct List {
    open: usize,
    close: usize,
    children: Vec<usize>,
}

/// The offset of the `)` closing the list whose `(` is at `open`,
/// skipping strings and comments (the end of a `thread` directive).
pub(super) fn closing_paren(text: &str, open: usize) -> Option<usize> {
    let tail = text.get(open..)?;
    lists(tail.as_bytes()).first().filter(|l| l.open == 0).map(|l| open + l.close)
}

/// Every list in `text` that is closed, skipping strings and comments.
fn lists(text: &[u8]) -> Vec<List> {
    let mut all: Vec<List> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => {
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
            }
            b';' if text.get(i + 1) == Some(&b';') => {
                while i < text.len() && text[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' if text.get(i + 1) == Some(&b';') => i = block_comment_end(text, i),
            b'(' => {
                if let Some(&parent) = open.last() {
                    let index = all.len();
                    all[parent].children.push(index);
                }
                open.push(all.len());
                all.push(List { open: i, close: usize::MAX, children: Vec::new() });
            }
            b')' => {
                if let Some(list) = open.pop() {
                    all[list].close = i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    all.retain(|l| l.close != usize::MAX);
    all
}

/// The offset of the `)` ending the (possibly nested) block comment that
/// starts at `start`, or the end of the text.
fn block_comment_end(text: &[u8], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i + 1 < text.len() {
        match (text[i], text[i + 1]) {
            (b'(', b';') => {
                depth += 1;
                i += 2;
            }
            (b';', b')') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i - 1;
                }
            }
            _ => i += 1,
        }
    }
    text.len()
}

/// The first token of a list (`try`, `do`, `i32.add`), if it starts with one.
fn keyword<'t>(text: &'t [u8], list: &List) -> Option<&'t [u8]> {
    let start = list.open + 1;
    let len = text[start..list.close]
        .iter()
        .position(|&c| c.is_ascii_whitespace() || matches!(c, b'(' | b')' | b'"' | b';'))
        .unwrap_or(list.close - start);
    (len > 0).then(|| &text[start..start + len])
}

/// The edits that write one folded `try` flat, or none if its clauses do
/// not follow the grammar.
fn try_edits(text: &[u8], lists: &[List], list: &List) -> Vec<(usize, usize, &'static str)> {
    let children: Vec<&List> = list.children.iter().map(|&c| &lists[c]).collect();
    let Some(first) = children.iter().position(|c| keyword(text, c) == Some(b"do")) else {
        return Vec::new();
    };
    let clauses = &children[first..];
    let kinds: Vec<&[u8]> = clauses.iter().map(|c| keyword(text, c).unwrap_or(b"")).collect();
    let delegates = kinds.len() == 2 && kinds[1] == b"delegate";
    let catches =
        kinds[1..].iter().enumerate().all(|(i, k)| *k == b"catch" || (*k == b"catch_all" && i == kinds.len() - 2));
    // Nothing but the clauses may follow `(do ...)`.
    let after_do = clauses[0].open;
    let stray = text[after_do..list.close].iter().enumerate().any(|(i, c)| {
        let at = after_do + i;
        !c.is_ascii_whitespace() && !clauses.iter().any(|l| (l.open..=l.close).contains(&at))
    });
    if stray || !(delegates || catches) {
        return Vec::new();
    }
    let mut edits = vec![(list.open, list.open + 1, " ")];
    for clause in clauses {
        edits.push((clause.open, clause.open + 1, " "));
        edits.push((clause.close, clause.close + 1, " "));
    }
    // `(do` loses its keyword too.
    edits.push((clauses[0].open + 1, clauses[0].open + 3, "  "));
    edits.push((list.close, list.close + 1, if delegates { " " } else { "end" }));
    edits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_ends_at_its_own_paren() {
        let text = "(a (thread $T (invoke \"a)\") ;; )\n (; ) (; ) ;) ;) (wait $U)) (next)";
        let open = text.find("(thread").unwrap();
        assert_eq!(closing_paren(text, open), Some(text.find(") (next)").unwrap()));
        assert_eq!(closing_paren("(a (b)", 0), None);
    }

    #[test]
    fn folded_try_becomes_flat() {
        let folded = "(func (try (result i32) (do (i32.const 1)) (catch $e (i32.const 2)) (catch_all (i32.const 3))))";
        let flat = "(func  try (result i32)     (i32.const 1)   catch $e (i32.const 2)   catch_all (i32.const 3) end)";
        assert_eq!(unfold_try(folded), flat);
    }

    #[test]
    fn delegate_ends_the_block_itself() {
        let folded = "(try $t (do (try (do (throw $e)) (delegate $t))) (catch_all))";
        let flat = " try $t      try     (throw $e)   delegate $t     catch_all end";
        assert_eq!(unfold_try(folded), flat);
    }

    #[test]
    fn line_numbers_are_kept() {
        let folded = "(try\n  (do\n    (nop))\n  (catch $e))\n(assert_return (invoke \"f\"))";
        let flat = unfold_try(folded);
        assert_eq!(flat.lines().count(), folded.lines().count());
        assert_eq!(flat.lines().last(), Some("(assert_return (invoke \"f\"))"));
    }

    #[test]
    fn strings_comments_and_other_lists_are_left_alone() {
        for text in [
            r#"(module quote "(func (try (do) (catch $e)))")"#,
            ";; (try (do) (catch $e))\n(nop)",
            "(; (try (do) (catch $e)) ;)(nop)",
            "(try_table (catch $e 0) (nop))",
            // Not the grammar: a catch after catch_all, stray instructions.
            "(try (do) (catch_all) (catch $e))",
            "(try (do) (nop) (catch $e))",
            "(try (do) (catch $e) (delegate 0))",
        ] {
            assert!(matches!(unfold_try(text), Cow::Borrowed(_)), "{text}");
        }
    }
}
