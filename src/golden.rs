//! Golden sets: frozen cases from JSONL or CSV, with a canonical content hash.
//!
//! The hash covers the parsed cases in file order, so line endings, key order and JSONL
//! versus CSV do not change it; any change to an id, variable, expected value, tag or
//! assertion does.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::digest::{self, Hasher};
use crate::error::{Error, Location, Result};
use crate::score::ScorerSpec;

/// One golden case.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    /// 1-based line in the golden file (the record's first line for CSV).
    pub line: usize,
    pub vars: Map<String, Value>,
    pub expected: Option<Value>,
    pub tags: Vec<String>,
    pub asserts: Vec<ScorerSpec>,
    /// Human pass/fail labels for judged (`llm_judge`) scorers, by scorer name: what the
    /// judge's agreement is measured against. Empty for most cases.
    pub labels: BTreeMap<String, bool>,
}

impl Case {
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// Appends the canonical JSON the golden hash covers: an object with keys in byte
    /// order (`assert`, `expected`, `id`, `labels`, `tags`, `vars`), absent or empty ones
    /// left out (so a case without labels hashes as it did before labels existed).
    /// Written field by field because this runs once per case of sets of 100,000.
    fn write_canonical(&self, out: &mut Vec<u8>) {
        let mut first = true;
        let mut key = |out: &mut Vec<u8>, name: &str| {
            out.extend_from_slice(if first { b"{\"" } else { b",\"" });
            first = false;
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
        };
        if !self.asserts.is_empty() {
            key(out, "assert");
            let asserts = serde_json::to_value(&self.asserts).expect("scorer specs serialize");
            digest::write_canonical(&asserts, out);
        }
        if let Some(expected) = &self.expected {
            key(out, "expected");
            digest::write_canonical(expected, out);
        }
        key(out, "id");
        serde_json::to_writer(&mut *out, &self.id).expect("strings serialize");
        if !self.labels.is_empty() {
            key(out, "labels");
            // A BTreeMap serializes in key order: canonical as it stands.
            serde_json::to_writer(&mut *out, &self.labels).expect("labels serialize");
        }
        if !self.tags.is_empty() {
            key(out, "tags");
            serde_json::to_writer(&mut *out, &self.tags).expect("strings serialize");
        }
        key(out, "vars");
        let mut vars: Vec<(&String, &Value)> = self.vars.iter().collect();
        vars.sort_unstable_by(|a, b| a.0.cmp(b.0));
        out.push(b'{');
        for (i, (name, value)) in vars.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, name).expect("strings serialize");
            out.push(b':');
            digest::write_canonical(value, out);
        }
        out.extend_from_slice(b"}}");
    }
}

#[derive(Debug)]
pub struct GoldenSet {
    pub path: PathBuf,
    pub cases: Vec<Case>,
    pub hash: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonCase {
    id: Value,
    #[serde(default)]
    vars: Option<Map<String, Value>>,
    #[serde(default)]
    expected: Option<Value>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default, rename = "assert")]
    asserts: Vec<ScorerSpec>,
    #[serde(default)]
    labels: Option<Map<String, Value>>,
}

impl GoldenSet {
    /// Loads `.jsonl` / `.json` lines or `.csv` by extension.
    pub fn load(path: &Path) -> Result<GoldenSet> {
        let file = crate::error::open_regular(path)?;
        let is_csv = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("csv"));
        let mut builder = Builder::new(path);
        if is_csv {
            read_csv(path, file, &mut builder)?;
        } else {
            read_jsonl(path, file, &mut builder)?;
        }
        builder.finish()
    }

    /// Tags in first-seen order.
    pub fn tags(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut tags = Vec::new();
        for case in &self.cases {
            for tag in &case.tags {
                if seen.insert(tag.as_str()) {
                    tags.push(tag.clone());
                }
            }
        }
        tags
    }

    pub fn short_hash(&self) -> &str {
        digest::short(&self.hash)
    }
}

/// Collects cases, rejecting duplicates and hashing as it goes.
struct Builder<'a> {
    path: &'a Path,
    cases: Vec<Case>,
    first_line: HashMap<String, usize>,
    hasher: Hasher,
    buffer: Vec<u8>,
}

impl<'a> Builder<'a> {
    fn new(path: &'a Path) -> Self {
        let mut hasher = Hasher::default();
        hasher.update(b"[");
        Builder {
            path,
            cases: Vec::new(),
            first_line: HashMap::new(),
            hasher,
            buffer: Vec::with_capacity(1024),
        }
    }

