/* test_rng.c -- the Mersenne Twister and the initialisation reproduce
   CPython's random module, as the original Python notebooks drew the
   weights with random.seed(42) and random.gauss(0, 0.1).

   Every expected value here comes from CPython 3.11, an independent
   implementation:  random.seed(42); random.random() / random.gauss(0, 1),
   and for the parameters the notebooks' draw order
       random.seed(42)
       for name, n in [("E_token", 96), ("E_pos", 80), ("W_Q", 256),
                       ("W_K", 256), ("W_V", 256), ("W_O", 256), ("W1", 1024),
                       ("b1", 64), ("W2", 1024), ("b2", 16), ("W_lm", 96)]:
           xs = [random.gauss(0, 0.1) for _ in range(n)]  # first and last kept
   The twister's integer arithmetic is exact, so uniforms must agree
   exactly; normals go through libm's log/sqrt/cos/sin, which may differ
   from CPython's libm by an ulp or so, hence 1e-15 absolute for unit
   normals (a few ulps at magnitude ~1) and 1e-16 for the sigma = 0.1
   parameters (a few ulps at magnitude ~0.1). */
#include "tests.h"
#include <stdlib.h>
#include <string.h>

START_TEST(uniform_matches_cpython)
{
    Rng r;
    rng_seed(&r, 42);
    /* genrand_res53 is exact integer arithmetic and one exact scaling:
       bit-for-bit agreement is required (tolerance 0). */
    ck_assert_double_eq(rng_uniform(&r), 0.6394267984578837);
    /* random.seed(42); [random.random() for _ in range(3)][1:] */
    ck_assert_double_eq(rng_uniform(&r), 0.025010755222666936);
    ck_assert_double_eq(rng_uniform(&r), 0.27502931836911926);
}
END_TEST

START_TEST(uniforms_lie_in_unit_interval)
{
    /* genrand_res53 yields k / 2^53 with 0 <= k < 2^53: always in [0, 1). */
    Rng r;
    rng_seed(&r, 7);
    for (int i = 0; i < 2000; i++) {   /* > 624 words: crosses two twists */
        double u = rng_uniform(&r);
        ck_assert_msg(u >= 0.0 && u < 1.0, "draw %d = %.17g", i, u);
    }
}
END_TEST

START_TEST(gauss_matches_cpython)
{
    static const double expected[4] = {
        -0.14409032957792836, -0.1729036003315193,
        -0.11131586156766246, 0.7019837250988631
    };
    Rng r;
    rng_seed(&r, 42);
    (void)rng_uniform(&r);
    (void)rng_gauss(&r, 0.0, 1.0);
    rng_seed(&r, 42);   /* reseeding must also drop the spare normal */
    for (int i = 0; i < 4; i++)
        CHECK_CLOSE(rng_gauss(&r, 0.0, 1.0), expected[i], 1e-15, 0.0);
}
END_TEST

START_TEST(gauss_scales_and_shifts)
{
    /* mu + z*sigma: the same z as the unit normal; 1e-15 absolute covers
       one rounding of the product and the sum at magnitude ~3. */
    Rng a, b;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    for (int i = 0; i < 6; i++) {
        double z = rng_gauss(&a, 0.0, 1.0);
        CHECK_CLOSE(rng_gauss(&b, 3.0, 0.5), 3.0 + 0.5 * z, 1e-15, 0.0);
    }
}
END_TEST

START_TEST(seeds_are_deterministic_and_distinct)
{
    Rng a, b, c;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        double x = rng_uniform(&a), y = rng_uniform(&b), z = rng_uniform(&c);
        ck_assert_double_eq(x, y);   /* same seed: identical stream */
        differ += x != z;
    }
    ck_assert_int_ge(differ, 99);    /* another seed: another stream */
}
END_TEST

