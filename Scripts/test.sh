#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs `swift test`, then the end-to-end checks
# on the release binaries: the plaintext accuracies must equal onnxruntime's (recorded by
# Scripts/train_models.py in Tests/Fixtures/models/expected.json), and for both bundled models a
# secure validation between validate-serve and validate-client on loopback must find exactly the
# plaintext fixed-point reference's count (validate-inspect eval with the same ℓ and s).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh

echo "== swift test" >&2
swift test 2>&1 | tee /tmp/securevalidation-swift-test.log | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Linking|Build)' || {
  echo "swift test failed (full log: /tmp/securevalidation-swift-test.log)" >&2; exit 1; }

echo "== end-to-end checks (release build)" >&2
swift build -c release 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' >&2 || { echo "release build failed" >&2; exit 1; }
BIN=$(swift build -c release --show-bin-path)
VI="$BIN/validate-inspect"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
passed=0; failed=0
check() { # name, command...
  local name=$1; shift
  if "$@" >"$work/out" 2>"$work/err"; then passed=$((passed + 1)); echo "ok      $name";
  else failed=$((failed + 1)); echo "FAILED  $name"; tail -n 5 "$work/err" "$work/out"; fi
}
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split('.'): d=d[int(k)] if isinstance(d, list) else d[k]
print(d)" "$1" "$2"; }
expect_eq() { [ "$1" = "$2" ] || { echo "expected $2, got $1" >&2; return 1; }; }

for pair in densenet-digits:digits-test mlp-breast-cancer:breast-cancer-test mlp-breast-cancer:breast-cancer-test.csv; do
  model=${pair%%:*}; data=${pair#*:}
  eval_check() {
    "$VI" eval "Models/$model.onnx" "Datasets/$data" --json "$work/eval.json" >&2
    local ort; ort=$(json_get Tests/Fixtures/models/expected.json "$model.ort_correct")
    expect_eq "$(json_get "$work/eval.json" float.correct)" "$ort"
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d['agreement'] >= 0.995 else 1)" "$work/eval.json" \
      || { echo "fixed/float agreement below 99.5%" >&2; return 1; }
  }
  check "eval $model on $data: float count = onnxruntime's, agreement >= 99.5%" eval_check
done

plan_check() { "$VI" plan Models/densenet-digits.onnx --json "$work/plan.json" && [ "$(json_get "$work/plan.json" plan.totals.nodes)" -gt 0 ]; }
check "plan densenet-digits" plan_check

# The float outputs on the whole test set must equal onnxruntime's within 1e-4 (validate-inspect
# compares them itself: the end-to-end checks need Python's standard library only).
infer_check() {
  "$VI" infer Models/densenet-digits.onnx Datasets/digits-test/inputs.npy --output "$work/y.npy" \
    --compare Tests/Fixtures/models/densenet-digits.ort-outputs.npy --tolerance 1e-4
}
check "infer densenet-digits matches onnxruntime" infer_check

bad_model_check() { ! "$VI" plan Tests/Fixtures/bad/unsupported-ops.onnx 2>"$work/bad.err" && grep -q Tanh "$work/bad.err"; }
check "an unsupported op is named, non-zero exit" bad_model_check

certs_check() { "$VI" certs "$work/certs" >/dev/null && for f in ca.crt vendor.crt vendor.key hospital.crt hospital.key; do [ -f "$work/certs/$f" ] || return 1; done; }
check "certs writes the five PEM files" certs_check

# listening_port LOG PID: waits (at most 60 s, and only while PID runs) for validate-serve's
# "listening on 127.0.0.1:PORT" line in LOG and prints PORT. The server listens on port 0 and
# reports the port the kernel gave it: no free port is guessed beforehand (bind-then-close races).
listening_port() {
  local log=$1 pid=$2 port
  for _ in $(seq 1 600); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" 2>/dev/null | head -n 1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "validate-serve reported no listening port:" >&2; tail -n 5 "$log" >&2
  return 1
}

