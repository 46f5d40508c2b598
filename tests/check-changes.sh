#!/usr/bin/env bash
# tests/check-changes.sh [NAME ...]: the book under changes of its source.
#
# Each changes/NAME.patch is a change a reader might make to tinygpt.nw:
# of structure (the causal mask, the residual, the scaling of the scores),
# of a constant, of the data (the sentence), of the model's sizes.  Its
# first line says what it changes; the rest is a patch for patch -p1.  For
# each (or for the NAMEs given), in a copy of the working tree (the files
# git tracks or would track, nothing of build/): apply the patch, make the
# trainer and the book, and list the claims the trainer judges false for
# the changed run, as make prints them.  The changed book is kept as
# build/changes/NAME.pdf, and its text as build/changes/NAME.txt, to be
# read: a change may also make false a sentence that is no claim, and that
# only reading finds.
#
# A patch that no longer applies, or a changed source whose trainer or
# book does not build, is a failure (exit 1); false claims are not: they
# are what the change is meant to show.  CHANGES_JOBS (2) is make's -j in
# each copy.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
jobs=${CHANGES_JOBS:-2}
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES DIMS STRICT

if [ $# -eq 0 ]; then
  set -- $(for p in changes/*.patch; do basename "$p" .patch; done)
fi
out=$src/build/changes
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tinygpt-changes.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

. tests/copy-tree.sh   # copy DIR

failures=0 total_false=0
for name in "$@"; do
  patch=$src/changes/$name.patch
  [ -f "$patch" ] || { echo "check-changes: no such change: changes/$name.patch" >&2; exit 2; }
  dir=$tmp/$name
  copy "$dir"
  echo "== $name: $(head -n 1 "$patch")"
  if ! tail -n +2 "$patch" | patch -s -p1 -d "$dir" --no-backup-if-mismatch > "$tmp/out" 2>&1; then
    echo "check-changes: FAIL $name: the patch does not apply:" >&2
    sed 's/^/  | /' "$tmp/out" >&2
    failures=$((failures + 1)); continue
  fi
  status=0
  make -C "$dir" -j"$jobs" > "$tmp/out" 2>&1 || status=$?
  if [ $status -ne 0 ]; then
    echo "check-changes: FAIL $name: make fails (exit $status):" >&2
    tail -n 15 "$tmp/out" | sed 's/^/  | /' >&2
    failures=$((failures + 1)); continue
  fi
  n=$(grep -c 'false claim' "$dir/build/claims.txt" || true)
  total_false=$((total_false + n))
  sed "s/^/  /" "$dir/build/claims.txt"
  cp "$dir/book/tinygpt.pdf" "$out/$name.pdf"
  pdftotext -layout "$out/$name.pdf" "$out/$name.txt"
  echo "   $n false claims; the book is build/changes/$name.pdf"
done
echo "check-changes: $# changes, $failures failed to build, $total_false false claims listed"
[ "$failures" -eq 0 ]
