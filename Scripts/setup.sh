#!/usr/bin/env bash
# Installs the Debian packages the build needs, only those that are missing:
#   libprotobuf-c-dev (ONNX parsing), libssl-dev (OpenSSL: AES, TLS), libsqlite3-dev (ledger),
#   pkg-config (to find them), openssl (its s_client plays an attacker in the TLS tests),
#   python3 (for the end-to-end checks in Scripts/test.sh and Scripts/faults.sh, which use its
#   standard library only: nothing from PyPI is needed), slurm-wlm and munge (a one-node Slurm
#   started and stopped by Scripts/slurm/test-slurm.sh: the pooled scale-out test), libdcmtk-dev,
#   libpng-dev and libjpeg62-turbo-dev (image folders: DICOM through DCMTK, PNG through libpng,
#   JPEG through libjpeg-turbo).
# Needs root (or sudo) when something is missing; prints what it would install otherwise.
set -euo pipefail
packages=(libprotobuf-c-dev libssl-dev libsqlite3-dev pkg-config openssl python3 slurm-wlm munge libdcmtk-dev libpng-dev libjpeg62-turbo-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# python3 may come from elsewhere (pyenv, /usr/local): only install it when no python3 runs.
if [[ " ${missing[*]} " == *" python3 "* ]] && command -v python3 >/dev/null 2>&1; then
  missing=("${missing[@]/python3}")
  missing=(${missing[@]+"${missing[@]}"})
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "setup: not root and no sudo; please run: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
command -v swift >/dev/null 2>&1 || { echo "setup: swift is not on PATH (Swift 6.1 or later is needed)" >&2; exit 1; }
