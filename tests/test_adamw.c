/* test_adamw.c -- the AdamW update, worked by hand:
     m = b1 m + (1-b1) g          m^ = m / (1 - b1^t)
     v = b2 v + (1-b2) g^2        v^ = v / (1 - b2^t)
     theta = theta (1 - lr wd) - lr m^ / (sqrt(v^) + eps)
   with the reference settings lr 1e-3, b1 0.9, b2 0.999, eps 1e-8,
   wd 0.01 (PyTorch's torch.optim.AdamW defaults, which the original
   notebooks used; config_reference in helpers.c).
   The long decimals below were evaluated exactly (Python's decimal module,
   50 digits) from the decimal constants, not by the program. */
#include "tests.h"
#include <stdlib.h>
#include <string.h>

/* The tolerance of the hand-worked values is 1e-15 relative (a few ulps:
   0.9, 0.999, 1e-3, 1e-8 are not exact in binary, and each operation
   rounds), except where noted. */
#define REL 1e-15

static AdamWConfig reference_adamw(void)
{
    Config c;
    config_reference(&c);
    return c.adamw;
}

START_TEST(reference_hyperparameters)
{
    /* the hand-worked values below assume these */
    AdamWConfig c = reference_adamw();
    ck_assert_double_eq(c.lr, 1e-3);
    ck_assert_double_eq(c.beta1, 0.9);
    ck_assert_double_eq(c.beta2, 0.999);
    ck_assert_double_eq(c.eps, 1e-8);
    ck_assert_double_eq(c.weight_decay, 0.01);
}
END_TEST

START_TEST(first_step_by_hand)
{
    /* theta = 0.5, g = 0.2, m = v = 0, t = 1:
         m  = 0.9*0 + 0.1*0.2             = 0.02
         v  = 0.999*0 + 0.001*0.2^2       = 0.001*0.04 = 4e-5
         m^ = 0.02 / (1 - 0.9)            = 0.2      (= g at t = 1)
         v^ = 4e-5 / (1 - 0.999)          = 0.04     (= g^2 at t = 1)
         sqrt(v^) = 0.2
         theta = 0.5*(1 - 1e-3*0.01) - 1e-3 * 0.2/(0.2 + 1e-8)
               = 0.499995 - 1e-3/(1 + 5e-8)
               = 0.499995 - 0.00099999995000000249999...
               = 0.49899500004999999750000012... */
    AdamWConfig c = reference_adamw();
    AdamWScalar s = adamw_scalar(0.5, 0.0, 0.0, 0.2, 1, &c);
    CHECK_CLOSE(s.m, 0.02, 0.0, REL);
    /* 1 - 0.999 in binary is 1.00000000000000089e-3, 8.9e-16 relative from
       1e-3, so v carries that on top of its own rounding: 2e-15 */
    CHECK_CLOSE(s.v, 4e-5, 0.0, 2e-15);
    CHECK_CLOSE(s.m_hat, 0.2, 0.0, REL);
    CHECK_CLOSE(s.v_hat, 0.04, 0.0, REL);
    CHECK_CLOSE(s.theta, 0.4989950000499999975, 0.0, REL);
}
END_TEST

