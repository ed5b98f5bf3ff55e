#!/usr/bin/env bash
# The baseline comparison can fail, and `check` never writes the baseline:
# on a one-scenario library (classroom) it writes a baseline with `update`,
# checks it passes, changes one value, and checks that `check` fails with the
# old / new / difference table and leaves the file as it was.
# Usage: baseline_tool.sh SCHOOLSIM_BASELINE SOURCE_DIR
set -euo pipefail
tool=$1 src=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/scenarios"
cp "$src/scenarios/classroom.yaml" "$dir/scenarios/"
b="$dir/baseline.json"

fail() { echo "baseline_tool: FAIL: $*" >&2; exit 1; }

# check without a baseline file is bad input (exit 2) and writes nothing
set +e; "$tool" check --baseline "$b" --scenarios "$dir/scenarios" >"$dir/out" 2>&1; rc=$?; set -e
[[ $rc -eq 2 && ! -e "$b" ]] || fail "check without a baseline: exit $rc (expected 2, nothing written)"

"$tool" update --baseline "$b" --scenarios "$dir/scenarios" >"$dir/out" 2>&1 || fail "update: $(cat "$dir/out")"
grep -q '"classroom"' "$b" || fail "the baseline has no classroom entry"
grep -q '"mean_attainment.end"' "$b" || fail "the baseline has no mean_attainment.end"
"$tool" check --baseline "$b" --scenarios "$dir/scenarios" >"$dir/out" 2>&1 || fail "check right after update: $(cat "$dir/out")"
grep -q "values match" "$dir/out" || fail "check did not report a match"

# change one value by a relative 1e-6 (above the 1e-9 tolerance) and add one the run does not
# produce: check must fail with the table, listing those two and nothing else
python3 - "$b" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
v = d["scenarios"]["classroom"]["mean_attainment.end"]
d["scenarios"]["classroom"]["mean_attainment.end"] = v * (1 + 1e-6) + 1e-6
d["scenarios"]["classroom"]["dropped.value"] = 1.0
# and one by a relative 1e-11, within the tolerance: not a difference
d["scenarios"]["classroom"]["mean_capacity.end"] *= 1 + 1e-11
json.dump(d, open(p, "w"), indent=2)
PY
before=$(sha256sum "$b")
set +e; "$tool" check --baseline "$b" --scenarios "$dir/scenarios" >"$dir/out" 2>&1; rc=$?; set -e
cat "$dir/out"
[[ $rc -eq 1 ]] || fail "check of a changed baseline: exit $rc (expected 1)"
grep -qE '^scenario +measure +old +new +diff +rel_diff' "$dir/out" || fail "no old / new / difference table"
grep -qE '^classroom +mean_attainment\.end ' "$dir/out" || fail "the changed value is not in the table"
grep -qE '^classroom +dropped\.value +1 +\(absent\)' "$dir/out" || fail "a value missing from the new run is not in the table"
[[ $(grep -c '^classroom ' "$dir/out") -eq 2 ]] || fail "values within the tolerance are listed as differences"
[[ "$(sha256sum "$b")" == "$before" ]] || fail "check rewrote the baseline file"

# update restores it and prints the table of what it changed
"$tool" update --baseline "$b" --scenarios "$dir/scenarios" >"$dir/out" 2>&1 || fail "second update"
grep -qE '^classroom +mean_attainment\.end ' "$dir/out" || fail "update did not print the old / new table"
grep -qE '^classroom +mean_capacity\.end ' "$dir/out" && fail "update listed a change within the tolerance"
"$tool" check --baseline "$b" --scenarios "$dir/scenarios" >/dev/null 2>&1 || fail "check after the second update"
echo "baseline_tool: ok"
