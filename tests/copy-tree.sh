# tests/copy-tree.sh, sourced by tests/book-checks.sh and tests/check-changes.sh.
# copy DIR: the working tree $src's files, as they are now, into DIR: the
# files git tracks or would track, nothing of build/.  Outside a git
# repository (as in bench/rebuild.sh's copy), every file but build/, the
# built book and the HTML edition.
copy() {
  mkdir -p "$1"
  if ! git -C "$src" rev-parse --git-dir > /dev/null 2>&1; then
    tar -C "$src" --exclude=./build --exclude=./book/tinygpt.pdf --exclude=./book/html -cf - . |
      tar -C "$1" -xf -
    return
  fi
  git -C "$src" ls-files -z --cached --others --exclude-standard -- . ':!build/' |
    (cd "$src" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
    (cd "$src" && xargs -0 cp --parents -t "$1")
}
