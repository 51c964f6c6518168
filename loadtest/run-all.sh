#!/usr/bin/env bash
# `npm run loadtest`: every k6 script of loadtest/ against a hermetic stack, in short mode
# (VUS=10 DURATION=10s unless set). A broken correctness threshold (token_mixups, auth_failures,
# failed requests, checks) fails the run; timing thresholds are reported only, since the machine
# running it is shared (docs/performance.md). Without k6 it says "skipped: no k6" and succeeds.
#
#   K6_BIN=/path/to/k6 VUS=50 DURATION=60s npm run loadtest
set -euo pipefail
cd "$(dirname "$0")/.."

# The first k6 found: K6_BIN, k6 on PATH, shared/tools/k6 next to the repository — or next to a
# directory above it, for a CI checkout made one or more levels deeper than the working copy.
K6=""
if [[ -n ${K6_BIN:-} ]]; then
  [[ -x $K6_BIN ]] || { echo "loadtest: K6_BIN=$K6_BIN is not an executable" >&2; exit 2; }
  K6=$K6_BIN
elif command -v k6 >/dev/null 2>&1; then
  K6=$(command -v k6)
else
  dir=$(pwd)
  while [[ $dir != / ]]; do
    dir=$(dirname "$dir")
    if [[ -x $dir/shared/tools/k6 ]]; then
      K6=$dir/shared/tools/k6
      break
    fi
  done
fi
if [[ -z $K6 ]]; then
  echo "loadtest: skipped: no k6 (set K6_BIN, put k6 on PATH, or install it at ../shared/tools/k6)"
  exit 0
fi

export VUS=${VUS:-10} DURATION=${DURATION:-10s}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/support-ext-loadtest.XXXXXX")
# Searchable (not readable) by others: run as root, the stack's embedded PostgreSQL runs as its own
# user, which must reach DATA_DIR below (docs/architecture.md, "Data").
chmod 711 "$WORK"
export SUMMARY_DIR=${SUMMARY_DIR:-$WORK/summaries}
mkdir -p "$SUMMARY_DIR"
# shellcheck source=loadtest/lib/stack.sh
source loadtest/lib/stack.sh

cleanup() {
  local rc=$?
  stack_stop || rc=1
  if [[ $rc -ne 0 && -n ${STACK_LOG:-} && -f ${STACK_LOG:-} ]]; then echo "loadtest: logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "loadtest: $("$K6" version | head -1), VUS=$VUS DURATION=$DURATION"
FAILED=()

# run_script <name> <script> [VAR=value ...]: k6 exits 99 on any broken threshold; only a broken
# correctness one (the verdict handleSummary writes as <name>.json) fails the run.
run_script() {
  local name=$1 script=$2
  shift 2
  local rc=0 log="$WORK/$name.k6.log"
  env SUMMARY_NAME="$name" "$@" "$K6" run --quiet --no-usage-report "loadtest/$script.js" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
  local verdict="$SUMMARY_DIR/$name.json"
  # An exception in an iteration ends only that iteration: k6 logs it and goes on, so a broken
  # script could pass every threshold by never reaching its checks.
  if grep -q "source=stacktrace" "$log"; then
    echo "loadtest: $name: script errors (first: $(grep -m1 -o 'msg="[^"]*' "$log" | cut -c6-200))" >&2
    FAILED+=("$name")
    return 0
  fi
  if [[ $rc -eq 0 ]]; then
    return 0
  elif [[ $rc -eq 99 && -f $verdict ]] && node -e '
      const v = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
      if (v.timing_failed.length) console.log(`loadtest: ${v.script}: timing over budget, reported only: ${v.timing_failed.join("; ")}`);
      process.exit(v.correctness_failed.length ? 1 : 0);' "$verdict"; then
    return 0
  fi
  echo "loadtest: $name FAILED (k6 exit $rc)" >&2
  FAILED+=("$name")
}

# The product's defaults (but for the limits per user, below): every script, the anonymous arms of
# auth-overhead must be refused.
# A stack that could not start on a loaded machine (a service's port waited for past 60 s) is tried
# again, STACK_ATTEMPTS times in all (3).
start_with_retries() {
  local name=$1 attempt
  shift
  for ((attempt = 1; attempt <= ${STACK_ATTEMPTS:-3}; attempt++)); do
    stack_start "$name-$attempt" "$@" && return 0
  done
  return 1
}
# Load users are machines, not people: chat's limits per user stay on (their cost is part of every
# turn measured) but set above what a virtual user can reach in a minute (docs/chat.md).
MACHINE_USER_LIMITS=(CHAT_USER_TURNS_PER_MINUTE=100000 CHAT_USER_THREADS_PER_MINUTE=100000)
start_with_retries default "${MACHINE_USER_LIMITS[@]}"
npm run --silent load-users -- "${LOAD_USERS:-$VUS}"
for script in gateway-calltool auth-overhead concurrent-sessions chat-e2e grpc; do
  run_script "$script" "$script"
done
stack_stop

# AUTH_DEV_ANONYMOUS=1 (development only, refused in production): the anonymous arms measured.
start_with_retries dev-anonymous AUTH_DEV_ANONYMOUS=1 "${MACHINE_USER_LIMITS[@]}"
npm run --silent load-users -- "${LOAD_USERS:-$VUS}"
run_script auth-overhead-dev-anonymous auth-overhead DEV_ANONYMOUS=1
stack_stop

echo "loadtest: summaries in $SUMMARY_DIR"
if ((${#FAILED[@]})); then
  echo "loadtest: FAILED: ${FAILED[*]}" >&2
  exit 1
fi
echo "loadtest: every correctness threshold held"
