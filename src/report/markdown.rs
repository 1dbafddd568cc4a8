//! GitHub-flavoured Markdown: the job summary and the report a reviewer reads in a pull
//! request. Verdict first, then what was run (the identity block), the gates, the scorers,
//! the tags and the failing cases.
//!
//! Every piece of text that comes from a run (outputs, reasons, ids, tags, paths) goes
//! through [`cell`]: `&`, `<` and `>` become entities (GitHub renders raw HTML), Markdown
//! punctuation is backslash-escaped (no emphasis, links or math from model output), `|` cannot
//! end a table cell and a line break becomes `<br>`, so no output can break the document.

use std::fmt::Write;

use super::format::{
    figure, figure_with_interval, interval_text, number, percent, plural, printable,
    threshold_text, truncate,
};
use super::terminal::gate_label;
use super::view::RunView;
use crate::digest::short;
use crate::gate::Verdict;

/// A failing case's output is shown up to this many bytes.
const OUTPUT_BYTES: usize = 500;

/// Text made safe for a Markdown table cell or inline position.
pub fn cell(text: &str) -> String {
    let text = printable(text);
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.trim_end_matches('\n').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => {
                out.push_str("<br>");
                // Spaces after a break would be dropped anyway.
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
            }
            '\t' => out.push(' '),
            // The characters that can start Markdown syntax (or end a table cell).
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '~' | '#' | '!' | '$' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A hash or id as inline code when it is plain (hex, digits, `:._-`), else as escaped text.
fn code(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-'))
    {
        format!("`{text}`")
    } else {
        cell(text)
    }
}

fn mark(passed: bool) -> &'static str {
    if passed { "✅" } else { "❌" }
}

/// The report, whole.
pub fn render(view: &RunView) -> String {
    let parts = Parts::of(view);
    let mut out = parts.head;
    out.push_str(&parts.tags.section(parts.tags.rows.len(), None));
    out.push_str(&parts.failing.section(parts.failing.rows.len(), None));
    out
}

/// The report in at most `max_bytes` (GitHub refuses a step summary over 1 MiB): the failing
/// cases, then the tags, are cut to what fits, saying how many are shown and that all of
/// them are in report.json. A head too large on its own is cut at a line.
pub fn render_trimmed(view: &RunView, max_bytes: usize) -> String {
    let full = render(view);
    if full.len() <= max_bytes {
        return full;
    }
    let parts = Parts::of(view);
    let tags_all = parts.tags.rows.len();
    let failing_all = parts.failing.rows.len();
    let note = |shown: usize, all: usize, what: &str| {
        format!(
            "\n_Showing {shown} of {all} {what} to stay under GitHub's step summary limit; \
             all of them are in `report.json`._\n"
        )
    };
    // Failing cases first: they are the bulk.
    let room =
        max_bytes.saturating_sub(parts.head.len() + parts.tags.section(tags_all, None).len());
    if let Some(shown) = parts
        .failing
        .fitting(room, |shown| note(shown, failing_all, "failing cases"))
    {
        let mut out = parts.head;
        out.push_str(&parts.tags.section(tags_all, None));
        out.push_str(
            &parts
                .failing
                .section(shown, Some(note(shown, failing_all, "failing cases"))),
        );
        return out;
    }
    // Then the tags, with no failing case shown.
    let failing_note = note(0, failing_all, "failing cases");
    let failing = parts.failing.section(0, Some(failing_note));
    let room = max_bytes.saturating_sub(parts.head.len() + failing.len());
    if let Some(shown) = parts
        .tags
        .fitting(room, |shown| note(shown, tags_all, "tags"))
    {
        let mut out = parts.head;
        out.push_str(
            &parts
                .tags
                .section(shown, Some(note(shown, tags_all, "tags"))),
        );
        out.push_str(&failing);
        return out;
    }
    // The head alone is too large (thousands of gates): cut it at a line.
    let tail = "\n\n_Report cut to stay under GitHub's step summary limit; the whole report \
                is in `report.json`._\n";
    let (head, _) = truncate(&parts.head, max_bytes.saturating_sub(tail.len()));
    let head = match head.rfind('\n') {
        Some(end) => &head[..end],
        None => "",
    };
    format!("{head}{tail}")
}

