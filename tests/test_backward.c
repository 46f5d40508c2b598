/* test_backward.c -- every backward function, and the whole model's
   gradient, against central finite differences.

   For a layer y = f(inputs) a random upstream gradient G defines the
   scalar s = sum(G * y); the layer's backward, given dout = G, must return
   ds/d(input) for every input and weight, which is compared with
   (s(x+h) - s(x-h)) / 2h entry by entry.

   Tolerance of the layer checks: |num - ana| <= 1e-8 + 1e-6 |ana| with
   h = 1e-5.  With inputs of size ~1 the central difference's truncation
   error is ~h^2 |f'''| ~ 1e-10 and its rounding error ~eps |s| / h ~ 1e-10,
   both two orders below the tolerance, while a wrong factor, sign, index or
   a missing term is off by ~0.1-1.

   The gradient buffers are pre-filled with random values before each
   backward call, and the pre-fill is subtracted afterwards: this checks at
   the same time that backward functions ADD into their outputs and leave
   entries they do not own untouched. */
#include "tests.h"
#include <float.h>
#include <stdlib.h>
#include <string.h>

#define FD_H    1e-5
#define FD_ATOL 1e-8
#define FD_RTOL 1e-6

typedef double (*ScalarFn)(void *ctx);

/* Compare ana[i] with the central difference of s with respect to x[i]. */
static void fd_compare(const char *what, double *x, int n, const double *ana,
                       ScalarFn s, void *ctx)
{
    for (int i = 0; i < n; i++) {
        double x0 = x[i];
        x[i] = x0 + FD_H;
        double sp = s(ctx);
        x[i] = x0 - FD_H;
        double sm = s(ctx);
        x[i] = x0;
        double num = (sp - sm) / (2.0 * FD_H);
        ck_assert_msg(fabs(num - ana[i]) <= FD_ATOL + FD_RTOL * fabs(ana[i]),
                      "%s[%d]: analytic %.12g, numeric %.12g", what, i, ana[i], num);
    }
}

