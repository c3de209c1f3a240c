#!/usr/bin/env bash
# Runs an MPI example of this repository on N local ranks:
#   tools/ddp_run.sh N EXAMPLE [ARGS...]     e.g. tools/ddp_run.sh 2 ddp_digits --steps 200
# Builds it (release, feature mpi) first. OpenMPI refuses to start as root
# unless told it may; this script tells it, so a container's root user can
# run the examples as they are. On several machines, pass a hostfile:
#   HOSTFILE=hosts tools/ddp_run.sh 8 ddp_digits
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
    echo "usage: tools/ddp_run.sh RANKS EXAMPLE [ARGS...]" >&2
    exit 2
fi
ranks=$1
example=$2
shift 2
cargo build --release --quiet --features mpi --example "$example"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
extra=()
if [ -n "${HOSTFILE:-}" ]; then
    extra+=(--hostfile "$HOSTFILE")
else
    # One machine: allow more ranks than cores (they then share them).
    extra+=(--oversubscribe)
fi
exec mpirun -np "$ranks" "${extra[@]}" "target/release/examples/$example" "$@"
