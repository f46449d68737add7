#!/usr/bin/env bash
# Builds every fuzz target once and runs each for a bounded time (CI step, and by hand).
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 20 s, all targets)
#
# Prints one line per target: `fuzz: <target> <execs> executions, 0 crashes`, or the crash file
# and the panic when a target fails; exits non-zero if any target crashed, timed out (an input
# slower than 10 s) or ran out of memory. New corpus entries go to the scratch corpus under the
# target dir, never into the committed seeds in tests/fuzz/corpus/.
#
# Environment:
#   FUZZ_SANITIZER   none (default: fastest build, still coverage-guided) or address (ASan)
#   FUZZ_JOBS        targets run at once (default 2, this machine's core count)
#   FUZZ_TARGET_DIR  cargo target dir (default target/fuzz; never the workspace's own target/)
# The fuzz crate needs nightly-only rustc flags; RUSTC_BOOTSTRAP=1 lets stable rustc take them.
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2
seconds=${1:-20}
shift $(($# > 0 ? 1 : 0))
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
fuzz_dir=tests/fuzz
sanitizer=${FUZZ_SANITIZER:-none}
jobs=${FUZZ_JOBS:-2}
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$repo/target/fuzz}
export RUSTC_BOOTSTRAP=1
work=$CARGO_TARGET_DIR/run-$sanitizer
bin_dir=$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release

if ! cargo fuzz --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

if (($# > 0)); then targets=("$@"); else mapfile -t targets < <(cargo fuzz list --fuzz-dir "$fuzz_dir"); fi
echo "fuzz: building ${#targets[@]} targets (sanitizer $sanitizer)"
build_start=$SECONDS
cargo fuzz build --fuzz-dir "$fuzz_dir" --sanitizer "$sanitizer"
echo "fuzz: build took $((SECONDS - build_start)) s"

# Runs one target; its libFuzzer log goes to $work/<target>.log.
run_one() {
  local target=$1 log=$work/$1.log
  mkdir -p "$work/corpus/$target" "$work/artifacts/$target"
  "$bin_dir/$target" "$work/corpus/$target" "$fuzz_dir/corpus/$target" \
    -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -artifact_prefix="$work/artifacts/$target/" >"$log" 2>&1
}

mkdir -p "$work"
declare -A pid_of
for target in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
  run_one "$target" &
  pid_of[$target]=$!
done

failed=0
for target in "${targets[@]}"; do
  status=0
  wait "${pid_of[$target]}" || status=$?
  log=$work/$target.log
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if ((status == 0)); then
    echo "fuzz: $target ${execs:-0} executions, 0 crashes"
  else
    failed=1
    artifact=$(grep -o 'Test unit written to .*' "$log" | sed 's/Test unit written to //' | tail -1)
    echo "fuzz: $target ${execs:-0} executions, 1 crash (exit $status): ${artifact:-see $log}"
    grep -E 'panicked at|ERROR: |SUMMARY: ' "$log" | head -5 | sed 's/^/fuzz:   /'
    echo "fuzz:   reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir $fuzz_dir --sanitizer $sanitizer $target ${artifact:-<crash file>}"
  fi
done
exit "$failed"
