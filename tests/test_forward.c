/* test_forward.c -- tokenization and the forward pass. */
#include "tests.h"
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tokenization ---------------------------------------------------- */

START_TEST(encode_the_sentence)
{
    int tok[MAX_SEQ];
    char bad[32] = "";
    ck_assert_int_eq(encode_text("I like transformers", tok, bad, sizeof bad), 5);
    for (int t = 0; t < 5; t++)
        ck_assert_int_eq(tok[t], sentence_tokens[t]);   /* [1,3,4,5,2] */
}
END_TEST

START_TEST(encode_with_extra_whitespace)
{
    int tok[MAX_SEQ];
    ck_assert_int_eq(encode_text("  I\tlike \n transformers  ", tok, NULL, 0), 5);
    for (int t = 0; t < 5; t++)
        ck_assert_int_eq(tok[t], sentence_tokens[t]);
}
END_TEST

START_TEST(encode_shorter_sentences)
{
    int tok[MAX_SEQ];
    ck_assert_int_eq(encode_text("I like", tok, NULL, 0), 4);
    ck_assert_int_eq(tok[0], TOK_BOS);
    ck_assert_int_eq(tok[1], 3);
    ck_assert_int_eq(tok[2], 4);
    ck_assert_int_eq(tok[3], TOK_EOS);
    ck_assert_int_eq(encode_text("transformers", tok, NULL, 0), 3);
    ck_assert_int_eq(tok[0], TOK_BOS);
    ck_assert_int_eq(tok[1], 5);
    ck_assert_int_eq(tok[2], TOK_EOS);
}
END_TEST

START_TEST(encode_rejects_unknown_word)
{
    int tok[MAX_SEQ];
    char bad[32] = "";
    ck_assert_int_eq(encode_text("I love transformers", tok, bad, sizeof bad),
                     TEXT_UNKNOWN_WORD);
    ck_assert_str_eq(bad, "love");   /* the offending word is named */
    ck_assert_int_eq(encode_text("I like transformer", tok, bad, sizeof bad),
                     TEXT_UNKNOWN_WORD);
    ck_assert_str_eq(bad, "transformer");
}
END_TEST

START_TEST(encode_rejects_too_long)
{
    int tok[MAX_SEQ];
    char bad[32] = "";
    /* <BOS> + 4 words + <EOS> = 6 > MAX_SEQ = 5 */
    ck_assert_int_eq(encode_text("I like transformers I", tok, bad, sizeof bad),
                     TEXT_TOO_LONG);
    ck_assert_int_eq(encode_text("like like like like like", tok, NULL, 0),
                     TEXT_TOO_LONG);
}
END_TEST

START_TEST(encode_rejects_empty)
{
    int tok[MAX_SEQ];
    ck_assert_int_eq(encode_text("", tok, NULL, 0), TEXT_EMPTY);
    ck_assert_int_eq(encode_text(" \t\n ", tok, NULL, 0), TEXT_EMPTY);
}
END_TEST

/* ---- softmax --------------------------------------------------------- */

/* Sums of n <= 6 quotients, each rounded once, and the summation: a few
   ulps of 1, so 8 machine epsilons. */
#define SUM_TOL (8 * DBL_EPSILON)

START_TEST(softmax_rows_sum_to_one)
{
    TestRng r;
    test_rng_seed(&r, 1);
    for (int trial = 0; trial < 50; trial++) {
        double z[VOCAB], p[VOCAB], e[VOCAB], se = 0.0, sum = 0.0;
        test_fill(&r, z, VOCAB, 5.0);
        softmax_forward(p, z, VOCAB);
        for (int j = 0; j < VOCAB; j++) {
            e[j] = exp(z[j]);   /* |z| <= 5: no overflow without the shift */
            se += e[j];
        }
        for (int j = 0; j < VOCAB; j++) {
            sum += p[j];
            /* shifting by the max rounds z - max (|z - max| <= 10), which
               moves exp by up to 10 * 2^-53 = 1.1e-15 relative; with the
               roundings of exp, sum and quotient: 4e-15 relative */
            CHECK_CLOSE(p[j], e[j] / se, 0.0, 4e-15);
            ck_assert(p[j] > 0.0);
        }
        CHECK_CLOSE(sum, 1.0, SUM_TOL, 0.0);
    }
}
END_TEST

