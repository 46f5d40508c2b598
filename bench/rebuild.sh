#!/usr/bin/env bash
# bench/rebuild.sh SRC -- the edit-make-reread loop of tinygpt, book included.
#
# Copies the working tree SRC (without build/, the built book and .git, so
# uncommitted changes are measured too) to a temporary directory and times,
# there, each three times (the table gives the median, and the steps make
# printed: TANGLE, CC, ...), against the targets of the loop:
#   1. make from clean (15 s);
#   2. make with nothing to do (0.1 s);
#   3. make after a word changed in a line of prose (3 s);
#   4. make after a line of prose added (every later #line directive in the
#      tangled C moves with it) (3 s);
#   5. make after a comment added to a line of C (6 s);
#   6. one pdflatex pass over the woven book, in its format (no target:
#      what 1, 3-5 pay);
#   7. make test, the Check suites (60 s), and with BENCH_CHECK=1 make check
#      (4 min), once each.
# The machine's load average is printed first. The copy is removed
# afterwards; SRC is not touched.
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

# run LABEL TARGET [MAKE ARGS]: make (in the copy), its seconds in $secs and
# the steps it took in $steps.
run() {
  local label=$1 start end; shift
  start=$EPOCHREALTIME
  if ! make "$@" > make.out 2>&1; then
    echo "rebuild: make $* failed ($label):" >&2
    tail -n 20 make.out >&2
    exit 1
  fi
  end=$EPOCHREALTIME
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  # "TANGLE build/x", "CC build/y" ... -> "TANGLE x4, CC x3, ..." in order
  steps=$(awk '/^[A-Z]+ / { if (!($1 in n)) order[++k] = $1; n[$1]++ }
               END { s = "";
                     for (i = 1; i <= k; i++)
                       s = s (i > 1 ? " " : "") order[i] (n[order[i]] > 1 ? "x" n[order[i]] : "");
                     print (k ? s : "nothing") }' make.out)
}
# row LABEL TARGET S1 S2 S3 STEPS: one line of the table, with the median.
row() {
  local m
  m=$(printf '%s\n' "$3" "$4" "$5" | sort -g | sed -n 2p)
  printf '| %-32s | %8s | %8s | %-20s | %s |\n' "$1" "$m" "$2" "$3 $4 $5" "$6"
}
median3() { # LABEL TARGET EDIT: EDIT (a function taking 1, 2, 3) then make, three times
  local t=() i
  for i in 1 2 3; do "$3" "$i"; run "$1"; t+=("$secs"); done
  row "$1" "$2" "${t[@]}" "$steps"
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
           code && /^[ \t]*m->step\+\+;/ { print NR; exit }' "$nw")
  [ -n "$n" ] || n=$(awk '/^<<.*>>=[ \t]*$/ { code = 1; next } /^@( |$)/ { code = 0 }
           code && /;[ \t]*$/ { print NR; exit }' "$nw")
  echo "$n"
}

word_edit() { sed -i "${prose}s/[[:space:]]*\$/ indeed$1./" "$nw"; }
line_edit() { sed -i "${prose}a\\
A sentence added by the benchmark, number $1." "$nw"; }
code_edit() { # the comment replaces the one of the run before, so the line stays short
  sed -i "$(code_line)s| */\* edited by the benchmark ([0-9]*) \*/||; $(code_line)s|[[:space:]]*\$| /* edited by the benchmark ($1) */|" "$nw"; }
clean() { make clean > /dev/null; }
none() { :; }

prose=$(prose_line)
[ -n "$prose" ] || { echo "rebuild: found no line of prose in $nw" >&2; exit 1; }
[ -n "$(code_line)" ] || { echo "rebuild: found no line of code in $nw" >&2; exit 1; }

echo "The loop (seconds, wall clock; make in a copy of the working tree, book included;"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)):"
echo
echo "| step                             |   median |   target | three runs           | make's steps |"
echo "|----------------------------------|---------:|---------:|----------------------|--------------|"
median3 "make from clean" 15 clean
median3 "make with nothing to do" 0.1 none
median3 "a word changed in the prose" 3 word_edit
median3 "a line added to the prose" 3 line_edit
median3 "a comment added to a C chunk" 6 code_edit
pass() { (cd build && TEXINPUTS=../book//: max_print_line=10000 extra_mem_top=5000000 \
  extra_mem_bot=5000000 pdflatex -fmt=book -interaction=nonstopmode tinygpt.tex > /dev/null 2>&1) || true; }
t=()
for i in 1 2 3; do
  start=$EPOCHREALTIME; pass; end=$EPOCHREALTIME
  t+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')")
done
row "one pdflatex pass" - "${t[@]}" "pdflatex"
run "make test" test
printf '| %-32s | %8s | %8s | %-20s | %s |\n' "make test (once)" "$secs" 60 "" "Check suites, plain and ASan+UBSan"
if [ "${BENCH_CHECK:-0}" = 1 ]; then
  run "make check" check
  printf '| %-32s | %8s | %8s | %-20s | %s |\n' "make check (once)" "$secs" 240 "" "book checks, sizes, valgrind, suites"
fi
