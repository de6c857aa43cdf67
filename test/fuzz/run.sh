#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets with Debian's clang-14 in build/fuzz and runs each for
# FUZZ_SECONDS (default 60), FUZZ_JOBS at a time (default: the number of cores). New inputs go to
# build/fuzz/corpus/<target>/ (the seeds in test/fuzz/corpus/<target>/ are read, never written); a crash
# leaves its reproducer in build/fuzz/crashes/ and makes the run exit 1. Prints executions per target.
#   make fuzz FUZZ_SECONDS=600 FUZZ_TARGETS="sse http_response"
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-$(nproc)}
out=$root/build/fuzz
all_targets=$(sed -n '/^set(RAYDOG_FUZZ_TARGETS/,/)/p' test/fuzz/CMakeLists.txt | tr -d '()' | sed 's/set//; s/RAYDOG_FUZZ_TARGETS//' | xargs)
targets=${FUZZ_TARGETS:-$all_targets}

bash scripts/install-deps.sh --fuzz
CXX=clang++-14 cmake -S . -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRAYDOG_FUZZ=ON \
  -DRAYDOG_TESTS=OFF -DRAYDOG_BIN_DIR="$out/bin" >/dev/null
cmake --build "$out" -j "$(nproc)" --target fuzz_all

rm -rf "$out/crashes" "$out/logs"  # reproducers of an earlier run would be reported again
mkdir -p "$out/logs" "$out/crashes"
run_one() {
  local t=$1 out=$2 seconds=$3 root=$4
  mkdir -p "$out/corpus/$t"
  # -print_final_stats gives stat::number_of_executed_units; -timeout flags an input slower than 10 s.
  "$out/bin/fuzz_$t" "$out/corpus/$t" "$root/test/fuzz/corpus/$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" >"$out/logs/$t.log" 2>&1
  echo $? >"$out/logs/$t.rc"
}
export -f run_one
echo "fuzz: $seconds s per target, $jobs at a time: $targets"
printf '%s\n' $targets | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$out" "$seconds" "$root"

failed=0 total=0
printf '%-16s %12s %8s %s\n' target executions corpus result
for t in $targets; do
  rc=$(cat "$out/logs/$t.rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/logs/$t.log" | tail -1)
  execs=${execs:-0}
  total=$((total + execs))
  corpus=$(find "$out/corpus/$t" "$root/test/fuzz/corpus/$t" -type f | wc -l)
  if [ "$rc" = 0 ]; then result=ok; else
    result="CRASH (exit $rc): $(ls "$out/crashes/$t-"* 2>/dev/null | head -1) (log: $out/logs/$t.log)"
    failed=1
  fi
  printf '%-16s %12s %8s %s\n' "$t" "$execs" "$corpus" "$result"
done
echo "fuzz: $total executions in total"
if [ "$failed" = 1 ]; then
  echo "fuzz: replay a reproducer with build/fuzz/bin/fuzz_<target> FILE; add it to test/fuzz/corpus/<target>/" \
       "and a unit test for the fix" >&2
fi
exit "$failed"
