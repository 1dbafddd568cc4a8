#!/usr/bin/env bash
# `promptgate export flagd` validates against OpenFeature flagd's own schema
# (../shared/schemas/flagd/flags.json, which refers to targeting.json) with Python's
# jsonschema, both files registered under flagd's base URL through a referencing Registry.
# The upstream positive and negative examples are checked first, so a validator that
# accepted anything would fail here.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin="${PROMPTGATE_BIN:-$root/target/debug/promptgate}"
schemas="$root/../shared/schemas/flagd"
venv="${TMPDIR:-/tmp}/promptgate-ci-jsonschema"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import jsonschema, referencing' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'jsonschema==4.23.0' 'referencing==0.35.1'
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r prompts criteria golden promptgate.toml "$work/"
cd "$work"

# v1 live everywhere; a passing edit of it (max_tokens) live in dev and staging, approved for
# prod and recorded as prod's canary (`promptgate canary`), which the export renders.
"$bin" run --prompt prompts/support-v1.toml --criteria criteria/support.toml --no-progress --out runs/v1 > /dev/null
# The demo prompt is sensitive: prod needs an approver other than the promoter.
"$bin" approve prompts/support-v1.toml --env prod --actor reviewer@example.com > /dev/null
for env in dev staging prod; do
  "$bin" promote prompts/support-v1.toml --to "$env" --evidence runs/v1/* --actor ci@example.com > /dev/null
done
sed 's/^max_tokens = 300$/max_tokens = 301/' prompts/support-v1.toml > prompts/support-v1b.toml
"$bin" run --prompt prompts/support-v1b.toml --criteria criteria/support.toml --no-progress --out runs/v1b > /dev/null
for env in dev staging; do
  "$bin" promote prompts/support-v1b.toml --to "$env" --evidence runs/v1b/* --actor ci@example.com > /dev/null
done

"$bin" export flagd > prod.json
"$bin" export flagd --env dev -o dev.json 2> /dev/null
"$bin" approve prompts/support-v1b.toml --env prod --actor reviewer@example.com > /dev/null
"$bin" canary prompts/support-v1b.toml --env prod --percent 10 --evidence runs/v1b/* --actor ci@example.com > /dev/null
"$bin" export flagd --env prod > canary.json

"$venv/bin/python" - "$schemas" prod.json dev.json canary.json <<'PY'
import json, pathlib, sys
from jsonschema import Draft7Validator
from referencing import Registry, Resource

schemas = pathlib.Path(sys.argv[1])
base = "https://flagd.dev/schema/v0/"
registry = Registry().with_resources(
    (base + name, Resource.from_contents(json.loads((schemas / name).read_text())))
    for name in ("flags.json", "targeting.json")
)
validator = Draft7Validator({"$ref": base + "flags.json"}, registry=registry)

problems = []
for example in sorted((schemas / "test" / "positive").glob("*.json")):
    doc = json.loads(example.read_text())
    if doc.get("$schema", "").endswith("flagd.json"):
        continue
    if list(validator.iter_errors(doc)):
        problems.append(f"upstream positive example rejected: {example.name}")
negatives = 0
for example in sorted((schemas / "test" / "negative").glob("*.json")):
    doc = json.loads(example.read_text())
    if doc.get("$schema", "").endswith("flagd.json"):
        continue
    negatives += 1
    if not list(validator.iter_errors(doc)):
        problems.append(f"upstream negative example accepted: {example.name}")

for path in sys.argv[2:]:
    doc = json.loads(pathlib.Path(path).read_text())
    for error in validator.iter_errors(doc):
        problems.append(f"{path}: {error.json_path}: {error.message}")
    flag = doc["flags"].get("support-assistant")
    if not flag or flag["defaultVariant"] not in flag["variants"]:
        problems.append(f"{path}: no support-assistant flag with its default among the variants")
    elif not {"messages", "model"} <= set(flag["variants"][flag["defaultVariant"]]):
        problems.append(f"{path}: the default variant lacks messages and model")
canary = json.loads(pathlib.Path("canary.json").read_text())["flags"]["support-assistant"]
if "fractional" not in canary.get("targeting", {}):
    problems.append("canary.json: no fractional targeting")

print(f"check-flagd: {len(sys.argv) - 2} exports validated, {negatives} negative examples rejected")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
PY
