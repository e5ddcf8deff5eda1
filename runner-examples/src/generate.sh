#!/bin/sh
# Generates the runners users copy, runner-examples/<scheduler>/grunter, each one
# self-contained file: src/<scheduler>.sh with its `# @include common.sh` line
# replaced by src/common.sh, the part every runner shares.
#
# usage: runner-examples/src/generate.sh [OUTDIR]   (default: runner-examples)
#
# tests/e2e/runners.rs checks that the committed runners are what this makes.
set -eu
src=$(cd "$(dirname "$0")" && pwd)
out=${1:-$(dirname "$src")}
for part in "$src"/*.sh; do
	name=$(basename "$part" .sh)
	case $name in common | generate) continue ;; esac
	mkdir -p "$out/$name"
	awk -v common="$src/common.sh" '
		$0 == "# @include common.sh" {
			while ((getline line < common) > 0) print line
			close(common)
			next
		}
		{ print }
	' "$part" >"$out/$name/grunter.tmp"
	chmod 755 "$out/$name/grunter.tmp"
	mv "$out/$name/grunter.tmp" "$out/$name/grunter"
done
