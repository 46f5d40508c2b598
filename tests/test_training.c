/* test_training.c -- run_experiment, generation, and reproducibility. */
#define _POSIX_C_SOURCE 200809L
#include "tests.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const Run *run;   /* one default run, shared (made before forking) */

static void run_setup(void)
{
    run = shared_default_run();
}

START_TEST(default_run_succeeds)
{
    ck_assert_ptr_nonnull(run);
    ck_assert_int_eq(run->failed_step, -1);
    ck_assert_int_eq(run->cfg.steps, 100);
    for (int s = 0; s <= run->cfg.steps; s++)
        ck_assert_msg(isfinite(run->losses[s]), "loss %d = %g", s, run->losses[s]);
}
END_TEST

START_TEST(loss_falls)
{
    ck_assert_ptr_nonnull(run);
    /* DESIGN.md's reference loss at init; see test_forward.c for 1e-12 */
    CHECK_CLOSE(run->losses[0], 1.8298677505438041, 1e-12, 0.0);
    ck_assert_msg(run->losses[1] < run->losses[0], "step 1: %.17g >= %.17g",
                  run->losses[1], run->losses[0]);
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
    ck_assert_ptr_nonnull(run);
    for (int k = 0; k < N_TENSORS; k++)
        ck_assert_msg(run->gradcheck[k].rel < GRADCHECK_RTOL, "%s rel %g",
                      param_tensors[k].name, run->gradcheck[k].rel);
}
END_TEST

START_TEST(first_step_matches_manual_step)
{
    /* model_init + forward + zero_grad + backward + adamw_step by hand: the
       same deterministic operations on the same numbers, so the recorded
       first step must agree bit for bit (tolerance 0). */
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
       the 100-step run exactly */
    ck_assert_ptr_nonnull(run);
    Run *r = run_new();
    Model *m = model_new();
    ck_assert_ptr_nonnull(r);
    r->cfg.steps = 3;
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
    ck_assert_uint_eq(la, lb);
    ck_assert(memcmp(ta, tb, la) == 0);
    ck_assert_int_eq(dir_entries(dir), 2);   /* no temporaries left */
    free(ta);
    free(tb);
    tmpdir_remove(dir);
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
    tcase_add_test(tc, default_run_succeeds);
    tcase_add_design_test(tc, loss_falls);
    tcase_add_test(tc, generates_the_sentence);
    tcase_add_test(tc, generate_is_greedy);
    tcase_add_test(tc, gradcheck_of_the_run_passes);
    tcase_add_test(tc, first_step_matches_manual_step);
    tcase_add_test(tc, shorter_runs_are_prefixes);
    tcase_add_test(tc, divergence_is_reported);
    tcase_add_test(tc, same_config_same_json);
    suite_add_tcase(s, tc);
    return s;
}
