#!/usr/bin/env bash
# kassa with hundreds and thousands of operations in flight, beside the bare ratatui floor,
# all measured in one run (the machine is noisy: compare within a run, quote medians).
#
#   scripts/bench-load.sh [N...]            default: 500 5000
#
# For each N: a standalone emulator that never settles a cash-in, N cash-ins confirmed through
# the command line and left pending, then the console started on that journal and measured
# from the outside by ../shared/bench/tui-measure.sh (tmux, 120x40): first frame, RSS, key
# latency, CPU over 5 s of no input while every row polls. Beside it, the floor (a bare
# ratatui program) and kassa --demo idle. Prints one table. The CPU per poll is measured
# again at steady state (WARM_S after the start, once the rows poll every POLL_MAX_MS): the
# CPU over STEADY_S divided by the attempts the journal counted in that window, the median of
# STEADY_RUNS starts (default 3); and, as the issue first estimated it, the table's idle CPU
# over the polls 5 s would hold at steady state.
#
# Needs: cargo, tmux, python3, and the bench tools at $BENCH (default ../shared/bench).
# Don't build or run anything else while it measures. About 4 minutes for N=500 and 7 for
# N=5000 on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-../shared/bench}
RUNS=${RUNS:-5}
POLL_MAX_MS=${POLL_MAX_MS:-4000}
PORT=${PORT:-18089}
STEADY_RUNS=${STEADY_RUNS:-3}
[ "$#" -gt 0 ] || set -- 500 5000
[ -x "$BENCH/tui-measure.sh" ] || { echo "bench-load: no $BENCH/tui-measure.sh (set BENCH)" >&2; exit 2; }
for dep in tmux python3; do
  command -v "$dep" >/dev/null || { echo "bench-load: $dep is needed" >&2; exit 2; }
done

cargo build --release --locked -q
K="$PWD/target/release/kassa"
floor="$BENCH/baseline-ratatui/target/release/baseline-ratatui"
[ -x "$floor" ] || (cd "$BENCH/baseline-ratatui" && cargo build --release -q)

