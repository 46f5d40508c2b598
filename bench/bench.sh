#!/usr/bin/env bash
# bench/bench.sh BUILD -- what `make bench` prints.
#
# Compiles bench_step from the tangled sources in BUILD (build/), once for
# each model size, into BUILD/bench/TAG/: the headline model (the book's, or
# the one BENCH_DIMS describes, as -D flags) and d_model 16, 32, 64 and 128
# with d_ff = 4 d_model and 2 heads for the scaling table.  Then times each:
# the headline model's step, C against PyTorch, and the scaling table.
# PyTorch is timed on the same model in the same run when a Python that can
# import torch is found (bench/torch-python); without it the PyTorch columns
# are skipped with a note.  Then, if BENCH_REBUILD_SRC names the source tree,
# bench/rebuild.sh times make there.
#
# Environment: BENCH_MIN_SECONDS (0.2), BENCH_REPS (7), BENCH_THREADS (1, the
# torch.set_num_threads; 0 keeps PyTorch's default), BENCH_CC, BENCH_CFLAGS,
# BENCH_LDLIBS, BENCH_DIMS, BENCH_REBUILD_SRC, TORCH_PYTHON.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
min_seconds=${BENCH_MIN_SECONDS:-0.2}
reps=${BENCH_REPS:-7}
threads=${BENCH_THREADS:-1}