/// A table whose rows can be cut.
struct Table {
    title: String,
    header: String,
    rows: Vec<String>,
    empty: &'static str,
}

impl Table {
    fn section(&self, shown: usize, note: Option<String>) -> String {
        let mut out = format!("\n{}\n\n", self.title);
        if self.rows.is_empty() {
            out.push_str(self.empty);
            out.push('\n');
            return out;
        }
        if shown > 0 {
            out.push_str(&self.header);
            for row in &self.rows[..shown] {
                out.push_str(row);
            }
        }
        if let Some(note) = note {
            out.push_str(&note);
        }
        out
    }

    /// How many rows fit in `room` bytes with the note a cut adds, if any.
    fn fitting(&self, room: usize, note: impl Fn(usize) -> String) -> Option<usize> {
        let base = format!("\n{}\n\n", self.title).len() + self.header.len();
        let mut used = base;
        let mut shown = 0;
        for row in &self.rows {
            // The note's length hardly depends on the count; allow for the largest.
            if used + row.len() + note(self.rows.len()).len() > room {
                break;
            }
            used += row.len();
            shown += 1;
        }
        let size = if shown == 0 {
            format!("\n{}\n\n", self.title).len() + note(0).len()
        } else {
            used + note(shown).len()
        };
        (size <= room).then_some(shown)
    }
}

struct Parts {
    head: String,
    tags: Table,
    failing: Table,
}

impl Parts {
    fn of(view: &RunView) -> Parts {
        Parts {
            head: head(view),
            tags: tags(view),
            failing: failing(view),
        }
    }
}

fn head(view: &RunView) -> String {
    let r = &view.report;
    let id = &r.identity;
    let j = &r.judgement;
    let s = &j.summary;
    let mut out = String::new();
    let (icon, word) = match j.verdict {
        Verdict::Pass => ("✅", "PASS"),
        Verdict::Fail => ("❌", "FAIL"),
    };
    let _ = writeln!(
        out,
        "## {icon} promptgate: {word} — {}\n",
        cell(&view.verdict_detail())
    );
    let _ = writeln!(
        out,
        "**{}** {} on {}: {} of {} samples passed ({}){}; latency p50 {}, p95 {}.",
        cell(&id.prompt.id),
        code(short(&id.prompt.version)),
        cell(&id.golden.path),
        s.passed,
        s.samples,
        percent(s.pass_rate),
        match s.errors {
            0 => String::new(),
            n => format!(", {n} failed call{}", plural(n)),
        },
        s.p50_latency_ms.map_or("–".into(), |v| format!("{v} ms")),
        s.p95_latency_ms.map_or("–".into(), |v| format!("{v} ms")),
    );

    let _ = writeln!(out, "\n| | |\n| --- | --- |");
    let _ = writeln!(
        out,
        "| prompt | {} {} ({}) |",
        cell(&id.prompt.id),
        code(&id.prompt.version),
        cell(&id.prompt.path)
    );
    let _ = writeln!(
        out,
        "| golden set | {} {}, {} case{} × {} repeat{} |",
        cell(&id.golden.path),
        code(&id.golden.hash),
        id.golden.cases,
        plural(id.golden.cases),
        r.repeats,
        plural(r.repeats as usize)
    );
    let _ = writeln!(
        out,
        "| criteria | {} version {} {} |",
        cell(&id.criteria.path),
        id.criteria.version,
        code(&id.criteria.hash)
    );
    let mut backend = format!(
        "{}, model {}",
        cell(id.backend.kind.name()),
        cell(&id.backend.model)
    );
    if let Some(endpoint) = &id.backend.endpoint {
        let _ = write!(backend, ", endpoint {}", cell(endpoint));
    }
    if let Some(command) = &id.backend.command {
        let _ = write!(backend, ", command {}", cell(command));
    }
    if let Some(rules) = &id.backend.mock_rules {
        let _ = write!(backend, ", rules {}", cell(rules));
    }
    let _ = writeln!(out, "| backend | {backend} |");
    let _ = writeln!(
        out,
        "| run | {}, promptgate {} |",
        code(&r.run_id),
        cell(&r.tool_version)
    );

    let _ = writeln!(out, "\n### Gates\n");
    let _ = writeln!(
        out,
        "| | gate | threshold | value | interval | samples | where |\n\
         | --- | --- | --- | --- | --- | --- | --- |"
    );
    for gate in &j.gates {
        let value = gate.value.map_or("not measured".into(), number);
        let interval = interval_text(gate, "").unwrap_or_else(|| "–".into());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {}:{} |",
            mark(gate.passed),
            cell(&gate_label(gate)),
            cell(&threshold_text(gate)),
            value,
            interval,
            gate.samples,
            cell(&id.criteria.path),
            gate.line
        );
    }
    for must in &j.must_pass {
        let _ = writeln!(
            out,
            "| {} | must pass {} | passes | {} | – | – | {}:{} |",
            mark(must.passed),
            cell(&must.id),
            if must.passed { "passed" } else { "failed" },
            cell(&id.golden.path),
            must.line
        );
    }

    if !j.judges.is_empty() {
        let _ = writeln!(out, "\n### Judge accuracy\n");
        let _ = writeln!(
            out,
            "Agreement of each judged scorer with the golden set's human labels; the corrected \
             pass rate is Rogan–Gladen's, its interval the correction of the observed rate's \
             (ignoring the uncertainty in TPR and TNR).\n"
        );
        let _ = writeln!(
            out,
            "| scorer | labelled | TPR | TNR | kappa | observed pass rate | corrected pass rate | undefined |\n\
             | --- | --- | --- | --- | --- | --- | --- | --- |"
        );
        for judge in &j.judges {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&judge.scorer),
                judge.labelled,
                figure(judge.true_positive_rate),
                figure(judge.true_negative_rate),
                figure(judge.kappa),
                figure_with_interval(judge.observed_pass_rate, judge.observed_ci),
                figure_with_interval(judge.corrected_pass_rate, judge.corrected_ci),
                if judge.undefined.is_empty() {
                    "–".to_string()
                } else {
                    cell(&judge.undefined.join("; "))
                }
            );
        }
    }

    if !j.scorers.is_empty() {
        let _ = writeln!(out, "\n### Scorers\n");
        let _ = writeln!(
            out,
            "| scorer | samples | mean score | pass rate |\n| --- | --- | --- | --- |"
        );
        for scorer in &j.scorers {
            let _ = writeln!(
                out,
                "| {} | {} | {:.3} | {} |",
                cell(&scorer.name),
                scorer.samples,
                scorer.mean,
                percent(scorer.pass_rate)
            );
        }
    }
    out
}

