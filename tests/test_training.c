/* test_training.c -- run_experiment, generation, and reproducibility. */
#define _POSIX_C_SOURCE 200809L
#include "tests.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One run of the reference configuration (config_reference in helpers.c)
   with the gradient check on, shared (made before forking). */
static const Run *run;

static void run_setup(void)
{
    run = shared_default_run();
}

START_TEST(reference_run_succeeds)
{
    ck_assert_ptr_nonnull(run);
    ck_assert_int_eq(run->failed_step, -1);
    ck_assert_int_eq(run->cfg.steps, 100);   /* config_reference's */
    for (int s = 0; s <= run->cfg.steps; s++)
        ck_assert_msg(isfinite(run->losses[s]), "loss %d = %g", s, run->losses[s]);
}
END_TEST

START_TEST(loss_falls)
{
    ck_assert_ptr_nonnull(run);
    /* the original Python notebooks' loss at init (random.seed(42), the
       sentence of config_reference); 1e-12 as in test_forward.c: room only
       for a libm that differs in the last bit of exp/tanh/log */
    CHECK_CLOSE(run->losses[0], 1.8298677505438041, 1e-12, 0.0);
    ck_assert_msg(run->losses[1] < run->losses[0], "step 1: %.17g >= %.17g",
                  run->losses[1], run->losses[0]);
    /* after the reference run's 100 steps the loss is ~0.35 (the book's
       loss curve); 0.5 says it learned, with room for any libm */
    ck_assert_msg(run->losses[100] < 0.5, "final loss %g", run->losses[100]);
    /* the loss recorded is the loss of the recorded forward passes */
    ck_assert_double_eq(run->losses[0], run->acts_init.loss);
    ck_assert_double_eq(run->losses[100], run->acts_final.loss);
}
END_TEST

