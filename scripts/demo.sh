#!/usr/bin/env bash
# The main demo under Deno, then under Bun: each prints [2, 4, 6, 8, 10].
set -eu
source "$(dirname "$0")/with_runtimes.sh"
cd "$root"
echo "deno: $(deno run --allow-ffi --allow-run --allow-env examples/double_in_child.ts)"
echo "bun:  $(bun run examples/double_in_child.ts)"