# Secure validation on loopback for each bundled model: the opened count must equal the plaintext
# fixed-point reference's count with the same (ℓ, s), which the vendor chose from its calibration set.
secure_check() { # model dataset calibration
  local model=$1 data=$2 calibration=$3
  "$VI" plan "Models/$model.onnx" --calibration "Datasets/$calibration" --json "$work/plan.json" >/dev/null
  local bits scale; bits=$(json_get "$work/plan.json" program.ringBits); scale=$(json_get "$work/plan.json" program.scale)
  "$VI" eval "Models/$model.onnx" "Datasets/$data" --ring-bits "$bits" --scale "$scale" --json "$work/ref.json" >/dev/null 2>&1
  "$BIN/validate-serve" --model "Models/$model.onnx" --listen "127.0.0.1:0" --cert "$work/certs/vendor.crt" \
    --key "$work/certs/vendor.key" --ca "$work/certs/ca.crt" --calibration "Datasets/$calibration" --min-images 100 \
    --once --timeout 300 --json "$work/serve.json" --ledger "$work/vendor-$model.sqlite" >"$work/serve.out" 2>"$work/serve.err" &
  local pid=$! port
  port=$(listening_port "$work/serve.err" "$pid") || { kill "$pid" 2>/dev/null; return 1; }
  "$BIN/validate-client" --connect "127.0.0.1:$port" --dataset "Datasets/$data" --cert "$work/certs/hospital.crt" \
    --key "$work/certs/hospital.key" --ca "$work/certs/ca.crt" --batch 64 --timeout 300 --json "$work/client.json" \
    --ledger "$work/hospital-$data.sqlite" >&2 || { kill $pid 2>/dev/null; return 1; }
  wait $pid || { cat "$work/serve.err" >&2; return 1; }
  expect_eq "$(json_get "$work/client.json" correct)" "$(json_get "$work/ref.json" fixed.correct)" &&
  expect_eq "$(json_get "$work/serve.json" correct)" "$(json_get "$work/ref.json" fixed.correct)" &&
  expect_eq "$(json_get "$work/client.json" ring_bits)" "$bits" &&
  audit_check "$model" "$data" "$bits" "$scale"
}
# An auditor's check of the salted commitments: each party's salt (its ledger's commitment_salt)
# recomputes, with validate-inspect hash, the commitment both parties recorded for the session.
audit_check() { # model dataset bits scale
  "$BIN/validate-serve" history --ledger "$work/vendor-$1.sqlite" --json >"$work/vendor-history.json" &&
  "$BIN/validate-client" history --ledger "$work/hospital-$2.sqlite" --json >"$work/hospital-history.json" || return 1
  local vsalt hsalt
  vsalt=$(json_get "$work/vendor-history.json" 0.commitment_salt); hsalt=$(json_get "$work/hospital-history.json" 0.commitment_salt)
  expect_eq "$("$VI" hash "Models/$1.onnx" --ring-bits "$3" --scale "$4" --salt "$vsalt" | cut -d' ' -f1)" "$(json_get "$work/client.json" model_commitment)" &&
  expect_eq "$("$VI" hash "Datasets/$2" --salt "$hsalt" | cut -d' ' -f1)" "$(json_get "$work/serve.json" dataset_commitment)"
}
check "secure validation of densenet-digits = fixed-point reference count; salts recompute both commitments" secure_check densenet-digits digits-test digits-calibration
check "secure validation of mlp-breast-cancer = fixed-point reference count; salts recompute both commitments" secure_check mlp-breast-cancer breast-cancer-test breast-cancer-calibration

# Image folders (the digits as files, Scripts/dev/make_image_datasets.py): the client applies the
# model's declared preprocessing. PNG and DICOM (six storage variants: modality LUT, signed,
# MONOCHROME1, JPEG lossless, JPEG-LS, RLE) are lossless: their inputs equal the .npy set's bit for
# bit and the secure count equals the .npy set's reference; JPEG is lossy: its secure count equals
# the reference on the same folder. The dataset commitment binds the files (audit_check).
image_check() { # folder
  secure_check densenet-digits "$1" digits-calibration || return 1
  case $1 in digits-jpeg) return 0;; esac
  "$VI" eval Models/densenet-digits.onnx Datasets/digits-test --ring-bits "$(json_get "$work/client.json" ring_bits)" \
    --scale "$(json_get "$work/client.json" scale)" --json "$work/npy-ref.json" >/dev/null 2>&1 &&
  expect_eq "$(json_get "$work/client.json" correct)" "$(json_get "$work/npy-ref.json" fixed.correct)"
}
for folder in digits-dicom digits-png digits-jpeg; do
  check "secure validation of densenet-digits on $folder (image folder + declared preprocessing) = fixed-point reference" image_check "$folder"