START_TEST(softmax_minus_infinity_gives_exact_zero)
{
    const double z[5] = { 0.3, -INFINITY, 1.2, -INFINITY, -INFINITY };
    double p[5];
    softmax_forward(p, z, 5);
    ck_assert_double_eq(p[1], 0.0);
    ck_assert_double_eq(p[3], 0.0);
    ck_assert_double_eq(p[4], 0.0);
    /* the rest is the softmax of the finite entries alone: 1/(1+e^0.9) */
    double p0 = 1.0 / (1.0 + exp(0.9));
    CHECK_CLOSE(p[0], p0, 0.0, 1e-15);   /* a few ulps */
    CHECK_CLOSE(p[2], 1.0 - p0, 0.0, 1e-15);
    CHECK_CLOSE(p[0] + p[2], 1.0, SUM_TOL, 0.0);
}
END_TEST

START_TEST(softmax_is_stable_for_large_inputs)
{
    const double big[3] = { 1000.0, 1001.0, 1002.0 }, small[3] = { 0.0, 1.0, 2.0 };
    double pb[3], ps[3];
    softmax_forward(pb, big, 3);
    softmax_forward(ps, small, 3);
    for (int j = 0; j < 3; j++) {
        ck_assert(isfinite(pb[j]));
        /* z - max is exactly {-2,-1,0} in both cases: identical results */
        ck_assert_double_eq(pb[j], ps[j]);
    }
    /* e^2/(1+e^1+e^2) = 0.6652409557748219 (math.exp in CPython) */
    CHECK_CLOSE(ps[2], 0.6652409557748219, 0.0, 1e-15);   /* a few ulps of exp and / */
}
END_TEST

/* ---- GELU ------------------------------------------------------------ */

START_TEST(gelu_known_values)
{
    /* CPython: 0.5*x*(1+math.tanh(math.sqrt(2/math.pi)*(x+0.044715*x**3))) */
    static const double x[7] = { -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0 };
    static const double y[7] = {
        -0.0036373920817729943, -0.15880800939172324, -0.15428599017485606, 0.0,
        0.34571400982514394, 0.8411919906082768, 2.996362607918227
    };
    double out[7], th[7];
    gelu_forward(out, th, x, 7);
    for (int i = 0; i < 7; i++)
        /* tanh may differ by an ulp between libms, and for x < 0 the sum
           1 + tanh(u) cancels, turning that ulp into ~2e-16 absolute at
           x = -3: atol 1e-15 + rtol 1e-15 */
        CHECK_CLOSE(out[i], y[i], 1e-15, 1e-15);
    ck_assert_double_eq(out[3], 0.0);
}
END_TEST

START_TEST(gelu_odd_part_is_identity)
{
    /* GELU(x) - GELU(-x) = x exactly in real arithmetic, for the tanh form
       too; in doubles a few roundings of terms of size |x| remain. */
    TestRng r;
    test_rng_seed(&r, 2);
    for (int i = 0; i < 100; i++) {
        double x[2], y[2], th[2];
        x[0] = 4.0 * test_sym(&r);
        x[1] = -x[0];
        gelu_forward(y, th, x, 2);
        /* 1e-15 relative: a few ulps of |x|; 1e-300 only so that x = 0 passes */
        CHECK_CLOSE(y[0] - y[1], x[0], 1e-300, 1e-15);
    }
}
END_TEST

/* ---- the model's forward pass ------------------------------------------ */


