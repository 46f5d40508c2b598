#!/usr/bin/env bash
# bench/rebuild.sh SRC -- the cost of rebuilding tinygpt, book included.
#
# Copies the working tree SRC (without build/, the built book and .git, so
# uncommitted changes are measured too) to a temporary directory and times,
# there:
#   1. make from clean;
#   2. make with nothing to do;
#   3. make after a prose-only edit: a word appended to a line of prose;
#   4. make after a prose edit that adds a line (every later #line directive
#      in the tangled C moves with it);
#   5. make after a code edit: a comment appended to a line of C.
# Each row gives the wall-clock seconds and the steps make printed (TANGLE,
# CC, ...).  The copy is removed afterwards; SRC is not touched.
set -euo pipefail

src=${1:?usage: bench/rebuild.sh SRC}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tinygpt-rebuild.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -C "$src" --exclude=./build --exclude=./book/tinygpt.pdf --exclude=./.git -cf - . |
  tar -C "$tmp" -xf -

# A plain `make`, as a user would type it: nothing inherited from the make
# that runs the benchmark (its -s, -j, jobserver or DIMS).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES DIMS
cd "$tmp"

# timed LABEL: run make, print LABEL, seconds and the steps it took.
timed() {
  local label=$1 start end steps
  start=$EPOCHREALTIME
  if ! make > make.out 2>&1; then
    echo "rebuild: make failed ($label):" >&2
    tail -n 20 make.out >&2
    exit 1
  fi
  end=$EPOCHREALTIME
  # "TANGLE build/x", "CC build/y" ... -> "TANGLE x4, CC x3, ..." in order
  steps=$(awk '/^[A-Z]+ / { if (!($1 in n)) order[++k] = $1; n[$1]++ }
               /Nothing to be done|is up to date/ { none = 1 }
               END { s = "";
                     for (i = 1; i <= k; i++)
                       s = s (i > 1 ? " " : "") order[i] (n[order[i]] > 1 ? "x" n[order[i]] : "");
                     print (k ? s : "nothing") }' make.out)
  printf '  %-34s %8.2f s   %s\n' "$label" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$steps"
}

nw=tinygpt.nw
[ -f "$nw" ] || { echo "rebuild: no $nw in $src" >&2; exit 1; }

# The first line of prose after the first \chapter: in a documentation chunk
# (after an @ line, before the next <<name>>= line), starting with a letter.
prose_line() {
  awk 'BEGIN { doc = 1 }
       /^<<.*>>=[ \t]*$/ { doc = 0; next }
       /^@( |$)/ { doc = 1; next }
       /^\\chapter/ { seen = 1 }
       doc && seen && /^[A-Za-z]/ { print NR; exit }' "$nw"
}
# The first line of C ending in ";" in a code chunk of the library: the line
# that counts the AdamW steps if there is one, any such line otherwise.
code_line() {
  local n
  n=$(awk '/^<<.*>>=[ \t]*$/ { code = 1; next } /^@( |$)/ { code = 0 }
           code && /^[ \t]*m->step\+\+;[ \t]*$/ { print NR; exit }' "$nw")
  [ -n "$n" ] || n=$(awk '/^<<.*>>=[ \t]*$/ { code = 1; next } /^@( |$)/ { code = 0 }
           code && /;[ \t]*$/ { print NR; exit }' "$nw")
  echo "$n"
}

echo "Rebuild costs (wall clock, make in a copy of the working tree, book included):"
timed "make from clean"
timed "make with nothing to do"

n=$(prose_line)
[ -n "$n" ] || { echo "rebuild: found no line of prose in $nw" >&2; exit 1; }
sed -i "${n}s/[[:space:]]*\$/ indeed./" "$nw"
timed "after a prose-only edit"

sed -i "${n}a\\
A sentence added by the benchmark." "$nw"
timed "after adding a line of prose"

n=$(code_line)
[ -n "$n" ] || { echo "rebuild: found no line of code in $nw" >&2; exit 1; }
sed -i "${n}s|[[:space:]]*\$| /* edited by the benchmark */|" "$nw"
timed "after a code edit (a comment)"