static double dot(const double *a, const double *b, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Fill g with a random pre-fill, remember it in p0. */
static void prefill(TestRng *r, double *g, double *p0, int n)
{
    test_fill(r, g, n, 1.0);
    memcpy(p0, g, (size_t)n * sizeof *g);
}

/* g -= p0: what the backward call added. */
static void added(double *g, const double *p0, int n)
{
    for (int i = 0; i < n; i++)
        g[i] -= p0[i];
}

/* ---- embedding --------------------------------------------------------- */

typedef struct {
    int T, tokens[MAX_SEQ];
    double E_token[VOCAB * D_MODEL], E_pos[MAX_SEQ * D_MODEL];
    double G[MAX_SEQ * D_MODEL];
} EmbedCtx;

static double embed_s(void *v)
{
    EmbedCtx *c = v;
    double X[MAX_SEQ * D_MODEL];
    embed_forward(X, c->tokens, c->E_token, c->E_pos, c->T);
    return dot(c->G, X, c->T * D_MODEL);
}

static void check_embed(const int *tokens, int T)
{
    static EmbedCtx c;
    static double dE_token[VOCAB * D_MODEL], dE_pos[MAX_SEQ * D_MODEL];
    static double p_tok[VOCAB * D_MODEL], p_pos[MAX_SEQ * D_MODEL];
    TestRng r;
    test_rng_seed(&r, 10 + (uint64_t)T);
    c.T = T;
    memcpy(c.tokens, tokens, (size_t)T * sizeof *tokens);
    test_fill(&r, c.E_token, VOCAB * D_MODEL, 1.0);
    test_fill(&r, c.E_pos, MAX_SEQ * D_MODEL, 1.0);
    test_fill(&r, c.G, T * D_MODEL, 1.0);
    prefill(&r, dE_token, p_tok, VOCAB * D_MODEL);
    prefill(&r, dE_pos, p_pos, MAX_SEQ * D_MODEL);
    embed_backward(dE_token, dE_pos, c.G, c.tokens, T);
    /* rows that take no part are not touched at all */
    for (int k = 0; k < VOCAB; k++) {
        int used = 0;
        for (int t = 0; t < T; t++)
            used |= tokens[t] == k;
        if (!used)
            for (int i = 0; i < D_MODEL; i++)
                ck_assert_double_eq(dE_token[k * D_MODEL + i], p_tok[k * D_MODEL + i]);
    }
    for (int i = T * D_MODEL; i < MAX_SEQ * D_MODEL; i++)
        ck_assert_double_eq(dE_pos[i], p_pos[i]);
    added(dE_token, p_tok, VOCAB * D_MODEL);
    added(dE_pos, p_pos, MAX_SEQ * D_MODEL);
    fd_compare("dE_token", c.E_token, VOCAB * D_MODEL, dE_token, embed_s, &c);
    fd_compare("dE_pos", c.E_pos, MAX_SEQ * D_MODEL, dE_pos, embed_s, &c);
}

START_TEST(embed_backward_matches_fd)
{
    /* token 3 appears twice: its row must collect both positions */
    static const int tok5[5] = { 1, 3, 4, 3, 2 }, tok3[3] = { 1, 5, 2 };
    check_embed(tok5, 5);
    check_embed(tok3, 3);
}
END_TEST

/* ---- matmul (x W, W [in][out]) and linear (x W^T + b, W [out][in]) ---- */

enum { LT = 5, LC = 16, LOC = 12 };

typedef struct {
    int linear, bias, OC;
    double x[LT * LC], W[LOC * LC], b[LOC], G[LT * LOC];
} LinCtx;

static double lin_s(void *v)
{
    LinCtx *c = v;
    double y[LT * LOC];
    if (c->linear)
        linear_forward(y, c->x, c->W, c->bias ? c->b : NULL, LT, LC, c->OC);
    else
        matmul_forward(y, c->x, c->W, LT, LC, c->OC);
    return dot(c->G, y, LT * c->OC);
}

static void check_lin(int linear, int bias, int OC)
{
    static LinCtx c;
    static double dx[LT * LC], dW[LOC * LC], db[LOC];
    static double px[LT * LC], pW[LOC * LC], pb[LOC];
    TestRng r;
    test_rng_seed(&r, 20 + (uint64_t)(4 * linear + 2 * bias));
    c.linear = linear;
    c.bias = bias;
    c.OC = OC;
    test_fill(&r, c.x, LT * LC, 1.0);
    test_fill(&r, c.W, OC * LC, 1.0);
    test_fill(&r, c.b, OC, 1.0);
    test_fill(&r, c.G, LT * OC, 1.0);
    prefill(&r, dx, px, LT * LC);
    prefill(&r, dW, pW, OC * LC);
    prefill(&r, db, pb, OC);
    if (linear)
        linear_backward(dx, dW, bias ? db : NULL, c.G, c.x, c.W, LT, LC, OC);
    else
        matmul_backward(dx, dW, c.G, c.x, c.W, LT, LC, OC);
    added(dx, px, LT * LC);
    added(dW, pW, OC * LC);
    fd_compare("dx", c.x, LT * LC, dx, lin_s, &c);
    fd_compare("dW", c.W, OC * LC, dW, lin_s, &c);
    if (linear && bias) {
        added(db, pb, OC);
        fd_compare("db", c.b, OC, db, lin_s, &c);
    } else {
        for (int o = 0; o < OC; o++)   /* nothing written to the bias buffer */
            ck_assert_double_eq(db[o], pb[o]);
    }
}

START_TEST(matmul_backward_matches_fd)
{
    check_lin(0, 0, 8);    /* the Q/K/V shape: [16][8] */
    check_lin(0, 0, 12);
}
END_TEST

START_TEST(linear_backward_with_bias_matches_fd)
{
    check_lin(1, 1, 12);
}
END_TEST

START_TEST(linear_backward_without_bias_matches_fd)
{
    check_lin(1, 0, 12);
}
END_TEST

/* ---- attention --------------------------------------------------------- */

typedef struct {
    int T;
    double Q[MAX_SEQ * D_K], K[MAX_SEQ * D_K], V[MAX_SEQ * D_K], G[MAX_SEQ * D_K];
    double S[MAX_SEQ * MAX_SEQ], P[MAX_SEQ * MAX_SEQ];  /* for the dS, dP checks */
} AttnCtx;

static double attn_s(void *v)
{
    AttnCtx *c = v;
    double A[MAX_SEQ * D_K], S[MAX_SEQ * MAX_SEQ], Sm[MAX_SEQ * MAX_SEQ];
    double P[MAX_SEQ * MAX_SEQ];
    attention_forward(A, S, Sm, P, c->Q, c->K, c->V, c->T);
    return dot(c->G, A, c->T * D_K);
}

/* s as a function of the weights P alone: A = P V */
static double attn_s_of_P(void *v)
{
    AttnCtx *c = v;
    double s = 0.0;
    for (int i = 0; i < c->T; i++)
        for (int k = 0; k < D_K; k++) {
            double a = 0.0;
            for (int j = 0; j < c->T; j++)
                a += c->P[i * MAX_SEQ + j] * c->V[j * D_K + k];
            s += c->G[i * D_K + k] * a;
        }
    return s;
}

/* s as a function of the scaled scores S: A = softmax(causal(S)) V,
   written independently of attention_forward */
static double attn_s_of_S(void *v)
{
    AttnCtx *c = v;
    double s = 0.0;
    for (int i = 0; i < c->T; i++) {
        double w[MAX_SEQ], z = 0.0;
        for (int j = 0; j <= i; j++) {
            w[j] = exp(c->S[i * MAX_SEQ + j]);
            z += w[j];
        }
        for (int k = 0; k < D_K; k++) {
            double a = 0.0;
            for (int j = 0; j <= i; j++)
                a += w[j] / z * c->V[j * D_K + k];
            s += c->G[i * D_K + k] * a;
        }
    }
    return s;
}

static void check_attention(int T)
{
    static AttnCtx c;
    enum { N = MAX_SEQ * D_K, NS = MAX_SEQ * MAX_SEQ };
    static double dQ[N], dK[N], dV[N], pQ[N], pK[N], pV[N];
    static double dS[NS], dP[NS], A[N], Sm[NS];
    TestRng r;
    test_rng_seed(&r, 30 + (uint64_t)T);
    c.T = T;
    test_fill(&r, c.Q, N, 1.0);
    test_fill(&r, c.K, N, 1.0);
    test_fill(&r, c.V, N, 1.0);
    test_fill(&r, c.G, N, 1.0);
    attention_forward(A, c.S, Sm, c.P, c.Q, c.K, c.V, T);
    prefill(&r, dQ, pQ, N);
    prefill(&r, dK, pK, N);
    prefill(&r, dV, pV, N);
    memset(dS, 0, sizeof dS);   /* dS, dP are the function's scratch outputs */
    memset(dP, 0, sizeof dP);
    attention_backward(dQ, dK, dV, dS, dP, c.G, c.P, c.Q, c.K, c.V, T);
    for (int i = T * D_K; i < N; i++) {   /* rows >= T untouched */
        ck_assert_double_eq(dQ[i], pQ[i]);
        ck_assert_double_eq(dK[i], pK[i]);
        ck_assert_double_eq(dV[i], pV[i]);
    }
    added(dQ, pQ, N);
    added(dK, pK, N);
    added(dV, pV, N);
    fd_compare("dQ", c.Q, T * D_K, dQ, attn_s, &c);
    fd_compare("dK", c.K, T * D_K, dK, attn_s, &c);
    fd_compare("dV", c.V, T * D_K, dV, attn_s, &c);
    /* the intermediate gradients the book prints: dP for every visible
       entry, dS everywhere (exactly 0 above the diagonal) */
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            int e = i * MAX_SEQ + j;
            double x0 = c.P[e];
            c.P[e] = x0 + FD_H;
            double sp = attn_s_of_P(&c);
            c.P[e] = x0 - FD_H;
            double sm = attn_s_of_P(&c);
            c.P[e] = x0;
            CHECK_CLOSE(dP[e], (sp - sm) / (2 * FD_H), FD_ATOL, FD_RTOL);
            if (j > i) {
                ck_assert_double_eq(dS[e], 0.0);
                continue;
            }
            x0 = c.S[e];
            c.S[e] = x0 + FD_H;
            sp = attn_s_of_S(&c);
            c.S[e] = x0 - FD_H;
            sm = attn_s_of_S(&c);
            c.S[e] = x0;
            CHECK_CLOSE(dS[e], (sp - sm) / (2 * FD_H), FD_ATOL, FD_RTOL);
        }
}