done
# What the hospital would share, looked at first: validate-inspect preprocess on the DICOM folder
# writes exactly the .npy set's inputs (array data compared byte for byte).
preprocess_check() {
  "$VI" preprocess Models/densenet-digits.onnx Datasets/digits-dicom --output "$work/dicom-inputs.npy" >/dev/null 2>&1 &&
  python3 - "$work/dicom-inputs.npy" Datasets/digits-test/inputs.npy <<'PY'
import sys
def data(path):
    raw = open(path, "rb").read()
    header = int.from_bytes(raw[8:10], "little") if raw[6] == 1 else int.from_bytes(raw[8:12], "little")
    start = (10 if raw[6] == 1 else 12) + header
    assert b"(360, 1, 8, 8)" in raw[:start] and b"<f4" in raw[:start], raw[:start]
    return raw[start:]
sys.exit(0 if data(sys.argv[1]) == data(sys.argv[2]) else "the preprocessed DICOM inputs differ from inputs.npy")
PY
}
check "validate-inspect preprocess: the DICOM folder's inputs = Datasets/digits-test/inputs.npy, byte for byte" preprocess_check
# A bad image folder is refused before anything is computed, naming the file at fault.
bad_images_check() {
  cp -r Datasets/digits-png "$work/bad-png" && printf 'not an image' > "$work/bad-png/digit-007.png" &&
  ! "$VI" preprocess Models/densenet-digits.onnx "$work/bad-png" --output "$work/bad.npy" 2>"$work/bad.err" &&
  grep -q "digit-007.png" "$work/bad.err" && [ ! -e "$work/bad.npy" ] &&
  cp Datasets/digits-png/digit-007.png "$work/bad-png/extra.png" &&
  ! "$VI" preprocess Models/densenet-digits.onnx "$work/bad-png" --output "$work/bad.npy" 2>"$work/bad.err" &&
  grep -q "extra.png: the image has no row in" "$work/bad.err"
}
check "a bad image folder (unreadable file, unlisted image) is refused naming the file" bad_images_check
# Signed validation report: both parties run with --report; verify-report accepts the hospital's and
# the vendor's copy with the CA from validate-inspect certs; a count changed in report.json's
# statement (python3, standard library only) makes it exit non-zero, saying a signature fails; and
# a second run into the same directory is refused before connecting, naming report.json.
report_check() {
  local C=$work/certs
  "$BIN/validate-serve" --model Models/mlp-breast-cancer.onnx --listen "127.0.0.1:0" --cert "$C/vendor.crt" \
    --key "$C/vendor.key" --ca "$C/ca.crt" --calibration Datasets/breast-cancer-calibration --min-images 100 \
    --once --timeout 300 --ledger "$work/vendor-report.sqlite" --report "$work/vendor-reports" >"$work/serve.out" 2>"$work/serve.err" &
  local pid=$! port
  port=$(listening_port "$work/serve.err" "$pid") || { kill "$pid" 2>/dev/null; return 1; }
  "$BIN/validate-client" --connect "127.0.0.1:$port" --dataset Datasets/breast-cancer-test --cert "$C/hospital.crt" \
    --key "$C/hospital.key" --ca "$C/ca.crt" --timeout 300 --json "$work/client-report.json" \
    --ledger "$work/hospital-report.sqlite" --report "$work/report" >&2 || { kill $pid 2>/dev/null; return 1; }
  wait $pid || { cat "$work/serve.err" >&2; return 1; }
  [ -f "$work/report/report.json" ] && [ -f "$work/report/report.html" ] || { echo "no report.json/report.html" >&2; return 1; }
  "$VI" verify-report "$work/report" --ca "$C/ca.crt" >"$work/verify.out" || return 1
  grep -q "OK" "$work/verify.out" && grep -q "$(json_get "$work/client-report.json" correct) of 143" "$work/verify.out" || return 1
  "$VI" verify-report "$work/vendor-reports/$(json_get "$work/client-report.json" session_id)" --ca "$C/ca.crt" >&2 || return 1
  # Both ledgers tie the session to its report: report_sha256 is the SHA-256 of the signed statement.
  "$BIN/validate-serve" history --ledger "$work/vendor-report.sqlite" --json >"$work/vendor-report-history.json" &&
  "$BIN/validate-client" history --ledger "$work/hospital-report.sqlite" --json >"$work/hospital-report-history.json" || return 1
  python3 - "$work/report/report.json" "$work/vendor-report-history.json" "$work/hospital-report-history.json" <<'PY' || return 1
import hashlib, json, sys
digest = hashlib.sha256(json.load(open(sys.argv[1]))["statement"].encode("utf-8")).hexdigest()
for history in sys.argv[2:]:
    rows = [r for r in json.load(open(history)) if r["outcome"] == "completed"]
    assert [r["report_sha256"] for r in rows] == [digest], (history, rows, digest)
PY
  grep -q "statement SHA-256: $(python3 -c "import hashlib,json,sys; print(hashlib.sha256(json.load(open(sys.argv[1]))['statement'].encode()).hexdigest())" "$work/report/report.json")" "$work/verify.out" || return 1
  cp -r "$work/report" "$work/tampered"
  python3 - "$work/tampered/report.json" <<'PY'
import json, sys
path = sys.argv[1]
report = json.load(open(path))
statement = json.loads(report["statement"])
statement["opened"]["correct"] += 1
report["statement"] = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
json.dump(report, open(path, "w"), indent=2)
PY
  ! "$VI" verify-report "$work/tampered" --ca "$C/ca.crt" 2>"$work/tampered.err" >&2 &&
  grep -q "signature does not verify over the statement" "$work/tampered.err" || { cat "$work/tampered.err" >&2; return 1; }
  ! "$BIN/validate-client" --connect "127.0.0.1:$port" --dataset Datasets/breast-cancer-test --cert "$C/hospital.crt" \
    --key "$C/hospital.key" --ca "$C/ca.crt" --timeout 30 --ledger "$work/hospital-report.sqlite" \
    --report "$work/report" 2>"$work/again.err" && grep -q "report.json: already exists" "$work/again.err"
}
check "signed report: both parties sign, verify-report accepts it with the CA and rejects a changed count; both ledgers record its SHA-256" report_check

