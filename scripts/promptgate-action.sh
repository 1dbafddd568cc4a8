#!/usr/bin/env bash
# The shell logic of promptgate's GitHub Action (action.yml at the repository root). It lives
# in a file, not inline in action.yml, so that CI can run it directly: .ci/lint-actions.sh runs
# `gate` against the demo with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY pointed at temp files.
#
#   promptgate-action.sh cache-key   the actions/cache key and paths, as step outputs
#   promptgate-action.sh install     cargo install promptgate from this repository
#   promptgate-action.sh gate        run the gate (or, with a baseline, the comparison),
#                                    set the outputs, exit with promptgate's exit code
#
# Inputs arrive as environment variables, never interpolated into a script:
#   PG_PROMPT, PG_CRITERIA, PG_BASELINE, PG_BACKEND, PG_ARGS   the action's inputs
#   PROMPTGATE_BIN     the promptgate binary (default: promptgate on PATH)
#   PG_CACHE_HIT       "true" when actions/cache restored this exact key (install)
# Outputs go to $GITHUB_OUTPUT (to stdout when it is unset, for local use).
#
# Portable to the bash 3.2 of macOS runners: no mapfile, no associative arrays, and every
# possibly empty array is expanded as ${a[@]+"${a[@]}"}.
set -uo pipefail

action_path=${GITHUB_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# set_output NAME VALUE: one step output, in GitHub's file-command format.
set_output() {
  local target=${GITHUB_OUTPUT:-/dev/stdout}
  case $2 in
    *$'\n'*)
      local delim="promptgate_$RANDOM$RANDOM$RANDOM"
      printf '%s<<%s\n%s\n%s\n' "$1" "$delim" "$2" "$delim" >> "$target" ;;
    *) printf '%s=%s\n' "$1" "$2" >> "$target" ;;
  esac
}

sha256_stdin() {
  if command -v sha256sum > /dev/null 2>&1; then sha256sum; else shasum -a 256; fi | cut -c1-64
}

cache_dir() {
  printf '%s\n' "${PROMPTGATE_ACTION_CACHE:-$HOME/.cache/promptgate-action}"
}

# ---------------------------------------------------------------------------- cache-key
# The key names the toolchain, Cargo.lock and the sources, so an exact hit holds a binary
# built from exactly these sources; the restore keys fall back to the same Cargo.lock (or
# toolchain) so a source change rebuilds only promptgate itself, not its dependencies.
cmd_cache_key() {
  local os=${RUNNER_OS:-$(uname -s)} arch=${RUNNER_ARCH:-$(uname -m)}
  local toolchain lock sources prefix
  toolchain=$( { rustc -vV 2>/dev/null || echo "no rustc"; } | sha256_stdin | cut -c1-12)
  lock=$(sha256_stdin < "$action_path/Cargo.lock" | cut -c1-16)
  sources=$(cd "$action_path" && find Cargo.toml Cargo.lock src -type f 2>/dev/null | LC_ALL=C sort |
    while IFS= read -r file; do printf '%s\n' "$file"; cat "$file"; done | sha256_stdin | cut -c1-16)
  prefix="promptgate-action-$os-$arch-$toolchain-"
  set_output key "$prefix$lock-$sources"
  set_output restore-key "$prefix$lock-"
  set_output dir "$(cache_dir)"
  set_output cargo-home "${CARGO_HOME:-$HOME/.cargo}"
}

# ------------------------------------------------------------------------------ install
cmd_install() {
  local dir bin
  dir=$(cache_dir)
  bin="$dir/install/bin/promptgate"
  if [ "${PG_CACHE_HIT:-}" = true ] && "$bin" --version > /dev/null 2>&1; then
    echo "promptgate: $("$bin" --version) restored from the cache, built from these exact sources"
  else
    if ! command -v cargo > /dev/null 2>&1; then
      echo "::error title=promptgate action::cargo is not on PATH; add a Rust toolchain step (for example dtolnay/rust-toolchain) before this action"
      exit 3
    fi
    echo "::group::cargo install --locked --path $action_path"
    CARGO_TARGET_DIR="$dir/target" cargo install --locked --path "$action_path" --root "$dir/install"
    local status=$?
    echo "::endgroup::"
    if [ "$status" -ne 0 ]; then
      echo "::error title=promptgate action::cargo install failed (exit $status); see the log above"
      exit 3
    fi
    "$bin" --version
  fi
  if [ -n "${GITHUB_PATH:-}" ]; then
    printf '%s\n' "$dir/install/bin" >> "$GITHUB_PATH"
  fi
  set_output bin "$bin"
}

