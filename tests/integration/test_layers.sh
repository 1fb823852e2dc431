#!/bin/bash
# The build graph the Makefile states (tests/integration/layers.py): each
# library uses only the layers below it, no two objects depend on each
# other (directly or around a cycle), and the CLI links no libuv.
set -u
: "${RESWEEP_BUILD:?run through scripts/run-tests.sh}"
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/layers.py" "$RESWEEP_BUILD"
