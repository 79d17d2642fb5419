#!/usr/bin/env bash
# Fault injection (issue 6): runs validate-serve and validate-client on loopback with the small
# bundled MLP (Models/mlp-breast-cancer.onnx, Datasets/breast-cancer-test: 143 images, batches of 8)
# and breaks one thing per case: a party killed mid-computation, a connection cut mid-message,
# garbage bytes, a protocol-version mismatch, a certificate from another CA, an expired
# certificate, bad test sets (wrong shape, NaN/Inf, labels out of range, empty), truncated ONNX
# files, a full disk under the ledger; resuming a validation after a party was killed; a vendor
# certificate that does not name the host, a pinned fingerprint that does not match, an attempted
# TLS session resumption, a feature outside the announced fixed-point range, and an image folder
# (the digits as DICOM, with the digits model) holding a damaged file.
#
# For every case it asserts that the party that detects the fault prints a clear error and exits
# non-zero, that its ledger records the outcome (`aborted: …`, read back with
# `validate-serve|validate-client history --json`; a party killed mid-session leaves
# `aborted: interrupted`), that the other party ends cleanly too (its own error and ledger row),
# and that nothing hangs: every process runs under `timeout`, and a timeout is a failure. Each
# party waits at most 20 s for its peer (--timeout 20); seeds are fixed, so a run is repeatable.
#
# Usage: bash Scripts/faults.sh [-v] [BIN_DIR]     (FAULTS_KEEP=1 keeps the work files)
#   BIN_DIR  the folder with validate-serve, validate-client and validate-inspect
#            (default: `swift build -c release --show-bin-path`, building first if needed)
#   -v       print, per case, what each party printed and recorded
# Output: `ok      <case>` / `FAILED  <case>` (with the relevant stderr), then `faults: P passed, F failed`.
# Exit status: non-zero if any case failed. Needs python3 (standard library only); the disk-full
# case needs root (to mount a small tmpfs) and is skipped, saying why, without it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

VERBOSE=0
BIN=""
for arg in "$@"; do
  case $arg in
    -v|--verbose) VERBOSE=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "faults.sh: unknown option $arg (usage: bash Scripts/faults.sh [-v] [BIN_DIR])" >&2; exit 2 ;;
    *) BIN=$arg ;;
  esac
done
if [ -z "$BIN" ]; then
  swift build -c release 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' >&2 || { echo "faults.sh: release build failed" >&2; exit 1; }
  BIN=$(swift build -c release --show-bin-path)
fi
BIN=$(cd "$BIN" && pwd)
for tool in validate-serve validate-client validate-inspect; do
  [ -x "$BIN/$tool" ] || { echo "faults.sh: no $tool in $BIN" >&2; exit 1; }
done
command -v timeout >/dev/null && command -v python3 >/dev/null || { echo "faults.sh: needs timeout (coreutils) and python3" >&2; exit 1; }

SERVE=$BIN/validate-serve
CLIENT=$BIN/validate-client
INSPECT=$BIN/validate-inspect
PEERS=(python3 "$ROOT/Scripts/fault_peers.py")
MODEL=$ROOT/Models/mlp-breast-cancer.onnx
DATA=$ROOT/Datasets/breast-cancer-test
CSV=$ROOT/Datasets/breast-cancer-test.csv
PEER_TIMEOUT=20      # --timeout: seconds a party waits for its peer
BOUND=60             # seconds any one process may run (under `timeout`) before the case fails
BATCH=8

suite_start=$(date +%s.%N)
work=$(mktemp -d /tmp/sv-faults.XXXXXX)
declare -A PID=()    # name → pid of the `timeout` wrapper of a background process
MOUNTED=""
cleanup() {
  local name
  for name in "${!PID[@]}"; do
    kill -- "-${PID[$name]}" 2>/dev/null || kill "${PID[$name]}" 2>/dev/null || true
    kill -CONT -- "-${PID[$name]}" 2>/dev/null || true   # a stopped process (case 12) must see the TERM
  done
  if [ -n "$MOUNTED" ]; then umount "$MOUNTED" 2>/dev/null || true; fi
  if [ "${FAULTS_KEEP:-0}" = 1 ]; then echo "faults: work files kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# Helpers. A case writes into its own folder $cw; assertions append to $cw/failures and never
# stop the case, so that a failed case lists everything that went wrong.

passed=0; failed=0; skipped=0
cw=""
fail() { echo "$*" >>"$cw/failures"; }
note() { echo "$*" >>"$cw/observed"; }

# start NAME CMD…: runs CMD in the background under `timeout` (stdout/stderr in $cw/NAME.out/.err).
start() {
  local name=$1; shift
  timeout -k 5 "$BOUND" "$@" </dev/null >"$cw/$name.out" 2>"$cw/$name.err" &
  PID[$name]=$!
}
# finish NAME: waits for NAME and stores its exit status in $cw/NAME.rc.
finish() {
  local name=$1 rc=0
  wait "${PID[$name]}" || rc=$?
  unset "PID[$name]"
  echo "$rc" >"$cw/$name.rc"
}
# run NAME CMD…: runs CMD in the foreground under `timeout`.
run() {
  local name=$1; shift
  start "$name" "$@"
  finish "$name"
}
rc() { cat "$cw/$1.rc" 2>/dev/null || echo "?"; }
# The error line a party printed: ArgumentParser's "Error: …", the server's "session failed: …",
# or else the last line of its stderr.
errline() {
  local f=$cw/$1.err line
  line=$(grep -E '^Error: |session failed: |could not record' "$f" 2>/dev/null | tail -n 1 || true)
  [ -n "$line" ] || line=$(tail -n 1 "$f" 2>/dev/null || true)
  printf '%s' "$line" | cut -c1-400
}
# wait_line NAME REGEX: waits (at most 15 s) for a line in NAME's stderr; fails if NAME ended first.
wait_line() {
  local name=$1 pattern=$2 i
  for i in $(seq 1 300); do
    grep -qE "$pattern" "$cw/$name.err" 2>/dev/null && return 0
    kill -0 "${PID[$name]}" 2>/dev/null || { grep -qE "$pattern" "$cw/$name.err" 2>/dev/null && return 0; fail "$name ended before printing /$pattern/"; return 1; }
    sleep 0.05
  done
  fail "$name did not print /$pattern/ within 15 s"; return 1
}
# port_of NAME: the port NAME listens on, from the "listening on 127.0.0.1:PORT" line it printed
# (validate-serve and the fault peers listen on port 0 and print the port the kernel gave them, so
# no port is chosen beforehand and lost to another process); call after wait_line NAME "listening on".
# Without such a line it records the failure and prints 0 (a port nothing can listen on).
port_of() {
  local port
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$cw/$1.err" 2>/dev/null | head -n 1)
  [ -n "$port" ] || { fail "$1 printed no 'listening on 127.0.0.1:PORT' line"; port=0; }
  echo "$port"
}

# expect_failure NAME REGEX: NAME exited non-zero on its own (not a timeout, not a signal) and its
# stderr matches REGEX (case-insensitive).
expect_failure() {
  local name=$1 pattern=$2 status
  status=$(rc "$name")
  case $status in
    0) fail "$name exited 0 (expected a failure)" ;;
    124|137) fail "$name hung: stopped by timeout after ${BOUND}s (exit $status)" ;;
    \?) fail "$name: no exit status" ;;
    *) [ "$status" -lt 128 ] || fail "$name died of signal $((status - 128)) (exit $status)" ;;
  esac
  grep -qiE "$pattern" "$cw/$name.err" || fail "$name: stderr does not match /$pattern/: $(errline "$name")"
}
# expect_success NAME: NAME exited 0.
expect_success() {
  [ "$(rc "$1")" = 0 ] || fail "$1 exited $(rc "$1") (expected 0): $(errline "$1")"
}

