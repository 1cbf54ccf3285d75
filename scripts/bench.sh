#!/usr/bin/env bash
# Every benchmark of kassa in one sitting, so that ratios compare figures of the same run:
#   1. criterion: the SOAP codec of each cash-in message, one durable journal commit
#   2. whole process: `kassa --demo` beside the bare ratatui floor (../shared/bench)
#   3. optional (--zeep): Python zeep on the same SOAP messages, the codec's peer
# Results: target/criterion/ (HTML), target/bench/tui.jsonl, and a summary on stdout.
# Don't run anything else heavy meanwhile: the machine has two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared="${KASSA_SHARED:-$root/../shared}"
runs="${RUNS:-10}"
out="$root/target/bench"
mkdir -p "$out"

echo "== criterion (codec, journal)"
cargo bench --bench codec -- --noplot 2>&1 | grep -E '^[a-z_]+/|time:' | tee "$out/codec.txt"
cargo bench --bench journal -- --noplot 2>&1 | grep -E '^journal/|time:' | tee "$out/journal.txt"

if ! command -v tmux >/dev/null; then
  echo "tmux is needed for the whole-process figures: apt-get install -y tmux" >&2
  exit 1
fi
echo "== whole process (tui-measure.sh, $runs runs each)"
cargo build --release --quiet
# shared/ is read-only: the floor builds into our target dir.
cargo build --release --quiet --manifest-path "$shared/bench/baseline-ratatui/Cargo.toml" \
  --target-dir "$out/baseline-target"
rm -f "$out/tui.jsonl"
"$shared/bench/tui-measure.sh" -n "$runs" -m BASELINE-READY -k Down,Up -q q --name baseline-ratatui \
  -o "$out/tui.jsonl" -- "$out/baseline-target/release/baseline-ratatui" >/dev/null
# A fresh data dir so that the demo journal starts empty each time.
demo_home=$(mktemp -d)
trap 'rm -rf "$demo_home"' EXIT
"$shared/bench/tui-measure.sh" -n "$runs" -m "Allpay" -k Down,Up -q q --name "kassa --demo" \
  -e HOME="$demo_home" -o "$out/tui.jsonl" -- "$root/target/release/kassa" --demo >/dev/null
"$shared/bench/tui-measure.sh" --report "$out/tui.jsonl"

if [ "${1:-}" = "--zeep" ]; then
  echo "== Python zeep on the same messages"
  [ -x "$out/zeep/bin/python" ] || { python3 -m venv "$out/zeep" && "$out/zeep/bin/pip" -q install zeep; }
  "$out/zeep/bin/python" "$shared/bench/soap/soap_peer.py" --n 2000
fi