# Clinical metrics on loopback: the opened per-finding values must equal validate-inspect eval's
# fixed-point column exactly (same ℓ, s), for every metric asked.
clinical_check() { # model dataset calibration metric [json keys…]
  local model=$1 data=$2 calibration=$3 metric=$4; shift 4
  "$VI" plan "Models/$model.onnx" --calibration "Datasets/$calibration" --json "$work/plan.json" >/dev/null
  local bits scale; bits=$(json_get "$work/plan.json" program.ringBits); scale=$(json_get "$work/plan.json" program.scale)
  "$VI" eval "Models/$model.onnx" "Datasets/$data" --metric "$metric" --ring-bits "$bits" --scale "$scale" --json "$work/ref.json" >/dev/null 2>&1
  "$BIN/validate-serve" --model "Models/$model.onnx" --listen "127.0.0.1:0" --cert "$work/certs/vendor.crt" \
    --key "$work/certs/vendor.key" --ca "$work/certs/ca.crt" --calibration "Datasets/$calibration" --min-images 100 \
    --allow "$metric" --once --timeout 300 --json "$work/serve.json" --ledger "$work/vendor-clinical.sqlite" >"$work/serve.out" 2>"$work/serve.err" &
  local pid=$! port
  port=$(listening_port "$work/serve.err" "$pid") || { kill "$pid" 2>/dev/null; return 1; }
  "$BIN/validate-client" --connect "127.0.0.1:$port" --dataset "Datasets/$data" --cert "$work/certs/hospital.crt" \
    --key "$work/certs/hospital.key" --ca "$work/certs/ca.crt" --metric "$metric" --batch 64 --timeout 300 \
    --json "$work/client.json" --ledger "$work/hospital-clinical.sqlite" >&2 || { kill $pid 2>/dev/null; return 1; }
  wait $pid || { cat "$work/serve.err" >&2; return 1; }
  python3 - "$work/ref.json" "$work/client.json" "$work/serve.json" "$@" <<'PY'
import json, sys
ref, client, serve = (json.load(open(p)) for p in sys.argv[1:4])
for key in sys.argv[4:]:
    for side, result in (("hospital", client), ("vendor", serve)):
        if result[key] != ref["fixed"][key]:
            sys.exit(f"{side} {key} {result[key]} != eval's fixed.{key} {ref['fixed'][key]}")
PY
}
check "secure per-class AUROC of densenet-digits = eval's fixed-point values" clinical_check densenet-digits digits-test digits-calibration auroc auroc macro_auroc
check "secure per-finding AUROC of the multi-label densenet-digits-findings = eval's fixed-point values" clinical_check densenet-digits-findings digits-findings-test digits-calibration auroc auroc macro_auroc
check "secure per-finding sensitivity/specificity of densenet-digits-findings = eval's fixed-point values" clinical_check densenet-digits-findings digits-findings-test digits-calibration sens-spec sensitivity specificity

