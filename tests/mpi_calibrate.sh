#!/usr/bin/env bash
# A calibration over 2 MPI ranks writes the same file as a single process.
# Usage: mpi_calibrate.sh SCHOOLSIM MPIEXEC
set -euo pipefail
exe=$1 mpiexec=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
cat > s.yaml <<'YAML'
years: 2
world: {schools: 80, areas: 1, burn_in_years: 5}
pipeline: [crises, turnover, attainment, {market: {choice: 0.5}}, opportunities]
YAML
cat > c.yaml <<'YAML'
seed: 9
population: 8
generations: 2
batch: 5
parameters:
  world.capacity_sd: {}
  market.beta_reputation: {}
experiments:
  e: {scenario: s.yaml}
targets:
  - {id: C1, experiment: e, measure: between_school_share, year: 0, observed: 0.4, sd: 0.05, source: test}
  - {id: G, experiment: e, measure: mean_attainment, change: true, observed: 0, sd: 0.05, source: test}
YAML
"$exe" calibrate c.yaml -o single.h5 -q
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
"$mpiexec" -np 2 "$exe" calibrate c.yaml -o ranks.h5 -q
if cmp -s single.h5 ranks.h5; then
  echo "mpi calibrate: 2 ranks wrote the same file as one process"
else
  echo "mpi calibrate: the files differ" >&2
  exit 1
fi
[[ ! -e ranks.h5.calib-state ]] || { echo "mpi calibrate: the state file was left behind" >&2; exit 1; }