START_TEST(loss_at_init_matches_reference)
{
    double loss = model_forward(model, sentence_tokens, MAX_SEQ);
    /* The original Python notebooks' loss at init (random.seed(42), the
       sentence <BOS> I like transformers <EOS>): 1.8298677505438041.  The
       forward pass is meant to agree to the last digit; 1e-12 leaves room
       only for a libm that differs in the last bit of exp/tanh/log. */
    CHECK_CLOSE(loss, 1.8298677505438041, 1e-12, 0.0);
    CHECK_CLOSE(model->acts.loss, 1.8298677505438041, 1e-12, 0.0);
    /* perplexity e^L: CPython math.exp(1.8298677505438041); the loss's
       1e-12 becomes 6.3e-12 after exp */
    CHECK_CLOSE(exp(loss), 6.233062284916823, 1e-11, 0.0);
    char buf[16];
    snprintf(buf, sizeof buf, "%.2f", exp(loss));
    ck_assert_str_eq(buf, "6.23");
    /* worse than the uniform guess ln 6 = 1.791759469228055 at init */
    ck_assert(loss > 1.791759469228055);
}
END_TEST

START_TEST(forward_targets_embedding_and_losses)
{
    model_forward(model, sentence_tokens, MAX_SEQ);
    const Activations *a = &model->acts;
    const ParamTensors *p = &model->params.t;
    ck_assert_int_eq(a->T, 5);
    static const int targets[4] = { 3, 4, 5, 2 };   /* I like transformers <EOS> */
    for (int t = 0; t < 4; t++)
        ck_assert_int_eq(a->targets[t], targets[t]);
    for (int t = 0; t < 5; t++)
        for (int c = 0; c < D_MODEL; c++)   /* one addition: exact */
            ck_assert_double_eq(a->X[t][c],
                                p->E_token[sentence_tokens[t]][c] + p->E_pos[t][c]);
    double sum = 0.0;
    for (int t = 0; t < 4; t++) {
        double psum = 0.0;
        for (int k = 0; k < VOCAB; k++)
            psum += a->probs[t][k];
        CHECK_CLOSE(psum, 1.0, SUM_TOL, 0.0);
        /* -log p, one libm call: 1 ulp-ish, 1e-15 relative */
        CHECK_CLOSE(a->losses[t], -log(a->probs[t][targets[t]]), 0.0, 1e-15);
        sum += a->losses[t];
    }
    /* mean over 4 positions, maybe summed in another order: 1e-15 relative */
    CHECK_CLOSE(a->loss, sum / 4, 0.0, 1e-15);
}
END_TEST

START_TEST(attention_weights_are_causal_rows)
{
    model_forward(model, sentence_tokens, MAX_SEQ);
    const Activations *a = &model->acts;
    for (int h = 0; h < N_HEADS; h++)
        for (int i = 0; i < MAX_SEQ; i++) {
            double sum = 0.0, den = 0.0;
            for (int j = 0; j <= i; j++) {
                double s = 0.0;
                for (int k = 0; k < D_K; k++)
                    s += a->Q[h][i][k] * a->K[h][j][k];
                s /= sqrt((double)D_K);
                /* scaled score Q K^T / sqrt(d_k): same products, 1e-15 abs
                   at magnitudes << 1 */
                CHECK_CLOSE(a->S[h][i][j], s, 1e-15, 0.0);
                den += exp(s);
            }
            for (int j = 0; j < MAX_SEQ; j++) {
                if (j > i) {
                    ck_assert_msg(a->P[h][i][j] == 0.0, "P[%d][%d][%d] = %g", h, i, j,
                                  a->P[h][i][j]);
                    ck_assert(isinf(a->S_masked[h][i][j]) && a->S_masked[h][i][j] < 0);
                } else {
                    ck_assert(a->P[h][i][j] > 0.0);
                    /* softmax over the visible keys; a few ulps */
                    CHECK_CLOSE(a->P[h][i][j], exp(a->S[h][i][j]) / den, 0.0, 1e-14);
                }
                sum += a->P[h][i][j];
            }
            CHECK_CLOSE(sum, 1.0, SUM_TOL, 0.0);
            ck_assert_double_eq(a->P[h][0][0], 1.0);   /* row 0 sees only itself */
        }
}
END_TEST

