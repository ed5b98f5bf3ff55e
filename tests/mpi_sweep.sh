#!/usr/bin/env bash
# A sweep over 2 MPI ranks writes the same file as a single process.
# Usage: mpi_sweep.sh SCHOOLSIM MPIEXEC SOURCE_DIR
set -euo pipefail
exe=$1 mpiexec=$2 src=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
sed 's/^years: 10$/years: 3/' "$src/scenarios/default.yaml" > s.yaml
cat > e.yaml <<'YAML'
scenario: s.yaml
design: {method: morris, runs: 4, levels: 4}
parameters:
  market.choice: [0, 1]
  market.beta_reputation: [0, 4]
replicates: 2
YAML
"$exe" sweep e.yaml -o single.h5 -q
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
"$mpiexec" -np 2 "$exe" sweep e.yaml -o ranks.h5 -q
if cmp -s single.h5 ranks.h5; then
  echo "mpi sweep: 2 ranks wrote the same file as one process"
else
  echo "mpi sweep: the files differ" >&2
  exit 1
fi
[[ ! -e ranks.h5.parts ]] || { echo "mpi sweep: the parts folder was left behind" >&2; exit 1; }
