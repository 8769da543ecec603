#!/usr/bin/env bash
# bench.sh runs Minkube's benchmarks and prints their figures. `make bench`
# runs it after `make images`. BENCHTIME (default 10x) sets -benchtime for
# the end-to-end benchmarks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

benchtime="${BENCHTIME:-10x}"

echo "== one task: apply to Running, next to plain docker run -d (same run)"
go test -run '^$' -bench 'BenchmarkApplyToRunning|BenchmarkDockerRun' -benchtime "$benchtime" -count 1 ./test/e2e/

echo "== store, cache and queue"
go test -run '^$' -bench . -benchtime 1s -count 1 ./store/... ./reconcile/
