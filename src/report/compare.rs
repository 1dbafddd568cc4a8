//! Rendering a comparison: the terminal view (verdict first, then the numbers, then the
//! flipped cases) and GitHub-flavoured Markdown.

use std::fmt::Write;

use super::markdown::cell;
use crate::compare::{Comparison, Flip, format_p};
use crate::digest::short;
use crate::gate::Verdict;

const MAX_FLIPS_SHOWN: usize = 10;

fn verdict_line(c: &Comparison) -> String {
    match c.verdict {
        Verdict::Pass => format!(
            "PASS: no significant regression ({} regressions, {} improvements, p = {})",
            c.pass_rate.regressions,
            c.pass_rate.improvements,
            format_p(c.pass_rate.p_value)
        ),
        Verdict::Fail => format!("FAIL: {}", c.reasons.join("; ")),
    }
}

fn interval(low: f64, high: f64) -> String {
    format!("[{low:+.3}, {high:+.3}]")
}

pub fn terminal(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "promptgate compare: {}", verdict_line(c));
    for (label, side) in [("baseline ", &c.baseline), ("candidate", &c.candidate)] {
        let _ = writeln!(
            out,
            "  {label}  {} @ {}  ({})  run {}",
            side.prompt_id,
            short(&side.prompt_version),
            side.prompt_path,
            side.run_dir
        );
    }
    let _ = writeln!(
        out,
        "  golden     {}  {}  {} cases x {} repeat{}; criteria {} version {}",
        c.golden.path,
        short(&c.golden.hash),
        c.golden.cases,
        c.repeats,
        if c.repeats == 1 { "" } else { "s" },
        c.criteria.path,
        c.criteria.version
    );

    let p = &c.pass_rate;
    let _ = writeln!(
        out,
        "\npass rate   {:.3} -> {:.3}  delta {:+.3}  95% CI {}",
        p.baseline,
        p.candidate,
        p.delta,
        interval(p.ci.low, p.ci.high)
    );
    let _ = writeln!(
        out,
        "            {} regressions, {} improvements; p = {}{} ({})",
        p.regressions,
        p.improvements,
        format_p(p.p_value),
        p.mid_p_value
            .map(|m| format!(", mid-p {}", format_p(m)))
            .unwrap_or_default(),
        p.method
    );
    let _ = writeln!(
        out,
        "            this golden set detects pass-rate drops of {:.3} or more (alpha {}, power 0.8)",
        p.min_detectable_drop, c.policy.alpha
    );
    if let Some(why) = &c.policy.too_small {
        let _ = writeln!(out, "            note: {why}");
    }

    if !c.scorers.is_empty() {
        let _ = writeln!(
            out,
            "\nscorers     baseline -> candidate  mean delta  95% CI  p ({})",
            c.scorers.first().map_or("", |s| s.test.as_str())
        );
        let width = c.scorers.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for s in &c.scorers {
            let _ = writeln!(
                out,
                "  {:<width$}  {:.3} -> {:.3}  {:+.3}  {}  p = {}",
                s.name,
                s.baseline_mean,
                s.candidate_mean,
                s.mean_delta,
                interval(s.ci.low, s.ci.high),
                format_p(s.p_value)
            );
        }
    }
    if !c.tags.is_empty() {
        let _ = writeln!(
            out,
            "\ntags        pass rate baseline -> candidate  delta [95% CI]  p (Holm-adjusted)"
        );
        let width = c.tags.iter().map(|t| t.tag.len()).max().unwrap_or(0);
        for t in &c.tags {
            let _ = writeln!(
                out,
                "  {:<width$}  {:.3} -> {:.3}  {:+.3} [{:+.3}, {:+.3}]  {} down, {} up  p = {} (Holm {})",
                t.tag,
                t.baseline_pass_rate,
                t.candidate_pass_rate,
                t.delta,
                t.ci.low,
                t.ci.high,
                t.regressions,
                t.improvements,
                format_p(t.p_value),
                format_p(t.p_holm)
            );
        }
    }
    flips(&mut out, "regressions (pass -> fail)", &c.regressions, c);
    flips(&mut out, "improvements (fail -> pass)", &c.improvements, c);
    if !c.largest_drops.is_empty() {
        let _ = writeln!(out, "\nlargest score drops");
        for d in &c.largest_drops {
            let _ = writeln!(
                out,
                "  {}  {}  {:.3} -> {:.3}  ({:+.3})",
                d.id, d.scorer, d.baseline, d.candidate, d.delta
            );
        }
    }
    let _ = writeln!(
        out,
        "\nverdict: {}",
        match c.verdict {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
        }
    );
    out
}

/// ` #2` for repeat 2 when a case ran more than once: its flips are otherwise alike.
fn repeat_mark(c: &Comparison, f: &Flip) -> String {
    if c.repeats > 1 {
        format!(" #{}", f.repeat)
    } else {
        String::new()
    }
}

