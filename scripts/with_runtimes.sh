#!/usr/bin/env bash
# Runs a command with the pinned deno, bun and node (tools/runtimes, installed by `npm ci`) first on PATH.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$root/tools/runtimes/node_modules/.bin:$PATH"
# Run as a command (not sourced): run the arguments.
if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "$#" -gt 0 ]; then exec "$@"; fi
