#!/usr/bin/env bash
# The pooled scale-out test on a one-node Slurm cluster started (and stopped) by this script:
# munged, slurmctld and slurmd from Debian's slurm-wlm and munge (installed by Scripts/setup.sh),
# run as root with proctrack/linuxproc. The vendor's validate-serve runs as a Slurm job
# (vendor.sbatch, --max-sessions 4), the hospital's 4 shards of the bundled digits test set as a
# job array (hospital-shards.sbatch, --array=0-3), and the pool's opening as a job that depends on
# the array (pool-open.sbatch). The pooled count must equal a single session's count over the
# whole set (run first, against the same vendor). Prints both wall times.
#
# Usage: bash Scripts/slurm/test-slurm.sh BIN   (BIN: the folder of the release binaries)
# The node claims 8 CPUs (SlurmdParameters=config_overrides) so that the vendor and four shards
# run at once on a small machine: they share its cores.
set -euo pipefail
BIN=$(cd "${1:?usage: test-slurm.sh BIN}" && pwd)
cd "$(dirname "$0")/../.."
root=$(pwd)
[ "$(id -u)" -eq 0 ] || { echo "test-slurm: the one-node Slurm runs as root (slurmctld, slurmd)" >&2; exit 1; }
for tool in munged slurmctld slurmd sbatch squeue scontrol; do
  command -v "$tool" >/dev/null || { echo "test-slurm: $tool is missing (bash Scripts/setup.sh installs slurm-wlm and munge)" >&2; exit 1; }
done
w=$(mktemp -d /tmp/sv-slurm.XXXXXX)
chmod 755 "$w"
export SLURM_CONF=$w/slurm.conf
started_munge=""
vendor_job=""
cleanup() {
  if [ -n "$vendor_job" ]; then
    scancel "$vendor_job" 2>/dev/null || true
    # Wait for the job's step to end before stopping slurmd (it would stay for a running step).
    for _ in $(seq 50); do squeue -h -j "$vendor_job" 2>/dev/null | grep -q . || break; sleep 0.2; done
  fi
  for daemon in slurmd slurmctld; do
    [ -f "$w/$daemon.pid" ] || continue
    local pid; pid=$(cat "$w/$daemon.pid")
    kill "$pid" 2>/dev/null || continue
    # Wait for it to exit (and free its port) before the next test starts one.
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  done
  [ -n "$started_munge" ] && kill "$started_munge" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$w"
}
trap cleanup EXIT
fail() { echo "test-slurm: $*" >&2; for f in "$w"/*.log "$w"/sv-*.out; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 8 "$f" >&2; }; done; exit 1; }

# munge: the package's key; a daemon as the munge user unless one already runs.
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
  install -d -o munge -g munge -m 0755 /run/munge
  [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
  runuser -u munge -- /usr/sbin/munged
  started_munge=$(cat /run/munge/munged.pid 2>/dev/null || pgrep -u munge munged | head -n 1)
  for _ in $(seq 50); do munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n </dev/null | unmunge >/dev/null || fail "munged did not start"
fi

host=$(hostname -s)
mkdir -p "$w/state" "$w/spool"
cat >"$SLURM_CONF" <<CONF
ClusterName=svtest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
SlurmdParameters=config_overrides
StateSaveLocation=$w/state
SlurmdSpoolDir=$w/spool
SlurmctldPidFile=$w/slurmctld.pid
SlurmdPidFile=$w/slurmd.pid
SlurmctldLogFile=$w/slurmctld.log
SlurmdLogFile=$w/slurmd.log
NodeName=$host CPUs=8 RealMemory=20000 State=UNKNOWN
PartitionName=sv Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
# The ports of a cluster that is still stopping (another run of this test) must be free first.
for port in 6817 6818; do
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break; sleep 0.2; done
done
slurmctld -i || fail "slurmctld did not start"
slurmd || fail "slurmd did not start"
for _ in $(seq 100); do [ "$(sinfo -h -o %t 2>/dev/null)" = "idle" ] && break; sleep 0.2; done
[ "$(sinfo -h -o %t)" = "idle" ] || fail "the node is not idle: $(sinfo -h -o '%t %E' 2>&1)"
echo "test-slurm: one-node Slurm up ($host)" >&2

"$BIN/validate-inspect" certs "$w/certs" >/dev/null
export SV_BIN=$BIN SV_TLS_DIR=$w/certs SV_POOL=digits-shards SV_DATASET=$root/Datasets/digits-test SV_JSON_DIR=$w
# The vendor's server job; its port is in its output.
vendor_job=$(SV_MODEL=$root/Models/densenet-digits.onnx SV_CALIBRATION=$root/Datasets/digits-calibration SV_LISTEN=127.0.0.1:0 \
  SV_LEDGER=$w/vendor.sqlite SV_MAX_SESSIONS=4 sbatch --parsable --chdir "$w" --output "$w/sv-vendor.out" "$root/Scripts/slurm/vendor.sbatch")
port=""
for _ in $(seq 600); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$w/sv-vendor.out" 2>/dev/null | head -n 1 || true)
  [ -n "$port" ] && break; sleep 0.1
done
[ -n "$port" ] || fail "the vendor job did not start listening"
export SV_VENDOR=127.0.0.1:$port SV_LEDGER=$w/hospital.sqlite

# One session over the whole set, for comparison.
t0=$(date +%s.%N)
"$BIN/validate-client" --connect "$SV_VENDOR" --dataset "$SV_DATASET" --cert "$w/certs/hospital.crt" --key "$w/certs/hospital.key" \
  --ca "$w/certs/ca.crt" --batch 64 --lanes 1 --ledger "$w/single.sqlite" --json "$w/single.json" >/dev/null 2>"$w/single.log" \
  || fail "the single session failed"
t1=$(date +%s.%N)

# Four shards as a job array, then the opening as a dependent job.
array=$(sbatch --parsable --array=0-3 --chdir "$w" --output "$w/sv-shard-%A_%a.out" "$root/Scripts/slurm/hospital-shards.sbatch")
opening=$(SV_JSON=$w/pooled.json sbatch --parsable --dependency=afterok:"$array" --chdir "$w" --output "$w/sv-pool-open.out" \
  "$root/Scripts/slurm/pool-open.sbatch")
state=""
for _ in $(seq 1200); do
  info=$(scontrol show job "$opening" 2>/dev/null || true)
  state=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$info" | head -n 1)
  case "$state" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) break ;; esac
  # A shard that failed leaves the opening waiting for ever: stop at once.
  grep -q "DependencyNeverSatisfied" <<<"$info" && { state="never started: a shard failed"; break; }
  sleep 0.5
done
t2=$(date +%s.%N)
[ "$state" = "COMPLETED" ] || fail "the pool-open job ended $state (array $array)"
single=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['correct'])" "$w/single.json")
pooled=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['correct'])" "$w/pooled.json")
python3 - "$t0" "$t1" "$t2" "$single" "$pooled" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:4])
print(f"test-slurm: 1 session over 360 images: {sys.argv[4]} correct, {t1 - t0:.1f} s; "
      f"4 shards (job array) + pool-open (dependent job): {sys.argv[5]} correct, {t2 - t1:.1f} s")
PY
[ "$single" = "$pooled" ] || fail "the pooled count $pooled differs from the single session's $single"