/* The output rows of a layer norm, with gamma and beta taken back out,
   have mean 0 and biased variance var = s2/(s2+eps), where s2 is the
   biased variance of the input row: 1 - var = eps/(s2+eps) < eps/s2. */
static void check_layernorm_rows(const Activations *a, const ParamTensors *p, int T)
{
    for (int t = 0; t < T; t++) {
        double mu = 0.0, s2 = 0.0, m = 0.0, v = 0.0, xhat[D_MODEL];
        for (int c = 0; c < D_MODEL; c++)
            mu += a->res[t][c];
        mu /= D_MODEL;
        for (int c = 0; c < D_MODEL; c++)
            s2 += (a->res[t][c] - mu) * (a->res[t][c] - mu);
        s2 /= D_MODEL;
        for (int c = 0; c < D_MODEL; c++) {
            xhat[c] = (a->ln[t][c] - p->beta[c]) / p->gamma[c];
            m += xhat[c];
        }
        m /= D_MODEL;
        for (int c = 0; c < D_MODEL; c++)
            v += (xhat[c] - m) * (xhat[c] - m);
        v /= D_MODEL;
        /* |xhat| <= 4 and |beta| <= 1, |gamma| >= 0.5: undoing beta and
           gamma and summing 16 terms costs well under 1e-13 */
        CHECK_CLOSE(m, 0.0, 1e-13, 0.0);
        CHECK_CLOSE(v, s2 / (s2 + LN_EPS), 1e-13, 0.0);
        ck_assert_msg(v < 1.0 && 1.0 - v < LN_EPS / s2 + 1e-13,
                      "row %d: var %.17g, bound 1 - eps/s2 = %.17g", t, v,
                      1.0 - LN_EPS / s2);
        /* the stored statistics are the row's mean, variance, 1/sd, each
           recomputed here by another sum of 16 terms: 1e-14 relative for
           the mean (its atol 1e-16 for a mean near 0), 1e-13 for the
           variance and 1/sd, whose squares and sqrt add a few roundings */
        CHECK_CLOSE(a->ln_mean[t], mu, 1e-16, 1e-14);
        CHECK_CLOSE(a->ln_var[t], s2, 1e-18, 1e-13);
        CHECK_CLOSE(a->ln_rstd[t], 1.0 / sqrt(s2 + LN_EPS), 0.0, 1e-13);
    }
}

START_TEST(layernorm_rows_at_init)
{
    model_forward(model, sentence_tokens, MAX_SEQ);
    check_layernorm_rows(&model->acts, &model->params.t, MAX_SEQ);
}
END_TEST

START_TEST(layernorm_rows_with_random_gain_and_bias)
{
    TestRng r;
    test_rng_seed(&r, 3);
    for (int c = 0; c < D_MODEL; c++) {
        double g = 0.5 + 1.5 * test_uniform(&r);          /* |gamma| in [0.5, 2) */
        model->params.t.gamma[c] = test_uniform(&r) < 0.5 ? -g : g;
        model->params.t.beta[c] = test_sym(&r);           /* beta in [-1, 1) */
    }
    model_forward(model, sentence_tokens, MAX_SEQ);
    check_layernorm_rows(&model->acts, &model->params.t, MAX_SEQ);
}
END_TEST

/* An independent, naive forward pass written from the book's equations
   alone, sharing no code with the library. */
