"""Check the trainer's run record against PyTorch autograd and torch.optim.AdamW.

    python3 bench/check_torch.py RUN.json [--rtol 1e-9]

RUN.json is what `tinygpt --json RUN.json` wrote for the default run.  The
PyTorch model of bench/torch_model.py starts from the record's params_init and
recomputes, in float64: the loss at initialisation, every activation of the
first forward pass, every parameter's gradient, the parameters after the first
AdamW step, and the loss before each of the run's steps and after the last.

The tolerance.  For a tensor B from the record and A from PyTorch the error is

    err = max_i |A_i - B_i| / max_i |B_i|

(for a scalar, |a - b| / |b|; each loss of the loss curve is a scalar), and the
check passes when err <= rtol = 1e-9 for every row.  That is, every element
must satisfy |A_i - B_i| <= rtol * max(|B_i|, floor) with the floor set to the
largest magnitude in its tensor.  The floor is the sound scale for a sum's
rounding error, which grows with the size of the terms summed, not with the
size of the result: an entry that is small because of cancellation (a gradient
of 1e-8 among ones of 1e-3, an exact zero that PyTorch computes as 1e-19)
carries an absolute error set by its tensor's scale.  The table also shows the
largest elementwise relative error among entries at least 1e-6 of their
tensor's largest, for information only.

Also checked, exactly: the record's configuration is the one PyTorch is given,
and Python's random.seed(42) / random.gauss(0, 0.1), drawn in DESIGN.md's
order, reproduces params_init bit for bit.  Reported: how many gradients are
exactly zero (the rows of E_token and E_pos the sentence never uses) in each.
"""

import argparse
import json
import math
import sys

import torch

from torch_model import (ADAMW, SEED, TinyGPT, make_optimizer,
                         param_specs, python_init)

INFO_FLOOR = 1e-6