START_TEST(second_step_by_hand)
{
    /* theta = 0.5, m = 0.02, v = 4e-5 (the moments after the step above),
       g = -0.1, t = 2:
         m  = 0.9*0.02 + 0.1*(-0.1)        = 0.018 - 0.01   = 0.008
         v  = 0.999*4e-5 + 0.001*0.01      = 3.996e-5 + 1e-5 = 4.996e-5
         m^ = 0.008 / (1 - 0.9^2)          = 0.008/0.19
                                           = 0.042105263157894736842...
         v^ = 4.996e-5 / (1 - 0.999^2)     = 4.996e-5/0.001999
                                           = 0.024992496248124062031...
         sqrt(v^)                          = 0.158090152280665673445...
         theta = 0.5*(1 - 1e-5) - 1e-3 * 0.0421052631578947368
                                         / (0.1580901522806656734 + 1e-8)
               = 0.499995 - 0.000266337022813241705...
               = 0.499728662977186758294... */
    AdamWConfig c = reference_adamw();
    AdamWScalar s = adamw_scalar(0.5, 0.02, 4e-5, -0.1, 2, &c);
    CHECK_CLOSE(s.m, 0.008, 0.0, REL);
    CHECK_CLOSE(s.v, 4.996e-5, 0.0, REL);
    CHECK_CLOSE(s.m_hat, 0.042105263157894736842, 0.0, REL);
    /* 1 - 0.999^2 = 0.001999 cancels: half an ulp of 0.998 (5.5e-17) is
       2.8e-14 relative to 0.001999, so v^ only to 1e-13 relative */
    CHECK_CLOSE(s.v_hat, 0.024992496248124062031, 0.0, 1e-13);
    /* ... which moves theta by < 1e-13/2 * 2.7e-4 = 1.4e-17: still REL */
    CHECK_CLOSE(s.theta, 0.49972866297718675829, 0.0, REL);
}
END_TEST

START_TEST(third_step_negative_theta)
{
    /* theta = -2, m = 0.001, v = 3e-6, g = 0.05, t = 3:
         m  = 0.0009 + 0.005               = 0.0059
         v  = 0.999*3e-6 + 0.001*0.0025    = 2.997e-6 + 2.5e-6 = 5.497e-6
         m^ = 0.0059 / (1 - 0.729)         = 0.0059/0.271 = 0.0217712177121771...
         v^ = 5.497e-6 / (1 - 0.997002999) = 5.497e-6/0.002997001
                                           = 0.00183416688883320359...
         theta = -2*(1 - 1e-5) - 1e-3 * 0.0217712177121771
                                       / (0.0428271746538713851 + 1e-8)
               = -1.99998 - 0.000508350429479120...
               = -2.00048835042947912060... */
    AdamWConfig c = reference_adamw();
    AdamWScalar s = adamw_scalar(-2.0, 0.001, 3e-6, 0.05, 3, &c);
    CHECK_CLOSE(s.m, 0.0059, 0.0, REL);
    CHECK_CLOSE(s.v, 5.497e-6, 0.0, REL);
    CHECK_CLOSE(s.m_hat, 0.021771217712177121771, 0.0, REL);
    CHECK_CLOSE(s.v_hat, 0.0018341668888332035925, 0.0, 1e-13);  /* as above */
    CHECK_CLOSE(s.theta, -2.0004883504294791206, 0.0, REL);
}
END_TEST

START_TEST(weight_decay_alone_when_gradient_is_zero)
{
    /* g = 0, m = v = 0: the moments stay exactly 0 and eps keeps 0/0 away,
       so theta only shrinks by lr*wd*theta = 1e-5 theta */
    AdamWConfig c = reference_adamw();
    const double thetas[3] = { 0.5, -2.0, 0.024634219521120198 };
    for (int i = 0; i < 3; i++)
        for (int t = 1; t <= 3; t++) {
            AdamWScalar s = adamw_scalar(thetas[i], 0.0, 0.0, 0.0, t, &c);
            ck_assert_double_eq(s.m, 0.0);
            ck_assert_double_eq(s.v, 0.0);
            ck_assert_double_eq(s.m_hat, 0.0);
            ck_assert_double_eq(s.v_hat, 0.0);
            CHECK_CLOSE(s.theta, thetas[i] - 1e-5 * thetas[i], 0.0, REL);
            /* the shrink itself, to 1e-10 relative: theta - theta' is a
               difference of nearby numbers, losing ~5 digits of 16 */
            CHECK_CLOSE(thetas[i] - s.theta, 1e-5 * thetas[i], 0.0, 1e-10);
        }
    /* without weight decay nothing moves at all */
    c.weight_decay = 0.0;
    ck_assert_double_eq(adamw_scalar(0.5, 0.0, 0.0, 0.0, 1, &c).theta, 0.5);
}
END_TEST

