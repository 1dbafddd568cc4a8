#!/usr/bin/env bash
# Reports read by real consumers: the demo's JUnit validates against the Jenkins xunit
# schema (xmllint) and Python's junitparser counts the same tests and failures as
# report.json; the CSV parses with Python's csv module into one row per (case, repeat).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${PROMPTGATE_BIN:-target/debug/promptgate}"
schema="../shared/schemas/junit/junit-10-loose.xsd"
venv="${TMPDIR:-/tmp}/promptgate-ci-junitparser"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import junitparser' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'junitparser==3.2.0'
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
passed=0
failed=0
for version in v1 v2; do
  set +e
  "$bin" run --prompt "prompts/support-$version.toml" --criteria criteria/support.toml \
    --no-progress --out "$out/runs-$version" \
    --report "junit=$out/$version.xml" --report "csv=$out/$version.csv" > /dev/null
  set -e
  xmllint --noout --schema "$schema" "$out/$version.xml"
  run_dir=$(ls -d "$out/runs-$version"/*)
  if "$venv/bin/python" - "$out/$version.xml" "$run_dir/report.json" "$out/$version.csv" <<'PY'
import csv, json, sys
from junitparser import JUnitXml
xml = JUnitXml.fromfile(sys.argv[1])
report = json.load(open(sys.argv[2]))
suites = list(xml)
cases = suites[0]
summary = report["summary"]
problems = []
if cases.tests != summary["samples"]:
    problems.append(f"tests {cases.tests} != samples {summary['samples']}")
if cases.failures + cases.errors != summary["failed"]:
    problems.append(f"failures {cases.failures}+{cases.errors} != failed {summary['failed']}")
rows = list(csv.DictReader(open(sys.argv[3], newline="")))
if len(rows) != summary["samples"]:
    problems.append(f"csv rows {len(rows)} != samples {summary['samples']}")
if sum(r["passed"] == "true" for r in rows) != summary["passed"]:
    problems.append("csv passed column disagrees with report.json")
print(f"{sys.argv[1]}: {cases.tests} tests, {cases.failures} failures, {len(rows)} csv rows", "; ".join(problems))
sys.exit(1 if problems else 0)
PY
  then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "check-reports: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