# ledger_json SIDE LEDGER: the ledger's rows as JSON (`validate-serve|validate-client history --json`).
ledger_json() {
  local side=$1 ledger=$2
  [ -f "$ledger" ] || { echo "[]"; return; }
  timeout 20 "$BIN/validate-$side" history --ledger "$ledger" --json 2>>"$cw/history.err"
}
# row_field SIDE LEDGER FIELD: FIELD of the newest row ("" if none, "null" if null).
row_field() {
  ledger_json "$1" "$2" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
value = rows[0].get(sys.argv[1]) if rows else ""
print("null" if value is None else value)' "$3" 2>>"$cw/history.err" || echo "<history unreadable>"
}
# outcomes SIDE LEDGER: every row's outcome, newest first, joined by " | ".
outcomes() {
  ledger_json "$1" "$2" | python3 -c 'import json, sys; print(" | ".join(r["outcome"] for r in json.load(sys.stdin)) or "(no row)")' \
    2>>"$cw/history.err" || echo "<history unreadable>"
}
row_count() {
  ledger_json "$1" "$2" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))' 2>>"$cw/history.err" || echo "?"
}
# expect_row SIDE LEDGER PREFIX [REGEX]: the newest row's outcome starts with PREFIX (and matches REGEX).
expect_row() {
  local side=$1 ledger=$2 prefix=$3 pattern=${4:-} outcome
  outcome=$(row_field "$side" "$ledger" outcome)
  case $outcome in
    "$prefix"*) ;;
    "") fail "$side ledger $(basename "$ledger"): no row (expected '$prefix…')" ; return ;;
    *) fail "$side ledger $(basename "$ledger"): outcome '$outcome' (expected '$prefix…')"; return ;;
  esac
  [ -z "$pattern" ] || printf '%s' "$outcome" | grep -qiE "$pattern" ||
    fail "$side ledger $(basename "$ledger"): outcome '$outcome' does not match /$pattern/"
}
# expect_not_started SIDE LEDGER: the newest row has no session id (the computation was never agreed).
expect_not_started() {
  local id; id=$(row_field "$1" "$2" session_id)
  [ "$id" = null ] || fail "$1 ledger $(basename "$2"): session_id is '$id', expected none (no computation may start)"
}
# observe LABEL NAME SIDE LEDGER: one line for -v: exit status, error line, ledger outcome.
observe() {
  local label=$1 name=$2 side=${3:-} ledger=${4:-} line
  line="$label: exit $(rc "$name"); \"$(errline "$name")\""
  [ -z "$side" ] || line+="; ledger: $(outcomes "$side" "$ledger")"
  note "$line"
}

certs() { timeout 60 "$INSPECT" certs "$@" >/dev/null; }

# serve NAME LEDGER [options…]: validate-serve --once on the MLP, in the background, on a port of
# its own choosing (--listen 127.0.0.1:0; `port_of NAME` reads it); waits until it listens.
# Certificates default to $work/certs (override with --cert/--key/--ca after).
serve() {
  local name=$1 ledger=$2; shift 2
  start "$name" "$SERVE" --model "$MODEL" --listen "127.0.0.1:0" --once --timeout "$PEER_TIMEOUT" --ledger "$ledger" \
    --cert "$work/certs/vendor.crt" --key "$work/certs/vendor.key" --ca "$work/certs/ca.crt" "$@"
  wait_line "$name" "listening on"
}
# client NAME LEDGER PORT [options…]: validate-client in the background (dataset: the 143 images).
client() {
  local name=$1 ledger=$2 port=$3; shift 3
  local args=(--connect "127.0.0.1:$port" --dataset "$DATA" --batch "$BATCH" --timeout "$PEER_TIMEOUT" --ledger "$ledger"
              --cert "$work/certs/hospital.crt" --key "$work/certs/hospital.key" --ca "$work/certs/ca.crt")
  start "$name" "$CLIENT" "${args[@]}" "$@"
}

