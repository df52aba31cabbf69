#!/usr/bin/env bash
# Issue #5's figures: Sheets API calls for 1,000 changes (jada against a naive one-row-per-
# call sync, same run), change-to-sheet latency p95 in the running daemon, and requests for
# a 10,000-row reconcile. Everything runs against the Google emulator on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench -p jada --bench port_sheet
