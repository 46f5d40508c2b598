#!/usr/bin/env bash
# tests/book-checks.sh [--sizes]: tests of the book's build, each in a copy
# of the working tree (the files git tracks or would track, nothing of
# build/), so that the tree itself and its build/ are left alone.
#
# Without arguments (make check-book, part of make check), in one copy:
#   (d) a clean build passes with STRICT=1: no overfull box over 2pt, no
#       false claim (BOOK_CHECKS_STRICT=0 relaxes it to a plain build);
#   (g) the identifier index lists no name as "never used";
#   (f) a backward pass broken on purpose (one gradient scaled by 1.01)
#       fails the book's run, naming the failing tensors, and writes nothing;
#   (a) an unbalanced { in a prose line fails, naming that line of tinygpt.nw;
#   (b) \ref{nonexistent} fails, naming the label and the line (in the last
#       chunk, where the lines of tinygpt.tex and tinygpt.nw differ);
#   (e) a false claim (the trainer's verdict) and an overfull box are shown
#       at their lines but do not fail the plain build, and do fail with
#       STRICT=1;
#   (i) a claim never judged, or judged but used by no sentence, fails;
#   (h) a shorter sentence typed into config_default still builds the book,
#       and make names the claims it makes false;
#   (c) \input{run/nonexistent} fails, naming the file and the line (last:
#       a run that TeX stops leaves the next one more passes to make);
# and after each failure book/tinygpt.pdf is still the last good one.
#
# With --sizes (make check-sizes), one copy for each model size in SIZES
# below: make DIMS=... must pass with no overfull box over 2pt; the claims
# that are false at that size are listed.
#
# Each failed assertion prints one line starting with "book-checks: FAIL",
# followed by the end of make's output; the script exits 1 if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

SIZES=('-DN_HEADS=4' '-DD_MODEL=32 -DD_FF=128' '-DN_HEADS=1' '-DD_MODEL=8 -DD_FF=32'
       '-DD_MODEL=64 -DN_HEADS=4')
JOBS=${BOOK_CHECKS_JOBS:-2}

# The copies are built by a make of their own, not by the one that runs
# this script: nothing of its command line (DIMS, STRICT, -s, -j) applies.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES DIMS STRICT

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tinygpt-book.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

failures=0 passes=0
fail() {
  echo "book-checks: FAIL $1" >&2
  if [ -s "$tmp/out" ]; then tail -n 15 "$tmp/out" | sed 's/^/  | /' >&2; fi
  failures=$((failures + 1))
}
pass() { passes=$((passes + 1)); }

. tests/copy-tree.sh   # copy DIR

# build DIR ARGS...: make in DIR, its output in $tmp/out; returns make's status.
# BOOK_CHECKS_VERBOSE=1 shows all of make's output.
build() {
  local dir=$1 status=0; shift
  make -C "$dir" -j"$JOBS" "$@" >"$tmp/out" 2>&1 || status=$?
  if [ -n "${BOOK_CHECKS_VERBOSE-}" ]; then
    echo "book-checks: make $* (exit $status)"; sed 's/^/  | /' "$tmp/out"
  fi
  return $status
}

# ---------------------------------------------------------------- sizes
if [ "${1-}" = --sizes ]; then
  i=0
  for dims in "${SIZES[@]}"; do
    i=$((i + 1)); dir=$tmp/size$i
    copy "$dir"
    if ! build "$dir" DIMS="$dims"; then
      fail "make DIMS='$dims' fails"
    elif grep -q 'overfull' "$tmp/out"; then
      fail "make DIMS='$dims' has overfull boxes:"
    else
      # A claim about this run's numbers may be false at another size:
      # that is what claims are for; the book says so, and so does this.
      grep 'false claim' "$tmp/out" | sed "s/^/book-checks: note: DIMS='$dims': /" || true
      pass
    fi
  done
  echo "book-checks: sizes: $passes passed, $failures failed"
  [ "$failures" -eq 0 ]
  exit
fi