START_TEST(attention_backward_matches_fd_T5)
{
    check_attention(5);
}
END_TEST

START_TEST(attention_backward_matches_fd_T3)
{
    check_attention(3);
}
END_TEST

/* ---- concat ------------------------------------------------------------ */

typedef struct {
    int T;
    double A[N_HEADS * MAX_SEQ * D_K], G[MAX_SEQ * D_MODEL];
} ConcatCtx;

static double concat_s(void *v)
{
    ConcatCtx *c = v;
    double C[MAX_SEQ * D_MODEL];
    concat_forward(C, c->A, c->T);
    return dot(c->G, C, c->T * D_MODEL);
}

static void check_concat(int T)
{
    static ConcatCtx c;
    enum { N = N_HEADS * MAX_SEQ * D_K };
    static double dA[N], pA[N];
    TestRng r;
    test_rng_seed(&r, 40 + (uint64_t)T);
    c.T = T;
    test_fill(&r, c.A, N, 1.0);
    test_fill(&r, c.G, T * D_MODEL, 1.0);
    prefill(&r, dA, pA, N);
    concat_backward(dA, c.G, T);
    for (int h = 0; h < N_HEADS; h++)   /* rows >= T of each head untouched */
        for (int i = T * D_K; i < MAX_SEQ * D_K; i++)
            ck_assert_double_eq(dA[h * MAX_SEQ * D_K + i], pA[h * MAX_SEQ * D_K + i]);
    added(dA, pA, N);
    for (int h = 0; h < N_HEADS; h++)
        fd_compare("dA", c.A + h * MAX_SEQ * D_K, T * D_K, dA + h * MAX_SEQ * D_K,
                   concat_s, &c);
}

