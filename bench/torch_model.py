"""tinygpt's model in PyTorch, for the benchmark and the cross-check.

The model of DESIGN.md, written the way one would write it in PyTorch, in
float64: token and position embeddings; per-head Q, K, V projections with
weights stored [head][in][out]; scaled dot-product attention with a causal
mask of -inf; the heads concatenated and mixed by W_O (stored [out][in]);
a feed-forward net W1, b1, tanh-GELU, W2, b2; the residual mh + ffn (there is
no residual around the attention); one layer norm after the FFN; the
language-model head W_lm; and the mean cross-entropy over the T-1 positions
that predict a next token.  The optimiser is torch.optim.AdamW with the
trainer's settings.

    python3 bench/torch_model.py time [--d-model 16] [--n-heads 2] [--d-ff 64]
                                      [--min-seconds 0.2] [--reps 7] [--threads 1]

times a training step (zero_grad, forward, backward, optimizer.step) in eager
mode and prints one line of KEY=VALUE pairs, like bench_step.  bench/check_torch.py
uses the same model to check the trainer's run record.
"""

import argparse
import math
import random
import statistics
import sys
import time

import torch
import torch.nn.functional as F

VOCAB = 6
MAX_SEQ = 5
SENTENCE = [1, 3, 4, 5, 2]          # <BOS> I like transformers <EOS>
SEED = 42
INIT_SIGMA = 0.1
LN_EPS = 1e-5
ADAMW = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
CHECK_STEPS = 10                    # bench_step's second check value

# The parameters in the order of the trainer's table (and of the run record),
# each with its shape and its initialisation.
def param_specs(d_model, n_heads, d_ff):
    d_k = d_model // n_heads
    return [
        ("E_token", (VOCAB, d_model), "normal"),
        ("E_pos", (MAX_SEQ, d_model), "normal"),
        ("W_Q", (n_heads, d_model, d_k), "normal"),
        ("W_K", (n_heads, d_model, d_k), "normal"),
        ("W_V", (n_heads, d_model, d_k), "normal"),
        ("W_O", (d_model, d_model), "normal"),
        ("W1", (d_ff, d_model), "normal"),
        ("b1", (d_ff,), "normal"),
        ("W2", (d_model, d_ff), "normal"),
        ("b2", (d_model,), "normal"),
        ("gamma", (d_model,), "ones"),
        ("beta", (d_model,), "zeros"),
        ("W_lm", (VOCAB, d_model), "normal"),
    ]


def python_init(d_model, n_heads, d_ff, seed=SEED):
    """The original notebooks' initialisation: random.seed(seed), then
    random.gauss(0, 0.1) for every weight, tensor by tensor, row-major.
    The trainer's MT19937 reproduces it bit for bit."""
    rng = random.Random(seed)
    params = {}
    for name, shape, how in param_specs(d_model, n_heads, d_ff):
        n = math.prod(shape)
        if how == "normal":
            flat = [rng.gauss(0.0, INIT_SIGMA) for _ in range(n)]
        else:
            flat = [1.0 if how == "ones" else 0.0] * n
        params[name] = torch.tensor(flat, dtype=torch.float64).reshape(shape)
    return params