    fn push(&mut self, case: Case) -> Result<()> {
        if case.id.trim().is_empty() {
            return Err(Error::input(
                Location::line(self.path, case.line),
                "case id is empty: every case needs a unique, non-empty `id`",
            ));
        }
        if case.id.trim() != case.id {
            return Err(Error::input(
                Location::line(self.path, case.line),
                format!("case id {:?} has leading or trailing spaces", case.id),
            ));
        }
        // An id is printed in terminals, CI logs and file names: a newline or an escape in
        // one could forge a log line (`::error ...`) or rewrite the screen.
        if case.id.chars().any(char::is_control) {
            return Err(Error::input(
                Location::line(self.path, case.line),
                format!(
                    "case id {:?} contains a control character (newline, tab, escape, ...): use letters, digits and punctuation",
                    case.id
                ),
            ));
        }
        for tag in &case.tags {
            if tag.chars().any(char::is_control) {
                return Err(Error::input(
                    Location::line(self.path, case.line),
                    format!(
                        "case {:?}: tag {tag:?} contains a control character: use letters, digits and punctuation",
                        case.id
                    ),
                ));
            }
        }
        if let Some(first) = self.first_line.get(&case.id) {
            return Err(Error::input(
                Location::line(self.path, case.line),
                format!(
                    "duplicate case id {:?}: also on line {first}; case ids must be unique",
                    case.id
                ),
            ));
        }
        self.first_line.insert(case.id.clone(), case.line);
        self.buffer.clear();
        if !self.cases.is_empty() {
            self.buffer.push(b',');
        }
        case.write_canonical(&mut self.buffer);
        self.hasher.update(&self.buffer);
        self.cases.push(case);
        Ok(())
    }