# --------------------------------------------------------------------------------- gate
verdict_for() {
  case $1 in
    0) echo pass ;;
    1) echo fail ;;
    *) echo error ;;
  esac
}

# finish CODE RUN_DIR MD HTML JSON: set every output, then exit with CODE.
finish() {
  set_output verdict "$(verdict_for "$1")"
  set_output exit-code "$1"
  set_output run-dir "$2"
  set_output report-md "$3"
  set_output report-html "$4"
  set_output report-json "$5"
  echo "promptgate action: verdict $(verdict_for "$1"), exit code $1"
  exit "$1"
}

# An input the action cannot use: exit 2, like promptgate's own input errors.
input_error() {
  echo "::error title=promptgate action::$1"
  finish 2 "" "" "" ""
}

absolute() {
  case $1 in
    "") ;;
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$PWD/${1#./}" ;;
  esac
}

# existing PATH: PATH when that file exists, else nothing.
existing() {
  if [ -n "$1" ] && [ -f "$1" ]; then absolute "$1"; fi
}

# help_mentions SUBCOMMAND FLAG WORD: the --help paragraph of FLAG names WORD (so this
# promptgate's FLAG accepts it); false when the flag is unknown.
# (No `grep -q` at the end of a pipe: under pipefail the writer's SIGPIPE would turn a
# match into a failure.)
help_mentions() {
  local section
  section=$("$bin" "$1" --help 2>/dev/null | awk -v flag="$2" '
    BEGIN { start = "^[ \t]*(-[A-Za-z], )?" flag "([ \t=<,]|$)" }
    !on && $0 ~ start { on = 1 }
    on && /^[ \t]*$/ { exit }
    on { print }')
  grep -w -- "$3" <<< "$section" > /dev/null
}

has_subcommand() {
  "$bin" "$1" --help > /dev/null 2>&1
}

# has_flag FLAG: the user's args already hold FLAG (as FLAG or FLAG=VALUE).
has_flag() {
  local a
  for a in ${extra[@]+"${extra[@]}"}; do
    case $a in "$1" | "$1"=*) return 0 ;; esac
  done
  return 1
}

# `args` is split into words the way xargs splits them: on blanks, with '...', "..." and
# backslash quoting, and without running a shell (no expansion, no command substitution).
parse_args() {
  extra=()
  case ${PG_ARGS:-} in *[![:space:]]*) ;; *) return 0 ;; esac
  local words err arg
  words=$(mktemp) err=$(mktemp)
  if ! printf '%s\n' "$PG_ARGS" | xargs printf '%s\0' > "$words" 2> "$err"; then
    input_error "input 'args' cannot be split into words: $(tr '\n' ' ' < "$err")"
  fi
  while IFS= read -r -d '' arg; do extra+=("$arg"); done < "$words"
  rm -f "$words" "$err"
}

# render RUN_DIR FORMAT EXT: sets `rendered` to RUN_DIR/report.EXT when that file exists,
# after writing it with `promptgate report` when it is missing and this promptgate has the
# command. (A variable, not $(...): the ::warning must reach the log, not a capture.)
render() {
  local file="$1/report.$3"
  if [ ! -f "$file" ] && [ "$have_report_cmd" = yes ]; then
    "$bin" report "$1" --format "$2" -o "$file" > /dev/null ||
      echo "::warning title=promptgate action::could not render the $2 report of $1"
  fi
  rendered=$(existing "$file")
}