START_TEST(first_step_size_is_lr)
{
    /* At t = 1, m^ = g and v^ = g^2, so the Adam step is lr*g/(|g|+eps):
       lr*sign(g) for any |g| >> eps.  Tolerance: lr*eps/|g| for the eps in
       the denominator, plus 1e-15 for rounding 1 - theta' at magnitude 1. */
    AdamWConfig c = reference_adamw();
    c.weight_decay = 0.0;
    const double gs[4] = { 1e-3, -0.37, 5.0, -1e4 };
    for (int i = 0; i < 4; i++) {
        AdamWScalar s = adamw_scalar(1.0, 0.0, 0.0, gs[i], 1, &c);
        double sign = gs[i] > 0 ? 1.0 : -1.0;
        CHECK_CLOSE(1.0 - s.theta, 1e-3 * sign, 1e-15 + 1e-3 * 1e-8 / fabs(gs[i]), 0.0);
    }
}
END_TEST

START_TEST(adamw_step_updates_every_parameter)
{
    static Params before, grads;
    Model *m = model_new();
    AdamWConfig c = reference_adamw();
    model_init(m, 42);
    model_forward(m, sentence_tokens, MAX_SEQ);
    model_zero_grad(m);
    model_backward(m);
    before = m->params;
    grads = m->grads;
    ck_assert_int_eq(m->step, 0);
    adamw_step(m, &c);
    ck_assert_int_eq(m->step, 1);
    for (int i = 0; i < N_PARAMS; i++) {
        /* every parameter moves: by the gradient step, or by decay alone
           (the <PAD> row, gamma) -- beta = 0 has a non-zero gradient */
        ck_assert_msg(m->params.flat[i] != before.flat[i], "parameter %d unchanged", i);
        /* each one is exactly the scalar update at t = 1 from zero moments */
        AdamWScalar s = adamw_scalar(before.flat[i], 0.0, 0.0, grads.flat[i], 1, &c);
        ck_assert_double_eq(m->params.flat[i], s.theta);
        ck_assert_double_eq(m->m.flat[i], s.m);
        ck_assert_double_eq(m->v.flat[i], s.v);
        /* first step: |change| <= lr (1 + tiny) + lr wd |theta|, where the
           tiny 1e-12 is room for the rounding of a step of size lr */
        ck_assert(fabs(m->params.flat[i] - before.flat[i])
                  <= 1e-3 * (1.0 + 1e-12) + 1e-5 * fabs(before.flat[i]));
    }
    /* a second step uses t = 2 and the stored moments */
    static Params p1, m1, v1;
    p1 = m->params;
    m1 = m->m;
    v1 = m->v;
    adamw_step(m, &c);   /* same gradients */
    ck_assert_int_eq(m->step, 2);
    for (int i = 0; i < N_PARAMS; i++) {
        AdamWScalar s = adamw_scalar(p1.flat[i], m1.flat[i], v1.flat[i],
                                     grads.flat[i], 2, &c);
        ck_assert_double_eq(m->params.flat[i], s.theta);
        ck_assert_double_eq(m->m.flat[i], s.m);
        ck_assert_double_eq(m->v.flat[i], s.v);
    }
    free(m);
}
END_TEST

Suite *adamw_suite(void)
{
    Suite *s = suite_create("adamw");
    TCase *tc = tcase_create("adamw");
    tcase_add_test(tc, reference_hyperparameters);
    tcase_add_test(tc, first_step_by_hand);
    tcase_add_test(tc, second_step_by_hand);
    tcase_add_test(tc, third_step_negative_theta);
    tcase_add_test(tc, weight_decay_alone_when_gradient_is_zero);
    tcase_add_test(tc, first_step_size_is_lr);
    tcase_add_test(tc, adamw_step_updates_every_parameter);
    suite_add_tcase(s, tc);
    return s;
}
