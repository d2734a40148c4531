#!/usr/bin/env bash
# Runs every benchmark side by side in one process run and prints one Markdown table
# (also written to bench/results/latest.md). Pass --quick for a short run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dotnet build bench/Uring.Bench/Uring.Bench.csproj -c Release -nologo -v q -clp:ErrorsOnly >&2
exec dotnet bench/Uring.Bench/bin/Release/net10.0/uring-bench.dll "$@"
