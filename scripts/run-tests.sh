#!/usr/bin/env bash
# scripts/run-tests.sh — run every test suite in each build variant and print
# one closing line "tests: N passed, N failed".
#   USJ_VARIANTS="rel asan" (default both)   which builds to run
# Criterion suites are build/<variant>/tests/test_*; shell suites are
# tests/sh/*.sh (each counts as one test, passing when it exits 0).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${USJ_BUILD:-build}; case $build in /*) ;; *) build="$root/$build";; esac
bindir=${USJ_BIN:-bin}; case $bindir in /*) ;; *) bindir="$root/$bindir";; esac
variants=${USJ_VARIANTS:-rel asan}
passed=0; failed=0; failures=()
export USJ_TEST_ROOT="$root"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for v in $variants; do
  if [ "$v" = rel ]; then export USJ_TEST_BIN="$bindir"; else export USJ_TEST_BIN="$build/$v/bin"; fi
  export USJ_TEST_VARIANT=$v
  for t in "$@"; do
    exe="$build/$v/tests/$t"
    [ -x "$exe" ] || { echo "[$v] $t: not built"; failed=$((failed+1)); failures+=("$v/$t"); continue; }
    log=$(mktemp)
    timeout 900 "$exe" --jobs 2 >"$log" 2>&1
    rc=$?
    syn=$(grep -a 'Synthesis:' "$log" | tail -1)
    p=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$syn"); p=${p:-0}
    f=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<<"$syn"); f=${f:-0}
    c=$(sed -n 's/.*Crashing: \([0-9]*\).*/\1/p' <<<"$syn"); c=${c:-0}
    if [ $rc -ne 0 ] && [ $((f + c)) -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f + c))
    if [ $rc -ne 0 ] || [ $((f + c)) -ne 0 ]; then
      failures+=("$v/$t"); echo "[$v] $t: FAILED (exit $rc)"; sed 's/^/    /' "$log" | tail -60
    else
      echo "[$v] $t: $p passed"
    fi
    rm -f "$log"
  done
  if [ "$v" = rel ]; then
    for s in tests/sh/*.sh; do
      [ -e "$s" ] || continue
      log=$(mktemp)
      if timeout 900 bash "$s" >"$log" 2>&1; then
        passed=$((passed+1)); echo "[sh] $(basename "$s"): passed"
      else
        failed=$((failed+1)); failures+=("sh/$(basename "$s")")
        echo "[sh] $(basename "$s"): FAILED"; sed 's/^/    /' "$log" | tail -60
      fi
      rm -f "$log"
    done
  fi
done
[ ${#failures[@]} -gt 0 ] && echo "failed suites: ${failures[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
