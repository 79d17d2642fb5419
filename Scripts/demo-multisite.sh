#!/usr/bin/env bash
# A pooled validation across three sites, all on this machine: the bundled digits test set (360
# images) is split into three sites of 120 (validate-client --shard), each with its own
# certificate and ledger. Each site runs its part against one vendor (nothing is opened), sites b
# and c send their shares to site a (the aggregator), and site a opens the pooled accuracy with the
# vendor; both sign a report of the opening, which verify-report then checks. Prints the pooled
# accuracy next to the plaintext fixed-point reference on the whole set; exits non-zero if they
# differ or the report does not verify.
#
# Usage: bash Scripts/demo-multisite.sh [BIN]   (BIN: a folder with the release binaries; default:
# build them). Set KEEP=DIR to keep the certificates, ledgers and logs in DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then BIN=$1; else
  bash Scripts/setup.sh
  echo "== building (release)" >&2
  swift build -c release 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' >&2 || { echo "build failed" >&2; exit 1; }
  BIN=$(swift build -c release --show-bin-path)
fi
work=${KEEP:-$(mktemp -d)}; mkdir -p "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

# listening_port LOG PID: the port a server reported ("listening on 127.0.0.1:PORT" on stderr).
listening_port() {
  local log=$1 pid=$2 port
  for _ in $(seq 1 600); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" 2>/dev/null | head -n 1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "no listening port in $log:" >&2; tail -n 5 "$log" >&2; return 1
}
json_get() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

model=Models/densenet-digits.onnx data=Datasets/digits-test pool=digits-demo
sites=(site-a site-b site-c)
"$BIN/validate-inspect" certs "$work/certs" --site site-a --site site-b --site site-c >/dev/null
tlsv=(--cert "$work/certs/vendor.crt" --key "$work/certs/vendor.key" --ca "$work/certs/ca.crt")
tls_of() { echo --cert "$work/certs/$1.crt" --key "$work/certs/$1.key" --ca "$work/certs/ca.crt"; }

echo "== vendor: validate-serve $model (serves the three parts, then the opening)" >&2
"$BIN/validate-serve" --model "$model" --listen 127.0.0.1:0 "${tlsv[@]}" --calibration Datasets/digits-calibration \
  --min-images 100 --timeout 300 --ledger "$work/vendor.sqlite" >"$work/vendor.out" 2>"$work/vendor.err" &
pids+=($!)
vport=$(listening_port "$work/vendor.err" "${pids[0]}")

start=$(date +%s)
for i in 1 2 3; do
  site=${sites[$((i - 1))]}
  echo "== $site: part $i/3 of pool $pool (shard $i/3 of $data: 120 images; nothing is opened)" >&2
  # shellcheck disable=SC2046
  "$BIN/validate-client" --connect "127.0.0.1:$vport" --dataset "$data" --shard "$i/3" --pool "$pool" --part "$i/3" \
    $(tls_of "$site") --batch 64 --timeout 300 --ledger "$work/$site.sqlite" --json "$work/$site.json" 2>"$work/$site.err" \
    | sed "s/^/   $site: /" || { cat "$work/$site.err" >&2; exit 1; }
done

echo "== site-a collects the other sites' shares (a share alone is uniformly random)" >&2
# shellcheck disable=SC2046
"$BIN/validate-client" pool-collect --pool "$pool" --listen 127.0.0.1:0 $(tls_of site-a) --wait 120 \
  --ledger "$work/site-a.sqlite" >"$work/collect.out" 2>"$work/collect.err" &
collect=$!; pids+=($collect)
aport=$(listening_port "$work/collect.err" "$collect")
for site in site-b site-c; do
  # shellcheck disable=SC2046
  "$BIN/validate-client" pool-send --pool "$pool" --connect "127.0.0.1:$aport" $(tls_of "$site") \
    --ledger "$work/$site.sqlite" | sed "s/^/   $site: /"
done
wait "$collect" || { cat "$work/collect.err" >&2; exit 1; }

echo "== site-a and the vendor open the pooled accuracy, once, and both sign a report of it" >&2
# shellcheck disable=SC2046
"$BIN/validate-client" pool-open --pool "$pool" --connect "127.0.0.1:$vport" $(tls_of site-a) --timeout 300 \
  --ledger "$work/site-a.sqlite" --json "$work/pooled.json" --report "$work/pool-report" 2>"$work/open.err" \
  | sed 's/^/   site-a: /' || { cat "$work/open.err" >&2; exit 1; }
seconds=$(( $(date +%s) - start ))
echo "== anyone with the CA checks the pool's signed report" >&2
"$BIN/validate-inspect" verify-report "$work/pool-report" --ca "$work/certs/ca.crt" | sed 's/^/   /' \
  || { echo "the pool's signed report does not verify" >&2; exit 1; }
python3 - "$work/pool-report/report.json" "$pool" <<'PY' || exit 1
import json, sys
statement = json.loads(json.load(open(sys.argv[1]))["statement"])
pool = statement.get("pool") or {}
assert pool.get("name") == sys.argv[2] and [p["images"] for p in pool["parts"]] == [120, 120, 120], pool
print(f"   the signed statement names pool {pool['name']}: parts of {', '.join(str(p['images']) for p in pool['parts'])} images")
PY

bits=$(json_get "$work/pooled.json" ring_bits); scale=$(json_get "$work/pooled.json" scale)
"$BIN/validate-inspect" eval "$model" "$data" --ring-bits "$bits" --scale "$scale" --json "$work/ref.json" >/dev/null 2>&1
pooled=$(json_get "$work/pooled.json" correct); total=$(json_get "$work/pooled.json" total)
reference=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['fixed']['correct'])" "$work/ref.json")
echo
printf '%-44s %s\n' "pooled accuracy, 3 sites (secure, opened once)" "$pooled/$total = $(python3 -c "print(f'{$pooled/$total:.4f}')")"
printf '%-44s %s\n' "plaintext fixed-point reference, whole set" "$reference/$total = $(python3 -c "print(f'{$reference/$total:.4f}')")"
echo "(parts and opening: ${seconds} s; no site's own count appears in any output or ledger)"
[ "$pooled" = "$reference" ] || { echo "the pooled count differs from the reference" >&2; exit 1; }
