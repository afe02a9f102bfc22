#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a short time each.
# Usage: scripts/fuzz.sh [BUDGET]   (default 20000x)
# BUDGET is an execution count (Nx). A duration also works, but under load Go
# 1.26 can fail a clean duration-bounded run with "context deadline exceeded"
# (golang/go#75804), so CI uses counts.
set -euo pipefail
fuzztime=${1:-20000x}
cd "$(dirname "$0")/.."
found=0
while IFS= read -r file; do
  pkg="./$(dirname "$file")"
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    found=$((found + 1))
    echo "== fuzz $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
  done
done < <(git ls-files '*_test.go')
echo "fuzzed $found targets"
[ "$found" -gt 0 ]