START_TEST(model_init_matches_cpython)
{
    Model *m = model_new();
    model_init(m, 42);
    const ParamTensors *p = &m->params.t;
    /* CPython 3.11: random.seed(42); the 17th random.gauss(0, 0.1)
       (E_token row 1, column 0) == 0.024634219521120198 */
    CHECK_CLOSE(p->E_token[1][0], 0.024634219521120198, 1e-16, 0.0);
    /* first and last draw of every normal tensor, from CPython (see top;
       1e-16 absolute: a few ulps of libm at magnitude ~0.1) */
    CHECK_CLOSE(p->E_token[0][0], -0.014409032957792837, 1e-16, 0.0);
    CHECK_CLOSE(p->E_token[5][15], 0.03810471279557522, 1e-16, 0.0);
    CHECK_CLOSE(p->E_pos[0][0], 0.12269415497142203, 1e-16, 0.0);
    CHECK_CLOSE(p->E_pos[4][15], -0.06080101785608144, 1e-16, 0.0);
    CHECK_CLOSE(p->W_Q[0][0][0], 0.08710863810424169, 1e-16, 0.0);
    CHECK_CLOSE(p->W_Q[1][15][7], 0.06532058713319676, 1e-16, 0.0);
    CHECK_CLOSE(p->W_K[0][0][0], 0.1130473400858816, 1e-16, 0.0);
    CHECK_CLOSE(p->W_K[1][15][7], -0.046126504597235024, 1e-16, 0.0);
    CHECK_CLOSE(p->W_V[0][0][0], 0.018194574186008516, 1e-16, 0.0);
    CHECK_CLOSE(p->W_V[1][15][7], -0.1553609330633785, 1e-16, 0.0);
    CHECK_CLOSE(p->W_O[0][0], -0.026168825130829288, 1e-16, 0.0);
    CHECK_CLOSE(p->W_O[15][15], -0.020748288424464335, 1e-16, 0.0);
    CHECK_CLOSE(p->W1[0][0], 0.04177268549207724, 1e-16, 0.0);
    CHECK_CLOSE(p->W1[63][15], 0.08820234632358825, 1e-16, 0.0);
    CHECK_CLOSE(p->b1[0], -0.006605055615863155, 1e-16, 0.0);
    CHECK_CLOSE(p->b1[63], -0.0687803194192482, 1e-16, 0.0);
    CHECK_CLOSE(p->W2[0][0], -0.05258074968078036, 1e-16, 0.0);
    CHECK_CLOSE(p->W2[15][63], -0.045751829450691825, 1e-16, 0.0);
    CHECK_CLOSE(p->b2[0], -0.006451367271947332, 1e-16, 0.0);
    CHECK_CLOSE(p->b2[15], 0.01566145230611394, 1e-16, 0.0);
    CHECK_CLOSE(p->W_lm[0][0], -0.01176389762317707, 1e-16, 0.0);
    CHECK_CLOSE(p->W_lm[5][15], 0.025253896516934972, 1e-16, 0.0);
    free(m);
}
END_TEST

START_TEST(model_init_gamma_one_beta_zero)
{
    Model *m = model_new();
    memset(m, 0xff, sizeof *m);   /* garbage everywhere: init must overwrite */
    model_init(m, 42);
    for (int c = 0; c < D_MODEL; c++) {
        ck_assert_double_eq(m->params.t.gamma[c], 1.0);
        ck_assert_double_eq(m->params.t.beta[c], 0.0);
    }
    /* a fresh optimiser: no gradients, no moments, no steps taken */
    for (int i = 0; i < N_PARAMS; i++) {
        ck_assert_double_eq(m->grads.flat[i], 0.0);
        ck_assert_double_eq(m->m.flat[i], 0.0);
        ck_assert_double_eq(m->v.flat[i], 0.0);
    }
    ck_assert_int_eq(m->step, 0);
    free(m);
}
END_TEST

START_TEST(model_init_spread_is_sigma)
{
    /* 3424 draws of N(0, 0.1^2): the sample standard deviation lies within
       0.1 * (1 +- 0.05) with overwhelming probability (its relative
       standard error is 1/sqrt(2*3424) = 0.012, so 0.05 is 4 sigma), and
       the mean within 0.1 * 4/sqrt(3424) = 0.0068.  A wrong sigma (1, or
       0.01) or a uniform in [0,1) would fail. */
    Model *m = model_new();
    model_init(m, 42);
    double sum = 0.0, sum2 = 0.0;
    int n = 0;
    for (int k = 0; k < N_TENSORS; k++) {
        const TensorInfo *ti = &param_tensors[k];
        if (ti->init != INIT_NORMAL)
            continue;
        for (int i = 0; i < tensor_size(ti); i++) {
            double x = m->params.flat[ti->offset + i];
            sum += x;
            sum2 += x * x;
            n++;
        }
    }
    ck_assert_int_eq(n, 3424);
    double mean = sum / n, sd = sqrt(sum2 / n - mean * mean);
    ck_assert_msg(fabs(mean) < 0.0068, "mean %g", mean);
    ck_assert_msg(fabs(sd - 0.1) < 0.005, "sd %g", sd);
    free(m);
}
END_TEST

Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("mt19937");
    tcase_add_test(tc, uniform_matches_cpython);
    tcase_add_test(tc, uniforms_lie_in_unit_interval);
    tcase_add_test(tc, gauss_matches_cpython);
    tcase_add_test(tc, gauss_scales_and_shifts);
    tcase_add_test(tc, seeds_are_deterministic_and_distinct);
    suite_add_tcase(s, tc);
    tc = tcase_create("init");
    tcase_add_design_test(tc, model_init_matches_cpython);
    tcase_add_test(tc, model_init_gamma_one_beta_zero);
    tcase_add_design_test(tc, model_init_spread_is_sigma);
    suite_add_tcase(s, tc);
    return s;
}
