/* check_main.c -- runs every tinygpt suite in one runner. */
#include "tests.h"
#include <stdlib.h>

int main(void)
{
    SRunner *sr = srunner_create(rng_suite());
    srunner_add_suite(sr, params_suite());
    srunner_add_suite(sr, forward_suite());
    srunner_add_suite(sr, backward_suite());
    srunner_add_suite(sr, adamw_suite());
    srunner_add_suite(sr, training_suite());
    srunner_add_suite(sr, report_suite());
    srunner_add_suite(sr, cli_suite());
    srunner_add_suite(sr, book_suite());
    srunner_add_suite(sr, claims_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