# case_run NAME FUNCTION [ARGS…]: runs one case in its own folder and prints its verdict.
case_run() {
  local name=$1; shift
  cw=$work/case$((passed + failed + skipped + 1))
  mkdir -p "$cw"; : >"$cw/failures"; : >"$cw/observed"
  local t0; t0=$(date +%s.%N)
  "$@" || true
  local seconds; seconds=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
  # Nothing may outlive its case.
  local n
  for n in "${!PID[@]}"; do fail "$n still running at the end of the case"; kill -- "-${PID[$n]}" 2>/dev/null || true; unset "PID[$n]"; done
  if [ -f "$cw/skip" ]; then
    skipped=$((skipped + 1)); echo "SKIP    $name: $(cat "$cw/skip")"
  elif [ -s "$cw/failures" ]; then
    failed=$((failed + 1)); echo "FAILED  $name (${seconds} s)"
    sed 's/^/        ! /' "$cw/failures"
    local f
    for f in "$cw"/*.err; do
      [ -s "$f" ] || continue
      echo "        --- $(basename "$f" .err) stderr (tail):"
      tail -n 4 "$f" | cut -c1-300 | sed 's/^/        | /'
    done
  else
    passed=$((passed + 1)); echo "ok      $name (${seconds} s)"
  fi
  if [ "$VERBOSE" = 1 ] || { [ -s "$cw/failures" ] && [ ! -f "$cw/skip" ]; }; then
    [ -s "$cw/observed" ] && sed 's/^/        /' "$cw/observed"
  fi
  return 0
}

json_value() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d = d[k]
print(d)' "$@"; }
rand() { # rand SEED LOW HIGH [odd]: a seeded integer in [LOW, HIGH] (odd if asked)
  python3 -c 'import random, sys
r = random.Random(sys.argv[1]); lo, hi = int(sys.argv[2]), int(sys.argv[3]); v = r.randint(lo, hi)
print(v | 1 if len(sys.argv) > 4 else v)' "$@"
}

# ---------------------------------------------------------------------------------------------
# Shared fixtures: certificates (the real CA, another CA, an expired CA), bad datasets.

certs "$work/certs"
certs "$work/other-ca"
certs "$work/expired" --valid-from 2020-01-01 --days 1
certs "$work/named" --name 127.0.0.2
# A CA file trusting both the real and the expired CA, so that an expired certificate is
# refused for its dates, not for its issuer.
cat "$work/certs/ca.crt" "$work/expired/ca.crt" >"$work/ca+expired.crt"

python3 - "$CSV" "$work" <<'PY'
import sys
src, out = sys.argv[1], sys.argv[2]
header, *rows = open(src).read().splitlines()
def write(name, lines):
    with open(f"{out}/{name}", "w") as f:
        f.write("\n".join(lines) + "\n")
# 7: 29 features instead of 30 (the last column dropped everywhere).
write("wrong-shape.csv", [",".join(line.split(",")[:-1]) for line in [header] + rows])
# 8: a NaN feature on one row, an infinite one on another file's row.
def with_field(rows, row, column, text):
    fields = rows[row].split(","); fields[column] = text
    return rows[:row] + [",".join(fields)] + rows[row + 1:]
write("nan.csv", [header] + with_field(rows, 56, 7, "nan"))     # file line 58
write("inf.csv", [header] + with_field(rows, 99, 12, "-inf"))   # file line 101
# 9: a label 2 for a two-class model.
write("label.csv", [header] + with_field(rows, 120, 0, "2"))    # file line 122
# 17: a value the announced fixed point cannot hold (|x| < 2^25 at ℓ = 41, s = 15), late in the set.
write("huge.csv", [header] + with_field(rows, 130, 5, "1e9"))   # file line 132, feature 4
# 10: the header and no rows; a 0-byte file; an .npy folder with 0 examples.
write("empty.csv", [header])
open(f"{out}/zero-bytes.csv", "w").close()
import os, struct
def npy(path, descr, shape):
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    text += " " * (63 - (10 + len(text)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode())
os.makedirs(f"{out}/empty-npy")
npy(f"{out}/empty-npy/inputs.npy", "<f4", "(0, 30)")
npy(f"{out}/empty-npy/labels.npy", "<i8", "(0,)")
PY

# ---------------------------------------------------------------------------------------------
# Cases.

TRAFFIC=20000000     # bytes both ways in a whole session, measured by the baseline
ROUNDS="?"           # rounds of a whole session, measured by the baseline

case_baseline() {
  serve vendor "$cw/vendor.sqlite" --json "$cw/vendor.json" || return
  client hospital "$cw/hospital.sqlite" "$(port_of vendor)" --json "$cw/hospital.json"
  finish hospital; finish vendor
  expect_success vendor; expect_success hospital
  expect_row serve "$cw/vendor.sqlite" completed
  expect_row client "$cw/hospital.sqlite" completed
  [ -f "$cw/hospital.json" ] && [ -f "$cw/vendor.json" ] || { fail "no result JSON"; return; }
  [ "$(json_value "$cw/hospital.json" correct)" = "$(json_value "$cw/vendor.json" correct)" ] || fail "the parties disagree on the count"
  ROUNDS=$(json_value "$cw/hospital.json" rounds)
  BASE_CORRECT=$(json_value "$cw/hospital.json" correct)
  TRAFFIC=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["bytes_sent"] + d["bytes_received"])' "$cw/hospital.json")
  note "both: completed, $(json_value "$cw/hospital.json" correct)/143 correct, $(json_value "$cw/vendor.json" seconds) s, $TRAFFIC bytes, $(json_value "$cw/hospital.json" rounds) rounds"
}

# hospital_through_killing_proxy VICTIM PORT BYTES: with the vendor listening on PORT, starts a
# proxy (on a port of its own) that SIGKILLs VICTIM's process once BYTES have passed, and the
# hospital through it. Returns non-zero (after cleaning up) if the proxy did not start.
hospital_through_killing_proxy() {
  local victim=$1 port=$2 n=$3 child=""
  start proxy "${PEERS[@]}" proxy "$port" --kill-at "$n" --kill-pid-file "$cw/victim.pid" --timeout 50
  wait_line proxy "proxy listening" || { finish proxy; finish vendor; return 1; }
  client hospital "$cw/hospital.sqlite" "$(port_of proxy)"
  for _ in $(seq 1 100); do child=$(pgrep -P "${PID[$victim]}" | head -n 1 || true); [ -n "$child" ] && break; sleep 0.02; done
  [ -n "$child" ] && echo "$child" >"$cw/victim.pid.new" && mv "$cw/victim.pid.new" "$cw/victim.pid" || fail "cannot find the $victim process"
}

# 1. A party SIGKILLed mid-computation: a proxy between the parties sends the SIGKILL once a
# seeded number of bytes (between 1 MB and 90% of a whole session's traffic) has passed, so the
# kill lands at a random round of the computation however loaded the machine is.
case_kill() {
  local victim=$1 seed=$2 n
  n=$(rand "kill$seed" 1000000 "$(python3 -c "print(int(0.9 * $TRAFFIC))")")
  local survivor vside sside vledger sledger
  if [ "$victim" = vendor ]; then
    survivor=hospital; vside=serve; sside=client; vledger=$cw/vendor.sqlite; sledger=$cw/hospital.sqlite
  else
    survivor=vendor; vside=client; sside=serve; vledger=$cw/hospital.sqlite; sledger=$cw/vendor.sqlite
  fi
  serve vendor "$cw/vendor.sqlite" || return
  hospital_through_killing_proxy "$victim" "$(port_of vendor)" "$n" || return
  local ended took
  { # (stderr: not bash's "Killed" notice for the job killed on purpose)
    finish proxy; finish "$survivor"; ended=$(date +%s.%N); finish "$victim"
  } 2>/dev/null
  [ "$(rc proxy)" = 0 ] || fail "the proxy did not kill the $victim (exit $(rc proxy)): $(tail -n 1 "$cw/proxy.err")"
  local killed_at; killed_at=$(sed -n 's/.*proxy sent SIGKILL .* at \([0-9.]*\)$/\1/p' "$cw/proxy.err")
  took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1] or sys.argv[2]):.1f}')" "$killed_at" "$ended")
  [ "$(rc "$victim")" = 137 ] || fail "$victim: exit $(rc "$victim"), expected 137 (SIGKILL)"
  expect_failure "$survivor" "peer closed the connection|closed the connection|connection reset"
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= $PEER_TIMEOUT + 2 else 1)" "$took" ||
    fail "$survivor took ${took} s to notice (its --timeout is $PEER_TIMEOUT s)"
  expect_row "$vside" "$vledger" "aborted: interrupted"
  expect_row "$sside" "$sledger" "aborted: " "closed the connection|connection reset"
  # Both rows describe the same session.
  local vid sid; vid=$(row_field "$vside" "$vledger" session_id); sid=$(row_field "$sside" "$sledger" session_id)
  [ "$vid" = "$sid" ] && [ "$vid" != null ] || fail "the two ledger rows name different sessions ($vid, $sid)"
  note "$(grep -h 'proxy sent SIGKILL' "$cw/proxy.err" | sed 's/^fault_peers: proxy sent //; s/ at [0-9.]*$//'); the $survivor's row: $(row_field "$sside" "$sledger" rounds) rounds of $ROUNDS"
  note "$victim: exit $(rc "$victim") (SIGKILL); ledger: $(row_field "$vside" "$vledger" outcome)"
  observe "$survivor (noticed in ${took} s)" "$survivor" "$sside" "$sledger"
}

# 2. The connection cut mid-message by a proxy after N bytes.
case_cut() {
  local n=$1
  serve vendor "$cw/vendor.sqlite" || return
  start proxy "${PEERS[@]}" proxy "$(port_of vendor)" --cut "$n" --timeout 40
  wait_line proxy "proxy listening" || { finish proxy; finish vendor; return; }
  client hospital "$cw/hospital.sqlite" "$(port_of proxy)"
  finish proxy; finish hospital; finish vendor
  expect_success proxy
  expect_failure vendor "closed the connection|connection reset|TLS"
  expect_failure hospital "closed the connection|connection reset|TLS"
  expect_row serve "$cw/vendor.sqlite" "aborted: " "closed the connection|connection reset|TLS"
  expect_row client "$cw/hospital.sqlite" "aborted: " "closed the connection|connection reset|TLS"
  note "proxy: $(grep -h 'closed every connection' "$cw/proxy.err" | sed 's/^fault_peers: //')"
  observe vendor vendor serve "$cw/vendor.sqlite"
  observe hospital hospital client "$cw/hospital.sqlite"
}

# 3a. Garbage bytes sent to the server's port.
case_garbage_to_server() {
  serve vendor "$cw/vendor.sqlite" || return
  run garbage "${PEERS[@]}" garbage-client "$(port_of vendor)" --seed 3 --size 4096 --timeout 30
  finish vendor
  expect_success garbage
  expect_failure vendor "not TLS|TLS"
  expect_row serve "$cw/vendor.sqlite" "aborted: " "TLS"
  observe vendor vendor serve "$cw/vendor.sqlite"
  note "garbage client: exit $(rc garbage); $(tail -n 1 "$cw/garbage.err" | sed 's/^fault_peers: //')"
}

# 3a'. Without --once, the server records the garbage attempt and serves the next hospital.
case_garbage_then_clean() {
  local port
  start vendor "$SERVE" --model "$MODEL" --listen "127.0.0.1:0" --timeout "$PEER_TIMEOUT" --ledger "$cw/vendor.sqlite" \
    --cert "$work/certs/vendor.crt" --key "$work/certs/vendor.key" --ca "$work/certs/ca.crt"
  wait_line vendor "listening on" || { kill -- "-${PID[vendor]}"; finish vendor; return; }
  port=$(port_of vendor)
  run garbage "${PEERS[@]}" garbage-client "$port" --seed 5 --size 4096 --timeout 30
  wait_line vendor "session failed"
  client hospital "$cw/hospital.sqlite" "$port"
  finish hospital
  expect_success garbage
  expect_success hospital
  if kill -0 "${PID[vendor]}" 2>/dev/null; then
    local child; child=$(pgrep -P "${PID[vendor]}" | head -n 1 || true)
    [ -n "$child" ] && kill -TERM "$child"
  else
    fail "validate-serve (without --once) exited after the garbage session"
  fi
  finish vendor
  local rows; rows=$(outcomes serve "$cw/vendor.sqlite")
  grep -qE '^completed \| aborted: TLS: .*not TLS' <<<"$rows" || fail "vendor ledger: $rows (expected: completed | aborted: TLS: … not TLS …)"
  expect_row client "$cw/hospital.sqlite" completed
  note "vendor: $(grep -c 'session failed' "$cw/vendor.err") failed session, then served; ledger: $(outcomes serve "$cw/vendor.sqlite"); stopped with SIGTERM (exit $(rc vendor))"
  observe hospital hospital client "$cw/hospital.sqlite"
}

# 3b. A fake server that answers the client with garbage.
case_garbage_from_server() {
  start garbage "${PEERS[@]}" garbage-server --seed 4 --size 4096 --timeout 30
  wait_line garbage "listening on" || { finish garbage; return; }
  client hospital "$cw/hospital.sqlite" "$(port_of garbage)"
  finish hospital; finish garbage
  expect_success garbage
  expect_failure hospital "not TLS|TLS"
  expect_row client "$cw/hospital.sqlite" "aborted: " "TLS"
  observe hospital hospital client "$cw/hospital.sqlite"
  note "garbage server: exit $(rc garbage); $(tail -n 1 "$cw/garbage.err" | sed 's/^fault_peers: //')"
}

# 4. A peer that completes mutual TLS, then claims the protocol version after this build's
# (read from Handshake.protocolVersion, so the case follows every version change).
ours=$(sed -n 's/.*static let protocolVersion: UInt32 = \([0-9][0-9]*\).*/\1/p' Sources/Transport/Handshake.swift)
[ -n "$ours" ] || { echo "faults: cannot read Handshake.protocolVersion from Sources/Transport/Handshake.swift" >&2; exit 1; }
newer=$((ours + 1))
case_version_fake_vendor() {
  start fake "${PEERS[@]}" fake-peer --role vendor --version "$newer" --listen --timeout 30 \
    --cert "$work/certs/vendor.crt" --key "$work/certs/vendor.key" --ca "$work/certs/ca.crt"
  wait_line fake "listening on" || { finish fake; return; }
  client hospital "$cw/hospital.sqlite" "$(port_of fake)"
  finish hospital; finish fake
  expect_success fake
  expect_failure hospital "protocol version"
  expect_row client "$cw/hospital.sqlite" "aborted: " "protocol version $newer"
  grep -q "version $ours" "$cw/fake.err" || fail "the fake vendor did not receive the client's version-$ours handshake"
  observe hospital hospital client "$cw/hospital.sqlite"
  note "fake vendor: exit $(rc fake); $(tail -n 1 "$cw/fake.err" | sed 's/^fault_peers: //')"
}
case_version_fake_hospital() {
  serve vendor "$cw/vendor.sqlite" || return
  run fake "${PEERS[@]}" fake-peer --role hospital --version "$newer" --connect "$(port_of vendor)" --timeout 30 \
    --cert "$work/certs/hospital.crt" --key "$work/certs/hospital.key" --ca "$work/certs/ca.crt"
  finish vendor
  expect_success fake
  expect_failure vendor "protocol version"
  expect_row serve "$cw/vendor.sqlite" "aborted: " "protocol version $newer"
  grep -q "version $ours" "$cw/fake.err" || fail "the fake hospital did not receive the server's version-$ours handshake"
  observe vendor vendor serve "$cw/vendor.sqlite"
  note "fake hospital: exit $(rc fake); $(tail -n 1 "$cw/fake.err" | sed 's/^fault_peers: //')"
}

# 5, 6. A certificate the peer must refuse: from another CA, or expired. WHO presents it
# (vendor|hospital); DIR holds the bad certificate; TRUST is the CA file the refusing side uses;
# CHECK is what the refusing side must say, PEER_SAYS what the side refused must say.
case_bad_cert() {
  local who=$1 dir=$2 trust=$3 check=$4 peer_says=$5
  if [ "$who" = hospital ]; then
    serve vendor "$cw/vendor.sqlite" --ca "$trust" || return
    client hospital "$cw/hospital.sqlite" "$(port_of vendor)" --cert "$dir/hospital.crt" --key "$dir/hospital.key"
    finish hospital; finish vendor
    expect_failure vendor "$check"; expect_failure hospital "$peer_says"
    expect_row serve "$cw/vendor.sqlite" "aborted: " "$check"
    expect_row client "$cw/hospital.sqlite" "aborted: " "$peer_says"
  else
    serve vendor "$cw/vendor.sqlite" --cert "$dir/vendor.crt" --key "$dir/vendor.key" || return
    client hospital "$cw/hospital.sqlite" "$(port_of vendor)" --ca "$trust"
    finish hospital; finish vendor
    expect_failure hospital "$check"; expect_failure vendor "$peer_says"
    expect_row client "$cw/hospital.sqlite" "aborted: " "$check"
    expect_row serve "$cw/vendor.sqlite" "aborted: " "$peer_says"
  fi
  expect_not_started serve "$cw/vendor.sqlite"; expect_not_started client "$cw/hospital.sqlite"
  observe vendor vendor serve "$cw/vendor.sqlite"
  observe hospital hospital client "$cw/hospital.sqlite"
}

# 7–10. A test set the hospital must refuse before any secure computation; the vendor records
# the hospital's abort.
case_dataset() {
  local file=$1 pattern=$2
  serve vendor "$cw/vendor.sqlite" || return
  client hospital "$cw/hospital.sqlite" "$(port_of vendor)" --dataset "$work/$file"
  finish hospital; finish vendor
  expect_failure hospital "$file.*$pattern"
  expect_failure vendor "the hospital ended the session"
  expect_row client "$cw/hospital.sqlite" "aborted: " "$file.*$pattern"
  expect_row serve "$cw/vendor.sqlite" "aborted: " "the hospital ended the session"
  # The hospital's reason stays with the hospital (Datasets' contract: "no message is ever sent to
  # the other party"): the vendor must not learn its file names, rows or label values.
  local seen; seen="$(cat "$cw/vendor.err"; row_field serve "$cw/vendor.sqlite" outcome)"
  ! grep -qF "$file" <<<"$seen" || fail "the vendor learned the hospital's dataset path: $(grep -m1 -F "$file" <<<"$seen" | cut -c1-200)"
  ! grep -qE "(line|row) [0-9]+" <<<"$seen" || fail "the vendor learned where in the hospital's file the problem is: $(grep -m1 -E "(line|row) [0-9]+" <<<"$seen" | cut -c1-200)"
  expect_not_started client "$cw/hospital.sqlite"; expect_not_started serve "$cw/vendor.sqlite"
  observe hospital hospital client "$cw/hospital.sqlite"
  observe vendor vendor serve "$cw/vendor.sqlite"
}

# 18. An image folder (the digits as DICOM) with one damaged file: the hospital's client refuses the
# whole set after the vendor's announcement (the preprocessing is the model's) and before any
# cryptography, naming the file to the hospital only; both ledgers record the abort.
case_image_folder() {
  local images=$cw/cxr-study
  cp -r "$ROOT/Datasets/digits-dicom" "$images" && head -c 700 "$ROOT/Datasets/digits-dicom/digit-100.dcm" >"$images/digit-100.dcm"
  MODEL=$ROOT/Models/densenet-digits.onnx serve vendor "$cw/vendor.sqlite" || return
  client hospital "$cw/hospital.sqlite" "$(port_of vendor)" --dataset "$images"
  finish hospital; finish vendor
  expect_failure hospital "digit-100.dcm.*cannot read the image"
  expect_failure vendor "the hospital ended the session"
  expect_row client "$cw/hospital.sqlite" "aborted: " "digit-100.dcm"
  expect_row serve "$cw/vendor.sqlite" "aborted: " "the hospital ended the session"
  local seen; seen="$(cat "$cw/vendor.err"; row_field serve "$cw/vendor.sqlite" outcome)"
  ! grep -qE "digit-100|cxr-study" <<<"$seen" || fail "the vendor learned the hospital's file names: $(grep -m1 -E "digit-100|cxr-study" <<<"$seen" | cut -c1-200)"
  expect_not_started client "$cw/hospital.sqlite"; expect_not_started serve "$cw/vendor.sqlite"
  observe hospital hospital client "$cw/hospital.sqlite"
  observe vendor vendor serve "$cw/vendor.sqlite"
}

# 14. A vendor whose certificate (valid, from the same CA) does not name the host the hospital
# connects to: the vendor listens on 127.0.0.2, its certificate names localhost and 127.0.0.1.
# The hospital refuses before sending anything; with a certificate that names 127.0.0.2
# (`certs --name 127.0.0.2`) the same set-up validates.
case_wrong_vendor_name() {
  start vendor "$SERVE" --model "$MODEL" --listen "127.0.0.2:0" --once --timeout "$PEER_TIMEOUT" --ledger "$cw/vendor.sqlite" \
    --cert "$work/certs/vendor.crt" --key "$work/certs/vendor.key" --ca "$work/certs/ca.crt"
  wait_line vendor "listening on" || { finish vendor; return; }
  local port; port=$(sed -n 's/.*listening on 127\.0\.0\.2:\([0-9][0-9]*\).*/\1/p' "$cw/vendor.err" | head -n 1)
  client hospital "$cw/hospital.sqlite" "$port" --connect "127.0.0.2:$port"
  finish hospital; finish vendor
  expect_failure hospital "not issued for 127\.0\.0\.2.*refusing to send anything"
  expect_failure vendor "rejected this side's certificate|closed the connection during the TLS handshake"
  expect_row client "$cw/hospital.sqlite" "refused: " "not issued for 127\.0\.0\.2"
  expect_not_started client "$cw/hospital.sqlite"
  observe hospital hospital client "$cw/hospital.sqlite"
  observe vendor vendor serve "$cw/vendor.sqlite"
  # The same CA, a vendor certificate that names 127.0.0.2: accepted.
  start vendor2 "$SERVE" --model "$MODEL" --listen "127.0.0.2:0" --once --timeout "$PEER_TIMEOUT" --ledger "$cw/vendor2.sqlite" \
    --cert "$work/named/vendor.crt" --key "$work/named/vendor.key" --ca "$work/named/ca.crt"
  wait_line vendor2 "listening on" || { finish vendor2; return; }
  port=$(sed -n 's/.*listening on 127\.0\.0\.2:\([0-9][0-9]*\).*/\1/p' "$cw/vendor2.err" | head -n 1)
  client hospital2 "$cw/hospital2.sqlite" "$port" --connect "127.0.0.2:$port" \
    --cert "$work/named/hospital.crt" --key "$work/named/hospital.key" --ca "$work/named/ca.crt"
  finish hospital2; finish vendor2
  expect_success hospital2; expect_success vendor2
  note "with a certificate naming 127.0.0.2: hospital exit $(rc hospital2), vendor exit $(rc vendor2)"
}

# 15. A pinned vendor fingerprint (--expect-vendor) that the vendor's certificate does not have:
# refused before anything is sent; the right pin runs.
case_pinned_vendor() {
  local other; other=$("$INSPECT" certs "$cw/other" | sed -n 's/.*SHA-256 \([0-9a-f]\{64\}\).*/\1/p')
  [ -n "$other" ] || { fail "validate-inspect certs printed no vendor fingerprint"; return; }
  serve vendor "$cw/vendor.sqlite" || return
  local pin; pin=$(sed -n 's/.*certificate .* SHA-256 \([0-9a-f]\{64\}\).*/\1/p' "$cw/vendor.err" | head -n 1)
  [ -n "$pin" ] || fail "validate-serve printed no certificate fingerprint"
  client hospital "$cw/hospital.sqlite" "$(port_of vendor)" --expect-vendor "$other"
  finish hospital; finish vendor
  expect_failure hospital "wrong peer: .*not the expected \(pinned\) $other"
  expect_failure vendor "closed the connection"
  expect_row client "$cw/hospital.sqlite" "refused: " "pinned"
  expect_row serve "$cw/vendor.sqlite" "aborted: "
  expect_not_started client "$cw/hospital.sqlite"; expect_not_started serve "$cw/vendor.sqlite"
  observe hospital hospital client "$cw/hospital.sqlite"
  observe vendor vendor serve "$cw/vendor.sqlite"
  serve vendor2 "$cw/vendor2.sqlite" || return
  client hospital2 "$cw/hospital2.sqlite" "$(port_of vendor2)" --expect-vendor "$pin"
  finish hospital2; finish vendor2
  expect_success hospital2; expect_success vendor2
  note "with the vendor's own fingerprint pinned: hospital exit $(rc hospital2)"
}

# 16. An attempted TLS resumption: OpenSSL's s_client saves the session of a connection made
# with the hospital's certificate, then offers it with no certificate. The vendor must run a full
# handshake (s_client says "New", never "Reused") and refuse the client for want of a certificate.
case_tls_resumption() {
  command -v openssl >/dev/null || { echo "openssl is not installed (Scripts/setup.sh installs it)" >"$cw/skip"; return; }
  start vendor "$SERVE" --model "$MODEL" --listen "127.0.0.1:0" --timeout "$PEER_TIMEOUT" --ledger "$cw/vendor.sqlite" \
    --cert "$work/certs/vendor.crt" --key "$work/certs/vendor.key" --ca "$work/certs/ca.crt"
  wait_line vendor "listening on" || { finish vendor; return; }
  local port; port=$(port_of vendor)
  { sleep 1; } | timeout 20 openssl s_client -connect "127.0.0.1:$port" -tls1_3 -CAfile "$work/certs/ca.crt" \
    -cert "$work/certs/hospital.crt" -key "$work/certs/hospital.key" -sess_out "$cw/session.pem" >"$cw/first.out" 2>&1 || true
  [ -s "$cw/session.pem" ] || fail "s_client saved no session (the vendor sent no ticket?)"
  { sleep 1; } | timeout 20 openssl s_client -connect "127.0.0.1:$port" -tls1_3 -CAfile "$work/certs/ca.crt" \
    -sess_in "$cw/session.pem" >"$cw/second.out" 2>&1 || true
  grep -aq "New, TLSv1.3" "$cw/first.out" || fail "the first s_client connection did not complete a TLS 1.3 handshake"
  ! grep -aq "Reused" "$cw/second.out" || fail "the vendor resumed a TLS session without a certificate"
  wait_line vendor "sent no certificate" || true
  kill -- "-${PID[vendor]}" 2>/dev/null || kill "${PID[vendor]}" 2>/dev/null || true
  finish vendor
  local rows; rows=$(outcomes serve "$cw/vendor.sqlite")
  grep -q "sent no certificate" <<<"$rows" || fail "the vendor's ledger does not record the refused client: $rows"
  grep -q "^completed" <<<"$rows" && fail "the vendor's ledger shows a completed session: $rows"
  note "second s_client: $(grep -a -m1 -E 'New,|Reused,' "$cw/second.out" || echo '(no handshake line)'); vendor ledger: $rows"
}

# 11. Truncated ONNX files: a clear error naming the file, a normal non-zero exit (no signal).
case_truncated_onnx() {
  local model=$1 seed=$2 i k base
  base=$(basename "$model" .onnx)
  for i in 1 2 3; do
    local cut=$cw/$base-cut$i.onnx
    k=$(timeout 30 "${PEERS[@]}" truncate "$model" "$cut" --seed "$seed" --index "$i")
    run "plan$i" "$INSPECT" plan "$cut"
    expect_failure "plan$i" "$(basename "$cut")"
    run "serve$i" "$SERVE" --model "$cut" --listen "127.0.0.1:0" --once --timeout "$PEER_TIMEOUT" --ledger "$cw/vendor$i.sqlite" \
      --cert "$work/certs/vendor.crt" --key "$work/certs/vendor.key" --ca "$work/certs/ca.crt"
    expect_failure "serve$i" "$(basename "$cut")"
    [ ! -f "$cw/vendor$i.sqlite" ] || [ "$(row_count serve "$cw/vendor$i.sqlite")" = 0 ] || fail "serve$i recorded a session for a model it cannot load"
    note "first $k of $(wc -c <"$model") bytes: plan exit $(rc "plan$i") \"$(errline "plan$i")\"; validate-serve exit $(rc "serve$i") \"$(errline "serve$i")\""
  done
}

# 12. The ledger's disk is full. The party must refuse to compute without its record.
fill_disk() { dd if=/dev/zero of="$1/fill" bs=64k 2>/dev/null || true; sync; }
case_disk_full() {
  local who=$1 mnt=$work/tmpfs-$1
  mkdir -p "$mnt"
  if ! mount -t tmpfs -o size=1m,mode=0700 tmpfs "$mnt" 2>"$cw/mount.err"; then
    echo "cannot mount a small tmpfs here ($(head -n 1 "$cw/mount.err")); no honest way to fill a disk" >"$cw/skip"
    return
  fi
  MOUNTED=$mnt
  if [ "$who" = vendor ]; then
    # The server opens its ledger at start-up; the disk fills while it waits for a hospital.
    serve vendor "$mnt/vendor.sqlite" || { umount "$mnt"; MOUNTED=""; return; }
    fill_disk "$mnt"
    client hospital "$cw/hospital.sqlite" "$(port_of vendor)"
    finish hospital; finish vendor
    expect_failure vendor "$mnt/vendor.sqlite.*(full|space)|(full|space).*$mnt/vendor.sqlite"
    # The vendor records a session before it accepts it: it refuses, and says why.
    expect_failure hospital "could not record the session in its ledger"
    rm -f "$mnt/fill"
    [ "$(row_count serve "$mnt/vendor.sqlite")" = 0 ] || fail "the vendor's ledger holds a row written on a full disk?"
    expect_row client "$cw/hospital.sqlite" "refused: " "could not record the session in its ledger"
    observe vendor vendor serve "$mnt/vendor.sqlite"
    grep -q "could not record" "$cw/vendor.err" && note "vendor also: \"$(grep -m1 'could not record' "$cw/vendor.err" | cut -c1-300)\""
    observe hospital hospital client "$cw/hospital.sqlite"
  else
    # A ledger with one earlier row (a connection refused: nothing can listen on port 0).
    run earlier "$CLIENT" --connect "127.0.0.1:0" --dataset "$DATA" --timeout 5 --ledger "$mnt/hospital.sqlite" \
      --cert "$work/certs/hospital.crt" --key "$work/certs/hospital.key" --ca "$work/certs/ca.crt"
    [ "$(row_count client "$mnt/hospital.sqlite")" = 1 ] || fail "could not prepare a ledger with one row ($(errline earlier))"
    # The vendor is stopped while the client opens its ledger; the disk fills before the
    # client can record the session's start.
    serve vendor "$cw/vendor.sqlite" || { umount "$mnt"; MOUNTED=""; return; }
    local vchild; vchild=$(pgrep -P "${PID[vendor]}" | head -n 1 || true)
    [ -n "$vchild" ] && kill -STOP "$vchild" || fail "cannot find the vendor process to pause"
    client hospital "$mnt/hospital.sqlite" "$(port_of vendor)"
    for _ in $(seq 1 100); do [ -e "$mnt/hospital.sqlite-shm" ] && break; sleep 0.05; done
    sleep 0.2
    fill_disk "$mnt"
    [ -z "$vchild" ] || kill -CONT "$vchild"
    finish hospital
    local gone; gone=$(date +%s.%N)
    finish vendor
    local noticed; noticed=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$gone" "$(date +%s.%N)")
    expect_failure hospital "$mnt/hospital.sqlite.*(full|space)|(full|space).*$mnt/hospital.sqlite"
    expect_failure vendor "closed the connection|connection reset"
    # The hospital's connection closed when it exited: the vendor must notice at once, not wait
    # out its --timeout ($PEER_TIMEOUT s here, 600 s by default).
    python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 5 else 1)" "$noticed" ||
      fail "the vendor noticed the hospital had gone only ${noticed} s after it exited (its --timeout is $PEER_TIMEOUT s)"
    rm -f "$mnt/fill"
    [ "$(row_count client "$mnt/hospital.sqlite")" = 1 ] || fail "the hospital's ledger gained a row on a full disk?"
    expect_row serve "$cw/vendor.sqlite" "aborted: " "closed the connection|connection reset"
    observe hospital hospital client "$mnt/hospital.sqlite"
    grep -q "could not record" "$cw/hospital.err" && note "hospital also: \"$(grep -m1 'could not record' "$cw/hospital.err" | cut -c1-300)\""
    note "(the hospital ledger's only row is the one written before the disk filled)"
    observe "vendor (ended ${noticed} s after the hospital)" vendor serve "$cw/vendor.sqlite"
  fi
  umount "$mnt" && MOUNTED=""
}

