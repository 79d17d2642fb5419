#!/usr/bin/env bash
# Renders a signed report's report.html with headless Chromium (a developer's machine: Debian's
# `chromium` package; CI never runs this) to a screenshot and a printed PDF, to look at how it
# renders on screen and on A4.
#   bash Scripts/dev/render-report.sh REPORT_DIR OUT_PREFIX
# writes OUT_PREFIX.png (1240 px wide, the whole page) and OUT_PREFIX.pdf (A4, as printed).
set -euo pipefail
dir=$1; out=$2
html=$(cd "$dir" && pwd)/report.html
[ -f "$html" ] || { echo "render-report: no report.html in $dir" >&2; exit 1; }
command -v chromium >/dev/null || { echo "render-report: needs chromium (apt-get install chromium)" >&2; exit 1; }
profile=$(mktemp -d); trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" --no-first-run)
chromium "${flags[@]}" --window-size=1240,2400 --screenshot="$out.png" "file://$html" 2>/dev/null
chromium "${flags[@]}" --no-pdf-header-footer --print-to-pdf="$out.pdf" "file://$html" 2>/dev/null
echo "render-report: $out.png, $out.pdf"
