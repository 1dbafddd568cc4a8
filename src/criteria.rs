//! Criteria files: the pinned golden set, the scorers, the gates and the comparison policy.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::backend::BackendKind;
use crate::digest;
use crate::error::{self, Error, Location, Result};
use crate::score::ScorerSpec;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CriteriaFile {
    version: u64,
    description: Option<String>,
    golden: GoldenPin,
    // Tables first, so an error inside one scorer names that scorer's line (serde loses
    // the position inside a scorer, whose type decides its fields).
    #[serde(default)]
    scorers: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    gates: Vec<Spanned<GateFile>>,
    #[serde(default)]
    must_pass: Vec<String>,
    compare: Option<ComparePolicyFile>,
    #[serde(default)]
    judge: JudgeConfig,
    cost: Option<CostPin>,
}

/// `[cost]`: the price file (relative to the criteria file, LiteLLM's
/// `model_prices_and_context_window.json` format) and its pinned sha256.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostPin {
    pub prices: String,
    pub sha256: String,
}

/// `[judge]`: the backend `llm_judge` scorers call, set apart from the candidate's. Mock
/// by default, so judged criteria run offline. Paths are relative to the criteria file;
/// the key is read from the environment variable `api_key_env`, never written down.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeConfig {
    #[serde(default)]
    pub backend: BackendKind,
    /// The judge model's name, sent with each judge request (default: the judge prompt's).
    pub model: Option<String>,
    /// The mock judge's rules file (the mock backend's format).
    pub mock_rules: Option<String>,
    pub command: Option<String>,
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    /// The least Cohen's kappa each judged scorer must reach against the golden set's human
    /// labels; below it, or unmeasurable, the run fails (gate `kappa:<scorer>`).
    pub min_kappa: Option<f64>,
    /// The `[judge]` table's line in the criteria file (0 when there is none).
    #[serde(skip)]
    pub line: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenPin {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateFile {
    metric: String,
    tag: Option<String>,
    min: Option<f64>,
    max: Option<f64>,
    confidence: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComparePolicyFile {
    #[serde(default = "default_compare_metric")]
    metric: String,
    #[serde(default = "default_alpha")]
    alpha: f64,
    max_drop: Option<f64>,
}

/// Candidate-versus-baseline policy, read by `compare`.
#[derive(Debug, Clone)]
pub struct ComparePolicy {
    pub metric: Metric,
    pub alpha: f64,
    pub max_drop: Option<f64>,
}

impl Default for ComparePolicy {
    fn default() -> Self {
        ComparePolicy {
            metric: Metric::PassRate,
            alpha: default_alpha(),
            max_drop: None,
        }
    }
}

fn default_compare_metric() -> String {
    "pass_rate".into()
}

fn default_alpha() -> f64 {
    0.05
}

/// What a gate measures.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// Share of samples on which every scorer passed.
    PassRate,
    /// Share of samples on which one scorer passed.
    ScorerPassRate(String),
    /// Mean score of one scorer.
    ScorerMean(String),
    /// A latency percentile in milliseconds (nearest rank), over successful calls.
    LatencyPercentile(u8),
    /// The whole run's cost in USD (candidate and judge calls), from `[cost] prices`.
    CostUsd,
}

impl Metric {
    pub fn parse(text: &str) -> std::result::Result<Metric, String> {
        if text == "pass_rate" {
            return Ok(Metric::PassRate);
        }
        if text == "cost_usd" {
            return Ok(Metric::CostUsd);
        }
        if let Some(name) = text.strip_prefix("pass_rate:") {
            return Ok(Metric::ScorerPassRate(name.to_string()));
        }
        if let Some(name) = text.strip_prefix("mean:") {
            return Ok(Metric::ScorerMean(name.to_string()));
        }
        if let Some(p) = text
            .strip_prefix('p')
            .and_then(|rest| rest.strip_suffix("_latency_ms"))
            .and_then(|p| p.parse::<u8>().ok())
            .filter(|p| (1..=100).contains(p))
        {
            return Ok(Metric::LatencyPercentile(p));
        }
        Err(format!(
            "unknown metric {text:?}: use pass_rate, pass_rate:<scorer>, mean:<scorer>, p<N>_latency_ms (e.g. p95_latency_ms) or cost_usd"
        ))
    }

    pub fn scorer(&self) -> Option<&str> {
        match self {
            Metric::ScorerPassRate(name) | Metric::ScorerMean(name) => Some(name),
            _ => None,
        }
    }

    /// Rates and mean scores live in [0, 1]; a threshold outside it is a typo (95 for 0.95).
    pub fn is_unit_interval(&self) -> bool {
        !matches!(self, Metric::LatencyPercentile(_) | Metric::CostUsd)
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Metric::PassRate => f.write_str("pass_rate"),
            Metric::ScorerPassRate(name) => write!(f, "pass_rate:{name}"),
            Metric::ScorerMean(name) => write!(f, "mean:{name}"),
            Metric::LatencyPercentile(p) => write!(f, "p{p}_latency_ms"),
            Metric::CostUsd => f.write_str("cost_usd"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Gate {
    pub metric: Metric,
    pub tag: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// When set, thresholds are tested on this confidence interval's ends instead of the
    /// point estimate.
    pub confidence: Option<f64>,
    /// Line of the `[[gates]]` table in the criteria file.
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct NamedScorer {
    pub spec: ScorerSpec,
    pub line: usize,
}

#[derive(Debug)]
pub struct Criteria {
    pub path: PathBuf,
    pub version: u64,
    pub description: Option<String>,
    /// sha256 of the file's bytes.
    pub hash: String,
    pub golden: GoldenPin,
    pub scorers: Vec<NamedScorer>,
    pub gates: Vec<Gate>,
    pub must_pass: Vec<String>,
    pub compare: Option<ComparePolicy>,
    /// The judge backend of `llm_judge` scorers.
    pub judge: JudgeConfig,
    /// `[cost]`: the pinned price file.
    pub cost: Option<CostPin>,
}

impl Criteria {
    pub fn load(path: &Path) -> Result<Criteria> {
        let bytes = error::read_bytes(path)?;
        let hash = digest::sha256_id(&bytes);
        let text = error::text_from_bytes(path, bytes)?;
        Self::parse(path, &text, hash)
    }

    fn parse(path: &Path, text: &str, hash: String) -> Result<Criteria> {
        let file: CriteriaFile = toml::from_str(text).map_err(|e| {
            let mut err = error::toml_error(path, text, &e);
            if let Error::Input { message, .. } = &mut err
                && message.contains("unknown field `must_pass`")
            {
                message.push_str(
                    " (must_pass belongs at the top of the file, before the first [[gates]] table)",
                );
            }
            if let Error::Input { message, .. } = &mut err
                && message.contains("missing field `sha256`")
            {
                message.push_str(
                    " ([golden] pins the golden set's hash: run `promptgate golden <golden file>` and paste its first line as sha256 = \"...\")",
                );
            }
            err
        })?;
        let line_at = |span: std::ops::Range<usize>| error::line_of_offset(text, span.start);
        let at_line = |line: usize| Location::line(path, line);

        if !file.golden.sha256.starts_with("sha256:") || file.golden.sha256.len() != 71 {
            return Err(Error::input(
                Location::file(path),
                format!(
                    "[golden] sha256 = {:?} is not a sha256 id; run `promptgate golden {}` and paste its first line",
                    file.golden.sha256,
                    // The command runs from where promptgate was started, not beside the
                    // criteria file the path is relative to.
                    lexically_normal(
                        &path
                            .parent()
                            .unwrap_or(Path::new(""))
                            .join(&file.golden.path)
                    )
                    .display()
                ),
            ));
        }

        let mut scorers = Vec::new();
        for spanned in file.scorers {
            let line = line_at(spanned.span());
            let table = spanned.into_inner();
            let label = ["name", "type"]
                .iter()
                .find_map(|key| table.get(*key).and_then(toml::Value::as_str))
                .map_or_else(String::new, |name| format!(" {name:?}"));
            let spec: ScorerSpec = toml::Value::Table(table).try_into().map_err(|e| {
                Error::input(
                    at_line(line),
                    format!("scorer{label}: {}", e.message().trim_end()),
                )
            })?;
            if scorers
                .iter()
                .any(|s: &NamedScorer| s.spec.name == spec.name)
            {
                return Err(Error::input(
                    at_line(line),
                    format!(
                        "two scorers are named {:?}: give each a distinct `name`",
                        spec.name
                    ),
                ));
            }
            scorers.push(NamedScorer { spec, line });
        }

        let mut gates = Vec::new();
        for spanned in file.gates {
            let line = line_at(spanned.span());
            let gate = spanned.into_inner();
            let metric = Metric::parse(&gate.metric).map_err(|e| Error::input(at_line(line), e))?;
            if gate.min.is_none() && gate.max.is_none() {
                return Err(Error::input(
                    at_line(line),
                    format!("gate {metric} has neither `min` nor `max`"),
                ));
            }
            for bound in [gate.min, gate.max].into_iter().flatten() {
                if !bound.is_finite()
                    || (metric.is_unit_interval() && !(0.0..=1.0).contains(&bound))
                {
                    return Err(Error::input(
                        at_line(line),
                        format!(
                            "gate {metric}: threshold {bound} is outside 0..=1 (write 95% as 0.95)"
                        ),
                    ));
                }
            }
            if let (Some(min), Some(max)) = (gate.min, gate.max)
                && min > max
            {
                return Err(Error::input(
                    at_line(line),
                    format!("gate {metric}: min {min} is above max {max}, so no run could pass"),
                ));
            }
            if let Some(tag) = &gate.tag
                && tag.trim().is_empty()
            {
                return Err(Error::input(at_line(line), "gate `tag` is empty"));
            }
            if metric == Metric::CostUsd {
                if gate.tag.is_some() {
                    return Err(Error::input(
                        at_line(line),
                        "gate cost_usd is measured on the whole run: remove its `tag`",
                    ));
                }
                if file.cost.is_none() {
                    return Err(Error::input(
                        at_line(line),
                        "gate cost_usd needs prices: add [cost] prices = \"<price file>\" and sha256 = \"sha256:...\" (LiteLLM's model_prices_and_context_window.json format)",
                    ));
                }
                if gate.min.is_some() {
                    return Err(Error::input(
                        at_line(line),
                        "gate cost_usd takes `max` only",
                    ));
                }
            }
            if let Some(level) = gate.confidence {
                if !(level > 0.0 && level < 1.0) {
                    return Err(Error::input(
                        at_line(line),
                        format!(
                            "gate {metric}: confidence = {level} must be between 0 and 1 (e.g. 0.95)"
                        ),
                    ));
                }
                if !metric.is_unit_interval() {
                    return Err(Error::input(
                        at_line(line),
                        format!(
                            "gate {metric}: `confidence` applies to rates and means, not latency percentiles"
                        ),
                    ));
                }
            }
            gates.push(Gate {
                metric,
                tag: gate.tag,
                min: gate.min,
                max: gate.max,
                confidence: gate.confidence,
                line,
            });
        }
        if gates.is_empty() && file.must_pass.is_empty() {
            return Err(Error::input(
                Location::file(path),
                "no [[gates]] and no must_pass: a criteria file must check something",
            ));
        }
        let mut compare = None;
        if let Some(policy) = &file.compare {
            if !(policy.alpha > 0.0 && policy.alpha < 1.0) {
                return Err(Error::input(
                    Location::file(path),
                    format!("[compare] alpha = {} must be between 0 and 1", policy.alpha),
                ));
            }
            let metric = Metric::parse(&policy.metric)
                .map_err(|e| Error::input(Location::file(path), format!("[compare] {e}")))?;
            if metric == Metric::CostUsd {
                return Err(Error::input(
                    Location::file(path),
                    "[compare] metric = \"cost_usd\" is not a comparison metric",
                ));
            }
            if let Some(drop) = policy.max_drop
                && !(0.0..1.0).contains(&drop)
            {
                return Err(Error::input(
                    Location::file(path),
                    format!("[compare] max_drop = {drop} must be in 0..1"),
                ));
            }
            compare = Some(ComparePolicy {
                metric,
                alpha: policy.alpha,
                max_drop: policy.max_drop,
            });
        }

        let mut judge = file.judge;
        judge.line = text
            .lines()
            .position(|l| l.trim_start().starts_with("[judge]"))
            .map_or(0, |i| i + 1);
        if let Some(kappa) = judge.min_kappa
            && !(-1.0..=1.0).contains(&kappa)
        {
            return Err(Error::input(
                at_line(judge.line),
                format!("[judge] min_kappa = {kappa} must be in -1..1 (Cohen's kappa)"),
            ));
        }

        if let Some(cost) = &file.cost
            && (!cost.sha256.starts_with("sha256:") || cost.sha256.len() != 71)
        {
            return Err(Error::input(
                Location::file(path),
                format!(
                    "[cost] sha256 = {:?} is not a sha256 id; write \"sha256:\" followed by the output of `sha256sum {}`",
                    cost.sha256,
                    lexically_normal(&path.parent().unwrap_or(Path::new("")).join(&cost.prices))
                        .display()
                ),
            ));
        }

        Ok(Criteria {
            path: path.to_path_buf(),
            version: file.version,
            description: file.description,
            hash,
            golden: file.golden,
            scorers,
            gates,
            must_pass: file.must_pass,
            compare,
            judge,
            cost: file.cost,
        })
    }

    /// The criteria file's folder, against which its relative paths are read.
    pub fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    }

    /// The price file `[cost]` pins, resolved against the criteria file's folder.
    pub fn prices_path(&self) -> Option<PathBuf> {
        let base = self.path.parent().unwrap_or(Path::new(""));
        self.cost
            .as_ref()
            .map(|c| lexically_normal(&base.join(&c.prices)))
    }

    /// The golden file the criteria pins, resolved against the criteria file's folder.
    pub fn golden_path(&self) -> PathBuf {
        let base = self.path.parent().unwrap_or(Path::new(""));
        lexically_normal(&base.join(&self.golden.path))
    }
}

/// Folds `dir/../` away without touching the file system, so messages name
/// `golden/x.jsonl` rather than `criteria/../golden/x.jsonl`.
fn lexically_normal(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_paths_are_folded() {
        assert_eq!(
            lexically_normal(Path::new("criteria/../golden/g.jsonl")),
            PathBuf::from("golden/g.jsonl")
        );
        assert_eq!(
            lexically_normal(Path::new("../g.jsonl")),
            PathBuf::from("../g.jsonl")
        );
        assert_eq!(
            lexically_normal(Path::new("./a/./b/../c")),
            PathBuf::from("a/c")
        );
    }

    const PIN: &str = "[golden]\npath = \"g.jsonl\"\nsha256 = \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\n";

    fn parse(body: &str) -> Result<Criteria> {
        let text = format!("version = 1\n{PIN}{body}");
        Criteria::parse(Path::new("c.toml"), &text, String::new())
    }

    #[test]
    fn parses_gates_with_lines() {
        let c = parse(
            "[[scorers]]\ntype = \"json_valid\"\n\n[[gates]]\nmetric = \"pass_rate\"\nmin = 0.9\n[[gates]]\nmetric = \"p95_latency_ms\"\ntag = \"x\"\nmax = 2000\n",
        )
        .unwrap();
        assert_eq!(c.gates.len(), 2);
        assert_eq!(c.gates[0].metric, Metric::PassRate);
        assert_eq!(c.gates[0].line, 8);
        assert_eq!(c.gates[1].metric, Metric::LatencyPercentile(95));
        assert_eq!(c.scorers[0].spec.name, "json_valid");
    }

    #[test]
    fn rejects_what_cannot_be_judged() {
        for (body, needle) in [
            (
                "[[gates]]\nmetric = \"accuracy\"\nmin = 1.0\n",
                "unknown metric \"accuracy\"",
            ),
            (
                "[[gates]]\nmetric = \"pass_rate\"\n",
                "neither `min` nor `max`",
            ),
            (
                "[[gates]]\nmetric = \"pass_rate\"\nmin = 95\n",
                "outside 0..=1",
            ),
            (
                "[[gates]]\nmetric = \"pass_rate\"\nmin = 0.9\nmax = 0.1\n",
                "min 0.9 is above max 0.1",
            ),
            ("", "must check something"),
            ("[[scorers]]\ntype = \"nope\"\n", "nope"),
            (
                "[[gates]]\nmetric = \"pass_rate\"\nmin = 0.5\nmust_pass = [\"a\"]\n",
                "must_pass belongs at the top",
            ),
            (
                "[[scorers]]\ntype = \"json_valid\"\n[[scorers]]\ntype = \"json_valid\"\n[[gates]]\nmetric = \"pass_rate\"\nmin = 1.0\n",
                "two scorers",
            ),
        ] {
            let err = parse(body).unwrap_err().to_string();
            assert!(err.starts_with("c.toml"), "{err}");
            assert!(err.contains(needle), "{err} should contain {needle}");
        }
    }

    #[test]
    fn a_bad_field_names_its_own_scorer_and_line() {
        let body = "[[scorers]]\ntype = \"json_valid\"\n\n[[scorers]]\nname = \"close\"\ntype = \"similarity\"\nvaluez = [\"x\"]\n";
        let text = format!("version = 1\n{PIN}{body}");
        let line = text
            .lines()
            .position(|l| l.starts_with("name = \"close\""))
            .unwrap();
        let err = Criteria::parse(Path::new("c.toml"), &text, String::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "c.toml:{line}: scorer \"close\": unknown field `valuez`"
            )),
            "{err}"
        );
    }

    #[test]
    fn version_is_required() {
        let err = Criteria::parse(Path::new("c.toml"), PIN, String::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("version"), "{err}");
    }

    const COST: &str = "[cost]\nprices = \"prices.json\"\nsha256 = \"sha256:1111111111111111111111111111111111111111111111111111111111111111\"\n";

    #[test]
    fn cost_gate_needs_prices_and_no_tag() {
        let c = parse(&format!(
            "{COST}[[gates]]\nmetric = \"cost_usd\"\nmax = 2.0\n"
        ))
        .unwrap();
        assert_eq!(c.gates[0].metric, Metric::CostUsd);
        assert_eq!(c.gates[0].max, Some(2.0));
        assert_eq!(c.prices_path(), Some(PathBuf::from("prices.json")));
        let err = parse("[[gates]]\nmetric = \"cost_usd\"\nmax = 2.0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("[cost] prices"), "{err}");
        let err = parse(&format!(
            "{COST}[[gates]]\nmetric = \"cost_usd\"\ntag = \"x\"\nmax = 2.0\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("whole run"), "{err}");
        let err = parse("[cost]\nprices = \"p.json\"\nsha256 = \"abc\"\n[[gates]]\nmetric = \"pass_rate\"\nmin = 1.0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sha256sum"), "{err}");
    }
}