START_TEST(concat_backward_matches_fd)
{
    check_concat(5);
    check_concat(3);
}
END_TEST

/* ---- GELU and residual ------------------------------------------------- */

enum { NE = 40 };

typedef struct {
    double x[NE], b[NE], G[NE];
} EltCtx;

static double gelu_s(void *v)
{
    EltCtx *c = v;
    double y[NE], th[NE];
    gelu_forward(y, th, c->x, NE);
    return dot(c->G, y, NE);
}

static double residual_s(void *v)
{
    EltCtx *c = v;
    double y[NE];
    residual_forward(y, c->x, c->b, NE);
    return dot(c->G, y, NE);
}

START_TEST(gelu_backward_matches_fd)
{
    static EltCtx c;
    double dx[NE], px[NE], y[NE], th[NE];
    TestRng r;
    test_rng_seed(&r, 50);
    test_fill(&r, c.x, NE, 4.0);   /* across the bend: [-4, 4) */
    c.x[0] = 0.0;
    c.x[1] = -1.0;
    c.x[2] = 2.5;
    test_fill(&r, c.G, NE, 1.0);
    prefill(&r, dx, px, NE);
    gelu_forward(y, th, c.x, NE);   /* th = tanh u, which the slope needs */
    gelu_backward(dx, c.G, c.x, th, NE);
    added(dx, px, NE);
    fd_compare("dx", c.x, NE, dx, gelu_s, &c);
}
END_TEST

START_TEST(residual_backward_matches_fd)
{
    static EltCtx c;
    double da[NE], db[NE], pa[NE], pb[NE];
    TestRng r;
    test_rng_seed(&r, 51);
    test_fill(&r, c.x, NE, 1.0);
    test_fill(&r, c.b, NE, 1.0);
    test_fill(&r, c.G, NE, 1.0);
    prefill(&r, da, pa, NE);
    prefill(&r, db, pb, NE);
    residual_backward(da, db, c.G, NE);
    added(da, pa, NE);
    added(db, pb, NE);
    fd_compare("da", c.x, NE, da, residual_s, &c);
    fd_compare("db", c.b, NE, db, residual_s, &c);
}
END_TEST

/* ---- layer norm -------------------------------------------------------- */

typedef struct {
    int T;
    double x[MAX_SEQ * D_MODEL], gamma[D_MODEL], beta[D_MODEL], G[MAX_SEQ * D_MODEL];
} LnCtx;

static double ln_s(void *v)
{
    LnCtx *c = v;
    double y[MAX_SEQ * D_MODEL], mean[MAX_SEQ], var[MAX_SEQ], rstd[MAX_SEQ];
    layernorm_forward(y, mean, var, rstd, c->x, c->gamma, c->beta, c->T);
    return dot(c->G, y, c->T * D_MODEL);
}

START_TEST(layernorm_backward_matches_fd)
{
    static LnCtx c;
    enum { N = MAX_SEQ * D_MODEL };
    double dx[N], px[N], dg[D_MODEL], pg[D_MODEL], dbeta[D_MODEL], pbeta[D_MODEL];
    double y[N], mean[MAX_SEQ], var[MAX_SEQ], rstd[MAX_SEQ];
    TestRng r;
    test_rng_seed(&r, 60);
    c.T = MAX_SEQ;
    test_fill(&r, c.x, N, 1.0);
    for (int t = 0; t < MAX_SEQ; t++)      /* rows with their own offsets */
        for (int i = 0; i < D_MODEL; i++)
            c.x[t * D_MODEL + i] += 2.0 * t - 3.0;
    for (int i = 0; i < D_MODEL; i++) {    /* far from the 1 and 0 of init */
        double g = 0.5 + 1.5 * test_uniform(&r);
        c.gamma[i] = test_uniform(&r) < 0.5 ? -g : g;
        c.beta[i] = test_sym(&r);
    }
    test_fill(&r, c.G, N, 1.0);
    layernorm_forward(y, mean, var, rstd, c.x, c.gamma, c.beta, MAX_SEQ);
    prefill(&r, dx, px, N);
    prefill(&r, dg, pg, D_MODEL);
    prefill(&r, dbeta, pbeta, D_MODEL);
    layernorm_backward(dx, dg, dbeta, c.G, c.x, mean, rstd, c.gamma, MAX_SEQ);
    added(dx, px, N);
    added(dg, pg, D_MODEL);
    added(dbeta, pbeta, D_MODEL);
    fd_compare("dx", c.x, N, dx, ln_s, &c);
    fd_compare("dgamma", c.gamma, D_MODEL, dg, ln_s, &c);
    fd_compare("dbeta", c.beta, D_MODEL, dbeta, ln_s, &c);
    /* shifting a row changes nothing, so each row of dx sums to zero
       (sum of 16 terms of size ~1: 1e-14) */
    for (int t = 0; t < MAX_SEQ; t++) {
        double s = 0.0;
        for (int i = 0; i < D_MODEL; i++)
            s += dx[t * D_MODEL + i];
        CHECK_CLOSE(s, 0.0, 1e-14, 0.0);
    }
}
END_TEST