fn flips(out: &mut String, title: &str, list: &[Flip], c: &Comparison) {
    let golden = &c.golden.path;
    let _ = writeln!(out, "\n{title}: {}", list.len());
    for f in list.iter().take(MAX_FLIPS_SHOWN) {
        let tags = if f.tags.is_empty() {
            String::new()
        } else {
            format!("  [{}]", f.tags.join(", "))
        };
        let must = if f.must_pass { "  MUST PASS" } else { "" };
        let _ = writeln!(
            out,
            "  {}{}  {golden}:{}{tags}{must}",
            super::format::inline(&f.id),
            repeat_mark(c, f),
            f.line
        );
        for reason in &f.reasons {
            let _ = writeln!(out, "      {}", super::format::inline(reason));
        }
    }
    if list.len() > MAX_FLIPS_SHOWN {
        let _ = writeln!(
            out,
            "  ... and {} more (all in `--report json`)",
            list.len() - MAX_FLIPS_SHOWN
        );
    }
}

pub fn markdown(c: &Comparison) -> String {
    let mut out = String::new();
    let mark = match c.verdict {
        Verdict::Pass => "✅",
        Verdict::Fail => "❌",
    };
    let _ = writeln!(
        out,
        "## {mark} promptgate compare: {}\n",
        cell(&verdict_line(c))
    );
    let _ = writeln!(
        out,
        "| | prompt | version | run |\n| --- | --- | --- | --- |"
    );
    for (label, side) in [("baseline", &c.baseline), ("candidate", &c.candidate)] {
        let _ = writeln!(
            out,
            "| {label} | `{}` ({}) | `{}` | `{}` |",
            side.prompt_id,
            cell(&side.prompt_path),
            short(&side.prompt_version),
            side.run_id
        );
    }
    let _ = writeln!(
        out,
        "\nGolden set `{}` (`{}`, {} cases × {} repeats), criteria `{}` version {}.\n",
        c.golden.path,
        short(&c.golden.hash),
        c.golden.cases,
        c.repeats,
        c.criteria.path,
        c.criteria.version
    );
    let p = &c.pass_rate;
    let _ = writeln!(
        out,
        "| metric | baseline | candidate | delta | 95% CI | p |\n| --- | --- | --- | --- | --- | --- |"
    );
    let _ = writeln!(
        out,
        "| pass rate | {:.3} | {:.3} | {:+.3} | {} | {} |",
        p.baseline,
        p.candidate,
        p.delta,
        interval(p.ci.low, p.ci.high),
        format_p(p.p_value)
    );
    for s in &c.scorers {
        let _ = writeln!(
            out,
            "| mean:{} | {:.3} | {:.3} | {:+.3} | {} | {} |",
            cell(&s.name),
            s.baseline_mean,
            s.candidate_mean,
            s.mean_delta,
            interval(s.ci.low, s.ci.high),
            format_p(s.p_value)
        );
    }
    let _ = writeln!(
        out,
        "\n{} regressions, {} improvements ({}). This golden set detects pass-rate drops of {:.3} or more at alpha {} with 80% power.",
        p.regressions, p.improvements, p.method, p.min_detectable_drop, c.policy.alpha
    );
    if let Some(why) = &c.policy.too_small {
        let _ = writeln!(out, "\n> {}", cell(why));
    }
    if !c.tags.is_empty() {
        let _ = writeln!(
            out,
            "\n| tag | baseline | candidate | delta | 95% CI | p | p (Holm) |\n| --- | --- | --- | --- | --- | --- | --- |"
        );
        for t in &c.tags {
            let _ = writeln!(
                out,
                "| {} | {:.3} | {:.3} | {:+.3} | [{:+.3}, {:+.3}] | {} | {} |",
                cell(&t.tag),
                t.baseline_pass_rate,
                t.candidate_pass_rate,
                t.delta,
                t.ci.low,
                t.ci.high,
                format_p(t.p_value),
                format_p(t.p_holm)
            );
        }
    }
    for (title, list) in [
        ("Regressions (pass → fail)", &c.regressions),
        ("Improvements (fail → pass)", &c.improvements),
    ] {
        let _ = writeln!(out, "\n### {title}: {}\n", list.len());
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "| case | tags | where | reasons |\n| --- | --- | --- | --- |"
        );
        for f in list {
            let _ = writeln!(
                out,
                "| `{}`{}{} | {} | `{}:{}` | {} |",
                cell(&f.id),
                repeat_mark(c, f),
                if f.must_pass { " (must pass)" } else { "" },
                cell(&f.tags.join(", ")),
                c.golden.path,
                f.line,
                cell(&f.reasons.join("; "))
            );
        }
    }
    out
}
