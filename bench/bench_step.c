/* bench_step.c -- time one training step of the tangled trainer.
 *
 * A step is what the trainer's loop does once: model_forward, model_zero_grad,
 * model_backward, adamw_step, on the book's sentence with the book's AdamW
 * settings, starting from the book's initialisation (seed 42).  Built against
 * build/tinygpt.h and a libtinygpt.a compiled with the same -D flags
 * (make bench builds one per model size under build/bench/).
 *
 *   bench_step [MIN_SECONDS [REPS]]
 *
 * finds a number of steps N that takes at least MIN_SECONDS (default 0.2),
 * times REPS (default 7) runs of N steps with CLOCK_MONOTONIC, and prints one
 * line of KEY=VALUE pairs: the sizes, N, REPS, the median / min / max time per
 * step in microseconds, two losses (at initialisation and after 10 steps) by
 * which the benchmark checks that PyTorch trains the same model, and the mean
 * time of each part of the step (forward, zero_grad, backward, AdamW) over one
 * more run of N steps timed part by part.
 */
#define _POSIX_C_SOURCE 199309L
#include "tinygpt.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_REPS 101
#define CHECK_STEPS 10

static volatile double sink;   /* keeps every loss observable */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void train_step(Model *m, const Config *c)
{
    sink = model_forward(m, c->tokens, c->T);
    model_zero_grad(m);
    model_backward(m);
    adamw_step(m, &c->adamw);
}

/* seconds taken by n steps */
static double time_steps(Model *m, const Config *c, long n)
{
    double t0 = now();
    for (long i = 0; i < n; i++)
        train_step(m, c);
    return now() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    double min_seconds = argc > 1 ? atof(argv[1]) : 0.2;
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    if (!(min_seconds > 0.0) || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "usage: bench_step [MIN_SECONDS>0 [REPS 1..%d]]\n", MAX_REPS);
        return 2;
    }
    Model *m = malloc(sizeof *m);
    if (!m) {
        fprintf(stderr, "bench_step: out of memory\n");
        return 1;
    }
    Config c;
    config_default(&c);

    /* the check values: the loss at initialisation and after CHECK_STEPS steps */
    model_init(m, c.seed);
    double loss0 = model_forward(m, c.tokens, c.T);
    for (int i = 0; i < CHECK_STEPS; i++)
        train_step(m, &c);
    double loss10 = model_forward(m, c.tokens, c.T);

    /* calibrate: double n until n steps take at least min_seconds */
    model_init(m, c.seed);
    long n = 1;
    while (time_steps(m, &c, n) < min_seconds)
        n *= 2;

    double per_step[MAX_REPS];
    for (int r = 0; r < reps; r++) {
        model_init(m, c.seed);
        per_step[r] = time_steps(m, &c, n) / (double)n;
    }

    /* one more run of n steps, timing each part of the step on its own */
    double part[4] = { 0.0, 0.0, 0.0, 0.0 };
    model_init(m, c.seed);
    for (long i = 0; i < n; i++) {
        double t0 = now();
        sink = model_forward(m, c.tokens, c.T);
        double t1 = now();
        model_zero_grad(m);
        double t2 = now();
        model_backward(m);
        double t3 = now();
        adamw_step(m, &c.adamw);
        double t4 = now();
        part[0] += t1 - t0, part[1] += t2 - t1, part[2] += t3 - t2, part[3] += t4 - t3;
    }
    double last = model_forward(m, c.tokens, c.T);
    if (!isfinite(last)) {
        fprintf(stderr, "bench_step: the loss became %g\n", last);
        return 1;
    }
    qsort(per_step, (size_t)reps, sizeof per_step[0], cmp_double);
    double median = reps % 2 ? per_step[reps / 2]
                             : 0.5 * (per_step[reps / 2 - 1] + per_step[reps / 2]);
    printf("d_model=%d n_heads=%d d_ff=%d n_params=%d steps=%ld reps=%d "
           "median_us=%.3f min_us=%.3f max_us=%.3f loss0=%.17g loss%d=%.17g "
           "forward_us=%.3f zero_grad_us=%.3f backward_us=%.3f adamw_us=%.3f\n",
           D_MODEL, N_HEADS, D_FF, N_PARAMS, n, reps, 1e6 * median,
           1e6 * per_step[0], 1e6 * per_step[reps - 1], loss0, CHECK_STEPS, loss10,
           1e6 * part[0] / (double)n, 1e6 * part[1] / (double)n,
           1e6 * part[2] / (double)n, 1e6 * part[3] / (double)n);
    free(m);
    return 0;
}