/* ---- cross-entropy ----------------------------------------------------- */

typedef struct {
    int T, targets[MAX_SEQ];
    double logits[MAX_SEQ * VOCAB];
} CeCtx;

static double ce_loss(void *v)
{
    CeCtx *c = v;
    double probs[MAX_SEQ * VOCAB], losses[MAX_SEQ];
    return crossentropy_forward(probs, losses, c->logits, c->targets, c->T);
}

static void check_crossentropy(int T)
{
    static CeCtx c;
    enum { N = MAX_SEQ * VOCAB };
    double d[N], p0[N], probs[N], losses[MAX_SEQ];
    TestRng r;
    test_rng_seed(&r, 70 + (uint64_t)T);
    c.T = T;
    for (int t = 0; t + 1 < T; t++)
        c.targets[t] = sentence_tokens[t + 1];
    test_fill(&r, c.logits, N, 2.0);
    crossentropy_forward(probs, losses, c.logits, c.targets, T);
    prefill(&r, d, p0, N);
    crossentropy_backward(d, probs, c.targets, T);
    for (int i = (T - 1) * VOCAB; i < N; i++)   /* the last row gets nothing */
        ck_assert_double_eq(d[i], p0[i]);
    added(d, p0, N);
    fd_compare("dlogits", c.logits, T * VOCAB, d, ce_loss, &c);
}

START_TEST(crossentropy_backward_matches_fd)
{
    check_crossentropy(5);   /* mean over 4 positions */
    check_crossentropy(4);   /* mean over 3 */
}
END_TEST

/* ---- the whole model --------------------------------------------------- */

static const int short_tokens[4] = { TOK_BOS, 3, 4, TOK_EOS };   /* "I like" */

/* Every parameter's gradient from model_backward against the central
   difference of the loss; per tensor, max|num - ana| / max|ana| must stay
   below 1e-6.  h = 1e-4: the loss is ~2, so rounding contributes
   ~eps*2/h = 4e-12 and truncation ~h^2 |third derivative| ~ 1e-9; the
   smallest tensor gradients (W_Q, W_K at init: max ~1e-4) then see ~3e-8,
   30 times below the bound.  (h = 1e-5 would leave W_K at 3e-7.) */
#define MODEL_FD_H 1e-4
static void check_model_gradient(Model *m, const int *tok, int T)
{
    static Params ana;
    model_forward(m, tok, T);
    model_zero_grad(m);
    model_backward(m);
    ana = m->grads;
    for (int k = 0; k < N_TENSORS; k++) {
        const TensorInfo *ti = &param_tensors[k];
        double max_ana = 0.0, max_err = 0.0;
        for (int i = 0; i < tensor_size(ti); i++) {
            double *x = &m->params.flat[ti->offset + i];
            double x0 = *x;
            *x = x0 + MODEL_FD_H;
            double lp = model_forward(m, tok, T);
            *x = x0 - MODEL_FD_H;
            double lm = model_forward(m, tok, T);
            *x = x0;
            double num = (lp - lm) / (2.0 * MODEL_FD_H), a = ana.flat[ti->offset + i];
            max_ana = fmax(max_ana, fabs(a));
            max_err = fmax(max_err, fabs(num - a));
        }
        ck_assert_msg(max_ana > 0.0, "%s: gradient identically zero", ti->name);
        ck_assert_msg(max_err / max_ana < 1e-6, "%s: max|num-ana| %.3g, max|ana| %.3g",
                      ti->name, max_err, max_ana);
    }
}

static void randomise(Model *m, uint64_t seed)
{
    TestRng r;
    test_rng_seed(&r, seed);
    for (int i = 0; i < N_PARAMS; i++)
        m->params.flat[i] += 0.2 * test_sym(&r);
    for (int c = 0; c < D_MODEL; c++) {   /* far from 1 and 0 */
        double g = 1.5 + test_uniform(&r);
        m->params.t.gamma[c] = test_uniform(&r) < 0.5 ? -g : g;
        m->params.t.beta[c] = test_uniform(&r) < 0.5 ? -0.5 - test_uniform(&r)
                                                     : 0.5 + test_uniform(&r);
    }
}


START_TEST(model_gradient_at_random_params)
{
    randomise(model, 80);
    check_model_gradient(model, sentence_tokens, MAX_SEQ);
}
END_TEST

