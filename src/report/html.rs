//! One self-contained HTML page a release manager opens offline: verdict banner, identity
//! block, summary, gates with their intervals, per-tag pass rates (an inline SVG bar chart),
//! per-scorer score distributions (inline SVG histograms) and the failing cases with their
//! outputs.
//!
//! The page is rendered by minijinja from `templates/report.html.j2` with HTML
//! auto-escaping on for every value: nothing is marked safe, so model output, golden text,
//! ids, tags and paths always render as text. The charts are built here from numbers only
//! (coordinates and sizes); their labels are text passed to the template like any other.
//! No script, font, stylesheet or image is loaded, and a Content-Security-Policy forbids
//! them anyway.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use super::format::{interval_text, number, percent, plural, printable, threshold_text, truncate};
use super::terminal::gate_label;
use super::view::RunView;
use crate::digest::short;
use crate::gate::{GateResult, Verdict};

const TEMPLATE_NAME: &str = "report.html.j2";
const TEMPLATE: &str = include_str!("templates/report.html.j2");

/// A failing case's output is shown up to this many bytes.
const OUTPUT_BYTES: usize = 4096;
/// At most this many failing cases are shown (all are in report.json).
const MAX_FAILING_SHOWN: usize = 200;
/// At most this many tags are drawn.
const MAX_TAGS_DRAWN: usize = 60;
/// Tag labels in the chart are cut to this many characters (the full tag is its tooltip).
const TAG_LABEL_CHARS: usize = 24;
const HISTOGRAM_BINS: usize = 10;

/// Text as a reader should see it: bidirectional controls shown as `[U+202E]`, other
/// control characters replaced. Escaping is the template's job.
pub(super) fn text(s: &str) -> String {
    printable(s).into_owned()
}

