#!/usr/bin/env bash
# bench.sh runs Minkube's benchmarks and prints their figures; `make bench`
# runs it after `make images`. The end-to-end ones run real processes on
# the Docker engine, built without the race detector. BENCHTIME (default
# 10x) sets their -benchtime; SLOW=1 adds the worker-loss benchmark, which
# takes about a minute an iteration with the default timeouts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

benchtime="${BENCHTIME:-10x}"
export MINKUBE_E2E_NORACE=1

echo "== one task: apply to Running, next to plain docker run -d (same run)"
go test -run '^$' -bench 'BenchmarkApplyToRunning|BenchmarkDockerRun' -benchtime "$benchtime" -count 1 ./test/e2e/

echo "== drift: docker kill to running again"
go test -run '^$' -bench 'BenchmarkDriftKillToRunning' -benchtime "$benchtime" -count 1 ./test/e2e/

echo "== manifests directory: file saved to Running, file deleted to container gone"
go test -run '^$' -bench 'BenchmarkGitOps' -benchtime "$benchtime" -count 1 ./test/e2e/

if [[ "${SLOW:-0}" == 1 ]]; then
	echo "== worker lost to its task running elsewhere (default flags)"
	go test -run '^$' -bench 'BenchmarkWorkerLossToRunningElsewhere' -benchtime 1x -count 1 -timeout 20m ./test/e2e/
fi

echo "== placement: 10,000 tasks on 100 workers"
go test -run '^$' -bench 'Place|Tracker' -benchtime 1s -count 1 ./controllers/scheduler/

echo "== store, cache, queue, validation"
go test -run '^$' -bench . -benchtime 1s -count 1 ./store/... ./reconcile/ ./apis/v1/