# 13. Resume: a party is killed mid-computation (as in case 1), the vendor is started again, and
# the hospital continues with --resume SESSION. The count must equal the uninterrupted baseline's,
# the resumed run must have continued from a checkpoint, and both ledgers must name the validation
# it resumed. A second --resume of the completed validation is refused by the hospital itself.
BASE_CORRECT=""
case_resume() {
  local victim=$1 seed=$2 port n
  n=$(rand "resume$seed" "$(python3 -c "print(int(0.4 * $TRAFFIC))")" "$(python3 -c "print(int(0.8 * $TRAFFIC))")")
  serve vendor "$cw/vendor.sqlite" || return
  hospital_through_killing_proxy "$victim" "$(port_of vendor)" "$n" || return
  { finish proxy; finish hospital; finish vendor; } 2>/dev/null
  local validation; validation=$(row_field client "$cw/hospital.sqlite" session_id)
  [ "$validation" != null ] && [ -n "$validation" ] || { fail "the interrupted run left no session id in the hospital's ledger"; return; }
  grep -q -- "--resume $validation" "$cw/hospital.err" 2>/dev/null || [ "$victim" = hospital ] ||
    fail "the hospital did not print how to resume (--resume $validation)"
  # Again, without the proxy: the vendor restarted (on another port), the hospital resumes by the
  # id's first 12 digits.
  serve vendor2 "$cw/vendor.sqlite" --json "$cw/vendor2.json" || return
  port=$(port_of vendor2)
  client hospital2 "$cw/hospital.sqlite" "$port" --resume "${validation:0:12}" --json "$cw/hospital2.json"
  finish hospital2; finish vendor2
  expect_success hospital2; expect_success vendor2
  [ -f "$cw/hospital2.json" ] && [ -f "$cw/vendor2.json" ] || { fail "no result JSON from the resumed run"; return; }
  local got from; got=$(json_value "$cw/hospital2.json" correct); from=$(json_value "$cw/hospital2.json" images_from_checkpoint)
  [ "$got" = "$BASE_CORRECT" ] || fail "the resumed run counted $got correct, the uninterrupted baseline $BASE_CORRECT"
  [ "$(json_value "$cw/vendor2.json" correct)" = "$got" ] || fail "the parties disagree on the resumed count"
  [ "$from" -gt 0 ] 2>/dev/null || fail "the resumed run did not continue from a checkpoint (images_from_checkpoint = $from)"
  [ "$(json_value "$cw/hospital2.json" resumes)" = "$validation" ] || fail "the hospital's result does not name the resumed validation"
  expect_row client "$cw/hospital.sqlite" completed
  expect_row serve "$cw/vendor.sqlite" completed
  [ "$(row_field client "$cw/hospital.sqlite" resumes)" = "$validation" ] || fail "the hospital's new row does not name the validation it resumes"
  [ "$(row_field serve "$cw/vendor.sqlite" resumes)" = "$validation" ] || fail "the vendor's new row does not name the validation it resumes"
  # A completed validation cannot be resumed again.
  run again "$CLIENT" --connect "127.0.0.1:$port" --dataset "$DATA" --timeout 5 --ledger "$cw/hospital.sqlite" --resume "$validation" \
    --cert "$work/certs/hospital.crt" --key "$work/certs/hospital.key" --ca "$work/certs/ca.crt"
  expect_failure again "already completed"
  note "$victim killed after $n bytes; resumed with --resume ${validation:0:12}: $got/143 correct (baseline $BASE_CORRECT), $from images from the checkpoint, $(json_value "$cw/hospital2.json" seconds) s"
  note "ledgers: hospital $(outcomes client "$cw/hospital.sqlite"); vendor $(outcomes serve "$cw/vendor.sqlite")"
  note "resuming again: exit $(rc again); \"$(errline again)\""
}