/// One decimal, for SVG coordinates.
pub(super) fn px(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[derive(Serialize)]
struct Page {
    verdict: &'static str,
    verdict_word: &'static str,
    detail: String,
    title: String,
    identity: Vec<IdentityRow>,
    summary: Summary,
    gates: Vec<GateRow>,
    tags: Option<BarChart>,
    histograms: Vec<Histogram>,
    failing: Vec<FailingRow>,
    failing_total: usize,
    tool_version: String,
    run_id: String,
}

#[derive(Serialize)]
struct IdentityRow {
    label: &'static str,
    value: String,
    hash: Option<String>,
    note: Option<String>,
}

#[derive(Serialize)]
struct Summary {
    samples: usize,
    passed: usize,
    failed: usize,
    errors: usize,
    pass_rate: String,
    p50: String,
    p95: String,
    max: String,
}

#[derive(Serialize)]
struct GateRow {
    passed: bool,
    label: String,
    threshold: String,
    value: String,
    interval: String,
    samples: usize,
    location: String,
    chart: Option<IntervalChart>,
}

/// A gate's value, interval and threshold on a 0..1 axis.
#[derive(Serialize)]
struct IntervalChart {
    width: f64,
    height: f64,
    x0: f64,
    x1: f64,
    low: f64,
    ci_width: f64,
    value: f64,
    thresholds: Vec<f64>,
    passed: bool,
}

#[derive(Serialize)]
struct BarChart {
    width: f64,
    height: f64,
    label_x: f64,
    bar_x: f64,
    bar_max: f64,
    bars: Vec<Bar>,
    hidden: usize,
}

#[derive(Serialize)]
struct Bar {
    y: f64,
    text_y: f64,
    height: f64,
    width: f64,
    label: String,
    full_label: String,
    value_x: f64,
    value: String,
    class: &'static str,
}

#[derive(Serialize)]
struct Histogram {
    name: String,
    caption: String,
    width: f64,
    height: f64,
    baseline: f64,
    x0: f64,
    x1: f64,
    bins: Vec<Bin>,
    ticks: Vec<Tick>,
}

#[derive(Serialize)]
struct Bin {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    count: usize,
    range: String,
}

#[derive(Serialize)]
struct Tick {
    x: f64,
    label: &'static str,
}

#[derive(Serialize)]
struct FailingRow {
    id: String,
    repeat: Option<u32>,
    must_pass: bool,
    location: String,
    tags: Vec<String>,
    reasons: Vec<String>,
    output: String,
    note: Option<String>,
}

fn interval_chart(gate: &GateResult) -> Option<IntervalChart> {
    let value = gate.value?;
    let rate_like = gate.metric == "pass_rate"
        || gate.metric.starts_with("pass_rate:")
        || gate.metric.starts_with("mean:");
    if !rate_like || !(0.0..=1.0).contains(&value) {
        return None;
    }
    let (x0, x1) = (6.0, 154.0);
    let x = |v: f64| px(x0 + v.clamp(0.0, 1.0) * (x1 - x0));
    let (low, high) = gate
        .interval
        .as_ref()
        .map_or((value, value), |ci| (ci.low, ci.high));
    Some(IntervalChart {
        width: 160.0,
        height: 20.0,
        x0,
        x1,
        low: x(low),
        ci_width: (x(high) - x(low)).max(1.0),
        value: x(value),
        thresholds: gate
            .min
            .iter()
            .chain(gate.max.iter())
            .map(|&t| x(t))
            .collect(),
        passed: gate.passed,
    })
}

fn tag_chart(view: &RunView) -> Option<BarChart> {
    let j = &view.report.judgement;
    if j.tags.is_empty() {
        return None;
    }
    let (label_x, bar_x, bar_max, row) = (170.0, 180.0, 320.0, 24.0);
    let bars: Vec<Bar> = j
        .tags
        .iter()
        .take(MAX_TAGS_DRAWN)
        .enumerate()
        .map(|(i, tag)| {
            let gates: Vec<&GateResult> = j
                .gates
                .iter()
                .filter(|g| g.tag.as_deref() == Some(tag.tag.as_str()))
                .collect();
            let class = if gates.is_empty() {
                "neutral"
            } else if gates.iter().all(|g| g.passed) {
                "pass"
            } else {
                "fail"
            };
            let full = text(&tag.tag);
            let mut label: String = full.chars().take(TAG_LABEL_CHARS).collect();
            if label.len() < full.len() {
                label.push('…');
            }
            let passed = (tag.pass_rate * tag.samples as f64).round() as usize;
            let width = px(tag.pass_rate.clamp(0.0, 1.0) * bar_max);
            let y = px(8.0 + i as f64 * row);
            Bar {
                y,
                text_y: px(y + 13.0),
                height: 16.0,
                width,
                label,
                full_label: full,
                value_x: px(bar_x + bar_max + 8.0),
                value: format!(
                    "{} ({passed} of {} sample{})",
                    percent(tag.pass_rate),
                    tag.samples,
                    plural(tag.samples)
                ),
                class,
            }
        })
        .collect();
    let height = px(16.0 + bars.len() as f64 * row);
    Some(BarChart {
        width: 700.0,
        height,
        label_x,
        bar_x,
        bar_max,
        hidden: j.tags.len() - bars.len(),
        bars,
    })
}

fn histograms(view: &RunView) -> Vec<Histogram> {
    let (width, height, x0, x1, top, baseline) = (260.0, 120.0, 12.0, 248.0, 8.0, 94.0);
    let aggregates = &view.report.judgement.scorers;
    view.scorer_names()
        .into_iter()
        .map(|name| {
            let mut counts = [0usize; HISTOGRAM_BINS];
            let mut n = 0;
            for call in &view.calls {
                if let Some(score) = call.score(&name) {
                    let bin = ((score.score.clamp(0.0, 1.0) * HISTOGRAM_BINS as f64) as usize)
                        .min(HISTOGRAM_BINS - 1);
                    counts[bin] += 1;
                    n += 1;
                }
            }
            let tallest = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
            let slot = (x1 - x0) / HISTOGRAM_BINS as f64;
            let bins = counts
                .iter()
                .enumerate()
                .map(|(i, &count)| {
                    let h = if count == 0 {
                        0.0
                    } else {
                        ((baseline - top) * count as f64 / tallest).max(1.5)
                    };
                    let lo = i as f64 / HISTOGRAM_BINS as f64;
                    let hi = (i + 1) as f64 / HISTOGRAM_BINS as f64;
                    Bin {
                        x: px(x0 + i as f64 * slot + 1.0),
                        y: px(baseline - h),
                        width: px(slot - 2.0),
                        height: px(h),
                        count,
                        range: format!(
                            "[{lo:.1}, {hi:.1}{}",
                            if i + 1 == HISTOGRAM_BINS { "]" } else { ")" }
                        ),
                    }
                })
                .collect();
            let mut caption = match aggregates.iter().find(|a| a.name == name) {
                Some(a) => format!(
                    "mean {:.3}, pass rate {}, {} sample{}",
                    a.mean,
                    percent(a.pass_rate),
                    a.samples,
                    plural(a.samples)
                ),
                None => format!("{n} sample{}", plural(n)),
            };
            // Failed calls have no score to draw (the gate counts them as 0).
            let undrawn = aggregates
                .iter()
                .find(|a| a.name == name)
                .map_or(0, |a| a.samples.saturating_sub(n));
            if undrawn > 0 {
                caption.push_str(&format!(
                    "; {undrawn} failed call{} not drawn",
                    plural(undrawn)
                ));
            }
            Histogram {
                name: text(&name),
                caption,
                width,
                height,
                baseline,
                x0,
                x1,
                bins,
                ticks: vec![
                    Tick { x: x0, label: "0" },
                    Tick {
                        x: px((x0 + x1) / 2.0),
                        label: "0.5",
                    },
                    Tick { x: x1, label: "1" },
                ],
            }
        })
        .collect()
}

fn failing_rows(view: &RunView) -> Vec<FailingRow> {
    let r = &view.report;
    r.judgement
        .failing_cases
        .iter()
        .take(MAX_FAILING_SHOWN)
        .map(|case| {
            // The whole output from calls.jsonl when it is there, else report.json's excerpt.
            let full = view
                .call(&case.id, case.repeat)
                .map_or(case.output.as_str(), |c| c.output.as_str());
            let (shown, cut) = truncate(full, OUTPUT_BYTES);
            FailingRow {
                id: text(&case.id),
                repeat: (r.repeats > 1).then_some(case.repeat),
                must_pass: case.must_pass,
                location: text(&format!("{}:{}", r.identity.golden.path, case.line)),
                tags: case.tags.iter().map(|t| text(t)).collect(),
                reasons: case.reasons.iter().map(|t| text(t)).collect(),
                output: text(shown),
                note: cut.then(|| {
                    format!(
                        "Output trimmed: the first {} of {} bytes are shown; the whole output is in calls.jsonl.",
                        shown.len(),
                        full.len()
                    )
                }),
            }
        })
        .collect()
}

fn page(view: &RunView) -> Page {
    let r = &view.report;
    let id = &r.identity;
    let j = &r.judgement;
    let s = &j.summary;
    let mut backend = format!("{}, model {}", id.backend.kind, id.backend.model);
    if let Some(endpoint) = &id.backend.endpoint {
        backend.push_str(&format!(", endpoint {endpoint}"));
    }
    if let Some(command) = &id.backend.command {
        backend.push_str(&format!(", command {command}"));
    }
    if let Some(rules) = &id.backend.mock_rules {
        backend.push_str(&format!(", rules {rules}"));
    }
    let identity = vec![
        IdentityRow {
            label: "prompt",
            value: text(&format!("{} ({})", id.prompt.id, id.prompt.path)),
            hash: Some(text(&id.prompt.version)),
            note: None,
        },
        IdentityRow {
            label: "golden set",
            value: text(&id.golden.path),
            hash: Some(text(&id.golden.hash)),
            note: Some(format!(
                "{} case{} × {} repeat{}",
                id.golden.cases,
                plural(id.golden.cases),
                r.repeats,
                plural(r.repeats as usize)
            )),
        },
        IdentityRow {
            label: "criteria",
            value: text(&format!(
                "{}, version {}",
                id.criteria.path, id.criteria.version
            )),
            hash: Some(text(&id.criteria.hash)),
            note: None,
        },
        IdentityRow {
            label: "backend",
            value: text(&backend),
            hash: None,
            note: None,
        },
        IdentityRow {
            label: "run",
            value: text(&r.run_id),
            hash: None,
            note: Some(text(&format!("promptgate {}", r.tool_version))),
        },
    ];
    let ms = |v: Option<u64>| v.map_or("–".to_string(), |v| format!("{v} ms"));
    let mut gates: Vec<GateRow> = j
        .gates
        .iter()
        .map(|gate| GateRow {
            passed: gate.passed,
            label: text(&gate_label(gate)),
            threshold: text(&threshold_text(gate)),
            value: gate.value.map_or("not measured".into(), number),
            interval: interval_text(gate, "").unwrap_or_else(|| "–".into()),
            samples: gate.samples,
            location: text(&format!("{}:{}", id.criteria.path, gate.line)),
            chart: interval_chart(gate),
        })
        .collect();
    gates.extend(j.must_pass.iter().map(|must| GateRow {
        passed: must.passed,
        label: text(&format!("must pass {}", must.id)),
        threshold: "passes".into(),
        value: if must.passed { "passed" } else { "failed" }.into(),
        interval: "–".into(),
        samples: r.repeats as usize,
        location: text(&format!("{}:{}", id.golden.path, must.line)),
        chart: None,
    }));
    let (verdict, verdict_word) = match j.verdict {
        Verdict::Pass => ("pass", "PASS"),
        Verdict::Fail => ("fail", "FAIL"),
    };
    Page {
        verdict,
        verdict_word,
        detail: view.verdict_detail(),
        title: text(&format!(
            "promptgate {verdict_word}: {} @ {}",
            id.prompt.id,
            short(&id.prompt.version)
        )),
        identity,
        summary: Summary {
            samples: s.samples,
            passed: s.passed,
            failed: s.failed,
            errors: s.errors,
            pass_rate: percent(s.pass_rate),
            p50: ms(s.p50_latency_ms),
            p95: ms(s.p95_latency_ms),
            max: ms(s.max_latency_ms),
        },
        gates,
        tags: tag_chart(view),
        histograms: histograms(view),
        failing: failing_rows(view),
        failing_total: j.failing_cases.len(),
        tool_version: text(&r.tool_version),
        run_id: text(&r.run_id),
    }
}

/// Renders `page` with `source`, HTML auto-escaping forced on for every value whatever the
/// template's name, and undefined variables as errors. Shared by every HTML page.
pub(super) fn render_page(name: &str, source: &'static str, page: &impl Serialize) -> String {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template(name, source)
        .expect("the page template compiles");
    env.get_template(name)
        .expect("the page template is registered")
        .render(minijinja::value::Serde(page))
        .expect("the page template renders")
}

/// The report as one self-contained HTML page.
pub fn render(view: &RunView) -> String {
    render_page(TEMPLATE_NAME, TEMPLATE, &page(view))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::report::view::tests::fixture;

    const VOID: [&str; 6] = ["meta", "br", "hr", "img", "input", "link"];

    /// A tiny well-formedness check: every tag closes in order (void elements and `/>`
    /// aside), no `<` or `>` stray outside a tag, and no attribute value left open. Since
    /// every text is escaped, any markup in it would show up here.
    pub(crate) fn check_well_formed(html: &str) -> Vec<String> {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = html;
        let mut tags = Vec::new();
        while let Some(start) = rest.find('<') {
            assert!(
                !rest[..start].contains('>'),
                "stray '>' in text: {:?}",
                &rest[..start]
            );
            rest = &rest[start..];
            if let Some(after) = rest.strip_prefix("<!--") {
                let end = after.find("-->").expect("comment closes");
                rest = &after[end + 3..];
                continue;
            }
            let end = rest.find('>').expect("tag closes");
            let tag = &rest[1..end];
            assert!(!tag.contains('<'), "'<' inside a tag: {tag:?}");
            assert_eq!(tag.matches('"').count() % 2, 0, "open attribute: {tag:?}");
            rest = &rest[end + 1..];
            if tag.starts_with('!') {
                continue;
            }
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
                .to_ascii_lowercase();
            tags.push(name.clone());
            if let Some(closing) = tag.strip_prefix('/') {
                let closing = closing.trim().to_ascii_lowercase();
                let open = stack
                    .pop()
                    .unwrap_or_else(|| panic!("</{closing}> with nothing open"));
                assert_eq!(open, closing, "</{closing}> closes <{open}>");
            } else if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
                stack.push(name);
            }
        }
        assert!(!rest.contains('>'), "stray '>' at the end");
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        tags
    }

    #[test]
    fn snapshot() {
        let html = render(&fixture());
        check_well_formed(&html);
        insta::assert_snapshot!("html", html);
    }

    /// A page that loads nothing from anywhere and forbids scripts: what both pages promise.
    pub(crate) fn check_self_contained(html: &str) {
        let lower = html.to_ascii_lowercase();
        for needle in [
            "<script", "<link", "<img", "<iframe", "<object", "<embed", "@import", "url(", "src=",
            "href=", "http://", "https://",
        ] {
            assert!(!lower.contains(needle), "{needle} in the page");
        }
        assert!(html.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        ));
        assert!(html.contains("<svg"));
    }

    #[test]
    fn self_contained() {
        check_self_contained(&render(&fixture()));
    }

    #[test]
    fn hostile_outputs_render_as_text() {
        let hostile = [
            ("safety-001", "<script>alert(1)</script>".to_string()),
            ("product-002", "\"><img src=x onerror=alert(1)>".to_string()),
            (
                "billing-003",
                "</td></table></pre></div><!-- <b>bold".to_string(),
            ),
            (
                "refund-001",
                "abc \u{202E}gnp.exe\u{202C} שלום مرحبا".to_string(),
            ),
            ("shipping-004", "A".repeat(1 << 20)),
        ];
        let mut view = fixture();
        view.report.judgement.failing_cases = hostile
            .iter()
            .map(|(id, output)| {
                let mut case = view.report.judgement.failing_cases[1].clone();
                case.id = id.to_string();
                case.tags = vec!["<i>tag</i>".into(), "t\"ag'".into()];
                case.reasons = vec![format!("regex: matched {output:.40}")];
                case.output = output.chars().take(300).collect();
                case
            })
            .collect();
        for (id, output) in &hostile {
            let call = view.calls.iter_mut().find(|c| c.case_id == *id).unwrap();
            call.output = output.clone();
            call.scores.push((
                "<script>x</script>".into(),
                crate::score::Score {
                    score: 0.5,
                    passed: false,
                    reason: "<script>".into(),
                },
            ));
        }
        view.report.judgement.tags[0].tag = "<script>alert('tag')</script>".into();
        view.report.identity.golden.path = "golden/\"><script>.jsonl".into();
        view.report.run_id = "</title><script>alert(1)</script>".into();

        let html = render(&view);
        let tags = check_well_formed(&html);
        assert_eq!(tags.iter().filter(|t| *t == "script").count(), 0);
        assert_eq!(html.to_ascii_lowercase().matches("<script").count(), 0);
        assert!(!html.contains("<img") && !html.contains("<i>tag") && !html.contains("<b>bold"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
        assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("&lt;&#x2f;td&gt;&lt;&#x2f;table&gt;"));
        // Bidirectional overrides are shown, not obeyed; right-to-left text is kept.
        assert!(!html.contains('\u{202E}'));
        assert!(html.contains("[U+202E]gnp.exe[U+202C] שלום مرحبا"));
        assert!(html.contains("dir=\"auto\""));
        // The 1 MiB output is cut to a few KiB, with a note.
        assert!(html.len() < 200_000, "{} bytes", html.len());
        assert!(html.contains("Output trimmed: the first 4096 of 1048576 bytes are shown"));
    }

    #[test]
    fn long_and_empty_runs_render() {
        // 500 failing cases: the first 200 are shown, saying so.
        let mut view = fixture();
        let template = view.report.judgement.failing_cases[1].clone();
        view.report.judgement.failing_cases = (0..500)
            .map(|i| crate::gate::FailingCase {
                id: format!("case-{i:03}"),
                ..template.clone()
            })
            .collect();
        let html = render(&view);
        check_well_formed(&html);
        assert!(
            html.contains(
                "The first 200 are shown, blocking ones first; all 500 are in report.json."
            )
        );
        assert!(html.contains("case-199") && !html.contains("case-200"));

        // No calls, no tags, no failing case, a pass.
        let mut view = fixture();
        view.calls.clear();
        view.report.judgement.tags.clear();
        view.report.judgement.failing_cases.clear();
        view.report.judgement.verdict = Verdict::Pass;
        let html = render(&view);
        check_well_formed(&html);
        assert!(html.contains("<section class=\"banner pass\">"));
        assert!(html.contains("No failing case."));
        assert!(!html.contains("Pass rate by tag"));
    }

    #[test]
    fn charts_follow_the_numbers() {
        let view = fixture();
        let page = page(&view);
        let tags = page.tags.as_ref().unwrap();
        assert_eq!(tags.bars.len(), view.report.judgement.tags.len());
        assert_eq!(tags.bars[0].width, 320.0); // refund: 100%
        assert_eq!(tags.bars[1].width, 0.0); // product: 0%
        let safety = tags.bars.iter().find(|b| b.label == "safety").unwrap();
        assert_eq!(safety.class, "fail");
        let similarity = page
            .histograms
            .iter()
            .find(|h| h.name == "similarity")
            .unwrap();
        let counts: Vec<usize> = similarity.bins.iter().map(|b| b.count).collect();
        // Scores 0.92, 1.0, 0.31, 0.55 (the failed call has none).
        assert_eq!(counts, [0, 0, 0, 1, 0, 1, 0, 0, 0, 2]);
        let gate = page.gates[0].chart.as_ref().unwrap();
        assert!(gate.low < gate.value && gate.value < gate.low + gate.ci_width);
        assert!(page.gates[3].chart.is_none(), "latency has no 0..1 axis");
    }
}
