#!/bin/sh
# The long crash campaign (issue 9): hundreds of SIGKILLs across every money flow, on a
# release build, with the summary table printed at the end (tests/it/crash_campaign.rs).
#
#   scripts/crash-campaign.sh                      # 400 kills, a new seed
#   KASSA_CRASH_KILLS=1000 scripts/crash-campaign.sh
#   KASSA_CRASH_SEED=1234 scripts/crash-campaign.sh  # the same random choices as a run before
set -eu
cd "$(dirname "$0")/.."
KASSA_CRASH_KILLS="${KASSA_CRASH_KILLS:-400}"
export KASSA_CRASH_KILLS
exec cargo test --release --test it crash_campaign:: -- --nocapture "$@"