W=$(mktemp -d)
emu=""
cleanup() {
  [ -n "$emu" ] && kill "$emu" 2>/dev/null
  tmux -L "benchload-$$" kill-server 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
out="$W/tui.jsonl"
measure() { "$BENCH/tui-measure.sh" -n "$RUNS" --poll-ms 0.5 -o "$out" "$@" >/dev/null 2>&1; }

echo "floor and kassa --demo, idle" >&2
measure -m BASELINE-READY -k Down,Up -q q --name "floor" -- "$floor"
mkdir -p "$W/demo"
measure -k Down,Up -q q,y -e "HOME=$W/demo" -e "XDG_DATA_HOME=$W/demo/data" \
  --name "kassa --demo, idle" -- "$K" --demo

"$K" emulator --listen "127.0.0.1:$PORT" --pending-polls 1000000 >"$W/emulator.log" 2>&1 &
emu=$!
sleep 1
polls=()
for N in "$@"; do
  D="$W/n$N"
  mkdir -p "$D"
  cat >"$D/load.toml" <<T
[journal]
path = "$D/load.db"
[worker]
poll_initial_ms = 1000
poll_max_ms = $POLL_MAX_MS
[allpay]
terminal_url = "http://127.0.0.1:$PORT/allpay-public-soap/transaction-management/v1.1"
cash_in_url = "http://127.0.0.1:$PORT/allpay-public-soap/cash-in-transaction-management/v1.1"
requester = "72222222221"
timeout_secs = 5
T
  echo "$N cash-ins to leave pending" >&2
  # Each one through the command line, as a till would have confirmed them, two at a time.
  seq 1 "$N" | xargs -P 2 -I{} env HOME="$D" XDG_DATA_HOME="$D/data" \
    "$K" --config "$D/load.toml" allpay cash-in 77072734954 "1{}" --yes --new --no-wait --json \
    >/dev/null 2>&1 || true
  pending=$(HOME="$D" "$K" --config "$D/load.toml" journal list --pending --json 2>/dev/null \
    | python3 -c 'import sys,json; print(sum(1 for o in json.load(sys.stdin)["operations"] if o.get("state")=="pending"))' \
    || echo "?")
  echo "$pending of $N pending; measuring" >&2
  measure -k Down,Up -q q,y -e "HOME=$D" -e "XDG_DATA_HOME=$D/data" \
    --name "kassa, $N pending" -- "$K" --config "$D/load.toml"
  polls+=("$N")
  # The same console at steady state: CPU over STEADY_S seconds once every row polls every
  # POLL_MAX_MS, divided by the attempts the journal counted in that window (its rows' attempts).
  echo "$N pending at steady state" >&2
  for _ in $(seq 1 "$STEADY_RUNS"); do
    tmux -L "benchload-$$" new-session -d -x 120 -y 40 \
      "exec env HOME=$D XDG_DATA_HOME=$D/data $K --config $D/load.toml"
    python3 - "$D/load.db" "$N" "${WARM_S:-12}" "${STEADY_S:-10}" "benchload-$$" <<'PY' >>"$W/steady-$N.txt"
import os, sqlite3, subprocess, sys, time
db, n, warm, span, sock = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
pid = int(subprocess.check_output(["tmux", "-L", sock, "display-message", "-p", "#{pane_pid}"]).split()[0])
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / tick
def attempts():
    # Read beside the running console (WAL: a reader never waits for it): every send counts.
    con = sqlite3.connect(db, timeout=5)
    try:
        return con.execute("SELECT COALESCE(SUM(attempts), 0) FROM operations").fetchone()[0]
    finally:
        con.close()
time.sleep(warm)
c0, t0, a0 = cpu(), time.time() * 1000, attempts()
time.sleep(span)
c1, t1, a1 = cpu(), time.time() * 1000, attempts()
for key in ("q", "y"):
    subprocess.call(["tmux", "-L", sock, "send-keys", key])
    time.sleep(0.5)
subprocess.call(["tmux", "-L", sock, "kill-server"], stderr=subprocess.DEVNULL)
time.sleep(0.5)
sent = a1 - a0
print(f"{c1 - c0:.0f} {sent} {t1 - t0:.0f}")
PY
  done
  python3 - "$N" "$W/steady-$N.txt" <<'PY' >>"$W/steady.txt"
import statistics, sys
n, runs = sys.argv[1], [tuple(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
per = [c / s for c, s, _ in runs if s]
each = ", ".join(f"{c:.0f} ms / {s:.0f}" for c, s, _ in runs)
rate = statistics.median(s * 1000 / t for _, s, t in runs)
print(f"  N={n}: {statistics.median(per):.3f} ms per poll, median of {len(per)} "
      f"[{min(per):.3f}-{max(per):.3f}] ({rate:.0f} polls/s; CPU / polls: {each})")
PY
done

"$BENCH/tui-measure.sh" --report "$out"
echo
echo "CPU per poll at steady state (the polls counted in the journal):"
cat "$W/steady.txt"
echo
echo "CPU per poll estimated from the table (idle CPU over 5 s / polls in 5 s at one poll per row"
echo "every ${POLL_MAX_MS} ms; the rows are still backing off then, so more polls are made):"
python3 - "$out" "$POLL_MAX_MS" "${polls[@]}" <<'PY'
import json, sys
path, poll_max = sys.argv[1], float(sys.argv[2]) / 1000
ns = [int(n) for n in sys.argv[3:]]
rows = {}
for line in open(path):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line)
    rows[r.get("name")] = r
for n in ns:
    r = rows.get(f"kassa, {n} pending")
    if not r:
        continue
    cpu = (r.get("idle_cpu_ms") or {}).get("median")
    if cpu is None:
        continue
    polls = 5 * n / poll_max
    print(f"  N={n}: {cpu:.0f} ms / {polls:.0f} polls = {cpu / polls:.3f} ms per poll")
PY
