#!/usr/bin/env bash
# The main demo under Deno, then Bun, then Node: each prints [2, 4, 6, 8, 10].
set -eu
source "$(dirname "$0")/with_runtimes.sh"
cd "$root"
echo "deno: $(deno run --allow-ffi --allow-run --allow-env examples/double_in_child.ts)"
echo "bun:  $(bun run examples/double_in_child.ts)"
echo "node: $(node --experimental-ffi --disable-warning=ExperimentalWarning examples/double_in_child.ts)"