[ $# -eq 1 ] || { echo "usage: bench/bench.sh BUILD" >&2; exit 2; }
B=$1
cc=${BENCH_CC:-cc}
# size TAG FLAGS...: BUILD/bench/TAG/bench_step, compiled with -D FLAGS
size() {
  local d=$B/bench/$1; shift
  mkdir -p "$d"
  # shellcheck disable=SC2086  # the flags are words
  $cc "$@" -I"$B" ${BENCH_CFLAGS:--O2} -o "$d/bench_step" "$here/bench_step.c" \
    "$B/tinygpt.c" "$B/report.c" ${BENCH_LDLIBS:--lm} >&2
  echo "$d/bench_step"
}
set --
for s in 16:64 32:128 64:256 128:512; do
  set -- "$@" "$(size "d${s%%:*}" -DD_MODEL="${s%%:*}" -DD_FF="${s##*:}" -DN_HEADS=2)"
done
if [ -n "${BENCH_DIMS:-}" ]; then
  # shellcheck disable=SC2086
  main=$(size "dims$(tr -d ' =-' <<< "$BENCH_DIMS")" $BENCH_DIMS)
else
  main=$1
fi

# field KEY LINE: the value of KEY=VALUE in a result line
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $2"; }
# fmt NUMBER: microseconds with one decimal
fmt() { LC_ALL=C printf '%.1f' "$1"; }
ratio() { LC_ALL=C awk -v a="$1" -v b="$2" 'BEGIN { r = a / b; printf (r >= 10 ? "%.0f" : "%.1f"), r }'; }
# reldiff A B: |A - B| / |B|
reldiff() { LC_ALL=C awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; if (b < 0) b = -b;
                                                     printf "%.1e", (b > 0 ? d / b : d) }'; }
# share LINE: AdamW's percentage of the step, timed part by part
share() { LC_ALL=C awk -v f="$(field forward_us "$1")" -v z="$(field zero_grad_us "$1")" \
  -v b="$(field backward_us "$1")" -v a="$(field adamw_us "$1")" 'BEGIN { printf "%.0f", 100 * a / (f + z + b + a) }'; }
# parts LINE: forward/backward/AdamW in µs, timed part by part
parts() { echo "$(fmt "$(field forward_us "$1")")/$(fmt "$(field backward_us "$1")")/$(fmt "$(field adamw_us "$1")")"; }
commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<< "$1"; }

# ---------------------------------------------------------------- machine
cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
os=$( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") || uname -s)
[ -r /etc/debian_version ] && os="$os ($(cat /etc/debian_version))"
echo "Machine:   ${cpu:-unknown CPU}, nproc $(nproc), $os, Linux $(uname -r)"
echo "Compiler:  $($cc --version | head -n 1)"
echo "C flags:   ${BENCH_CFLAGS:-?}"

py=$("$here/torch-python" 2>/dev/null) || py=
if [ -n "$py" ]; then
  deb=$(dpkg-query -W -f='${Version}' python3-torch 2>/dev/null) || deb=
  tv=$("$py" -c 'import torch; print(torch.__version__)')
  echo "PyTorch:   torch $tv${deb:+ (Debian python3-torch $deb)}, $py ($("$py" -c 'import platform; print(platform.python_version())')),"
  echo "           float64, eager, torch.optim.AdamW"
else
  echo "PyTorch:   not found (no Python here imports torch): skipped, only the C trainer"
  echo "           is timed; Debian's python3-torch (make deps-torch) adds PyTorch."
fi
echo "Timing:    one step = forward, zero_grad, backward, AdamW on the book's sentence;"
echo "           median of $reps runs, each of enough steps for >= ${min_seconds} s, each from"
echo "           the initial parameters (seed 42)"
echo

# ---------------------------------------------------------------- measure
declare -A c_res t_res
run_c() { [ -n "${c_res[$1]:-}" ] || c_res[$1]=$("$1" "$min_seconds" "$reps"); }
run_torch() {
  [ -n "$py" ] || return 0
  [ -z "${t_res[$1]:-}" ] || return 0
  local l=${c_res[$1]}
  t_res[$1]=$("$py" -B "$here/torch_model.py" time --d-model "$(field d_model "$l")" \
      --n-heads "$(field n_heads "$l")" --d-ff "$(field d_ff "$l")" \
      --min-seconds "$min_seconds" --reps "$reps" --threads "$threads")
}
# same BIN: the largest relative difference of the C and PyTorch losses at
# initialisation and after 10 steps; sets mismatch=1 beyond 1e-9
mismatch=0
same=
check_same() {
  local c=${c_res[$1]} t=${t_res[$1]:-} worst=0 k d
  same=-
  [ -n "$t" ] || return 0
  for k in loss0 loss10; do
    d=$(reldiff "$(field $k "$t")" "$(field $k "$c")")
    worst=$(LC_ALL=C awk -v a="$worst" -v b="$d" 'BEGIN { print (b > a ? b : a) }')
  done
  if LC_ALL=C awk -v w="$worst" 'BEGIN { exit !(w > 1e-9) }'; then mismatch=1; fi
  same=$(LC_ALL=C printf '%.0e' "$worst")
}

run_c "$main"
run_torch "$main"
l=${c_res[$main]}
echo "Training step of the model d_model $(field d_model "$l"), $(field n_heads "$l") heads," \
     "d_ff $(field d_ff "$l"), $(commas "$(field n_params "$l")") parameters:"
printf '  %-8s %10s µs/step   (%s runs of %s steps; min %s, max %s)\n' C \
  "$(fmt "$(field median_us "$l")")" "$(field reps "$l")" "$(field steps "$l")" \
  "$(fmt "$(field min_us "$l")")" "$(fmt "$(field max_us "$l")")"
printf '  %-8s %10s µs forward, %s zero_grad, %s backward, %s AdamW (one more run, part by part)\n' \
  "C parts" "$(fmt "$(field forward_us "$l")")" "$(fmt "$(field zero_grad_us "$l")")" \
  "$(fmt "$(field backward_us "$l")")" "$(fmt "$(field adamw_us "$l")")"
if [ -n "$py" ]; then
  t=${t_res[$main]}
  printf '  %-8s %10s µs/step   (%s runs of %s steps; min %s, max %s; %s thread%s)\n' PyTorch \
    "$(fmt "$(field median_us "$t")")" "$(field reps "$t")" "$(field steps "$t")" \
    "$(fmt "$(field min_us "$t")")" "$(fmt "$(field max_us "$t")")" "$(field threads "$t")" \
    "$( [ "$(field threads "$t")" = 1 ] || echo s)"
  r=$(ratio "$(field median_us "$t")" "$(field median_us "$l")")
  if LC_ALL=C awk -v r="$r" 'BEGIN { exit !(r >= 50) }'; then goal="meets the goal of 50×"
  else goal="short of the goal of 50×"; fi
  echo "  PyTorch / C: ${r}×, $goal"
  check_same "$main"
  echo "  same model: the losses at initialisation and after 10 steps agree to $same (relative)"
  echo "  (PyTorch's default thread count here: $(field default_threads "$t"))"
else
  echo "  PyTorch: skipped (not installed)"
fi
echo

echo "Scaling with d_model (d_ff = 4·d_model), µs per step:"
if [ -n "$py" ]; then
  printf '  %7s %9s %11s %7s %24s %11s %10s %10s\n' d_model params C "AdamW" "forward/backward/AdamW" PyTorch PyTorch/C "same loss"
else
  printf '  %7s %9s %11s %7s %24s\n' d_model params C "AdamW" "forward/backward/AdamW"
fi
for bin in "$@"; do
  run_c "$bin"
  run_torch "$bin"
  l=${c_res[$bin]}
  if [ -n "$py" ]; then
    t=${t_res[$bin]}
    check_same "$bin"
    printf '  %7s %9s %11s %6s%% %24s %11s %9s× %10s\n' "$(field d_model "$l")" "$(commas "$(field n_params "$l")")" \
      "$(fmt "$(field median_us "$l")")" "$(share "$l")" "$(parts "$l")" "$(fmt "$(field median_us "$t")")" \
      "$(ratio "$(field median_us "$t")" "$(field median_us "$l")")" "$same"
  else
    printf '  %7s %9s %11s %6s%% %24s\n' "$(field d_model "$l")" "$(commas "$(field n_params "$l")")" \
      "$(fmt "$(field median_us "$l")")" "$(share "$l")" "$(parts "$l")"
  fi
done
echo "  (AdamW: its share of the C step; forward/backward/AdamW: µs of each, timed part by part)"
if [ -n "$py" ]; then
  echo "  (same loss: largest relative difference of the C and PyTorch losses at"
  echo "  initialisation and after 10 steps)"
fi
if [ "$mismatch" = 1 ]; then
  echo "bench: C and PyTorch disagree beyond 1e-9 on the losses: they do not train the same model" >&2
fi
echo

# ---------------------------------------------------------------- rebuild
if [ -n "${BENCH_REBUILD_SRC:-}" ]; then
  "$here/rebuild.sh" "$BENCH_REBUILD_SRC"
fi
exit "$mismatch"
