#!/bin/sh
# One libFuzzer run of a harness on its corpus, then the corpus cut back to what adds coverage (make fuzz-<name>).
#   run.sh BIN CORPUS SECONDS MAX_LEN CRASHDIR
set -e
bin=$1 corpus=$2 seconds=$3 max_len=$4 crashes=$5
name=$(basename "$corpus")
mkdir -p "$corpus" "$crashes"
# New inputs go into the corpus itself; a crash stops here, its input in CRASHDIR.
"$bin" -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1 \
	-artifact_prefix="$crashes/$name-" "$corpus"

# Hand-named seeds always stay. Of the inputs libFuzzer added (named by their
# SHA-1, as -merge names what it keeps) only those stay that reach an edge
# the seeds and the others kept do not: merge into a fresh copy of the seeds.
# Edges only (no hit counts): a few dozen files instead of hundreds, and a
# run regains the hit-count variety within seconds.
fresh=$(mktemp -d) log=$(mktemp)
trap 'rm -rf "$fresh" "$log"' EXIT
is_hash() { [ ${#1} -eq 40 ] && case $1 in *[!0-9a-f]*) false ;; esac; }
for f in "$corpus"/*; do
	if [ -e "$f" ] && ! is_hash "$(basename "$f")"; then cp "$f" "$fresh/"; fi
done
"$bin" -merge=1 -use_counters=0 -max_len="$max_len" "$fresh" "$corpus" 2>"$log" || { cat "$log" >&2; exit 1; }
for f in "$corpus"/*; do
	b=$(basename "$f")
	if is_hash "$b" && [ ! -e "$fresh/$b" ]; then rm -f "$f"; fi
done
echo "$name: corpus kept $(ls "$corpus" | wc -l) files"
