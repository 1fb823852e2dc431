#!/bin/sh
# Installs the Debian packages a target needs, if any is missing.
#   scripts/deps.sh build|test|run|fuzz|bench|slurm
# As root it runs apt-get; otherwise it uses sudo when it can, or says
# which packages to install and fails.
set -eu
build="gcc make libc6-dev libuv1-dev libsqlite3-dev libcjson-dev libssl-dev libopenblas0-pthread libxsmm-dev"
case "${1:-build}" in
    build) pkgs="$build" ;;
    run)   pkgs="$build sqlite3" ;;
    test)  pkgs="$build libcmocka-dev sqlite3 gnuplot-nox procps binutils python3 iproute2 python3-pytest python3-venv python3-numpy python3-pandas python3-tqdm clang libclang-rt-14-dev" ;;
    fuzz)  pkgs="$build clang libclang-rt-14-dev" ;;
    bench) pkgs="$build libcmocka-dev sqlite3 python3 python3-torch" ;;
    # A one-node Slurm cluster for tests/integration/test_slurm.sh: the
    # controller, the node daemon, the commands (sbatch, squeue, sinfo)
    # and munge, which authenticates them; the test starts its own.
    slurm) pkgs="slurmctld slurmd slurm-client munge" ;;
    *) echo "deps.sh: unknown group '$1' (build, run, test, fuzz, bench, slurm)" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
echo "resweep: installing missing packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
    run=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    run="sudo"
else
    echo "resweep: please install, as root: apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have empty package lists; refresh them on failure.
if ! $run apt-get install -y --no-install-recommends $missing; then
    $run apt-get update
    $run apt-get install -y --no-install-recommends $missing
fi
