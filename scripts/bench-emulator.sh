#!/usr/bin/env bash
# The emulator's own rate on loopback: wrk posting Allpay's wallet check (document 003,
# checkUserAndValidateCashIn, as kassa sends it) over kept-alive connections.
#
#   scripts/bench-emulator.sh [SECONDS=10] [CONNECTIONS=8]
#
# Needs wrk (Debian's package). Don't run anything else while it measures: wrk and the
# emulator share the machine's two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}; CONNS=${2:-8}; PORT=${PORT:-18091}
command -v wrk >/dev/null || { echo "bench-emulator: wrk is needed (apt-get install wrk)" >&2; exit 2; }
cargo build --release --locked -q
W=$(mktemp -d)
emu=""
trap '[ -n "$emu" ] && kill "$emu" 2>/dev/null; rm -rf "$W"' EXIT
target/release/kassa emulator --listen "127.0.0.1:$PORT" >"$W/emulator.log" 2>&1 &
emu=$!
sleep 1
cat >"$W/check.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.headers["SOAPAction"] = '"checkUserAndValidateCashIn"'
wrk.body = [[<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.allpay.kz/mfs/soap/CashInTransactionManagement/1.1"><soapenv:Header/><soapenv:Body><ns:checkUserAndValidateCashIn><CheckUserRequest><header><lang>ru</lang><timestamp>2026-12-01T06:57:59.272+00:00</timestamp><requester>72222222221</requester></header><userName>77072734954</userName></CheckUserRequest></ns:checkUserAndValidateCashIn></soapenv:Body></soapenv:Envelope>]]
-- Every reply must be the document's answer, not an error page (counted per thread).
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status ~= 200 or not body:find("checkUserAndValidateCashInResponse", 1, true) then
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("bad") end
  io.write(string.format("replies that were not the document's answer: %d\n", n))
end
LUA
wrk -t 2 -c "$CONNS" -d "${SECS}s" --latency -s "$W/check.lua" \
  "http://127.0.0.1:$PORT/allpay-public-soap/cash-in-transaction-management/v1.1"
