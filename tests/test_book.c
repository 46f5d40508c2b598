/* test_book.c -- the book's apparatus: bibliography and appendices.

   The sources are checked always: book/tinygpt.bib defines every key the
   book cites, and tinygpt.nw has the three appendices and asks for the
   bibliography.  The typeset book is checked when it has been built (make
   before make check, as CI does; the tests run from the repository's
   root): its table of contents lists the appendices and the bibliography,
   BibTeX wrote an entry for every key of the .bib, every citation in the
   .aux has an entry, and the log has no undefined reference or citation. */
#define _XOPEN_SOURCE 700
#include "tests.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIB "book/tinygpt.bib"
#define NW  "tinygpt.nw"
#define LOG "build/tinygpt.log"
#define TOC "build/tinygpt.toc"
#define AUX "build/tinygpt.aux"
#define BBL "build/tinygpt.bbl"

/* The keys the chapters cite (and the RNG chapter's). */
static const char *const keys[] = {
    "vaswani2017attention", "radford2019language", "ba2016layer",
    "hendrycks2016gelu", "kingma2015adam", "loshchilov2019adamw",
    "knuth1984literate", "ramsey1994noweb", "karpathy2024llmc",
    "zhubert2025gradients", "matsumoto1998mersenne",
};
#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))

/* slurp (helpers.c) reads a whole file, NUL-terminated, or gives NULL. */
static char *must_slurp(const char *path)
{
    size_t len;
    char *s = slurp(path, &len);
    ck_assert_msg(s != NULL, "cannot read %s (tests run from the repository's root)", path);
    return s;
}

/* "\bibitem[...]{key}" in the .bbl, or "{key," in the .bib. */
static int has_entry(const char *text, const char *before, const char *key,
                     const char *after)
{
    char pat[128];
    snprintf(pat, sizeof pat, "%s%s%s", before, key, after);
    return strstr(text, pat) != NULL;
}

START_TEST(test_bib_has_every_key)
{
    char *bib = must_slurp(BIB);
    for (int i = 0; i < N_KEYS; i++)
        ck_assert_msg(has_entry(bib, "{", keys[i], ","), "%s has no entry %s", BIB, keys[i]);
    free(bib);
}
END_TEST

START_TEST(test_nw_has_apparatus)
{
    static const char *const wanted[] = {
        "\\label{app:notation}", "\\label{app:notebooks}", "\\label{app:answers}",
        "\\printanswers", "\\bibliography{tinygpt}", "\\bibliographystyle{",
    };
    char *nw = must_slurp(NW);
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
        ck_assert_msg(strstr(nw, wanted[i]) != NULL, "%s has no %s", NW, wanted[i]);
    free(nw);
}
END_TEST

START_TEST(test_built_book_has_apparatus)
{
    size_t len;
    char *toc = slurp(TOC, &len);
    if (!toc)
        return;   /* the book was not built: nothing more to check */
    static const char *const titles[] = {
        "Notation", "Coming from the notebooks", "Answers to the exercises",
        "Bibliography", "Index of chunks",
    };
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
        ck_assert_msg(strstr(toc, titles[i]) != NULL, "%s lists no %s", TOC, titles[i]);
    /* the bibliography comes before the indexes */
    ck_assert(strstr(toc, "Bibliography") < strstr(toc, "Index of chunks"));
    free(toc);

    char *bbl = must_slurp(BBL);
    for (int i = 0; i < N_KEYS; i++)
        ck_assert_msg(has_entry(bbl, "]{", keys[i], "}"), "%s has no entry %s", BBL, keys[i]);

    /* every \citation{a,b} of the .aux has an entry */
    char *aux = must_slurp(AUX);
    for (const char *p = aux; (p = strstr(p, "\\citation{")) != NULL; ) {
        p += strlen("\\citation{");
        size_t n = strcspn(p, "}");
        char list[512];
        ck_assert(n < sizeof list);
        memcpy(list, p, n);
        list[n] = '\0';
        for (char *save, *k = strtok_r(list, ",", &save); k; k = strtok_r(NULL, ",", &save))
            ck_assert_msg(strcmp(k, "*") == 0 || has_entry(bbl, "]{", k, "}"),
                          "\\cite{%s} has no bibliography entry", k);
    }
    free(aux);
    free(bbl);

    char *log = must_slurp(LOG);
    ck_assert_msg(strstr(log, "undefined") == NULL, "%s mentions something undefined", LOG);
    free(log);
}
END_TEST

Suite *book_suite(void)
{
    Suite *s = suite_create("book");
    TCase *tc = tcase_create("apparatus");
    tcase_add_test(tc, test_bib_has_every_key);
    tcase_add_test(tc, test_nw_has_apparatus);
    tcase_add_test(tc, test_built_book_has_apparatus);
    suite_add_tcase(s, tc);
    return s;
}
