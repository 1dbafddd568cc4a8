//! `calls.jsonl`, the exposure log: one line per (case, repeat), written and flushed as it
//! completes. Retries are counted in `attempts`, never written as extra lines. One record
//! type, one writer, one reader.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Location, Result};
use crate::score::{JudgeCall, Score};

pub const FILE_NAME: &str = "calls.jsonl";

/// One line of `calls.jsonl`: one finished (case, repeat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub ts: String,
    pub run_id: String,
    pub case_id: String,
    pub repeat: u32,
    pub prompt_id: String,
    pub prompt_version: String,
    pub model: String,
    pub response_hash: Option<String>,
    pub latency_ms: u64,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    pub attempts: u32,
    pub cached: bool,
    /// Why the call failed for good; a failed call passes nothing.
    pub error: Option<String>,
    pub output: String,
    /// Scores by scorer name, in the criteria's order (then per-case assertions).
    #[serde(
        serialize_with = "serialize_scores",
        deserialize_with = "deserialize_scores"
    )]
    pub scores: Vec<(String, Score)>,
    /// The judge calls of the `llm_judge` scorers that judged this output (none for other
    /// scorers; absent from older lines, which read and hash as they did).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub judge_calls: Vec<JudgeCall>,
}

impl CallRecord {
    /// Passed when the call succeeded and every scorer that judged it passed. The one
    /// definition: the gate's samples and every report use it.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.scores.iter().all(|(_, s)| s.passed)
    }

    /// An answered call records the sha256 of its output; a failed one records none. A
    /// line whose output no longer matches its hash was edited after the call.
    pub fn check_response_hash(&self) -> std::result::Result<(), String> {
        match (&self.response_hash, &self.error) {
            (Some(hash), None) if *hash == crate::digest::sha256_id(self.output.as_bytes()) => {
                Ok(())
            }
            (Some(hash), None) => Err(format!(
                "case {:?} repeat {}: the output does not match its response_hash {}: the line was altered after the call",
                self.case_id, self.repeat, hash
            )),
            (None, Some(_)) => Ok(()),
            (None, None) => Err(format!(
                "case {:?} repeat {}: an answered call without a response_hash: the line was altered after the call",
                self.case_id, self.repeat
            )),
            (Some(_), Some(_)) => Err(format!(
                "case {:?} repeat {}: a failed call with a response_hash: the line was altered after the call",
                self.case_id, self.repeat
            )),
        }?;
        for judge in &self.judge_calls {
            judge.check_answer_hash().map_err(|e| {
                format!(
                    "case {:?} repeat {}: {e}: the line was altered after the call",
                    self.case_id, self.repeat
                )
            })?;
        }
        Ok(())
    }

    /// Why this (case, repeat) counts against the error budget: its call failed for good,
    /// or one of its judge calls did.
    pub fn call_failure(&self) -> Option<String> {
        self.error.clone().or_else(|| {
            self.judge_calls.iter().find_map(|j| {
                j.error
                    .as_ref()
                    .map(|e| format!("judge call of {:?} failed: {e}", j.scorer))
            })
        })
    }

    pub fn score(&self, name: &str) -> Option<&Score> {
        self.scores.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// Why it failed, one reason per line: `call failed: ...`, or `scorer: reason` for
    /// each failing scorer. The one wording: report.json and every report use it.
    pub fn reasons(&self) -> Vec<String> {
        match &self.error {
            Some(error) => vec![format!("call failed: {error}")],
            None => self
                .scores
                .iter()
                .filter(|(_, s)| !s.passed)
                .map(|(name, s)| format!("{name}: {}", s.reason))
                .collect(),
        }
    }
}

fn serialize_scores<S: serde::Serializer>(
    scores: &[(String, Score)],
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_map(scores.iter().map(|(name, score)| (name, score)))
}

fn deserialize_scores<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<(String, Score)>, D::Error> {
    struct Ordered;
    impl<'de> Visitor<'de> for Ordered {
        type Value = Vec<(String, Score)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of scores keyed by scorer name")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut scores = Vec::with_capacity(map.size_hint().unwrap_or(4));
            while let Some((name, score)) = map.next_entry::<String, Score>()? {
                scores.push((name, score));
            }
            Ok(scores)
        }
    }
    deserializer.deserialize_map(Ordered)
}