/* The seed-42 model on the full sentence is checked once, by
   test_training.c's gradcheck_of_the_run_passes (run_experiment with
   cfg.gradcheck = 1, as the book's run does).  The tests here check other
   points: random parameters with gamma and beta far from 1 and 0, and
   T = 4, where the last rows of every activation are unused. */
START_TEST(model_gradient_short_sentence)
{
    check_model_gradient(model, short_tokens, 4);
    randomise(model, 81);
    check_model_gradient(model, short_tokens, 4);
}
END_TEST

static int row_is_zero(const double *row)
{
    for (int c = 0; c < D_MODEL; c++)
        if (row[c] != 0.0)
            return 0;
    return 1;
}

START_TEST(unused_rows_get_exactly_zero)
{
    const ParamTensors *g = &model->grads.t;
    model_forward(model, sentence_tokens, MAX_SEQ);
    model_zero_grad(model);
    model_backward(model);
    /* <PAD> never appears; <EOS> and position 4 only feed the last
       position, which predicts nothing */
    ck_assert(row_is_zero(g->E_token[TOK_PAD]));
    ck_assert(row_is_zero(g->E_token[TOK_EOS]));
    ck_assert(row_is_zero(g->E_pos[4]));
    for (int k = 0; k < VOCAB; k++)   /* and the rows used are not zero */
        if (k != TOK_PAD && k != TOK_EOS)
            ck_assert_msg(!row_is_zero(g->E_token[k]), "E_token[%d]", k);
    for (int t = 0; t < 4; t++)
        ck_assert(!row_is_zero(g->E_pos[t]));
    /* "I like": transformers is absent, <EOS> sits at position 3 */
    memset(model->grads.flat, 0xff, sizeof model->grads.flat);  /* zero_grad's job */
    model_zero_grad(model);
    model_forward(model, short_tokens, 4);
    model_backward(model);
    ck_assert(row_is_zero(g->E_token[TOK_PAD]));
    ck_assert(row_is_zero(g->E_token[TOK_EOS]));
    ck_assert(row_is_zero(g->E_token[5]));
    ck_assert(row_is_zero(g->E_pos[3]));
    ck_assert(row_is_zero(g->E_pos[4]));
    ck_assert(!row_is_zero(g->E_pos[2]));
}
END_TEST

START_TEST(dlogits_rows_sum_to_zero)
{
    model_forward(model, sentence_tokens, MAX_SEQ);
    model_zero_grad(model);
    model_backward(model);
    const Activations *a = &model->acts, *d = &model->dacts;
    for (int t = 0; t < 4; t++) {
        double s = 0.0;
        for (int k = 0; k < VOCAB; k++) {
            s += d->logits[t][k];
            /* (p - onehot)/4: one subtraction and one exact division */
            double expect = (a->probs[t][k] - (k == a->targets[t])) / 4.0;
            CHECK_CLOSE(d->logits[t][k], expect, 0.0, 0.0);
        }
        /* probabilities sum to 1 within a few ulps, divided by 4 */
        CHECK_CLOSE(s, 0.0, 1e-15, 0.0);
        ck_assert(d->logits[t][a->targets[t]] < 0.0);
    }
    for (int k = 0; k < VOCAB; k++)
        ck_assert_double_eq(d->logits[4][k], 0.0);
}
END_TEST

START_TEST(backward_adds_into_gradients)
{
    /* Parameter gradients accumulate: a second backward pass over the same
       forward, with the activation gradients cleared (model_zero_grad's
       documented pre-condition for them) but the parameter gradients kept,
       doubles every parameter gradient.  Tolerance 1e-14 + 1e-14|ref|: the
       second pass adds its terms onto the first sum instead of onto 0,
       which changes only the rounding of sums of a few terms of size <= 1. */
    static Params once;
    model_forward(model, sentence_tokens, MAX_SEQ);
    model_zero_grad(model);
    model_backward(model);
    once = model->grads;
    memset(&model->dacts, 0, sizeof model->dacts);
    model_backward(model);
    for (int i = 0; i < N_PARAMS; i++)
        CHECK_CLOSE(model->grads.flat[i], 2.0 * once.flat[i], 1e-14, 1e-14);
}
END_TEST

START_TEST(zero_grad_then_backward_is_repeatable)
{
    static Params once;
    model_forward(model, sentence_tokens, MAX_SEQ);
    model_zero_grad(model);
    model_backward(model);
    once = model->grads;
    model_zero_grad(model);
    for (int i = 0; i < N_PARAMS; i++)
        ck_assert_double_eq(model->grads.flat[i], 0.0);
    model_backward(model);
    /* same inputs, same operations: bit-for-bit the same gradient */
    for (int i = 0; i < N_PARAMS; i++)
        ck_assert_double_eq(model->grads.flat[i], once.flat[i]);
}
END_TEST

/* ---- the program's own gradient check ---------------------------------- */