# json_candidate_run_dir FILE: candidate.run_dir of a comparison JSON.
json_candidate_run_dir() {
  if [ -z "${PROMPTGATE_ACTION_NO_PYTHON:-}" ] && command -v python3 > /dev/null 2>&1; then
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1], encoding="utf-8"))["candidate"]["run_dir"])' "$1" 2>/dev/null
  else
    # serde_json's pretty printing: the first "run_dir" after the "candidate" key.
    awk '/^  "candidate": \{/ { on = 1 }
         on && /"run_dir":/ { sub(/^[^:]*: *"/, ""); sub(/",?[ \t\r]*$/, "");
                              gsub(/\\\//, "/"); gsub(/\\\\/, "\\"); print; exit }' "$1"
  fi
}

# Appends the Markdown report to the job summary unless promptgate already put it there;
# stays under GitHub's 1 MiB cap for one step's summary.
summarize() {
  local md=$1 summary=${GITHUB_STEP_SUMMARY:-}
  [ -n "$summary" ] && [ -n "$md" ] && [ -f "$md" ] || return 0
  local first now budget
  first=$(sed -n '/[^[:space:]]/{p;q;}' "$md")
  if [ -f "$summary" ] && tail -c "+$((summary_before + 1))" "$summary" | grep -F -- "$first" > /dev/null; then
    return 0
  fi
  now=0
  if [ -f "$summary" ]; then now=$(wc -c < "$summary" | tr -d ' '); fi
  budget=$((1000 * 1024 - now - 200))
  if [ "$(wc -c < "$md" | tr -d ' ')" -le "$budget" ]; then
    cat "$md" >> "$summary"
  elif [ "$budget" -gt 0 ]; then
    # Cut at a line boundary, then say so.
    head -c "$budget" "$md" | sed '$d' >> "$summary"
    printf '\n\n_The report was trimmed to fit the job summary; the full report is %s._\n' \
      "$(basename "$md")" >> "$summary"
  fi
}

cmd_gate() {
  bin=${PROMPTGATE_BIN:-promptgate}
  local prompt=${PG_PROMPT:-} criteria=${PG_CRITERIA:-} baseline=${PG_BASELINE:-}
  local backend=${PG_BACKEND:-}

  if ! command -v "$bin" > /dev/null 2>&1; then
    echo "::error title=promptgate action::promptgate binary not found: $bin"
    finish 3 "" "" "" ""
  fi
  [ -n "$prompt" ] || input_error "input 'prompt' is empty"
  [ -n "$criteria" ] || input_error "input 'criteria' is empty"
  parse_args

  have_report_cmd=no
  if has_subcommand report; then have_report_cmd=yes; fi

  local common=(--criteria "$criteria")
  if [ -n "$backend" ] && ! has_flag --backend; then common+=(--backend "$backend"); fi
  if ! has_flag --no-progress; then common+=(--no-progress); fi

  summary_before=0
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$GITHUB_STEP_SUMMARY" ]; then
    summary_before=$(wc -c < "$GITHUB_STEP_SUMMARY" | tr -d ' ')
  fi

  local log code run_dir="" md="" html="" json=""
  log=$(mktemp)
  if [ -z "$baseline" ]; then
    local cmd=(run --prompt "$prompt" ${common[@]+"${common[@]}"})
    # Ask the run itself for the reports when it can write them (report.<ext> in its run
    # directory); `promptgate report` fills in any that are missing afterwards.
    if help_mentions run --report md; then cmd+=(--report md); fi
    if help_mentions run --report html; then cmd+=(--report html); fi
    cmd+=(${extra[@]+"${extra[@]}"})
    echo "promptgate ${cmd[*]}"
    "$bin" "${cmd[@]}" | tee "$log"
    code=${PIPESTATUS[0]}
    run_dir=$(sed -n 's/^run directory: //p' "$log" | tail -n 1)
    run_dir=$(absolute "$run_dir")
    if [ -n "$run_dir" ] && [ -d "$run_dir" ]; then
      render "$run_dir" md md && md=$rendered
      render "$run_dir" html html && html=$rendered
      render "$run_dir" json json && json=$rendered
    fi
  else
    local out
    out=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/promptgate-compare.XXXXXX")
    local cmd=(compare --baseline "$baseline" --candidate "$prompt" ${common[@]+"${common[@]}"}
      --report "json=$out/comparison.json" --report "md=$out/comparison.md")
    if help_mentions compare --report html; then cmd+=(--report "html=$out/comparison.html"); fi
    cmd+=(${extra[@]+"${extra[@]}"})
    echo "promptgate ${cmd[*]}"
    "$bin" "${cmd[@]}" | tee "$log"
    code=${PIPESTATUS[0]}
    md=$(existing "$out/comparison.md")
    json=$(existing "$out/comparison.json")
    html=$(existing "$out/comparison.html")
    if [ -n "$json" ]; then
      run_dir=$(absolute "$(json_candidate_run_dir "$json")")
    fi
    if [ -z "$html" ] && [ -n "$run_dir" ] && [ -d "$run_dir" ]; then
      # No HTML comparison from this promptgate: the candidate run's HTML report instead.
      render "$run_dir" html html && html=$rendered
    fi
  fi
  rm -f "$log"
  summarize "$md"
  finish "$code" "$run_dir" "$md" "$html" "$json"
}

case ${1:-} in
  cache-key) cmd_cache_key ;;
  install) cmd_install ;;
  gate) cmd_gate ;;
  *)
    echo "usage: $0 cache-key | install | gate" >&2
    exit 2 ;;
esac