static double reference_loss(const ParamTensors *p, const int *tok, int T)
{
    double X[MAX_SEQ][D_MODEL], C[MAX_SEQ][D_MODEL], M[MAX_SEQ][D_MODEL];
    double R[MAX_SEQ][D_MODEL], N[MAX_SEQ][D_MODEL];
    for (int t = 0; t < T; t++)
        for (int c = 0; c < D_MODEL; c++)
            X[t][c] = p->E_token[tok[t]][c] + p->E_pos[t][c];
    for (int h = 0; h < N_HEADS; h++) {
        double Q[MAX_SEQ][D_K], K[MAX_SEQ][D_K], V[MAX_SEQ][D_K];
        for (int t = 0; t < T; t++)
            for (int k = 0; k < D_K; k++) {
                Q[t][k] = K[t][k] = V[t][k] = 0.0;
                for (int c = 0; c < D_MODEL; c++) {
                    Q[t][k] += X[t][c] * p->W_Q[h][c][k];
                    K[t][k] += X[t][c] * p->W_K[h][c][k];
                    V[t][k] += X[t][c] * p->W_V[h][c][k];
                }
            }
        for (int i = 0; i < T; i++) {
            double w[MAX_SEQ], z = 0.0;
            for (int j = 0; j <= i; j++) {
                double s = 0.0;
                for (int k = 0; k < D_K; k++)
                    s += Q[i][k] * K[j][k];
                w[j] = exp(s / sqrt((double)D_K));
                z += w[j];
            }
            for (int k = 0; k < D_K; k++) {
                double s = 0.0;
                for (int j = 0; j <= i; j++)
                    s += w[j] / z * V[j][k];
                C[i][h * D_K + k] = s;
            }
        }
    }
    double loss = 0.0;
    for (int t = 0; t < T; t++) {
        for (int o = 0; o < D_MODEL; o++) {
            M[t][o] = 0.0;
            for (int i = 0; i < D_MODEL; i++)
                M[t][o] += C[t][i] * p->W_O[o][i];
        }
        double G[D_FF];
        for (int f = 0; f < D_FF; f++) {
            double h = p->b1[f];
            for (int c = 0; c < D_MODEL; c++)
                h += M[t][c] * p->W1[f][c];
            G[f] = 0.5 * h * (1.0 + tanh(sqrt(2.0 / 3.14159265358979323846)
                                         * (h + 0.044715 * h * h * h)));
        }
        double mu = 0.0, var = 0.0;
        for (int c = 0; c < D_MODEL; c++) {
            double f = p->b2[c];
            for (int k = 0; k < D_FF; k++)
                f += G[k] * p->W2[c][k];
            R[t][c] = M[t][c] + f;
            mu += R[t][c] / D_MODEL;
        }
        for (int c = 0; c < D_MODEL; c++)
            var += (R[t][c] - mu) * (R[t][c] - mu) / D_MODEL;
        for (int c = 0; c < D_MODEL; c++)
            N[t][c] = p->gamma[c] * (R[t][c] - mu) / sqrt(var + 1e-5) + p->beta[c];
        if (t + 1 < T) {
            double Z[VOCAB], lse = 0.0;
            for (int k = 0; k < VOCAB; k++) {
                Z[k] = 0.0;
                for (int c = 0; c < D_MODEL; c++)
                    Z[k] += N[t][c] * p->W_lm[k][c];
                lse += exp(Z[k]);
            }
            loss += log(lse) - Z[tok[t + 1]];
        }
    }
    return loss / (T - 1);
}

