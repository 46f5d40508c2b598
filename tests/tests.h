/* tests.h -- the Check suites of tinygpt and the helpers they share. */
#ifndef TINYGPT_TESTS_H
#define TINYGPT_TESTS_H
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "tinygpt.h"

/* The book's sizes. The tests of its reference values (3,456 parameters,
   the loss 1.8298677505438041, CPython's draws at given places, the
   book's shapes) hold only for them, so a build with other sizes
   (make check DIMS='-DD_MODEL=32 -DD_FF=128') leaves those tests out and
   runs the rest, which hold for any size. */
#define BOOK_SIZES (D_MODEL == 16 && N_HEADS == 2 && D_FF == 64)
#define tcase_add_design_test(tc, t) \
    do { if (BOOK_SIZES) tcase_add_test(tc, t); } while (0)

/* Check's ck_assert_msg, on which every ck_assert_* is built, records the
   place of every check that passes (_mark_point), so that a crash can be
   reported "after" the last one.  In a forked test each record is a
   message written to the runner, which reads it back: one read and one
   4 KB memmove a message (libasan's memmove is a byte loop).  The suites
   pass 415,000 checks, most in loops over every cell of the run record,
   and their messages took a third of the sanitized suite's time.  This
   ck_assert_msg records each place the first time a check there passes
   (a forked test starts from the runner's copy of the static): a crash is
   still reported after the last place first reached.  What passes or
   fails, and the message of a failure, are Check's own. */
#undef ck_assert_msg
#define ck_assert_msg(expr, ...)                                               \
    do {                                                                       \
        if (expr) {                                                            \
            static int marked_;                                                \
            if (!marked_) {                                                    \
                marked_ = 1;                                                   \
                _mark_point(__FILE__, __LINE__);                               \
            }                                                                  \
        } else {                                                               \
            _ck_assert_failed(__FILE__, __LINE__,                              \
                              "Assertion '" #expr "' failed", __VA_ARGS__);    \
        }                                                                      \
    } while (0)

/* The suites, one per tests/test_*.c file. */
Suite *rng_suite(void);
Suite *params_suite(void);
Suite *forward_suite(void);
Suite *backward_suite(void);
Suite *adamw_suite(void);
Suite *training_suite(void);
Suite *report_suite(void);
Suite *cli_suite(void);
Suite *book_suite(void);
Suite *claims_suite(void);

/* |got - ref| <= atol + rtol * |ref|; NaN never passes. */
#define CHECK_CLOSE(got, ref, atol, rtol)                                    \
    do {                                                                     \
        double got_ = (got), ref_ = (ref);                                   \
        ck_assert_msg(fabs(got_ - ref_) <= (atol) + (rtol) * fabs(ref_),     \
                      "%s = %.17g, expected %.17g (|diff| %.3g > %g + %g*|ref|)", \
                      #got, got_, ref_, fabs(got_ - ref_),                   \
                      (double)(atol), (double)(rtol));                       \
    } while (0)

/* The sentence of the book and its tokens. */
extern const int sentence_tokens[MAX_SEQ];   /* <BOS> I like transformers <EOS> */

/* A small deterministic generator of the tests' own (splitmix64), so that
   random test inputs do not depend on the generator under test. */
typedef struct { uint64_t s; } TestRng;
void test_rng_seed(TestRng *r, uint64_t seed);
double test_uniform(TestRng *r);                  /* [0, 1) */
double test_sym(TestRng *r);                      /* [-1, 1) */
void test_fill(TestRng *r, double *x, int n, double scale); /* scale * [-1, 1) */

/* Heap-allocated model and run (both are too large for the stack). */
Model *model_new(void);                 /* zeroed */

/* A checked fixture: model is a fresh model_init(42) in every test. */
extern Model *model;
void model_setup(void);
void model_teardown(void);
/* The reference configuration: seed 42, 100 steps, AdamW lr 1e-3, betas
   0.9 and 0.999, eps 1e-8, weight decay 0.01, the sentence above, no
   gradient check.  Every test of a reference value uses this, never
   config_default (whose values a reader may change). */
void config_reference(Config *c);
Run *run_new(void);                     /* config_reference, losses buffer */
void run_free(Run *r);
/* One run of the reference configuration with the gradient check on, made
   once per process (call it from an unchecked fixture, so that forked tests
   inherit it); NULL if it failed. */
const Run *shared_default_run(void);

/* Temporary directories under /tmp. */
char *tmpdir_new(void);                 /* malloc'd path of a new directory */
void tmpdir_remove(char *dir);          /* removes its files, it, and frees dir */
int dir_entries(const char *dir);       /* entries other than . and .. , or -1 */
char *slurp(const char *path, size_t *len); /* malloc'd, NUL-terminated, or NULL */

#endif
