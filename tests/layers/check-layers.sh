#!/bin/sh
# Fails on an include that points up: the layers are the block between the
# "layers:begin" and "layers:end" markers of docs/ARCHITECTURE.md, top to
# bottom, one layer a line (the first word of each module name); a daemon file
# may include headers of its own layer and of layers below it only.
set -eu
cd "$(dirname "$0")/../.."
doc=docs/ARCHITECTURE.md
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# module rank: the line number of its layer within the block
sed -n '/layers:begin/,/layers:end/p' "$doc" | grep -v 'layers:' |
	awk '{ n++; for (i = 1; i <= NF; i++) { if ($i ~ /^[a-z_]+\.[ch]$/) { sub(/\.[ch]$/, "", $i); print $i, n } else break } }' | sort -u >"$tmp"
[ -s "$tmp" ] || { echo "check-layers: no layer block in $doc" >&2; exit 1; }
rank() { awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print "" }' "$tmp"; }
bad=0
for f in daemon/*.c daemon/*.h; do
	m=$(basename "$f"); m=${m%.*}
	rm_=$(rank "$m")
	if [ -z "$rm_" ]; then
		echo "check-layers: $f: module $m is in no layer of $doc"
		bad=1
		continue
	fi
	for inc in $(sed -n 's/^#include "\([a-z_]*\)\.h"$/\1/p' "$f"); do
		ri=$(rank "$inc")
		if [ -z "$ri" ]; then
			echo "check-layers: $f includes $inc.h, which is in no layer"
			bad=1
		elif [ "$ri" -lt "$rm_" ]; then
			echo "check-layers: $f (layer $rm_) includes $inc.h from a layer above it ($ri)"
			bad=1
		fi
	done
done
[ "$bad" = 0 ] && echo "check-layers: every include of daemon/ points down ($(wc -l <"$tmp") modules)"
exit "$bad"