START_TEST(generates_the_sentence)
{
    ck_assert_ptr_nonnull(run);
    static const int expected[4] = { 3, 4, 5, TOK_EOS };   /* I like transformers <EOS> */
    ck_assert_int_eq(run->n_generated, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(run->generated[i], expected[i]);
}
END_TEST

START_TEST(generate_is_greedy)
{
    /* generate() from <BOS> on a trained model picks, at each step, the
       most probable next token of a forward pass over what it has so far */
    Run *r = run_new();
    Model *m = model_new();
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(run_experiment(r, m), 0);
    int out[MAX_SEQ];
    int n = generate(m, out);
    ck_assert_int_eq(n, r->n_generated);
    int tok[MAX_SEQ] = { TOK_BOS };
    for (int i = 0; i < n; i++) {
        model_forward(m, tok, i + 1);
        int best = 0;
        for (int k = 1; k < VOCAB; k++)
            if (m->acts.probs[i][k] > m->acts.probs[i][best])
                best = k;
        ck_assert_int_eq(out[i], best);
        tok[i + 1] = out[i];
    }
    free(m);
    run_free(r);
}
END_TEST

START_TEST(gradcheck_of_the_run_passes)
{
    /* The one gradient check of the seed-42 model at init, made as the
       book's run makes it: run_experiment with cfg.gradcheck = 1. */
    ck_assert_ptr_nonnull(run);
    ck_assert_int_eq(run->cfg.gradcheck, 1);
    int differences = 0;
    for (int k = 0; k < N_TENSORS; k++) {
        const TensorInfo *ti = &param_tensors[k];
        const GradErr *e = &run->gradcheck[k];
        /* the check ran, against the real gradient: its max|analytic| is
           that of the run's first backward pass, which is the same
           computation on the same parameters, so equal bit for bit; and at
           init every tensor has a nonzero gradient (an all-zero record,
           from a check that never ran, fails here) */
        double mg = 0.0;
        for (int i = 0; i < tensor_size(ti); i++)
            mg = fmax(mg, fabs(run->grads_init.flat[ti->offset + i]));
        ck_assert_msg(mg > 0.0, "%s: gradient identically zero", ti->name);
        ck_assert_msg(e->max_grad == mg, "%s: check's max|grad| %.17g, first backward's %.17g",
                      ti->name, e->max_grad, mg);
        /* each tensor within the library's own tolerance */
        ck_assert_msg(gradcheck_ok(e), "%s: error %.3g, allowed %.3g",
                      ti->name, e->max_abs, e->allowed);
        /* rel is max_abs / max_grad, the same one division */
        ck_assert_double_eq(e->rel, e->max_abs / e->max_grad);
        differences += e->max_abs > 0.0;
    }
    /* central differences never agree with the backward pass to the last
       bit everywhere: a record of exact agreement means no comparison */
    ck_assert_msg(differences > 0, "no tensor shows any numeric-analytic difference");
    ck_assert_int_eq(gradcheck_passed(run->gradcheck), 1);
}
END_TEST

START_TEST(first_step_matches_manual_step)
{
    /* model_init + forward + zero_grad + backward + adamw_step by hand: the
       same deterministic operations on the same numbers, so the recorded
       first step must agree bit for bit (tolerance 0).  The shared run
       made the gradient check before its first step, so this also shows
       that the check left every parameter exactly as it found it. */
    ck_assert_ptr_nonnull(run);
    Model *m = model_new();
    model_init(m, 42);
    ck_assert(memcmp(&m->params, &run->params_init, sizeof m->params) == 0);
    double loss = model_forward(m, sentence_tokens, MAX_SEQ);
    ck_assert_double_eq(loss, run->losses[0]);
    model_zero_grad(m);
    model_backward(m);
    for (int i = 0; i < N_PARAMS; i++)
        ck_assert_double_eq(m->grads.flat[i], run->grads_init.flat[i]);
    AdamWConfig c = run->cfg.adamw;
    adamw_step(m, &c);
    for (int i = 0; i < N_PARAMS; i++) {
        ck_assert_msg(m->params.flat[i] == run->params_step1.flat[i],
                      "param %d: %.17g vs %.17g", i, m->params.flat[i],
                      run->params_step1.flat[i]);
        ck_assert_double_eq(m->m.flat[i], run->m_step1.flat[i]);
        ck_assert_double_eq(m->v.flat[i], run->v_step1.flat[i]);
    }
    /* and the recorded activations are those of the first forward pass */
    ck_assert_double_eq(model_forward(m, sentence_tokens, MAX_SEQ), run->losses[1]);
    free(m);
}
END_TEST

START_TEST(shorter_runs_are_prefixes)
{
    /* training is deterministic: 3 steps reproduce the first 4 losses of
       the 100-step run exactly, with or without the gradient check first
       (the shared run made it, this one does not) */
    ck_assert_ptr_nonnull(run);
    Run *r = run_new();
    Model *m = model_new();
    ck_assert_ptr_nonnull(r);
    r->cfg.steps = 3;
    ck_assert_int_eq(r->cfg.gradcheck, 0);
    ck_assert_int_eq(run_experiment(r, m), 0);
    for (int s = 0; s <= 3; s++)
        ck_assert_double_eq(r->losses[s], run->losses[s]);
    ck_assert(memcmp(&r->params_step1, &run->params_step1, sizeof r->params_step1) == 0);
    free(m);
    run_free(r);
}
END_TEST

START_TEST(divergence_is_reported)
{
    /* a learning rate of 1e9 blows the weights up until some target's
       probability underflows to 0 and the loss is infinite: the run must
       stop there and say where */
    Run *r = run_new();
    Model *m = model_new();
    ck_assert_ptr_nonnull(r);
    r->cfg.steps = 50;
    r->cfg.adamw.lr = 1e9;
    ck_assert_int_eq(run_experiment(r, m), -1);
    ck_assert_int_ge(r->failed_step, 1);
    ck_assert_int_le(r->failed_step, 50);
    ck_assert(!isfinite(r->losses[r->failed_step]));
    for (int s = 0; s < r->failed_step; s++)
        ck_assert(isfinite(r->losses[s]));
    free(m);
    run_free(r);
}
END_TEST

START_TEST(same_config_same_json)
{
    ck_assert_ptr_nonnull(run);
    Run *r = run_new();
    Model *m = model_new();
    ck_assert_ptr_nonnull(r);
    r->cfg.gradcheck = run->cfg.gradcheck;   /* the record includes it */
    ck_assert_int_eq(run_experiment(r, m), 0);
    char *dir = tmpdir_new();
    char a[256], b[256];
    snprintf(a, sizeof a, "%s/a.json", dir);
    snprintf(b, sizeof b, "%s/b.json", dir);
    ck_assert_int_eq(write_json(run, a), 0);
    ck_assert_int_eq(write_json(r, b), 0);
    size_t la, lb;
    char *ta = slurp(a, &la), *tb = slurp(b, &lb);
    ck_assert_ptr_nonnull(ta);
    ck_assert_ptr_nonnull(tb);
    ck_assert_uint_gt(la, 1000);
    /* the first difference, not the files: they are ~260 kB */
    size_t i = 0;
    while (i < la && i < lb && ta[i] == tb[i])
        i++;
    ck_assert_msg(i == la && i == lb, "the records differ at byte %zu of %zu/%zu: "
                  "\"%.30s\" vs \"%.30s\"", i, la, lb, ta + i, tb + i);
    ck_assert_int_eq(dir_entries(dir), 2);   /* no temporaries left */
    free(ta);
    free(tb);
    tmpdir_remove(dir);
    free(m);
    run_free(r);
}
END_TEST

START_TEST(config_default_is_valid)
{
    /* config_default is the trainer's choice, which a reader may change
       (more steps, another learning rate, another seed): no test depends
       on its values, only on its being a configuration that can run. */
    Config c;
    memset(&c, 0xff, sizeof c);   /* every field must be set */
    config_default(&c);
    ck_assert_int_ge(c.steps, 1);
    ck_assert_int_ge(c.T, 2);
    ck_assert_int_le(c.T, MAX_SEQ);
    for (int t = 0; t < c.T; t++) {
        ck_assert_int_ge(c.tokens[t], 0);
        ck_assert_int_lt(c.tokens[t], VOCAB);
    }
    ck_assert(c.adamw.lr > 0.0 && isfinite(c.adamw.lr));
    ck_assert(c.adamw.beta1 >= 0.0 && c.adamw.beta1 < 1.0);
    ck_assert(c.adamw.beta2 >= 0.0 && c.adamw.beta2 < 1.0);
    ck_assert(c.adamw.eps > 0.0 && isfinite(c.adamw.eps));
    ck_assert(c.adamw.weight_decay >= 0.0 && isfinite(c.adamw.weight_decay));
    ck_assert(c.gradcheck == 0 || c.gradcheck == 1);
    /* and run_experiment accepts it: its first step, at least, runs */
    Run *r = run_new();
    Model *m = model_new();
    ck_assert_ptr_nonnull(r);
    r->cfg = c;
    r->cfg.steps = 1;        /* r->losses has room for 100 + 1 */
    r->cfg.gradcheck = 0;    /* the check is tested above */
    ck_assert_int_eq(run_experiment(r, m), 0);
    free(m);
    run_free(r);
}
END_TEST

Suite *training_suite(void)
{
    Suite *s = suite_create("training");
    TCase *tc = tcase_create("run");
    tcase_add_unchecked_fixture(tc, run_setup, NULL);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, reference_run_succeeds);
    tcase_add_design_test(tc, loss_falls);
    tcase_add_test(tc, generates_the_sentence);
    tcase_add_test(tc, generate_is_greedy);
    tcase_add_test(tc, gradcheck_of_the_run_passes);
    tcase_add_test(tc, first_step_matches_manual_step);
    tcase_add_test(tc, shorter_runs_are_prefixes);
    tcase_add_test(tc, divergence_is_reported);
    tcase_add_test(tc, same_config_same_json);
    tcase_add_test(tc, config_default_is_valid);
    suite_add_tcase(s, tc);
    return s;
}