/// Appends lines to a run's calls.jsonl.
pub struct CallWriter {
    path: PathBuf,
    out: BufWriter<File>,
    buffer: Vec<u8>,
}

impl CallWriter {
    /// Opens the run's log for appending (creating it for a new run).
    pub fn open(run_dir: &Path) -> Result<CallWriter> {
        let path = run_dir.join(FILE_NAME);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::write_failed(&path, &e))?;
        Ok(CallWriter {
            path,
            out: BufWriter::with_capacity(256 * 1024, file),
            buffer: Vec::with_capacity(4096),
        })
    }

    pub fn append(&mut self, record: &CallRecord) -> Result<()> {
        self.buffer.clear();
        serde_json::to_writer(&mut self.buffer, record).expect("call lines serialize");
        self.buffer.push(b'\n');
        self.out
            .write_all(&self.buffer)
            .map_err(|e| Error::write_failed(&self.path, &e))
    }

    /// Pushes buffered lines to the file. The runner calls this whenever no further result
    /// is waiting, so a slow run flushes every line and a fast one batches them.
    pub fn flush(&mut self) -> Result<()> {
        self.out
            .flush()
            .map_err(|e| Error::write_failed(&self.path, &e))
    }
}

/// What the reader does with a last line cut short by a crash (no newline at its end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// A torn last line is an error: the run is read as it is, never changed (a finished
    /// run, read by gate, compare, merge, report or promote).
    Strict,
    /// A torn last line is cut from the file and its call is owed again (resuming a run).
    RepairTornTail,
}

/// Reads calls.jsonl line by line, so memory stays bounded by one line. Every complete line
/// must be a call record; a missing file is an empty log.
pub struct CallReader {
    path: PathBuf,
    reader: Option<BufReader<File>>,
    mode: ReadMode,
    line: Vec<u8>,
    line_no: usize,
    good_bytes: u64,
    repaired: Option<usize>,
}