static int tensor_index(const char *name)
{
    for (int k = 0; k < N_TENSORS; k++)
        if (strcmp(param_tensors[k].name, name) == 0)
            return k;
    ck_abort_msg("no tensor %s", name);
    return -1;
}

START_TEST(gradcheck_names_the_tensor_that_disagrees)
{
    /* gradcheck computes its own analytic gradient (forward, zero_grad,
       backward) before comparing, so a corrupted m->grads cannot be handed
       to it, and the library has no seam through which a broken backward
       could be swapped in.  What a broken backward formula produces is a
       disagreement between numeric and analytic gradient confined to the
       tensors it feeds; that is arranged here without touching the library:
       W_V is divided by 2^10 and W_O multiplied by 2^10.  Powers of two
       scale exactly, so V, A and concat are scaled by 2^-10 and
       mh = concat W_O is bit for bit the seed-42 model's: same loss, same
       gradient of every other tensor.  But a step h in W_V now moves the
       loss as a step 2^10 h did before, and the central difference's
       truncation error (~h^2 f''', relative) grows 2^20-fold: from 2e-10 to
       ~2e-4 for W_V, far above GRADCHECK_RTOL, while W_O (steps now worth
       2^-10 h) stays at ~6e-8, below it.  The check must fail, and on W_V
       alone. */
    static Params before, g0;
    GradErr err[N_TENSORS];
    const int kv = tensor_index("W_V"), ko = tensor_index("W_O");
    const double loss = model_forward(model, sentence_tokens, MAX_SEQ);
    model_zero_grad(model);
    model_backward(model);
    g0 = model->grads;   /* the seed-42 gradient, not checked here */

    const double s = 1024.0;   /* 2^10 */
    for (int i = 0; i < tensor_size(&param_tensors[kv]); i++)
        model->params.flat[param_tensors[kv].offset + i] /= s;
    for (int i = 0; i < tensor_size(&param_tensors[ko]); i++)
        model->params.flat[param_tensors[ko].offset + i] *= s;
    before = model->params;
    gradcheck(model, sentence_tokens, MAX_SEQ, GRADCHECK_H, err);

    ck_assert_int_eq(gradcheck_passed(err), 0);
    /* 100 times the tolerance: the estimate above is ~170 times, and a
       factor this size cannot come from rounding noise */
    ck_assert_msg(err[kv].rel > 100 * GRADCHECK_RTOL, "W_V: rel %.3g, expected > %g",
                  err[kv].rel, 100 * GRADCHECK_RTOL);
    for (int k = 0; k < N_TENSORS; k++) {
        const TensorInfo *ti = &param_tensors[k];
        /* W_V is the only tensor that fails */
        ck_assert_msg(gradcheck_ok(&err[k]) == (k != kv), "%s: error %.3g, allowed %.3g",
                      ti->name, err[k].max_abs, err[k].allowed);
        /* the analytic side is the real gradient: the seed-42 model's,
           times 2^10 for W_V and 2^-10 for W_O (exact scalings) */
        double mg = 0.0;
        for (int i = 0; i < tensor_size(ti); i++)
            mg = fmax(mg, fabs(g0.flat[ti->offset + i]));
        mg = k == kv ? mg * s : k == ko ? mg / s : mg;
        ck_assert_msg(err[k].max_grad == mg, "%s: max|grad| %.17g, expected %.17g",
                      ti->name, err[k].max_grad, mg);
    }
    /* the check leaves the model as it found it: every parameter restored
       exactly, and the forward state that of the unperturbed parameters */
    ck_assert(memcmp(&before, &model->params, sizeof before) == 0);
    ck_assert_double_eq(model->acts.loss, loss);
}
END_TEST

START_TEST(gradcheck_detects_disagreement)
{
    /* With a step of 0.5 the central difference is no longer the
       derivative (truncation error ~h^2 f''' >> 1e-6 relative), so the
       comparison must report failure: the check can fail. */
    GradErr err[N_TENSORS];
    gradcheck(model, sentence_tokens, MAX_SEQ, 0.5, err);
    ck_assert_int_eq(gradcheck_passed(err), 0);
    double worst = 0.0;
    for (int k = 0; k < N_TENSORS; k++)
        worst = fmax(worst, err[k].rel);
    /* 1e-4, a hundred times GRADCHECK_RTOL: the failure is not marginal */
    ck_assert_msg(worst > 1e-4, "worst rel %g", worst);
}
END_TEST