    fn finish(mut self) -> Result<GoldenSet> {
        if self.cases.is_empty() {
            return Err(Error::input(
                Location::file(self.path),
                "the golden set has no cases: add at least one",
            ));
        }
        self.hasher.update(b"]");
        Ok(GoldenSet {
            path: self.path.to_path_buf(),
            cases: self.cases,
            hash: self.hasher.finish(),
        })
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn read_jsonl(path: &Path, file: File, builder: &mut Builder<'_>) -> Result<()> {
    let mut reader = BufReader::new(file);
    let mut bytes = Vec::new();
    let mut line_no = 0;
    loop {
        bytes.clear();
        let read = (&mut reader)
            .take(crate::error::MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut bytes)
            .map_err(|e| Error::unreadable(path, &e))?;
        if read == 0 {
            return Ok(());
        }
        line_no += 1;
        let at = || Location::line(path, line_no);
        if read as u64 > crate::error::MAX_LINE_BYTES {
            return Err(Error::input(
                at(),
                format!(
                    "the line is longer than {} MiB: one case per line, each of a sensible size",
                    crate::error::MAX_LINE_BYTES / (1024 * 1024)
                ),
            ));
        }
        let mut content: &[u8] = &bytes;
        if line_no == 1 {
            content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
        }
        let text = std::str::from_utf8(content)
            .map_err(|_| Error::input(at(), "not valid UTF-8: save the file as UTF-8"))?;
        if text.trim().is_empty() {
            continue;
        }
        // serde would read a struct from an array, by position: only an object is a case.
        if !text.trim_start().starts_with('{') {
            let err = serde_json::from_str::<Value>(text).err();
            return Err(Error::input(
                at(),
                match err {
                    Some(syntax) => {
                        format!("not valid JSON: {}", strip_position(&syntax.to_string()))
                    }
                    None => format!(
                        "expected a JSON object per line, found {}",
                        serde_json::from_str::<Value>(text)
                            .map(|v| json_type(&v))
                            .unwrap_or("something else")
                    ),
                },
            ));
        }
        // The common case parses once; only a line that fails is parsed again to say why.
        let raw: JsonCase = match serde_json::from_str(text) {
            Ok(raw) => raw,
            Err(err) => return Err(Error::input(at(), describe_bad_line(text, &err))),
        };
        let id = match raw.id {
            Value::String(id) => id,
            other => {
                return Err(Error::input(
                    at(),
                    format!("`id` must be a string, found {}", json_type(&other)),
                ));
            }
        };
        let mut labels = BTreeMap::new();
        for (scorer, label) in raw.labels.unwrap_or_default() {
            match label {
                Value::Bool(passed) => {
                    labels.insert(scorer, passed);
                }
                other => {
                    return Err(Error::input(
                        at(),
                        format!(
                            "case {id:?}: label {scorer:?} must be a boolean (the human's pass/fail), found {}",
                            json_type(&other)
                        ),
                    ));
                }
            }
        }
        builder.push(Case {
            id,
            line: line_no,
            vars: raw.vars.unwrap_or_default(),
            expected: raw.expected,
            tags: raw.tags,
            asserts: raw.asserts,
            labels,
        })?;
    }
}

fn describe_bad_line(text: &str, err: &serde_json::Error) -> String {
    match serde_json::from_str::<Value>(text) {
        Err(syntax) => format!("not valid JSON: {}", strip_position(&syntax.to_string())),
        Ok(value) if !value.is_object() => format!(
            "expected a JSON object per line, found {}",
            json_type(&value)
        ),
        Ok(_) => format!("invalid case: {}", strip_position(&err.to_string())),
    }
}

/// serde_json appends " at line 1 column 7"; the line is ours to report.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn read_csv(path: &Path, file: File, builder: &mut Builder<'_>) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(BufReader::new(file));
    let csv_error = |e: csv::Error| {
        let line = e.position().map(|p| p.line() as usize);
        let message = match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("row has {len} fields, the header has {expected_len}"),
            csv::ErrorKind::Io(io) => format!("cannot read: {io}"),
            _ => format!("invalid CSV: {e}"),
        };
        let location = match line {
            Some(line) => Location::line(path, line),
            None => Location::file(path),
        };
        Error::input(location, message)
    };
    let headers = reader.byte_headers().map_err(csv_error)?.clone();
    let headers: Vec<String> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = if i == 0 {
                h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h)
            } else {
                h
            };
            std::str::from_utf8(h)
                .map(|s| s.trim().to_string())
                .map_err(|_| Error::input(Location::line(path, 1), "header is not valid UTF-8"))
        })
        .collect::<Result<_>>()?;
    if headers.iter().all(|h| h.is_empty()) {
        return Err(Error::input(
            Location::file(path),
            "the golden set has no cases: add at least one",
        ));
    }
    let mut seen = BTreeSet::new();
    for h in &headers {
        if h.is_empty() {
            return Err(Error::input(
                Location::line(path, 1),
                "a header column is empty",
            ));
        }
        if !seen.insert(h.as_str()) {
            return Err(Error::input(
                Location::line(path, 1),
                format!("column {h:?} appears twice in the header"),
            ));
        }
    }
    // A column named `ID` or `Expected` would silently become a template variable.
    for h in &headers {
        if let Some(meant) = ["id", "expected", "tags"]
            .into_iter()
            .find(|m| h.eq_ignore_ascii_case(m) && h != m)
        {
            return Err(Error::input(
                Location::line(path, 1),
                format!("column {h:?}: column names are case-sensitive; rename it to `{meant}`"),
            ));
        }
    }
    let id_column = headers
        .iter()
        .position(|h| h == "id")
        .ok_or_else(|| Error::input(Location::line(path, 1), "no `id` column in the header"))?;
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        let at = || Location::line(path, line);
        let mut case = Case {
            id: String::new(),
            line,
            vars: Map::new(),
            expected: None,
            tags: Vec::new(),
            asserts: Vec::new(),
            labels: BTreeMap::new(),
        };
        for (i, field) in record.iter().enumerate() {
            let field = std::str::from_utf8(field)
                .map_err(|_| Error::input(at(), "not valid UTF-8: save the file as UTF-8"))?;
            match headers[i].as_str() {
                _ if i == id_column => case.id = field.to_string(),
                "expected" if !field.is_empty() => {
                    case.expected = Some(Value::String(field.to_string()))
                }
                "expected" => {}
                "tags" => {
                    case.tags = field
                        .split(';')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(String::from)
                        .collect()
                }
                name => {
                    case.vars
                        .insert(name.to_string(), Value::String(field.to_string()));
                }
            }
        }
        builder.push(case)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(name: &str, content: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        File::create(&path).unwrap().write_all(content).unwrap();
        (dir, path)
    }

    fn load(name: &str, content: &[u8]) -> Result<GoldenSet> {
        let (_dir, path) = write(name, content);
        GoldenSet::load(&path)
    }

    #[test]
    fn hash_ignores_line_endings_key_order_and_format() {
        let a = load(
            "a.jsonl",
            b"{\"id\":\"x\",\"vars\":{\"q\":\"hi\",\"r\":\"1\"},\"expected\":\"e\",\"tags\":[\"t\",\"u\"]}\n",
        )
        .unwrap();
        let b = load(
            "b.jsonl",
            b"{\"tags\":[\"t\",\"u\"],\"expected\":\"e\",\"vars\":{\"r\":\"1\",\"q\":\"hi\"},\"id\":\"x\"}\r\n\r\n",
        )
        .unwrap();
        let c = load("c.csv", b"id,q,r,expected,tags\r\nx,hi,1,e,t;u\r\n").unwrap();
        assert_eq!(a.hash, b.hash);
        assert_eq!(a.hash, c.hash);
        let d = load(
            "d.jsonl",
            b"{\"id\":\"x\",\"vars\":{\"q\":\"hi!\",\"r\":\"1\"},\"expected\":\"e\",\"tags\":[\"t\",\"u\"]}\n",
        )
        .unwrap();
        assert_ne!(a.hash, d.hash);
    }

    #[test]
    fn labels_are_hashed_only_when_present_and_must_be_booleans() {
        let plain = load("a.jsonl", b"{\"id\":\"x\",\"vars\":{\"q\":\"hi\"}}\n").unwrap();
        let empty = load(
            "b.jsonl",
            b"{\"id\":\"x\",\"vars\":{\"q\":\"hi\"},\"labels\":{}}\n",
        )
        .unwrap();
        assert_eq!(plain.hash, empty.hash);
        let yes = load(
            "c.jsonl",
            b"{\"id\":\"x\",\"vars\":{\"q\":\"hi\"},\"labels\":{\"f\":true,\"a\":false}}\n",
        )
        .unwrap();
        let reordered = load(
            "d.jsonl",
            b"{\"labels\":{\"a\":false,\"f\":true},\"id\":\"x\",\"vars\":{\"q\":\"hi\"}}\n",
        )
        .unwrap();
        let flipped = load(
            "e.jsonl",
            b"{\"id\":\"x\",\"vars\":{\"q\":\"hi\"},\"labels\":{\"f\":false,\"a\":false}}\n",
        )
        .unwrap();
        assert_ne!(plain.hash, yes.hash);
        assert_eq!(yes.hash, reordered.hash);
        assert_ne!(yes.hash, flipped.hash);
        assert!(yes.cases[0].labels["f"]);
        // The canonical form a case without labels hashed to before labels existed.
        let mut canonical = Vec::new();
        plain.cases[0].write_canonical(&mut canonical);
        assert_eq!(canonical, br#"{"id":"x","vars":{"q":"hi"}}"#);
        let err = load(
            "g.jsonl",
            b"{\"id\":\"a\"}\n{\"id\":\"b\",\"labels\":{\"f\":\"yes\"}}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("g.jsonl:2") && err.contains("label \"f\" must be a boolean"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_ids_name_both_lines() {
        let err = load(
            "g.jsonl",
            b"{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"a\"}\n",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("g.jsonl:3") && msg.contains("line 1") && msg.contains("\"a\""),
            "{msg}"
        );
    }

    #[test]
    fn malformed_lines_are_input_errors_with_lines() {
        for (content, needle) in [
            (
                &b"{\"id\":\"a\"}\n[1,2]\n"[..],
                "g.jsonl:2: expected a JSON object",
            ),
            (
                &b"{\"id\":\"a\"}\n[\"b\", {\"x\": 1}, \"B\"]\n"[..],
                "g.jsonl:2: expected a JSON object per line, found an array",
            ),
            (
                &b"\"a\"\n"[..],
                "g.jsonl:1: expected a JSON object per line, found a string",
            ),
            (
                b"{\"id\":\"a\"}\n{\"id\":\"b\",\n",
                "g.jsonl:2: not valid JSON",
            ),
            (
                b"{\"id\":\"a\",\"color\":1}\n",
                "g.jsonl:1: invalid case: unknown field `color`",
            ),
            (b"{\"id\":\"\"}\n", "g.jsonl:1: case id is empty"),
            (
                b"{\"id\":\"a\\n::error::x\"}\n",
                "g.jsonl:1: case id \"a\\n::error::x\" contains a control character",
            ),
            (
                b"{\"id\":\"a\\u001b[31m\"}\n",
                "contains a control character",
            ),
            (
                b"{\"id\":\"a\"}\n{\"id\":\"b\xff\"}\n",
                "g.jsonl:2: not valid UTF-8",
            ),
            (b"\n\n", "g.jsonl: the golden set has no cases"),
            (
                b"{\"id\":\"a\",\"assert\":[{\"type\":\"nope\"}]}\n",
                "unknown variant `nope`",
            ),
        ] {
            let err = load("g.jsonl", content).unwrap_err().to_string();
            assert!(err.contains(needle), "{err} should contain {needle}");
        }
    }

    #[test]
    fn csv_columns_become_vars() {
        let set = load(
            "g.csv",
            b"id,question,expected,tags\na,\"Hi, there\nfriend\",,x; y\nb,q2,e2,\n",
        )
        .unwrap();
        assert_eq!(set.cases.len(), 2);
        assert_eq!(set.cases[0].vars["question"], "Hi, there\nfriend");
        assert_eq!(set.cases[0].expected, None);
        assert_eq!(set.cases[0].tags, vec!["x", "y"]);
        assert_eq!(set.cases[1].line, 4);
        let err = load("g.csv", b"question\nq\n").unwrap_err().to_string();
        assert!(err.contains("no `id` column"), "{err}");
        let err = load("g.csv", b"id,q\na,1\nb,2,3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("g.csv:3"), "{err}");
    }
}