impl CallReader {
    pub fn open(run_dir: &Path, mode: ReadMode) -> Result<CallReader> {
        let path = run_dir.join(FILE_NAME);
        let reader = match path.try_exists() {
            Ok(false) => None,
            _ => Some(BufReader::with_capacity(
                256 * 1024,
                crate::error::open_regular(&path)?,
            )),
        };
        Ok(CallReader {
            path,
            reader,
            mode,
            line: Vec::new(),
            line_no: 0,
            good_bytes: 0,
            repaired: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the line read last stands, for errors about its content.
    pub fn location(&self) -> Location {
        Location::line(&self.path, self.line_no)
    }

    /// The line number of a torn last line that was cut off (RepairTornTail only).
    pub fn repaired(&self) -> Option<usize> {
        self.repaired
    }

    /// The next record and its line number, or None at the end.
    pub fn next_record(&mut self) -> Result<Option<(usize, CallRecord)>> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(None);
        };
        self.line.clear();
        let read = reader
            .take(crate::error::MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut self.line)
            .map_err(|e| Error::unreadable(&self.path, &e))?;
        if read == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        if read as u64 > crate::error::MAX_LINE_BYTES {
            return Err(Error::input(
                self.location(),
                format!(
                    "the line is longer than {} MiB: not a line promptgate wrote",
                    crate::error::MAX_LINE_BYTES / (1024 * 1024)
                ),
            ));
        }
        if !self.line.ends_with(b"\n") {
            // The last line of a killed run. (A whole line that does not parse was written
            // by someone else: an error below, never "repaired".)
            self.reader = None;
            return match self.mode {
                ReadMode::Strict => Err(Error::input(
                    self.location(),
                    "the last line is incomplete: finish the run with `promptgate run --resume`",
                )),
                ReadMode::RepairTornTail => {
                    OpenOptions::new()
                        .write(true)
                        .open(&self.path)
                        .and_then(|f| f.set_len(self.good_bytes))
                        .map_err(|e| Error::write_failed(&self.path, &e))?;
                    self.repaired = Some(self.line_no);
                    Ok(None)
                }
            };
        }
        let record = serde_json::from_slice::<CallRecord>(&self.line)
            .map_err(|e| Error::input(self.location(), format!("not a calls.jsonl line: {e}")))?;
        record
            .check_response_hash()
            .map_err(|e| Error::input(self.location(), e))?;
        self.good_bytes += read as u64;
        Ok(Some((self.line_no, record)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(case_id: &str, repeat: u32) -> CallRecord {
        CallRecord {
            ts: "2026-01-01T00:00:00.000Z".into(),
            run_id: "r".into(),
            case_id: case_id.into(),
            repeat,
            prompt_id: "p".into(),
            prompt_version: "sha256:00".into(),
            model: "m".into(),
            response_hash: Some(crate::digest::sha256_id(b"out \"quoted\"\n")),
            latency_ms: 3,
            tokens_in: None,
            tokens_out: Some(2),
            attempts: 1,
            cached: false,
            error: None,
            output: "out \"quoted\"\n".into(),
            scores: vec![
                ("b".into(), Score::pass("ok")),
                ("a".into(), Score::fail("no")),
            ],
            judge_calls: Vec::new(),
        }
    }

    fn read_all(dir: &Path, mode: ReadMode) -> (Result<Vec<CallRecord>>, Option<usize>) {
        let mut reader = CallReader::open(dir, mode).unwrap();
        let mut records = Vec::new();
        loop {
            match reader.next_record() {
                Ok(Some((_, r))) => records.push(r),
                Ok(None) => return (Ok(records), reader.repaired()),
                Err(e) => return (Err(e), reader.repaired()),
            }
        }
    }

    #[test]
    fn written_records_read_back_equal_with_scores_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = CallWriter::open(dir.path()).unwrap();
        let written = [record("a", 0), record("b", 1)];
        for r in &written {
            writer.append(r).unwrap();
        }
        writer.flush().unwrap();
        let (read, repaired) = read_all(dir.path(), ReadMode::Strict);
        assert_eq!(read.unwrap(), written);
        assert_eq!(repaired, None);
        assert!(!written[0].passed());
        assert_eq!(written[0].reasons(), ["a: no"]);
    }

    #[test]
    fn an_output_that_does_not_match_its_hash_is_an_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = CallWriter::open(dir.path()).unwrap();
        writer.append(&record("a", 0)).unwrap();
        let mut edited = record("b", 0);
        edited.output = "forged".into();
        writer.append(&edited).unwrap();
        let mut unhashed = record("c", 0);
        unhashed.response_hash = None;
        writer.append(&unhashed).unwrap();
        writer.flush().unwrap();
        let (read, _) = read_all(dir.path(), ReadMode::Strict);
        let err = read.unwrap_err().to_string();
        assert!(
            err.contains("calls.jsonl:2") && err.contains("altered"),
            "{err}"
        );
        let mut failed = record("d", 0);
        failed.response_hash = None;
        failed.error = Some("timeout".into());
        assert_eq!(failed.check_response_hash(), Ok(()));
        assert!(unhashed.check_response_hash().is_err());
    }

    #[test]
    fn a_torn_tail_is_an_error_when_strict_and_cut_when_repairing() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = CallWriter::open(dir.path()).unwrap();
        writer.append(&record("a", 0)).unwrap();
        writer.flush().unwrap();
        let path = dir.path().join(FILE_NAME);
        let whole = std::fs::read(&path).unwrap();
        let mut torn = whole.clone();
        torn.extend_from_slice(br#"{"ts": "2026"#);
        std::fs::write(&path, &torn).unwrap();

        let (read, _) = read_all(dir.path(), ReadMode::Strict);
        let err = read.unwrap_err().to_string();
        assert!(
            err.contains("calls.jsonl:2") && err.contains("incomplete"),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            torn,
            "strict never changes the file"
        );

        let (read, repaired) = read_all(dir.path(), ReadMode::RepairTornTail);
        assert_eq!(read.unwrap().len(), 1);
        assert_eq!(repaired, Some(2));
        assert_eq!(std::fs::read(&path).unwrap(), whole);
    }

    #[test]
    fn a_whole_bad_line_is_an_error_in_both_modes() {
        for mode in [ReadMode::Strict, ReadMode::RepairTornTail] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(FILE_NAME), "{\"ts\": 1}\n").unwrap();
            let (read, repaired) = read_all(dir.path(), mode);
            let err = read.unwrap_err().to_string();
            assert!(
                err.contains("calls.jsonl:1: not a calls.jsonl line"),
                "{err}"
            );
            assert_eq!(repaired, None);
        }
    }

    #[test]
    fn a_missing_log_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let (read, _) = read_all(dir.path(), ReadMode::Strict);
        assert!(read.unwrap().is_empty());
    }
}