class TinyGPT(torch.nn.Module):
    def __init__(self, params):
        super().__init__()
        self.d_model = params["E_token"].shape[1]
        self.n_heads = params["W_Q"].shape[0]
        for name, value in params.items():
            t = torch.as_tensor(value, dtype=torch.float64).clone()
            self.register_parameter(name, torch.nn.Parameter(t))

    def forward(self, tokens, record=None):
        """The mean loss over the positions that have a target.  With a dict
        as record, every activation is stored in it under the run record's
        names (per-head ones as [head][...])."""
        T = tokens.shape[0]
        d_k = self.d_model // self.n_heads
        targets = tokens[1:]
        X = self.E_token[tokens] + self.E_pos[:T]                 # [T][D]
        Q = torch.matmul(X, self.W_Q)                             # [H][T][d_k]
        K = torch.matmul(X, self.W_K)
        V = torch.matmul(X, self.W_V)
        S = torch.matmul(Q, K.transpose(1, 2)) / math.sqrt(d_k)   # [H][T][T]
        future = torch.ones(T, T, dtype=torch.bool).triu(1)
        P = torch.softmax(S.masked_fill(future, float("-inf")), dim=-1)
        A = torch.matmul(P, V)                                    # [H][T][d_k]
        concat = A.transpose(0, 1).reshape(T, self.d_model)       # [A_0 | A_1 ...]
        mh = F.linear(concat, self.W_O)
        hidden = F.linear(mh, self.W1, self.b1)
        act = F.gelu(hidden, approximate="tanh")
        ffn = F.linear(act, self.W2, self.b2)
        res = mh + ffn
        ln = F.layer_norm(res, (self.d_model,), self.gamma, self.beta, LN_EPS)
        logits = F.linear(ln, self.W_lm)
        losses = F.cross_entropy(logits[:T - 1], targets, reduction="none")
        loss = losses.mean()
        if record is not None:
            record.update(X=X, Q=Q, K=K, V=V, scores=S, weights=P, concat=concat,
                          mh=mh, hidden=hidden, act=act, ffn=ffn, res=res, ln=ln,
                          logits=logits, probs=torch.softmax(logits, dim=-1),
                          losses=losses)
        return loss


def make_optimizer(model):
    return torch.optim.AdamW(model.parameters(), **ADAMW)


def train_step(model, opt, tokens):
    opt.zero_grad()
    loss = model(tokens)
    loss.backward()
    opt.step()
    return loss


def time_steps(model, opt, tokens, n):
    t0 = time.perf_counter()
    for _ in range(n):
        train_step(model, opt, tokens)
    return time.perf_counter() - t0


def bench(d_model, n_heads, d_ff, min_seconds, reps, default_threads):
    """Time a step like bench_step: calibrate a number of steps n that takes
    at least min_seconds, then reps runs of n steps, each from the initial
    parameters with a fresh optimiser."""
    init = python_init(d_model, n_heads, d_ff)
    tokens = torch.tensor(SENTENCE)

    model = TinyGPT(init)
    opt = make_optimizer(model)
    with torch.no_grad():
        loss0 = model(tokens).item()
    for _ in range(CHECK_STEPS):
        train_step(model, opt, tokens)
    with torch.no_grad():
        loss10 = model(tokens).item()

    model = TinyGPT(init)
    opt = make_optimizer(model)
    n = 1
    while time_steps(model, opt, tokens, n) < min_seconds:
        n *= 2
    per_step = []
    for _ in range(reps):
        model = TinyGPT(init)
        opt = make_optimizer(model)
        per_step.append(time_steps(model, opt, tokens, n) / n)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"d_model={d_model} n_heads={n_heads} d_ff={d_ff} n_params={n_params} "
          f"steps={n} reps={reps} median_us={1e6 * statistics.median(per_step):.3f} "
          f"min_us={1e6 * min(per_step):.3f} max_us={1e6 * max(per_step):.3f} "
          f"loss0={loss0!r} loss{CHECK_STEPS}={loss10!r} "
          f"threads={torch.get_num_threads()} default_threads={default_threads} "
          f"torch={torch.__version__}")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("time", help="time a training step")
    t.add_argument("--d-model", type=int, default=16)
    t.add_argument("--n-heads", type=int, default=2)
    t.add_argument("--d-ff", type=int, default=64)
    t.add_argument("--min-seconds", type=float, default=0.2)
    t.add_argument("--reps", type=int, default=7)
    t.add_argument("--threads", type=int, default=1,
                   help="torch.set_num_threads (0: PyTorch's default)")
    a = ap.parse_args(argv)
    if a.d_model % a.n_heads:
        ap.error("d_model must be a multiple of n_heads")
    default_threads = torch.get_num_threads()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    bench(a.d_model, a.n_heads, a.d_ff, a.min_seconds, a.reps, default_threads)


if __name__ == "__main__":
    main(sys.argv[1:])