# Differential privacy on loopback: a validation at ε = 0.6 opens a noisy count (both sides the
# same, dp_epsilon in the JSON); a second at ε = 0.6 would exceed the test set's budget of 1.0 and is
# refused before any connection, with a ledger row that says so; history shows what was spent.
dp_check() {
  local C=$work/certs h=$work/hospital-dp.sqlite
  "$BIN/validate-serve" --model Models/mlp-breast-cancer.onnx --listen "127.0.0.1:0" --cert "$C/vendor.crt" \
    --key "$C/vendor.key" --ca "$C/ca.crt" --calibration Datasets/breast-cancer-calibration --min-images 100 \
    --once --timeout 300 --json "$work/serve-dp.json" --ledger "$work/vendor-dp.sqlite" >"$work/serve.out" 2>"$work/serve.err" &
  local pid=$! port
  port=$(listening_port "$work/serve.err" "$pid") || { kill "$pid" 2>/dev/null; return 1; }
  "$BIN/validate-client" --connect "127.0.0.1:$port" --dataset Datasets/breast-cancer-test --cert "$C/hospital.crt" \
    --key "$C/hospital.key" --ca "$C/ca.crt" --dp-epsilon 0.6 --dp-budget 1 --timeout 300 --json "$work/client-dp.json" \
    --ledger "$h" >&2 || { kill $pid 2>/dev/null; return 1; }
  wait $pid || return 1
  expect_eq "$(json_get "$work/client-dp.json" dp_epsilon)" 0.6 &&
  expect_eq "$(json_get "$work/client-dp.json" correct)" "$(json_get "$work/serve-dp.json" correct)" || return 1
  ! "$BIN/validate-client" --connect "127.0.0.1:$port" --dataset Datasets/breast-cancer-test --cert "$C/hospital.crt" \
    --key "$C/hospital.key" --ca "$C/ca.crt" --dp-epsilon 0.6 --dp-budget 1 --timeout 30 --ledger "$h" 2>"$work/dp2.err" &&
  grep -q "privacy budget" "$work/dp2.err" &&
  "$BIN/validate-client" history --ledger "$h" >"$work/dp-history.txt" &&
  grep -q "refused: Refused before any computation" "$work/dp-history.txt" &&
  grep -q "ε = 0.6 spent in 1 validation" "$work/dp-history.txt"
}
check "differential privacy: noisy count opened once, the budget refuses the next before any computation" dp_check

# Pooled validation: three sites with their own certificates and ledgers, one vendor, one
# aggregator (Scripts/demo-multisite.sh), and a 4-shard validation through a one-node Slurm
# (Scripts/slurm/test-slurm.sh: job array, vendor job, dependent pool-open job), each pooled count
# equal to the reference (the demo: the fixed-point reference; Slurm: a single session's count).
check "multi-site pool: 3 sites, pool-send/collect/open = fixed-point reference (Scripts/demo-multisite.sh)" bash Scripts/demo-multisite.sh "$BIN"
slurm_check() { bash Scripts/slurm/test-slurm.sh "$BIN" >&2; }
check "Slurm scale-out: 4-shard job array + dependent pool-open = single-session count (Scripts/slurm/test-slurm.sh)" slurm_check

# Fault injection (Scripts/faults.sh): killed parties, cut connections, garbage, a protocol-version
# mismatch, foreign and expired certificates, bad test sets, truncated models, a full ledger disk.
# Each case must end with a clear error, a non-zero exit and a ledger row on both sides, never a hang.
faults_check() {
  local log=/tmp/securevalidation-faults.log
  bash Scripts/faults.sh "$BIN" >"$log" 2>&1 || { grep -E '^FAILED' "$log" >&2; tail -n 1 "$log" >&2; return 1; }
}
check "fault injection (Scripts/faults.sh; log in /tmp/securevalidation-faults.log)" faults_check

echo "end-to-end: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
