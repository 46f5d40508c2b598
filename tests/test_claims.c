/* test_claims.c -- report_claims: the trainer judges the book's claims and
   lists the false ones at the lines of tinygpt.nw that use them. */
#define _POSIX_C_SOURCE 200809L   /* chdir, getcwd, fmemopen */
#include "tests.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* report_claims(R) in directory DIR (NULL: here), its output in OUT */
static int claims_in(const Run *r, const char *dir, char *out, size_t size)
{
    char here[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(here, sizeof here));
    ck_assert_int_eq(dir ? chdir(dir) : 0, 0);
    memset(out, 0, size);
    FILE *f = fmemopen(out, size - 1, "w");
    ck_assert_ptr_nonnull(f);
    int status = report_claims(r, f);
    fclose(f);
    ck_assert_int_eq(chdir(here), 0);
    return status;
}

/* A run of the reference configuration that trains for STEPS steps. */
static Run *run_of(int steps)
{
    Model *m = model_new();
    Run *r = run_new();
    ck_assert_ptr_nonnull(r);
    r->cfg.steps = steps;
    r->cfg.gradcheck = 1;
    ck_assert_int_eq(run_experiment(r, m), 0);
    free(m);
    return r;
}

/* Line N (from 1) of tinygpt.nw, here; NULL past its end. */
static char *source_line(int n, char *buf, size_t size)
{
    FILE *f = fopen("tinygpt.nw", "r");
    ck_assert_ptr_nonnull(f);
    char *got = NULL;
    for (int i = 1; i <= n && (got = fgets(buf, (int)size, f)) != NULL; i++)
        ;
    fclose(f);
    return got;
}

START_TEST(the_books_run_makes_every_claim_true)
{
    /* the book's own run (run from the repository's root, where
       tinygpt.nw is): no claim false, none unjudged or unused */
    static char out[1 << 16];
    Run *r = run_of(100);
    ck_assert_int_eq(claims_in(r, NULL, out, sizeof out), 0);
    ck_assert_msg(out[0] == '\0', "report_claims printed: %s", out);
    run_free(r);
}
END_TEST

START_TEST(a_false_claim_is_listed_at_its_sentence)
{
    /* After one step the model has not learned its sentence: the claims
       that say it has are false. Every line names a line of tinygpt.nw that
       uses the claim, the condition and the line of the condition. */
    static char out[1 << 16];
    char text[4096], label[64], want[80];
    Run *r = run_of(1);
    ck_assert_int_eq(claims_in(r, NULL, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "false claim 'learned'") != NULL, "no 'learned' in: %s", out);
    int lines = 0;
    for (char *p = out; *p; p = strchr(p, '\n') + 1, lines++) {
        int at, cond_at;
        ck_assert_msg(sscanf(p, "tinygpt.nw:%d: false claim '%63[a-z0-9-]':", &at, label) == 2,
                      "not a false claim's line: %.200s", p);
        snprintf(want, sizeof want, "\\claim{%s}", label);
        ck_assert_msg(source_line(at, text, sizeof text) && strstr(text, want),
                      "line %d of tinygpt.nw does not use %s", at, want);
        const char *cond = strstr(p, " (tinygpt.nw:");
        ck_assert_msg(cond && cond < strchr(p, '\n') && sscanf(cond, " (tinygpt.nw:%d)", &cond_at) == 1,
                      "no condition line in: %.200s", p);
        snprintf(want, sizeof want, "CLAIM(\"%s\"", label);
        int found = 0;   /* a CLAIM may span lines: its label is within three before */
        for (int l = cond_at; l >= cond_at - 3 && l > 0 && !found; l--)
            found = source_line(l, text, sizeof text) && strstr(text, want) != NULL;
        ck_assert_msg(found, "line %d of tinygpt.nw is not the condition of '%s'", cond_at, label);
    }
    ck_assert_int_ge(lines, 1);
    run_free(r);
}
END_TEST

START_TEST(unjudged_and_unused_claims_are_errors)
{
    /* a source that uses one label no section judges: that use is an
       error, and so is every judged claim, since none is used */
    static char out[1 << 16];
    char *dir = tmpdir_new(), path[PATH_MAX];
    snprintf(path, sizeof path, "%s/tinygpt.nw", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("Some prose.\n\\claim{no-such-claim}{A sentence.}\n", f);
    fclose(f);
    const Run *r = shared_default_run();
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(claims_in(r, dir, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "tinygpt.nw:2: claim 'no-such-claim' is never judged\n"), "%s", out);
    ck_assert_msg(strstr(out, "claim 'learned' is judged but never used\n"), "%s", out);
    tmpdir_remove(dir);
}
END_TEST

START_TEST(without_the_source_claims_are_listed_at_their_conditions)
{
    static char out[1 << 16];
    char *dir = tmpdir_new();
    Run *r = run_of(1);
    ck_assert_int_eq(claims_in(r, dir, out, sizeof out), 1);
    int at, cond_at;
    const char *p = strstr(out, "false claim 'learned'");
    ck_assert_msg(p != NULL, "%s", out);
    while (p > out && p[-1] != '\n')
        p--;
    ck_assert_int_eq(sscanf(p, "tinygpt.nw:%d:", &at), 1);
    p = strstr(p, " (tinygpt.nw:");
    ck_assert_int_eq(sscanf(p, " (tinygpt.nw:%d)", &cond_at), 1);
    ck_assert_int_eq(at, cond_at);
    run_free(r);
    tmpdir_remove(dir);
}
END_TEST

static void claims_setup(void) { (void)shared_default_run(); }

Suite *claims_suite(void)
{
    Suite *s = suite_create("claims");
    TCase *tc = tcase_create("claims");
    tcase_add_unchecked_fixture(tc, claims_setup, NULL);
    tcase_set_timeout(tc, 30);
    tcase_add_design_test(tc, the_books_run_makes_every_claim_true);
    tcase_add_test(tc, a_false_claim_is_listed_at_its_sentence);
    tcase_add_test(tc, unjudged_and_unused_claims_are_errors);
    tcase_add_test(tc, without_the_source_claims_are_listed_at_their_conditions);
    suite_add_tcase(s, tc);
    return s;
}
