#!/bin/sh
# Generates the runners users copy, runner-examples/<name>/grunter, each one
# self-contained file: src/<name>.sh with every `# @include FILE` line replaced
# by src/FILE (one level of nesting: an included file may include another).
# src/base.sh holds the helpers every runner has; src/common.sh the part every
# scheduler runner shares.
#
# usage: runner-examples/src/generate.sh [OUTDIR]   (default: runner-examples)
#
# tests/e2e/runners.rs checks that the committed runners are what this makes.
set -eu
src=$(cd "$(dirname "$0")" && pwd)
out=${1:-$(dirname "$src")}
# Copies stdin to stdout with each `# @include FILE` line replaced by src/FILE.
splice() {
	awk -v src="$src" '
		/^# @include [^ ]+$/ {
			file = src "/" $3
			while ((getline line < file) > 0) print line
			close(file)
			next
		}
		{ print }
	'
}

for part in "$src"/*.sh; do
	name=$(basename "$part" .sh)
	case $name in base | common | generate) continue ;; esac
	mkdir -p "$out/$name"
	splice <"$part" | splice >"$out/$name/grunter.tmp"
	chmod 755 "$out/$name/grunter.tmp"
	mv "$out/$name/grunter.tmp" "$out/$name/grunter"
done