START_TEST(forward_agrees_with_naive_reference)
{
    /* at init, and at parameters far from it (gamma, beta random) so that
       every parameter matters; T = 5 and T = 4.  Different summation
       order and no max-shift: agreement to 1e-12 relative. */
    static const int short_tok[4] = { TOK_BOS, 3, 4, TOK_EOS };
    CHECK_CLOSE(model_forward(model, sentence_tokens, 5),
                reference_loss(&model->params.t, sentence_tokens, 5), 0.0, 1e-12);
    CHECK_CLOSE(reference_loss(&model->params.t, sentence_tokens, 5),
                1.8298677505438041, 1e-12, 0.0);  /* the naive one matches too */
    TestRng r;
    test_rng_seed(&r, 4);
    for (int i = 0; i < N_PARAMS; i++)
        model->params.flat[i] += 0.2 * test_sym(&r);
    for (int c = 0; c < D_MODEL; c++) {
        model->params.t.gamma[c] = 2.0 * test_sym(&r);
        model->params.t.beta[c] = test_sym(&r);
    }
    double ref5 = reference_loss(&model->params.t, sentence_tokens, 5);
    CHECK_CLOSE(model_forward(model, sentence_tokens, 5), ref5, 0.0, 1e-12);
    double ref4 = reference_loss(&model->params.t, short_tok, 4);
    CHECK_CLOSE(model_forward(model, short_tok, 4), ref4, 0.0, 1e-12);
    ck_assert(fabs(ref5 - 1.8298677505438041) > 1e-3);   /* really moved */
}
END_TEST

START_TEST(forward_is_causal)
{
    /* Changing the last token, or dropping it, cannot change the logits
       of earlier positions: masked scores enter only as exp(-inf) = 0 and
       every other operation is row-wise, so they are bit-for-bit equal. */
    static double before[MAX_SEQ][VOCAB];
    model_forward(model, sentence_tokens, MAX_SEQ);
    memcpy(before, model->acts.logits, sizeof before);
    int tok[MAX_SEQ];
    memcpy(tok, sentence_tokens, sizeof tok);
    tok[4] = 3;
    model_forward(model, tok, MAX_SEQ);
    for (int t = 0; t < 4; t++)
        for (int k = 0; k < VOCAB; k++)
            ck_assert_double_eq(model->acts.logits[t][k], before[t][k]);
    int differ = 0;
    for (int k = 0; k < VOCAB; k++)
        differ += model->acts.logits[4][k] != before[4][k];
    ck_assert_int_gt(differ, 0);   /* the last position does see its token */
    model_forward(model, sentence_tokens, 4);
    for (int t = 0; t < 4; t++)
        for (int k = 0; k < VOCAB; k++)
            ck_assert_double_eq(model->acts.logits[t][k], before[t][k]);
}
END_TEST

Suite *forward_suite(void)
{
    Suite *s = suite_create("forward");
    TCase *tc = tcase_create("encode");
    tcase_add_test(tc, encode_the_sentence);
    tcase_add_test(tc, encode_with_extra_whitespace);
    tcase_add_test(tc, encode_shorter_sentences);
    tcase_add_test(tc, encode_rejects_unknown_word);
    tcase_add_test(tc, encode_rejects_too_long);
    tcase_add_test(tc, encode_rejects_empty);
    suite_add_tcase(s, tc);
    tc = tcase_create("layers");
    tcase_add_test(tc, softmax_rows_sum_to_one);
    tcase_add_test(tc, softmax_minus_infinity_gives_exact_zero);
    tcase_add_test(tc, softmax_is_stable_for_large_inputs);
    tcase_add_test(tc, gelu_known_values);
    tcase_add_test(tc, gelu_odd_part_is_identity);
    suite_add_tcase(s, tc);
    tc = tcase_create("model");
    tcase_add_checked_fixture(tc, model_setup, model_teardown);
    tcase_add_design_test(tc, loss_at_init_matches_reference);
    tcase_add_test(tc, forward_targets_embedding_and_losses);
    tcase_add_test(tc, attention_weights_are_causal_rows);
    tcase_add_test(tc, layernorm_rows_at_init);
    tcase_add_test(tc, layernorm_rows_with_random_gain_and_bias);
    tcase_add_design_test(tc, forward_agrees_with_naive_reference);
    tcase_add_test(tc, forward_is_causal);
    suite_add_tcase(s, tc);
    return s;
}