# ---------------------------------------------------------------- the book
w=$tmp/tree
copy "$w"
nw=$w/tinygpt.nw
cp "$nw" "$tmp/tinygpt.nw.orig"
restore() { cp "$tmp/tinygpt.nw.orig" "$nw"; }

# (d) a clean build, strict: no overfull box over 2pt and no false claim.
if [ "${BOOK_CHECKS_STRICT:-1}" = 1 ]; then strict=STRICT=1; else strict=STRICT=; fi
if build "$w" "$strict"; then pass
else fail "(d) a clean build fails with $strict"; fi
[ -s "$w/book/tinygpt.pdf" ] || { echo "book-checks: FAIL no book/tinygpt.pdf to test with" >&2; exit 1; }
good=$(cksum < "$w/book/tinygpt.pdf")

# (g) the identifier index lists no identifier as "never used": a name used
# only beside its definition belongs in book/index-filter's second list.
pdftotext "$w/book/tinygpt.pdf" "$tmp/book.txt"
if grep -q 'never used' "$tmp/book.txt"; then
  : >"$tmp/out"
  fail "(g) the index lists names as never used: $(grep -B1 'never used' "$tmp/book.txt" | grep -v '^--$' | tr '\n' ' ')"
else pass; fi

# The line to break: the first one past the middle of tinygpt.nw that starts
# a paragraph of prose outside any environment, with no comment, quoted code
# or math on it, so that what is added to it is read as it is written.
P=$(awk '
  /^@( |$)/ { docs = 1; depth = 0; prev = ""; next }
  /^<<.*>>=$/ { docs = 0; next }
  docs {
    if (NR > total / 2 && prev == "" && depth == 0 && /^[A-Z][a-z]+ [a-z]/ &&
        !/[%$\\]|\[\[/) { print NR; exit }
    s = $0; depth += gsub(/\\begin\{/, "", s) - gsub(/\\end\{/, "", s); prev = $0
  }' total="$(wc -l < "$nw")" "$nw")
[ -n "$P" ] || { echo "book-checks: FAIL no plain prose line found in tinygpt.nw to break" >&2; exit 1; }
# And the first line of the last documentation chunk: with -delay noweave
# puts the index before that chunk, so there the lines of tinygpt.tex are
# not those of tinygpt.nw.
Q=$(awk '
  /^@( |$)/ { q = ""; docs = 1; next }
  /^<<.*>>=$/ { docs = 0; next }
  docs && q == "" && /[^ \t]/ && !/%|\\end\{document\}/ { q = NR }
  END { print q }' "$nw")
[ -n "$Q" ] || { echo "book-checks: FAIL no line found in the last documentation chunk of tinygpt.nw" >&2; exit 1; }

# expect_failure CASE TEXT...: make fails, its output names each TEXT, and
# the last good book is still there.
expect_failure() {
  local case=$1 t ok=1; shift
  if build "$w"; then fail "$case: make succeeds"; restore; return; fi
  for t in "$@"; do
    grep -qF -- "$t" "$tmp/out" || { fail "$case: make fails but does not say '$t'"; ok=0; break; }
  done
  if [ "$(cksum < "$w/book/tinygpt.pdf")" != "$good" ]; then
    fail "$case: book/tinygpt.pdf is not the last good one"; ok=0
  fi
  [ $ok = 0 ] || pass
  restore
}

# (a) an unbalanced brace
sed -i "${P}s/\$/ {/" "$nw"
expect_failure "(a) unbalanced { at tinygpt.nw:$P" "tinygpt.nw:$P:" "inside a group"

# (b) an undefined reference, in the last chunk
sed -i "${Q}s/\$/ \\\\ref{nonexistent}/" "$nw"
expect_failure "(b) \\ref{nonexistent} at tinygpt.nw:$Q" "tinygpt.nw:$Q:" "nonexistent"

# (e) a false claim, judged by the trainer, and an overfull box
C=$(grep -n '^ *quote_gradcheck(q, r); *quote_notebooks(q, r);$' "$nw" | cut -d: -f1 | head -n 1)
sed -i "${P}s/^/\\\\noindent\\\\hbox to 1.1\\\\textwidth{x\\\\hfil}\\\\par \\\\claim{demo}{A demonstration.} /" "$nw"
sed -i "${C}s/\$/ CLAIM(\"demo\", quoted(q, \"RunDModel\") < 0);/" "$nw"
case="(e) a false claim and an overfull box at tinygpt.nw:$P"
if [ -z "$C" ]; then fail "$case: no quote_notebooks call found in tinygpt.nw to add a claim after"
elif ! build "$w"; then fail "$case: make fails"
elif ! grep -qF "tinygpt.nw:$P: false claim 'demo': quoted(q, \"RunDModel\") < 0 (tinygpt.nw:$C) with RunDModel = " "$tmp/out"; then fail "$case: make does not say tinygpt.nw:$P: false claim 'demo' with its condition, line and value"
elif ! grep -qE "^tinygpt.nw:$P: overfull .hbox \([0-9.]+pt too wide\)\$" "$tmp/out"; then fail "$case: make does not say tinygpt.nw:$P: overfull \\hbox"
elif good=$(cksum < "$w/book/tinygpt.pdf"); build "$w" STRICT=1; then fail "$case: make STRICT=1 succeeds"
elif ! grep -qF "STRICT=1" "$tmp/out"; then fail "$case: make STRICT=1 fails but does not say why"
elif [ "$(cksum < "$w/book/tinygpt.pdf")" != "$good" ]; then fail "$case: book/tinygpt.pdf is not the last good one"
else pass; fi
restore

# (i) a claim the trainer never judges, and a claim it judges but the prose
# never uses
sed -i "${P}s/\$/ \\\\claim{never-judged}{Nothing checks this.}/" "$nw"
expect_failure "(i) a claim never judged at tinygpt.nw:$P" \
  "tinygpt.nw:$P: claim 'never-judged' is never judged"
C=$(grep -n '^ *quote_gradcheck(q, r); *quote_notebooks(q, r);$' "$nw" | cut -d: -f1 | head -n 1)
sed -i "${C}s/\$/ CLAIM(\"unused\", 1);/" "$nw"
expect_failure "(i) a claim no sentence uses, judged at tinygpt.nw:$C" \
  "tinygpt.nw:$C: claim 'unused' is judged but no sentence uses it"

# (h) a shorter sentence typed into config_default: the book still builds
# (the places past the sentence read nan) and make names the false claims.
S=$(grep -n 'static const int sentence\[\] = { TOK_BOS, 3, 4, 5, TOK_EOS };' "$nw" | cut -d: -f1 | head -n 1)
if [ -z "$S" ]; then fail "(h) no sentence found in tinygpt.nw to shorten"
else
  sed -i "${S}s/3, 4, 5, TOK_EOS/3, 4, TOK_EOS/" "$nw"
  case="(h) the sentence <BOS> I like <EOS> at tinygpt.nw:$S"
  if ! build "$w"; then fail "$case: make fails"
  elif ! grep -qE "^tinygpt.nw:[0-9]+: false claim '" "$tmp/out"; then fail "$case: make names no false claim"
  else pass; fi
  good=$(cksum < "$w/book/tinygpt.pdf")
  restore
fi

# (f) a wrong gradient: the GELU's backward line scaled by 1.01. The
# gradient check of the book's run must refuse it, name the tensors, and
# leave the last good book.
G=$(grep -n 'dx\[i\] += dout\[i\] \* gelu_derivative(x\[i\], th\[i\]);' "$nw" | cut -d: -f1 | head -n 1)
if [ -z "$G" ]; then fail "(f) no GELU backward line found in tinygpt.nw to break"
else
  sed -i "${G}s/+= dout/+= 1.01 * dout/" "$nw"
  expect_failure "(f) a scaled backward line at tinygpt.nw:$G" "gradient check failed:" "W1" \
    "nothing written"
fi

# (c) a missing fragment
sed -i "${P}s/^/\\\\input{run\\/nonexistent}/" "$nw"
expect_failure "(c) \\input{run/nonexistent} at tinygpt.nw:$P" "tinygpt.nw:$P:" "run/nonexistent"

echo "book-checks: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