START_TEST(gradcheck_passed_threshold)
{
    /* the verdict compares the largest error with the error allowed; the
       relative error is only reported */
    GradErr err[N_TENSORS];
    for (int k = 0; k < N_TENSORS; k++)
        err[k] = (GradErr){ 1.0, 1e-9, 1e-9, 1e-6 };
    ck_assert_int_eq(gradcheck_passed(err), 1);
    err[7].max_abs = 1e-3;
    ck_assert_int_eq(gradcheck_passed(err), 0);
    err[7].max_abs = 1e-6;                 /* must be strictly below */
    ck_assert_int_eq(gradcheck_passed(err), 0);
    err[7].max_abs = NAN;                  /* a NaN never passes */
    ck_assert_int_eq(gradcheck_passed(err), 0);
    err[7].max_abs = 1e-9;
    err[7].rel = 1e-3;                     /* a large ratio alone does not fail */
    ck_assert_int_eq(gradcheck_passed(err), 1);
    err[N_TENSORS - 1].max_abs = 2e-6;     /* the last tensor counts too */
    ck_assert_int_eq(gradcheck_passed(err), 0);
}
END_TEST

START_TEST(gradcheck_allows_rounding_and_no_more)
{
    /* Dividing W_Q and W_K by 2^6 (exact) shrinks the scores 4096-fold and
       the gradients of W_Q and W_K with them, while the loss, and so the
       rounding floor eps|L|/h of a central difference, hardly changes.
       W_K's relative error, rounding alone, then exceeds GRADCHECK_RTOL:
       a relative tolerance alone would blame a backward pass that is
       right.  The allowance of GRADCHECK_ROUNDING floors lets it pass,
       its error staying within that many floors; and every tensor's
       allowance is the relative part plus those floors, to a few ulps. */
    GradErr err[N_TENSORS];
    const int kq = tensor_index("W_Q"), kk = tensor_index("W_K");
    for (int n = 0; n < 2; n++) {
        const TensorInfo *ti = &param_tensors[n ? kk : kq];
        for (int i = 0; i < tensor_size(ti); i++)
            model->params.flat[ti->offset + i] /= 64.0;
    }
    const double L = model_forward(model, sentence_tokens, MAX_SEQ);
    const double floor = DBL_EPSILON / 2 * L / GRADCHECK_H;
    gradcheck(model, sentence_tokens, MAX_SEQ, GRADCHECK_H, err);
    ck_assert_msg(err[kk].rel > GRADCHECK_RTOL, "W_K: rel %.3g, expected > %g",
                  err[kk].rel, GRADCHECK_RTOL);
    ck_assert_msg(err[kk].max_abs < GRADCHECK_ROUNDING * floor, "W_K: error %.3g, %g floors",
                  err[kk].max_abs, err[kk].max_abs / floor);
    ck_assert_int_eq(gradcheck_passed(err), 1);
    for (int k = 0; k < N_TENSORS; k++)   /* a few ulps of the sum */
        ck_assert_double_eq_tol(err[k].allowed, GRADCHECK_RTOL * err[k].max_grad
                                + GRADCHECK_ROUNDING * floor, 1e-15 * err[k].allowed);
}
END_TEST

Suite *backward_suite(void)
{
    Suite *s = suite_create("backward");
    TCase *tc = tcase_create("layers");
    tcase_add_test(tc, embed_backward_matches_fd);
    tcase_add_test(tc, matmul_backward_matches_fd);
    tcase_add_test(tc, linear_backward_with_bias_matches_fd);
    tcase_add_test(tc, linear_backward_without_bias_matches_fd);
    tcase_add_test(tc, attention_backward_matches_fd_T5);
    tcase_add_test(tc, attention_backward_matches_fd_T3);
    tcase_add_test(tc, concat_backward_matches_fd);
    tcase_add_test(tc, gelu_backward_matches_fd);
    tcase_add_test(tc, residual_backward_matches_fd);
    tcase_add_test(tc, layernorm_backward_matches_fd);
    tcase_add_test(tc, crossentropy_backward_matches_fd);
    suite_add_tcase(s, tc);
    tc = tcase_create("model");
    tcase_add_checked_fixture(tc, model_setup, model_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, model_gradient_at_random_params);
    tcase_add_test(tc, model_gradient_short_sentence);
    tcase_add_test(tc, unused_rows_get_exactly_zero);
    tcase_add_test(tc, dlogits_rows_sum_to_zero);
    tcase_add_test(tc, backward_adds_into_gradients);
    tcase_add_test(tc, zero_grad_then_backward_is_repeatable);
    suite_add_tcase(s, tc);
    tc = tcase_create("gradcheck");
    tcase_add_checked_fixture(tc, model_setup, model_teardown);
    tcase_set_timeout(tc, 30);
    /* its error estimates are for the book's sizes */
    tcase_add_design_test(tc, gradcheck_names_the_tensor_that_disagrees);
    tcase_add_test(tc, gradcheck_detects_disagreement);
    tcase_add_test(tc, gradcheck_passed_threshold);
    tcase_add_test(tc, gradcheck_allows_rounding_and_no_more);
    suite_add_tcase(s, tc);
    return s;
}
