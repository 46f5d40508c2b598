/* test_params.c -- the table of parameter tensors against the book's sizes. */
#include "tests.h"
#include <string.h>

/* The book's tensors in initialisation order (gamma and beta, which
   are not drawn, sit between b2 and W_lm in the record's key order), with
   the reference shapes: W_Q/W_K/W_V [2][16][8], W_O [16][16] ([out][in]),
   W1 [64][16], W2 [16][64], W_lm [6][16]. */
static const struct {
    const char *name;
    int rank, shape[3];
    InitKind init;
} expected[N_TENSORS] = {
    { "E_token", 2, { 6, 16, 0 }, INIT_NORMAL },
    { "E_pos",   2, { 5, 16, 0 }, INIT_NORMAL },
    { "W_Q",     3, { 2, 16, 8 }, INIT_NORMAL },
    { "W_K",     3, { 2, 16, 8 }, INIT_NORMAL },
    { "W_V",     3, { 2, 16, 8 }, INIT_NORMAL },
    { "W_O",     2, { 16, 16, 0 }, INIT_NORMAL },
    { "W1",      2, { 64, 16, 0 }, INIT_NORMAL },
    { "b1",      1, { 64, 0, 0 }, INIT_NORMAL },
    { "W2",      2, { 16, 64, 0 }, INIT_NORMAL },
    { "b2",      1, { 16, 0, 0 }, INIT_NORMAL },
    { "gamma",   1, { 16, 0, 0 }, INIT_ONES },
    { "beta",    1, { 16, 0, 0 }, INIT_ZEROS },
    { "W_lm",    2, { 6, 16, 0 }, INIT_NORMAL },
};

START_TEST(dimensions_match_design)
{
    ck_assert_int_eq(VOCAB, 6);
    ck_assert_int_eq(MAX_SEQ, 5);
    ck_assert_int_eq(D_MODEL, 16);
    ck_assert_int_eq(N_HEADS, 2);
    ck_assert_int_eq(D_K, 8);
    ck_assert_int_eq(D_FF, 64);
    ck_assert_int_eq(N_PARAMS, 3456);
    /* the union's flat view covers the named tensors without padding */
    ck_assert_uint_eq(sizeof(ParamTensors), 3456 * sizeof(double));
    ck_assert_uint_eq(sizeof(Params), sizeof(ParamTensors));
}
END_TEST

START_TEST(names_shapes_and_init_match_design)
{
    for (int k = 0; k < N_TENSORS; k++) {
        const TensorInfo *ti = &param_tensors[k];
        ck_assert_str_eq(ti->name, expected[k].name);
        ck_assert_int_eq(ti->rank, expected[k].rank);
        for (int d = 0; d < ti->rank; d++)
            ck_assert_msg(ti->shape[d] == expected[k].shape[d],
                          "%s shape[%d] = %d, expected %d", ti->name, d,
                          ti->shape[d], expected[k].shape[d]);
        ck_assert_int_eq(ti->init, expected[k].init);
    }
}
END_TEST

START_TEST(tensor_size_is_product_of_shape)
{
    for (int k = 0; k < N_TENSORS; k++) {
        int n = 1;
        for (int d = 0; d < expected[k].rank; d++)
            n *= expected[k].shape[d];
        ck_assert_int_eq(tensor_size(&param_tensors[k]), n);
    }
}
END_TEST

START_TEST(offsets_contiguous_and_sizes_sum)
{
    size_t next = 0;
    for (int k = 0; k < N_TENSORS; k++) {
        ck_assert_msg(param_tensors[k].offset == next, "%s at %zu, expected %zu",
                      param_tensors[k].name, param_tensors[k].offset, next);
        next += (size_t)tensor_size(&param_tensors[k]);
    }
    ck_assert_uint_eq(next, 3456);
    ck_assert_uint_eq(next, (size_t)N_PARAMS);
}
END_TEST

START_TEST(offsets_address_the_named_tensors)
{
    /* The table's offset of a tensor is where that field lives in the
       union, so flat[offset + i] is the i-th element in row-major order. */
    static Params p;
    const double *fields[N_TENSORS] = {
        &p.t.E_token[0][0], &p.t.E_pos[0][0], &p.t.W_Q[0][0][0], &p.t.W_K[0][0][0],
        &p.t.W_V[0][0][0], &p.t.W_O[0][0], &p.t.W1[0][0], p.t.b1, &p.t.W2[0][0],
        p.t.b2, p.t.gamma, p.t.beta, &p.t.W_lm[0][0]
    };
    for (int k = 0; k < N_TENSORS; k++)
        ck_assert_ptr_eq(p.flat + param_tensors[k].offset, fields[k]);
    /* row-major: W_Q[1][2][3] is 1*128 + 2*8 + 3 past the start of W_Q */
    ck_assert_ptr_eq(p.flat + param_tensors[2].offset + 128 + 16 + 3, &p.t.W_Q[1][2][3]);
}
END_TEST

START_TEST(names_unique)
{
    for (int a = 0; a < N_TENSORS; a++)
        for (int b = a + 1; b < N_TENSORS; b++)
            ck_assert_msg(strcmp(param_tensors[a].name, param_tensors[b].name) != 0,
                          "tensor name %s repeated", param_tensors[a].name);
}
END_TEST

Suite *params_suite(void)
{
    Suite *s = suite_create("params");
    TCase *tc = tcase_create("table");
    tcase_add_design_test(tc, dimensions_match_design);
    tcase_add_design_test(tc, names_shapes_and_init_match_design);
    tcase_add_design_test(tc, tensor_size_is_product_of_shape);
    tcase_add_design_test(tc, offsets_contiguous_and_sizes_sum);
    tcase_add_design_test(tc, offsets_address_the_named_tensors);
    tcase_add_test(tc, names_unique);
    suite_add_tcase(s, tc);
    return s;
}
