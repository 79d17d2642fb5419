#!/usr/bin/env bash
# The main job: builds SecureValidation (release) and runs a secure validation of the bundled
# DenseNet-style digits model on the bundled digits test set, both parties on this machine:
#   1. throwaway certificates (validate-inspect certs),
#   2. the vendor's validate-serve in the background (format chosen from its own calibration set),
#   3. the hospital's validate-client, which prints the secure accuracy,
#   4. the server stops after the session (--once).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
echo "== building (release; the first build takes several minutes)" >&2
swift build -c release 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' >&2 || { echo "build failed" >&2; exit 1; }
BIN=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$BIN/validate-inspect" certs "$work/certs" >/dev/null

# The server listens on port 0 and prints the port the kernel gave it ("listening on
# 127.0.0.1:PORT" on stderr); no free port is guessed beforehand (bind-then-close races).
echo "== vendor: validate-serve Models/densenet-digits.onnx on 127.0.0.1 (a port it picks)" >&2
"$BIN/validate-serve" --model Models/densenet-digits.onnx --listen "127.0.0.1:0" \
  --cert "$work/certs/vendor.crt" --key "$work/certs/vendor.key" --ca "$work/certs/ca.crt" \
  --calibration Datasets/digits-calibration --min-images 100 --once >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/serve.err" 2>/dev/null | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || { echo "the vendor's validate-serve did not start listening:" >&2; cat "$work/serve.err" >&2; exit 1; }
echo "== vendor listening on 127.0.0.1:$port" >&2

echo "== hospital: validate-client with Datasets/digits-test (360 images)" >&2
"$BIN/validate-client" --connect "127.0.0.1:$port" --dataset Datasets/digits-test \
  --cert "$work/certs/hospital.crt" --key "$work/certs/hospital.key" --ca "$work/certs/ca.crt" --batch 64
wait "$server_pid" || { echo "the vendor's side failed:" >&2; cat "$work/serve.err" >&2; exit 1; }
server_pid=""
echo "== plaintext reference for comparison (validate-inspect eval, same format)" >&2
"$BIN/validate-inspect" eval Models/densenet-digits.onnx Datasets/digits-test --ring-bits 37 --scale 12 2>/dev/null
