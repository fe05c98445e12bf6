#!/usr/bin/env bash
# Every check and every test, under Deno, Bun and Node, with the pinned runtimes from node_modules.
# Ends with one line: "N passed, N failed" (each check counts as one; Deno counts tests and their steps;
# Node's cancelled tests count as failed).
set -u
cd "$(dirname "$0")/.."
source scripts/with_runtimes.sh
export NO_COLOR=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed=0
failed=0
# What failed, said again just before the count: CI shows a long log's head and tail only.
recap=()
# The most one runtime's test run may take (CI stops a run at 90 minutes): past it, that run fails.
RUN_LIMIT=1500

# A check passes or fails as a whole; its output is shown only when it fails.
check() {
  local label=$1
  shift
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "ok   $label"
  else
    failed=$((failed + 1))
    echo "FAIL $label"
    tail -n 60 "$log"
    recap+=("FAIL $label" "$(tail -n 8 "$log" | sed 's/^/  /')")
  fi
}

check "deno fmt --check" deno fmt --check
check "deno lint" deno lint
check "deno check" deno check mod.ts tests/ examples/ bench/
check "deno doc --lint mod.ts" deno doc --lint mod.ts
check "deno test --doc mod.ts src/ (every @example runs)" deno test --allow-all --doc mod.ts src/
check "deno publish --dry-run" deno publish --dry-run --allow-dirty
check "every benchmark runs (bench --quick)" deno run --allow-all bench/main.ts --quick

# The same test files under each runtime; counts are read from each runner's summary line.
echo "== deno test"
timeout "$RUN_LIMIT" deno test --allow-all tests/ 2>&1 | tee "$log"
summary=$(grep -E '^(ok|FAILED) \| ' "$log" | tail -n 1)
if [ -z "$summary" ]; then
  echo "FAIL deno test printed no summary"
  recap+=("FAIL deno test printed no summary (timed out after $RUN_LIMIT s?)")
  failed=$((failed + 1))
else
  p=$(sed -nE 's/.*\| ([0-9]+) passed( \(([0-9]+) steps?\))?.*/\1 \3/p' <<<"$summary")
  f=$(sed -nE 's/.*\| ([0-9]+) failed( \(([0-9]+) steps?\))?.*/\1 \3/p' <<<"$summary")
  for n in $p; do passed=$((passed + n)); done
  df=0
  for n in $f; do df=$((df + n)); done
  failed=$((failed + df))
  [ "$df" -gt 0 ] && recap+=("FAIL deno test" "$(grep -E '^[^ ].* => ' "$log" | head -n 20 | sed 's/^/  /')")
fi

echo "== bun test"
timeout "$RUN_LIMIT" bun test tests/ 2>&1 | tee "$log"
bp=$(sed -nE 's/^ *([0-9]+) pass$/\1/p' "$log" | tail -n 1)
bf=$(sed -nE 's/^ *([0-9]+) fail$/\1/p' "$log" | tail -n 1)
if [ -z "$bp" ] || [ -z "$bf" ]; then
  echo "FAIL bun test printed no summary"
  recap+=("FAIL bun test printed no summary (timed out after $RUN_LIMIT s?)")
  failed=$((failed + 1))
else
  passed=$((passed + bp))
  failed=$((failed + bf))
  [ "$bf" -gt 0 ] && recap+=("FAIL bun test" "$(grep -E '^\(fail\)' "$log" | head -n 20 | sed 's/^/  /')")
fi

# Node: --experimental-ffi turns node:ffi on before Node 26.9 (on by default since), and its one
# ExperimentalWarning line per process is turned off; the test runner passes both to each file's process.
echo "== node --test"
# A test that hangs fails after 5 minutes instead of holding the run (node:test has no limit by default).
timeout "$RUN_LIMIT" node --experimental-ffi --disable-warning=ExperimentalWarning --test --test-timeout=300000 tests/ 2>&1 | tee "$log"
np=$(sed -nE 's/^ℹ pass ([0-9]+)$/\1/p' "$log" | tail -n 1)
nf=$(sed -nE 's/^ℹ fail ([0-9]+)$/\1/p' "$log" | tail -n 1)
nc=$(sed -nE 's/^ℹ cancelled ([0-9]+)$/\1/p' "$log" | tail -n 1)
if [ -z "$np" ] || [ -z "$nf" ] || [ -z "$nc" ]; then
  echo "FAIL node --test printed no summary"
  recap+=("FAIL node --test printed no summary (timed out after $RUN_LIMIT s?)")
  failed=$((failed + 1))
else
  passed=$((passed + np))
  failed=$((failed + nf + nc))
  [ $((nf + nc)) -gt 0 ] && recap+=("FAIL node --test" "$(grep -E '^✖ ' "$log" | sort -u | head -n 20 | sed 's/^/  /')")
fi

if [ "${#recap[@]}" -gt 0 ]; then
  echo "== what failed"
  printf '%s\n' "${recap[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
