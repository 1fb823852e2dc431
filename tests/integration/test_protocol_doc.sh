#!/bin/bash
# docs/protocol.md follows include/proto.h: every operation of PROTO_OPS
# and every error code of PROTO_ERRORS has its row, and the document names
# no operation the daemon does not have.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
hdr="$top/include/proto.h" doc="$top/docs/protocol.md"
n=0 failed=0
tap() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
ops=$(sed -n '/^#define PROTO_OPS(X)/,/^$/p' "$hdr" | sed -n 's/^ *X(\([a-z_]*\),.*/\1/p')
codes=$(sed -n '/^#define PROTO_ERRORS(X)/,/^$/p' "$hdr" | sed -n 's/^ *X([A-Z_]*, *"\([a-z_]*\)".*/\1/p')
[ -n "$ops" ] && [ -n "$codes" ]; tap $? "the op and error lists are read from proto.h"
for op in $ops; do
    grep -q "^| \`$op\` |" "$doc"; tap $? "operation $op is documented"
done
for c in $codes; do
    grep -q "^| \`$c\` |" "$doc"; tap $? "error code $c is documented"
done
# rows of the operations table name only real operations
documented=$(sed -n '/^## Operations/,/^## /p' "$doc" | sed -n 's/^| `\([a-z_]*\)` |.*/\1/p')
for op in $documented; do
    echo "$ops" | grep -qx "$op"; tap $? "documented operation $op exists"
done
echo "1..$n"
[ "$failed" -eq 0 ]
