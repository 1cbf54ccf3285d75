#!/usr/bin/env bash
# Builds kassa.exe for x86_64-pc-windows-gnu and smoke-tests it under Wine: --help,
# --version, a headless demo cash-in with --json that completes, and `journal list` showing
# it. Exit 0 when it passed, 1 when it failed, 2 when the tools are missing and cannot be
# installed here (then it says so in one line).
#
# Debian's Wine 8 has no bcryptprimitives.dll (ProcessPrng), which Rust's standard library
# imports: a few-line shim built with mingw (scripts/windows-prng-shim.c, ProcessPrng over
# SystemFunction036) is put beside the exe for the smoke test only; Windows has the real one.
set -uo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-pc-windows-gnu
missing() { echo "windows-check: skipped: $1"; exit 2; }

if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
  rustup target add "$TARGET" >/dev/null 2>&1 || missing "the $TARGET target cannot be installed"
fi
if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || ! [ -x /usr/lib/wine/wine64 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q gcc-mingw-w64-x86-64 wine64 >/dev/null 2>&1 \
      || missing "mingw and Wine cannot be installed (apt-get failed)"
  else
    missing "mingw (gcc-mingw-w64-x86-64) and Wine (wine64) are not here and cannot be installed"
  fi
fi

set -e
echo "== cargo build --target $TARGET"
cargo build --locked --target "$TARGET"
cargo clippy --locked --target "$TARGET" --all-targets -- -D warnings

work=$(mktemp -d)
trap 'WINEPREFIX="$work/prefix" /usr/lib/wine/wineserver -k >/dev/null 2>&1; rm -rf "$work"' EXIT
cp "target/$TARGET/debug/kassa.exe" "$work/"
x86_64-w64-mingw32-gcc -shared -O2 -o "$work/bcryptprimitives.dll" scripts/windows-prng-shim.c -ladvapi32
export WINEPREFIX="$work/prefix" WINEDEBUG=-all
# Wine's own first-start notes go to stderr; kassa's output is what is checked.
wine() { (cd "$work" && timeout 300 /usr/lib/wine/wine64 ./kassa.exe "$@" 2>>"$work/wine.log"); }

echo "== the library's unit tests, as Windows runs them (under Wine)"
mkdir -p "target/$TARGET/debug/deps"
cp "$work/bcryptprimitives.dll" "target/$TARGET/debug/deps/"
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=/usr/lib/wine/wine64 \
  cargo test --locked --target "$TARGET" --lib 2>>"$work/wine.log"

echo "== kassa.exe --help, --version"
wine --help | grep -q "Exit codes"
wine --version | grep -q "^kassa "

echo "== kassa.exe --demo allpay cash-in (headless, --json)"
out=$(wine --demo allpay cash-in 77072734954 5000 --yes --json)
echo "$out" | grep -q '"state":"completed"' || { echo "cash-in did not complete: $out"; exit 1; }
id=$(echo "$out" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
echo "== kassa.exe --demo journal list"
wine --demo journal list --json | grep -qF "$id" || { echo "journal list does not show $id"; exit 1; }
echo "windows-check: kassa.exe built and ran under Wine: the unit tests, help, version, a demo cash-in completed and journaled"