def compare(a, b):
    """(err, elementwise info error, number of elements) of A against B."""
    a = torch.as_tensor(a, dtype=torch.float64).flatten()
    b = torch.as_tensor(b, dtype=torch.float64).flatten()
    if a.shape != b.shape:
        raise SystemExit(f"shape mismatch: {tuple(a.shape)} against {tuple(b.shape)}")
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        return math.inf, math.inf, b.numel()
    diff = (a - b).abs()
    scale = b.abs().max().item()
    err = diff.max().item() / scale if scale > 0 else diff.max().item()
    big = b.abs() >= INFO_FLOOR * scale
    elem = (diff[big] / b.abs()[big]).max().item() if scale > 0 and big.any() else 0.0
    return err, elem, b.numel()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("record", help="the trainer's JSON run record")
    ap.add_argument("--rtol", type=float, default=1e-9)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)

    with open(a.record) as f:
        rec = json.load(f)
    cfg = rec["config"]
    problems = []

    # The configuration PyTorch is given must be the run's.
    expected = dict(lr=ADAMW["lr"], beta1=ADAMW["betas"][0], beta2=ADAMW["betas"][1],
                    eps=ADAMW["eps"], weight_decay=ADAMW["weight_decay"], seed=SEED)
    for k, v in expected.items():
        if cfg[k] != v:
            problems.append(f"config {k} is {cfg[k]}, PyTorch uses {v}")
    tokens = torch.tensor(rec["tokens"])
    if rec["targets"] != rec["tokens"][1:]:
        problems.append("targets are not the tokens shifted by one")

    d_model, n_heads, d_ff = cfg["d_model"], cfg["n_heads"], cfg["d_ff"]
    names = [name for name, _, _ in param_specs(d_model, n_heads, d_ff)]
    init = {k: torch.tensor(rec["params_init"][k], dtype=torch.float64) for k in names}

    # Python's generator reproduces the initialisation bit for bit.
    py = python_init(d_model, n_heads, d_ff, cfg["seed"])
    n_init_diff = sum(int((py[k] != init[k]).sum()) for k in names)
    n_params = sum(init[k].numel() for k in names)
    if n_params != rec["n_params"]:
        problems.append(f"n_params is {rec['n_params']}, the tensors hold {n_params}")

    rows = []   # (group, name, err, elem, n)

    def row(group, name, mine, theirs):
        rows.append((group, name) + compare(mine, theirs))

    # The first forward pass, its gradients, the first AdamW step.
    model = TinyGPT(init)
    opt = make_optimizer(model)
    acts = {}
    loss = model(tokens, record=acts)
    row("loss", "loss_init", loss.item(), rec["loss_init"])
    for k, v in rec["activations"].items():
        row("activation", k, acts[k].detach(), v)
    missing = set(acts) - set(rec["activations"])
    if missing:
        problems.append("activations missing from the record: " + ", ".join(sorted(missing)))
    opt.zero_grad()
    loss.backward()
    zeros_c = zeros_torch = zeros_differ = 0
    for k in names:
        row("gradient", k, getattr(model, k).grad, rec["grads"][k])
        zc = torch.tensor(rec["grads"][k], dtype=torch.float64) == 0
        zt = getattr(model, k).grad == 0
        zeros_c += int(zc.sum())
        zeros_torch += int(zt.sum())
        zeros_differ += int((zc != zt).sum())
    opt.step()
    for k in names:
        row("after step 1", k, getattr(model, k).detach(), rec["params_step1"][k])

    # The default run: the loss before every step, and after the last.
    model = TinyGPT(init)
    opt = make_optimizer(model)
    losses = []
    for s in range(cfg["steps"] + 1):
        opt.zero_grad()
        loss = model(tokens)
        losses.append(loss.item())
        if s == cfg["steps"]:
            break
        loss.backward()
        opt.step()
    if len(rec["losses"]) != len(losses):
        problems.append(f"the record has {len(rec['losses'])} losses, expected {len(losses)}")
    else:
        worst = max(range(len(losses)),
                    key=lambda i: compare(losses[i], rec["losses"][i])[0])
        err, elem, _ = compare(losses[worst], rec["losses"][worst])
        rows.append(("loss curve", f"losses[{worst}] (worst of {len(losses)})", err, elem, len(losses)))
        rows.append(("loss curve", f"losses[{cfg['steps']}] = {rec['losses'][-1]:.6f}",
                     *compare(losses[-1], rec["losses"][-1])))

    print(f"CHECK-TORCH {a.record} against PyTorch {torch.__version__} autograd "
          f"and torch.optim.AdamW, float64")
    print(f"  model d_model={d_model} n_heads={n_heads} d_ff={d_ff}, {n_params} parameters, "
          f"{cfg['steps']} steps")
    print(f"  init: random.gauss(0, 0.1) after random.seed({cfg['seed']}) reproduces "
          f"params_init: {n_params - n_init_diff} of {n_params} equal bit for bit")
    if n_init_diff:
        problems.append(f"{n_init_diff} initial parameters differ from Python's random.gauss")
    print(f"  gradients exactly zero: {zeros_c} in the record, {zeros_torch} in PyTorch's, "
          f"{zeros_differ} entries zero in one and not the other")
    print(f"  err = max|torch - C| / max|C| per tensor; pass when err <= {a.rtol:g}")
    print(f"  {'':12} {'tensor':28} {'n':>6} {'err':>10} {'elementwise':>12}")
    worst = 0.0
    for group, name, err, elem, n in rows:
        flag = "" if err <= a.rtol else "  <-- FAIL"
        print(f"  {group:12} {name:28} {n:6d} {err:10.2e} {elem:12.2e}{flag}")
        worst = max(worst, err)
        if not err <= a.rtol:
            problems.append(f"{group} {name}: err {err:.3e} > {a.rtol:g}")
    for p in problems:
        print("  problem: " + p)
    verdict = "PASS" if not problems else "FAIL"
    print(f"CHECK-TORCH {verdict}: {len(rows)} comparisons, largest err {worst:.2e} "
          f"(tolerance {a.rtol:g})")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