# ---------------------------------------------------------------------------------------------

case_run "clean run (baseline: timings and traffic for the cases below)" case_baseline
for seed in 1 2 3; do case_run "1. vendor killed mid-computation (seed $seed)" case_kill vendor "$seed"; done
for seed in 4 5 6; do case_run "1. hospital killed mid-computation (seed $seed)" case_kill hospital "$seed"; done
cut_early=$(rand cut1 2000 65535 odd)
cut_late=$(rand cut2 65536 "$(python3 -c "print(int(0.9 * $TRAFFIC))")" odd)
case_run "2. connection cut after $cut_early bytes (set-up)" case_cut "$cut_early"
case_run "2. connection cut after $cut_late bytes (computation)" case_cut "$cut_late"
case_run "3a. garbage bytes sent to validate-serve" case_garbage_to_server
case_run "3a. validate-serve without --once survives garbage and serves the next hospital" case_garbage_then_clean
case_run "3b. a fake server answers validate-client with garbage" case_garbage_from_server
case_run "4. protocol version $newer (this build's + 1) from a fake vendor (after mutual TLS)" case_version_fake_vendor
case_run "4. protocol version $newer (this build's + 1) from a fake hospital (after mutual TLS)" case_version_fake_hospital
case_run "5. hospital certificate from another CA" case_bad_cert hospital "$work/other-ca" "$work/certs/ca.crt" \
  "not signed by the CA" "rejected this side's certificate|closed the connection during the TLS handshake"
