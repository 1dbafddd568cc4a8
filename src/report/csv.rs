//! CSV for spreadsheets and notebooks, written with the csv crate (which quotes commas,
//! quotes and line breaks): one row per (case, repeat), in golden-set order.
//!
//! Columns: `id, repeat, tags, passed, error, reasons`, then `score_<name>, passed_<name>`
//! for each scorer (criteria order, then per-case assertions; empty where the scorer does
//! not apply to the case or the call failed), then `latency_ms, tokens_in, tokens_out,
//! cached, attempts, output`. Tags are `;`-separated, as in a CSV golden set. Booleans are
//! `true`/`false`; scores are written in full precision, so reading the file back gives the
//! same numbers.
//!
//! Text that came from outside (case ids, tags, errors, reasons, model outputs) is
//! untrusted: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return would run
//! as a formula when the file is opened in a spreadsheet (`=HYPERLINK(...)`), so, as OWASP
//! recommends against CSV injection, such a cell is written with a `'` in front. Strip one
//! leading `'` before such a character to get the exact text back.

use std::io::Write;

use super::view::RunView;

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// An untrusted text cell, defused against formula injection.
fn text(value: &str) -> String {
    if value.starts_with(FORMULA_STARTS) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

/// Writes the CSV to `out`.
pub fn write(view: &RunView, out: impl Write) -> std::io::Result<()> {
    let names = view.scorer_names();
    let mut writer = ::csv::Writer::from_writer(out);
    let mut header: Vec<String> = ["id", "repeat", "tags", "passed", "error", "reasons"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for name in &names {
        header.push(format!("score_{name}"));
        header.push(format!("passed_{name}"));
    }
    header.extend(
        [
            "latency_ms",
            "tokens_in",
            "tokens_out",
            "cached",
            "attempts",
            "output",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    writer.write_record(&header)?;

    let optional = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
    let mut row: Vec<String> = Vec::with_capacity(header.len());
    for call in &view.calls {
        row.clear();
        row.push(text(&call.case_id));
        row.push(call.repeat.to_string());
        row.push(text(&view.tags(&call.case_id).join(";")));
        row.push(call.passed().to_string());
        row.push(text(call.error.as_deref().unwrap_or_default()));
        row.push(if call.passed() {
            String::new()
        } else {
            text(&call.reasons().join("; "))
        });
        for name in &names {
            match call.score(name) {
                Some(score) => {
                    row.push(score.score.to_string());
                    row.push(score.passed.to_string());
                }
                None => {
                    row.push(String::new());
                    row.push(String::new());
                }
            }
        }
        row.push(call.latency_ms.to_string());
        row.push(optional(call.tokens_in));
        row.push(optional(call.tokens_out));
        row.push(call.cached.to_string());
        row.push(call.attempts.to_string());
        row.push(text(&call.output));
        writer.write_record(&row)?;
    }
    writer.flush()
}

/// The CSV as a string.
pub fn render(view: &RunView) -> String {
    let mut out = Vec::new();
    write(view, &mut out).expect("writing to memory does not fail");
    String::from_utf8(out).expect("the csv crate writes the UTF-8 it is given")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::view::tests::fixture;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!("csv", render(&fixture()));
    }

    #[test]
    fn cells_that_would_run_as_formulas_are_defused() {
        let mut view = fixture();
        for (call, output) in view.calls.iter_mut().zip([
            "plain = fine",
            "=HYPERLINK(\"http://evil.example/\",\"x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tcmd",
            "\rcmd",
        ]) {
            call.output = output.into();
        }
        let text = render(&view);
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let output = reader.headers().unwrap().iter().position(|h| h == "output");
        let outputs: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[output.unwrap()].to_string())
            .collect();
        for (written, call) in outputs.iter().zip(&view.calls) {
            if call.output.starts_with(FORMULA_STARTS) {
                assert_eq!(*written, format!("'{}", call.output));
            } else {
                assert_eq!(*written, call.output);
            }
        }
        assert_eq!(outputs[0], "plain = fine");
        assert_eq!(outputs[1], "'=HYPERLINK(\"http://evil.example/\",\"x\")");
        assert!(!text.contains(",=HYPERLINK") && !text.contains("\n=HYPERLINK"));
    }

    #[test]
    fn round_trips_through_the_csv_crate() {
        let mut view = fixture();
        // Metacharacters of every kind, and a score that needs all its digits.
        let safety = view
            .calls
            .iter_mut()
            .find(|c| c.case_id == "safety-001")
            .unwrap();
        safety.output = "a, \"quoted\"\nsecond line\r\nthird;\ttab, =1+1".into();
        safety.scores[1].1.score = 0.1 + 0.2;
        let text = render(&view);
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        let names = view.scorer_names();
        assert_eq!(names, ["no_flattery", "similarity", "length", "key_fact"]);
        assert_eq!(header.len(), 6 + 2 * names.len() + 6);
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), view.calls.len());
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        for (row, call) in rows.iter().zip(&view.calls) {
            assert_eq!(&row[col("id")], call.case_id);
            assert_eq!(row[col("repeat")].parse::<u32>().unwrap(), call.repeat);
            assert_eq!(row[col("tags")], view.tags(&call.case_id).join(";"));
            assert_eq!(row[col("passed")].parse::<bool>().unwrap(), call.passed());
            assert_eq!(&row[col("error")], call.error.as_deref().unwrap_or(""));
            assert_eq!(&row[col("output")], call.output);
            assert_eq!(
                row[col("latency_ms")].parse::<u64>().unwrap(),
                call.latency_ms
            );
            assert_eq!(row[col("tokens_in")].parse::<u64>().ok(), call.tokens_in);
            assert_eq!(row[col("tokens_out")].parse::<u64>().ok(), call.tokens_out);
            assert_eq!(row[col("cached")].parse::<bool>().unwrap(), call.cached);
            assert_eq!(row[col("attempts")].parse::<u32>().unwrap(), call.attempts);
            for name in &names {
                let score = &row[col(&format!("score_{name}"))];
                let passed = &row[col(&format!("passed_{name}"))];
                match call.score(name) {
                    Some(s) => {
                        assert_eq!(score.parse::<f64>().unwrap(), s.score);
                        assert_eq!(passed.parse::<bool>().unwrap(), s.passed);
                    }
                    None => assert!(score.is_empty() && passed.is_empty()),
                }
            }
        }
        let safety = rows.iter().find(|r| &r[col("id")] == "safety-001").unwrap();
        assert_eq!(&safety[col("score_similarity")], "0.30000000000000004");
        assert!(safety[col("reasons")].starts_with("no_flattery: contains"));
        assert_eq!(&safety[col("tags")], "safety;medical");
    }
}
