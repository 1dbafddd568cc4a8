//! Formatting shared by every renderer: numbers, thresholds, shares, plurals, cutting text
//! to a size, and making untrusted text safe to show (bidirectional and control
//! characters). Escaping for each output format stays with its renderer.

use std::borrow::Cow;

use crate::gate::{GateResult, JudgeAccuracy};
use crate::stats::Interval;

/// A judge-accuracy figure, or `n/a` when it is undefined.
pub fn figure(value: Option<f64>) -> String {
    value.map_or("n/a".into(), |v| format!("{v:.3}"))
}

/// A rate with its interval: `0.600 [0.387, 0.781]`, or `n/a`.
pub fn figure_with_interval(value: Option<f64>, interval: Option<Interval>) -> String {
    match (value, interval) {
        (Some(v), Some(ci)) => format!("{v:.3} [{:.3}, {:.3}]", ci.low, ci.high),
        (value, _) => figure(value),
    }
}

/// One judged scorer's accuracy against the human labels, in a line.
pub fn judge_accuracy_text(j: &JudgeAccuracy) -> String {
    format!(
        "{} labelled: TPR {}, TNR {}, kappa {}; pass rate {} observed, {} corrected ({:.0}%)",
        j.labelled,
        figure(j.true_positive_rate),
        figure(j.true_negative_rate),
        figure(j.kappa),
        figure_with_interval(j.observed_pass_rate, j.observed_ci),
        figure_with_interval(j.corrected_pass_rate, j.corrected_ci),
        j.confidence * 100.0
    )
}

/// A measured value as the terminal summary shows it: whole numbers from 10 up without
/// decimals (latencies), everything else with three.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() >= 10.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.3}")
    }
}

/// A gate's threshold in words for readers: `≥ 0.900`, `≤ 2000`, `≥ 0.100 and ≤ 0.900`.
pub fn threshold_text(gate: &GateResult) -> String {
    match (gate.min, gate.max) {
        (Some(min), Some(max)) => format!("≥ {} and ≤ {}", number(min), number(max)),
        (Some(min), None) => format!("≥ {}", number(min)),
        (None, Some(max)) => format!("≤ {}", number(max)),
        (None, None) => "none".to_string(),
    }
}

/// A share as a percentage with one decimal.
pub fn percent(rate: f64) -> String {
    format!("{:.1}%", 100.0 * rate)
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// At most `max_bytes` of `text`, cut at a character boundary; true when something was cut.
pub fn truncate(text: &str, max_bytes: usize) -> (&str, bool) {
    if text.len() <= max_bytes {
        return (text, false);
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

/// Explicit bidirectional controls (U+202A–U+202E, U+2066–U+2069) that can reorder what a
/// reader sees ("Trojan Source").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Bidirectional controls made visible as `[U+202E]`, and U+FFFE/U+FFFF (not allowed in XML)
/// replaced by U+FFFD; everything else untouched.
pub fn reveal_bidi(text: &str) -> Cow<'_, str> {
    let odd = |c: char| is_bidi_control(c) || matches!(c, '\u{FFFE}' | '\u{FFFF}');
    if !text.chars().any(odd) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_bidi_control(c) {
            out.push_str(&format!("[U+{:04X}]", c as u32));
        } else if odd(c) {
            out.push('\u{FFFD}');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text as reports show it: bidirectional controls made visible as `[U+202E]`, other control
/// characters except tab and newline replaced by U+FFFD, and U+FFFE/U+FFFF (not allowed in
/// XML) too. Right-to-left scripts themselves are untouched. This is for display only:
/// escaping for the output format is still each renderer's job.
pub fn printable(text: &str) -> Cow<'_, str> {
    let odd = |c: char| {
        is_bidi_control(c)
            || (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    };
    if !text.chars().any(odd) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_bidi_control(c) {
            out.push_str(&format!("[U+{:04X}]", c as u32));
        } else if c == '\r' {
            // CRLF stays one line break; a lone CR becomes one.
            if chars.peek() != Some(&'\n') {
                out.push('\n');
            }
        } else if odd(c) {
            out.push('\u{FFFD}');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A gate's confidence interval as every report shows it: `95% [0.839, 1.000]`, then
/// `, tested` when the thresholds were tested on it and, when that failed, which end did
/// (`, lower 0.839 < 0.900`). `label` goes before the bracket (the terminal writes `CI `).
pub fn interval_text(gate: &crate::gate::GateResult, label: &str) -> Option<String> {
    let ci = gate.interval.as_ref()?;
    let mut text = format!(
        "{:.0}% {label}[{:.3}, {:.3}]",
        gate.confidence * 100.0,
        ci.low,
        ci.high
    );
    if gate.tested_on_interval {
        text.push_str(", tested");
        if !gate.passed {
            if let Some(min) = gate.min.filter(|&min| ci.low < min) {
                text.push_str(&format!(", lower {:.3} < {}", ci.low, number(min)));
            }
            if let Some(max) = gate.max.filter(|&max| ci.high > max) {
                text.push_str(&format!(", upper {:.3} > {}", ci.high, number(max)));
            }
        }
    }
    Some(text)
}

/// Untrusted text (a case id, a reason quoting a model output) on one terminal line:
/// [`printable`], with line breaks and tabs shown as `\n` and `\t`, so it can neither
/// move the cursor nor start a line of its own (a CI log parses `::error` at a line's start).
pub fn inline(text: &str) -> Cow<'_, str> {
    let text = printable(text);
    if !text.contains(['\n', '\t']) {
        return text;
    }
    Cow::Owned(text.replace('\n', "\\n").replace('\t', "\\t"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_text_stays_on_its_line_without_escapes() {
        assert_eq!(
            inline("a\n::error::x\u{1b}[2J\tb"),
            "a\\n::error::x\u{FFFD}[2J\\tb"
        );
        assert!(matches!(inline("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn printable_reveals_bidi_controls_and_keeps_rtl_text() {
        assert_eq!(printable("abc\u{202E}fed"), "abc[U+202E]fed");
        assert_eq!(printable("שלום مرحبا"), "שלום مرحبا");
        assert_eq!(
            printable("a\u{0}b\u{1b}[31m\r\nc\u{FFFF}"),
            "a\u{FFFD}b\u{FFFD}[31m\nc\u{FFFD}"
        );
        assert!(matches!(printable("plain\ttext\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn truncate_cuts_at_a_char_boundary() {
        assert_eq!(truncate("héllo", 2), ("h", true));
        assert_eq!(truncate("héllo", 3), ("hé", true));
        assert_eq!(truncate("héllo", 10), ("héllo", false));
    }
}