case_run "5. vendor certificate from another CA" case_bad_cert vendor "$work/other-ca" "$work/certs/ca.crt" \
  "not signed by the CA" "rejected this side's certificate|closed the connection during the TLS handshake"
case_run "6. expired hospital certificate" case_bad_cert hospital "$work/expired" "$work/ca+expired.crt" \
  "expired" "expired"
case_run "6. expired vendor certificate" case_bad_cert vendor "$work/expired" "$work/ca+expired.crt" \
  "expired" "expired"
case_run "7. dataset with 29 features for a 30-feature model" case_dataset wrong-shape.csv "shape"
case_run "8. NaN feature (line 58)" case_dataset nan.csv "line 58.*NaN or infinite"
case_run "8. -inf feature (line 101)" case_dataset inf.csv "line 101.*NaN or infinite"
case_run "9. label 2 for a two-class model (line 122)" case_dataset label.csv "line 122.*outside the model's classes"
case_run "10. empty dataset (CSV header only)" case_dataset empty.csv "no examples"
case_run "10. empty dataset (0-byte CSV)" case_dataset zero-bytes.csv "no examples"
case_run "10. empty dataset (.npy folder with 0 examples)" case_dataset empty-npy "no examples"
case_run "11. truncated mlp-breast-cancer.onnx (plan, validate-serve)" case_truncated_onnx "$MODEL" 11
case_run "11. truncated densenet-digits.onnx (plan, validate-serve)" case_truncated_onnx "$ROOT/Models/densenet-digits.onnx" 12
case_run "12. vendor's ledger on a full disk" case_disk_full vendor
case_run "12. hospital's ledger on a full disk" case_disk_full hospital
case_run "13. resume after the vendor was killed mid-computation" case_resume vendor 1
case_run "13. resume after the hospital was killed mid-computation" case_resume hospital 2
case_run "14. vendor certificate that does not name the host connected to" case_wrong_vendor_name
case_run "15. pinned vendor fingerprint (--expect-vendor) mismatch" case_pinned_vendor
case_run "16. TLS session resumption without a certificate" case_tls_resumption
case_run "17. a feature outside the announced fixed-point range (line 132)" case_dataset huge.csv "line 132.*feature 4.*outside the fixed-point range"
case_run "18. an image folder with a damaged DICOM file" case_image_folder

total=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f}')" "$suite_start" "$(date +%s.%N)")
echo "faults: $passed passed, $failed failed$([ "$skipped" -eq 0 ] || echo ", $skipped skipped") (${total} s)"
[ "$failed" -eq 0 ]