fn tags(view: &RunView) -> Table {
    let j = &view.report.judgement;
    let rows = j
        .tags
        .iter()
        .map(|tag| {
            let gates: Vec<String> = j
                .gates
                .iter()
                .filter(|g| g.tag.as_deref() == Some(tag.tag.as_str()))
                .map(|g| {
                    format!(
                        "{} {} {}",
                        mark(g.passed),
                        cell(&g.metric),
                        cell(&threshold_text(g))
                    )
                })
                .collect();
            let passed = (tag.pass_rate * tag.samples as f64).round() as usize;
            format!(
                "| {} | {} | {} of {} | {} | {} |\n",
                cell(&tag.tag),
                tag.cases,
                passed,
                tag.samples,
                percent(tag.pass_rate),
                gates.join("<br>")
            )
        })
        .collect();
    Table {
        title: "### Tags".into(),
        header:
            "| tag | cases | samples passed | pass rate | gate |\n| --- | --- | --- | --- | --- |\n"
                .into(),
        rows,
        empty: "_The golden set has no tags._",
    }
}

fn failing(view: &RunView) -> Table {
    let r = &view.report;
    let golden = cell(&r.identity.golden.path);
    let rows = r
        .judgement
        .failing_cases
        .iter()
        .map(|case| {
            let mut name = format!("**{}**", cell(&case.id));
            if r.repeats > 1 {
                let _ = write!(name, " #{}", case.repeat);
            }
            if case.must_pass {
                name.push_str("<br>must pass");
            }
            let reasons: Vec<String> = case.reasons.iter().map(|r| cell(r)).collect();
            let (output, cut) = truncate(&case.output, OUTPUT_BYTES);
            let mut output = cell(output);
            if cut {
                output.push('…');
            }
            if output.is_empty() {
                output.push('–');
            }
            format!(
                "| {name} | {golden}:{} | {} | {} | {output} |\n",
                case.line,
                case.tags
                    .iter()
                    .map(|t| cell(t))
                    .collect::<Vec<_>>()
                    .join(", "),
                reasons.join("<br>"),
            )
        })
        .collect::<Vec<_>>();
    let count = rows.len();
    Table {
        title: format!("### Failing cases ({count})"),
        header:
            "| case | golden line | tags | reasons | output |\n| --- | --- | --- | --- | --- |\n"
                .into(),
        rows,
        empty: "_No failing case._",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::FailingCase;
    use crate::report::view::tests::fixture;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!("markdown", render(&fixture()));
    }

    #[test]
    fn verdict_comes_first() {
        let md = render(&fixture());
        assert!(
            md.starts_with("## ❌ promptgate: FAIL — 3 of 5 checks failed\n"),
            "{md}"
        );
        let mut view = fixture();
        view.report.judgement.verdict = Verdict::Pass;
        for g in &mut view.report.judgement.gates {
            g.passed = true;
        }
        view.report.judgement.must_pass[0].passed = true;
        assert!(render(&view).starts_with("## ✅ promptgate: PASS — all 5 checks held\n"));
    }

    #[test]
    fn cells_cannot_break_the_table_or_render_html() {
        assert_eq!(cell("a | b"), "a \\| b");
        assert_eq!(cell("line1\nline2\r\n"), "line1<br>line2");
        assert_eq!(
            cell("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            cell("\"><img src=x onerror=alert(1)>"),
            "\"&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            cell("*a* _b_ `c` [d](e) ~f~ $x$ \\"),
            "\\*a\\* \\_b\\_ \\`c\\` \\[d\\](e) \\~f\\~ \\$x\\$ \\\\"
        );
        assert_eq!(cell("&lt;"), "&amp;lt;");
        assert_eq!(cell("rtl \u{202E}txet"), "rtl \\[U+202E\\]txet");

        let mut view = fixture();
        view.report.judgement.failing_cases[0].output =
            "x | y\n</td></table>\n| --- |\n# heading\n<details>".into();
        let md = render(&view);
        let row = md
            .lines()
            .find(|l| l.starts_with("| **safety-001**"))
            .expect("the case's row");
        // One row, five cells: the output's pipes and newlines stayed inside its cell.
        let bytes = row.as_bytes();
        let pipes = (0..bytes.len())
            .filter(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
            .count();
        assert_eq!(pipes, 6, "{row}");
        assert!(!md.contains("</td>") && !md.contains("<details>"));
    }

    #[test]
    fn trimmed_stays_under_the_cap_and_says_so() {
        let mut view = fixture();
        let template = view.report.judgement.failing_cases[1].clone();
        view.report.judgement.failing_cases = (0..5000)
            .map(|i| FailingCase {
                id: format!("case-{i:05}"),
                output: "y".repeat(400),
                ..template.clone()
            })
            .collect();
        let full = render(&view);
        assert!(full.len() > 1_000_000, "{}", full.len());
        assert_eq!(render_trimmed(&view, full.len()), full);

        for cap in [1024 * 1024, 200_000, 5_000] {
            let md = render_trimmed(&view, cap);
            assert!(md.len() <= cap, "{} > {cap}", md.len());
            assert!(md.starts_with("## ❌ promptgate: FAIL"));
            assert!(md.contains("of 5000 failing cases to stay under GitHub's step summary limit"));
            assert!(
                md.contains("| refund |"),
                "tags kept while failing cases are cut"
            );
        }
        let md = render_trimmed(&view, 200_000);
        let shown = md.lines().filter(|l| l.starts_with("| **case-")).count();
        assert!(shown > 100, "{shown}");
        assert!(md.contains(&format!("_Showing {shown} of 5000 failing cases")));

        // Smaller than the head: cut at a line, still saying so.
        let md = render_trimmed(&view, 1_000);
        assert!(md.len() <= 1_000);
        assert!(md.starts_with("## ❌ promptgate: FAIL"));
        assert!(md.ends_with("the whole report is in `report.json`._\n"));
    }
}
