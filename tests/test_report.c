/* test_report.c -- the JSON run record and the book's LaTeX fragments.

   One default run is written once (before the tests fork) into a fresh
   directory under /tmp: run.json and every fragment.  The JSON is read by
   a small parser written here; the fragments' matrices are checked cell by
   cell against the JSON through their "% tinygpt-matrix" headers. */
#define _POSIX_C_SOURCE 200809L
#include "tests.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const Run *run;
static char *dir;          /* the output directory */
static char *json;         /* the text of run.json being read */
static int json_status = -2, tex_status = -2;

/* A second run on the shorter sentence "I like" (T = 4 < MAX_SEQ, 5
   steps), so that strides of MAX_SEQ and lengths of T can be told apart. */
static Run *short_run;
static char *short_dir, *short_json;
static int short_json_status = -2, short_tex_status = -2;  /* tex: in the test */

static void report_setup(void)
{
    run = shared_default_run();
    if (!run)
        return;
    dir = tmpdir_new();
    char path[512];
    snprintf(path, sizeof path, "%s/run.json", dir);
    json_status = write_json(run, path);
    json = slurp(path, NULL);
    tex_status = write_tex(run, dir);

    static const int tok[4] = { TOK_BOS, 3, 4, TOK_EOS };
    Model *m = calloc(1, sizeof *m);
    short_run = run_new();
    if (!m || !short_run)
        return;
    short_run->cfg.T = 4;
    memcpy(short_run->cfg.tokens, tok, sizeof tok);
    short_run->cfg.steps = 5;
    if (run_experiment(short_run, m) == 0) {
        short_dir = tmpdir_new();
        snprintf(path, sizeof path, "%s/run.json", short_dir);
        short_json_status = write_json(short_run, path);
        short_json = slurp(path, NULL);
        /* write_tex(short_run, short_dir) is left to the test itself, so
           that a crash there fails one test, not the whole runner */
    }
    free(m);
}

static void failures_setup(void)
{
    run = shared_default_run();
}

static void report_teardown(void)
{
    free(json);
    json = NULL;
    tmpdir_remove(dir);
    dir = NULL;
    free(short_json);
    short_json = NULL;
    tmpdir_remove(short_dir);
    short_dir = NULL;
    run_free(short_run);
    short_run = NULL;
}

/* ---- a minimal JSON reader --------------------------------------------- */

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

/* Past the one JSON value at p, or NULL if it is malformed. */
static const char *json_skip(const char *p)
{
    p = ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            p = ws(p);
            if (close == '}') {
                if (*p != '"' || !(p = json_skip(p)))
                    return NULL;
                p = ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            if (!(p = json_skip(p)))
                return NULL;
            p = ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1])
                p++;
        return *p == '"' ? p + 1 : NULL;
    }
    if (strncmp(p, "null", 4) == 0 || strncmp(p, "true", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    char *end;
    strtod(p, &end);
    return end == p ? NULL : end;
}

/* The value of member KEY of the object at p (at '{'), or NULL. */
static const char *json_member(const char *p, const char *key)
{
    p = ws(p);
    if (*p != '{')
        return NULL;
    p = ws(p + 1);
    size_t n = strlen(key);
    while (*p == '"') {
        int match = strncmp(p + 1, key, n) == 0 && p[1 + n] == '"';
        if (!(p = json_skip(p)))
            return NULL;
        p = ws(p);
        if (*p++ != ':')
            return NULL;
        p = ws(p);
        if (match)
            return p;
        if (!(p = json_skip(p)))
            return NULL;
        p = ws(p);
        if (*p == ',')
            p = ws(p + 1);
    }
    return NULL;
}

/* The numbers of the value at p (a number, null, or nested arrays of
   them) in row-major order; null reads as NaN.  Returns the count, or -1. */
static int json_numbers(const char *p, double *out, int max)
{
    int n = 0, depth = 0;
    do {
        p = ws(p);
        if (*p == '[') {
            depth++;
            p++;
        } else if (*p == ']') {
            depth--;
            p++;
        } else if (*p == ',') {
            p++;
        } else if (strncmp(p, "null", 4) == 0) {
            if (n >= max)
                return -1;
            out[n++] = NAN;
            p += 4;
        } else {
            char *end;
            /* a non-negative number is padded with the width of a minus sign */
            if (strncmp(p, "\\phantom{-}", 11) == 0)
                p += 11;
            double x = strtod(p, &end);
            if (end == p || n >= max)
                return -1;
            out[n++] = x;
            p = end;
        }
    } while (depth > 0);
    return n;
}

/* "set.name" or "set.name[h]": its numbers (the h-th slice of R*C of
   them) into out; returns the count, or -1. */
static int json_path_numbers(const char *path, int R, int C, double *out, int max)
{
    char set[64], name[64];
    int h = -1;
    const char *dot = strchr(path, '.');
    if (!dot || (size_t)(dot - path) >= sizeof set)
        return -1;
    memcpy(set, path, (size_t)(dot - path));
    set[dot - path] = '\0';
    snprintf(name, sizeof name, "%s", dot + 1);
    char *br = strchr(name, '[');
    if (br) {
        h = atoi(br + 1);
        *br = '\0';
    }
    const char *obj = json_member(json, set);
    const char *val = obj ? json_member(obj, name) : NULL;
    if (!val)
        return -1;
    static double all[8192];
    int n = json_numbers(val, all, 8192);
    if (n < 0)
        return -1;
    if (h < 0) {
        if (n > max)
            return -1;
        memcpy(out, all, (size_t)n * sizeof *out);
        return n;
    }
    if (n % (R * C) != 0 || (h + 1) * R * C > n || R * C > max)
        return -1;   /* not a stack of R x C slices, or no slice h */
    memcpy(out, all + h * R * C, (size_t)(R * C) * sizeof *out);
    return R * C;
}

static double json_scalar(const char *key)
{
    const char *v = json_member(json, key);
    ck_assert_msg(v != NULL, "no \"%s\" in the record", key);
    return strtod(v, NULL);
}

/* ---- the JSON record ------------------------------------------------- */

START_TEST(json_written_and_well_formed)
{
    ck_assert_ptr_nonnull(run);
    ck_assert_int_eq(json_status, 0);
    ck_assert_ptr_nonnull(json);
    const char *end = json_skip(json);
    ck_assert_msg(end != NULL, "run.json is not well-formed JSON");
    ck_assert_msg(*ws(end) == '\0', "text after the JSON object");
    static const char *const keys[] = {
        "config", "n_params", "tokens", "targets", "params_init", "activations",
        "loss_init", "grads", "params_step1", "losses", "generated",
        "activation_grads", "m_step1", "v_step1", "params_final",
        "activations_final", "gradcheck", "stats"
    };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        ck_assert_msg(json_member(json, keys[k]) != NULL, "no \"%s\"", keys[k]);
    /* the activations every reader of the record relies on, with their
       sizes for the book's model (d 16, 2 heads, d_ff 64) and T = 5 */
    static const struct { const char *key; int n; } acts[] = {
        { "X", 80 }, { "Q", 80 }, { "K", 80 }, { "V", 80 }, { "scores", 50 },
        { "weights", 50 }, { "concat", 80 }, { "mh", 80 }, { "hidden", 320 },
        { "act", 320 }, { "ffn", 80 }, { "res", 80 }, { "ln", 80 },
        { "logits", 30 }, { "probs", 30 }, { "losses", 4 }
    };
    const char *a = json_member(json, "activations");
    ck_assert_ptr_nonnull(a);
    static double v[512];
    for (size_t k = 0; k < sizeof acts / sizeof acts[0]; k++) {
        const char *x = json_member(a, acts[k].key);
        ck_assert_msg(x != NULL, "activations has no \"%s\"", acts[k].key);
        ck_assert_int_eq(json_numbers(x, v, 512), acts[k].n);
    }
}
END_TEST

START_TEST(json_scalars_and_sentence)
{
    ck_assert_ptr_nonnull(json);
    /* %.17g round-trips a double exactly: tolerance 0 */
    ck_assert_double_eq(json_scalar("loss_init"), run->losses[0]);
    CHECK_CLOSE(json_scalar("loss_init"), 1.8298677505438041, 1e-12, 0.0);
    ck_assert_double_eq(json_scalar("n_params"), 3456.0);
    double v[128];
    ck_assert_int_eq(json_numbers(json_member(json, "tokens"), v, 128), 5);
    for (int t = 0; t < 5; t++)
        ck_assert_double_eq(v[t], sentence_tokens[t]);
    ck_assert_int_eq(json_numbers(json_member(json, "targets"), v, 128), 4);
    for (int t = 0; t < 4; t++)
        ck_assert_double_eq(v[t], sentence_tokens[t + 1]);
    ck_assert_int_eq(json_numbers(json_member(json, "losses"), v, 128), 101);
    for (int s = 0; s <= 100; s++)
        ck_assert_double_eq(v[s], run->losses[s]);
    const char *cfg = json_member(json, "config");
    ck_assert_ptr_nonnull(cfg);
    static const struct { const char *key; double value; } config[] = {
        { "vocab", 6 }, { "d_model", 16 }, { "n_heads", 2 }, { "d_k", 8 },
        { "d_ff", 64 }, { "seq_len", 5 }, { "seed", 42 }, { "steps", 100 },
        { "lr", 1e-3 }, { "beta1", 0.9 }, { "beta2", 0.999 }, { "eps", 1e-8 },
        { "weight_decay", 0.01 }
    };
    for (size_t k = 0; k < sizeof config / sizeof config[0]; k++) {
        const char *x = json_member(cfg, config[k].key);
        ck_assert_msg(x != NULL, "config has no %s", config[k].key);
        ck_assert_double_eq(strtod(x, NULL), config[k].value);
    }
    const char *gen = json_member(json, "generated");
    ck_assert_ptr_nonnull(gen);
    ck_assert(strncmp(gen, "[\"I\",\"like\",\"transformers\",\"<EOS>\"]", 35) == 0);
}
END_TEST

START_TEST(json_parameter_sets_round_trip)
{
    ck_assert_ptr_nonnull(json);
    static const char *const sets[3] = { "params_init", "grads", "params_step1" };
    const Params *src[3] = { &run->params_init, &run->grads_init, &run->params_step1 };
    static double v[4096];
    for (int s = 0; s < 3; s++) {
        const char *obj = json_member(json, sets[s]);
        ck_assert_msg(obj != NULL, "no %s", sets[s]);
        for (int k = 0; k < N_TENSORS; k++) {
            const TensorInfo *ti = &param_tensors[k];
            const char *val = json_member(obj, ti->name);
            ck_assert_msg(val != NULL, "%s has no %s", sets[s], ti->name);
            ck_assert_int_eq(json_numbers(val, v, 4096), tensor_size(ti));
            for (int i = 0; i < tensor_size(ti); i++)   /* %.17g: exact */
                ck_assert_double_eq(v[i], src[s]->flat[ti->offset + i]);
        }
    }
    /* the nesting follows the shape: W_Q is [2][16][8] */
    const char *wq = json_member(json_member(json, "params_init"), "W_Q");
    ck_assert(strncmp(wq, "[[[", 3) == 0 && wq[3] != '[');
}
END_TEST

/* ---- the matrices of the fragments ------------------------------------- */

typedef struct {
    int n_matrices, n_json_matrices, n_cells_checked;
    char covered[2][N_TENSORS][N_HEADS];   /* params_init, grads */
} Tally;

typedef struct {
    char file[256], path[128];
    int rows, cols, scale, has_ref;
    double ref[64 * 64];
    unsigned char seen[64 * 64];
    double max_cell, max_ref;
} Mat;

static void note_coverage(Tally *tally, const char *path)
{
    for (int s = 0; s < 2; s++) {
        const char *set = s ? "grads." : "params_init.";
        size_t n = strlen(set);
        if (strncmp(path, set, n) != 0)
            continue;
        for (int k = 0; k < N_TENSORS; k++) {
            size_t m = strlen(param_tensors[k].name);
            if (strncmp(path + n, param_tensors[k].name, m) != 0)
                continue;
            if (path[n + m] == '\0')
                memset(tally->covered[s][k], 1, N_HEADS);
            else if (path[n + m] == '[') {
                int h = atoi(path + n + m + 1);
                if (h >= 0 && h < N_HEADS)
                    tally->covered[s][k][h] = 1;
            }
        }
    }
}

static void mat_finish(Mat *m)
{
    if (!m->path[0])
        return;
    for (int i = 0; i < m->rows * m->cols; i++)
        ck_assert_msg(m->seen[i] == 1, "%s: %s cell %d printed %d times", m->file,
                      m->path, i, m->seen[i]);
    if (m->has_ref) {
        /* the automatic scale: 10^K chosen so that the largest entry of the
           tensor (over all its heads, which share K) prints in [1, 10), used
           when everything is below 0.01 or when more than a tenth of the
           entries would print as 0.0000; so no scaled cell prints as 10 or
           more, and a scaled matrix is never one with large entries */
        if (m->scale != 0)
            ck_assert_msg(m->scale < 0 && m->max_cell < 10.0 && m->max_ref < 1.0,
                          "%s: %s scale %d, largest cell %g", m->file, m->path,
                          m->scale, m->max_cell);
        else   /* one head of a per-head tensor may be small if another is not */
            ck_assert_msg(m->max_ref >= 0.01 || m->max_ref == 0.0
                              || m->path[strlen(m->path) - 1] == ']',
                          "%s: %s unscaled, largest entry %g", m->file, m->path,
                          m->max_ref);
    }
    m->path[0] = '\0';
}

/* One data row "label & c & c ... \\" of the block rows r, cols c0..c1. */
static void check_row(Tally *tally, Mat *m, const char *line, int r, int c0, int c1)
{
    const char *p = strchr(line, '&');
    ck_assert_msg(p != NULL, "%s: %s row %d has no cells: %s", m->file, m->path, r, line);
    double unit = pow(10.0, m->scale);
    /* %.4f rounds to half a unit of the 4th decimal, i.e. 0.5*10^(K-4) of
       the true value; 1e-12 covers the binary rounding of x/10^K and of
       the product below */
    double tol = 0.5 * pow(10.0, m->scale - 4) + 1e-12;
    int c = c0;
    while (p && *p == '&') {
        p = ws(p + 1);
        ck_assert_msg(c <= c1, "%s: %s row %d has too many cells", m->file, m->path, r);
        int idx = r * m->cols + c;
        m->seen[idx]++;
        double ref = m->has_ref ? m->ref[idx] : 0.0;
        if (strncmp(p, "-\\infty", 7) == 0) {
            p += 7;
            if (m->has_ref)   /* JSON has no infinities: it writes null */
                ck_assert_msg(isnan(ref), "%s: %s[%d][%d] printed -inf, record %g",
                              m->file, m->path, r, c, ref);
        } else if (strncmp(p, "\\infty", 6) == 0) {
            p += 6;
            if (m->has_ref)
                ck_assert(isnan(ref));
        } else {
            char *end;
            /* a non-negative number is padded with the width of a minus sign */
            if (strncmp(p, "\\phantom{-}", 11) == 0)
                p += 11;
            double x = strtod(p, &end);
            ck_assert_msg(end != p, "%s: %s row %d: bad cell '%.20s'", m->file, m->path,
                          r, p);
            int exact_zero = (size_t)(end - p) == 1 && *p == '0';
            p = end;
            if (m->has_ref) {
                if (exact_zero || ref == 0.0)   /* a plain 0 iff exactly zero */
                    ck_assert_msg(exact_zero && ref == 0.0,
                                  "%s: %s[%d][%d]: cell %g, record %.17g", m->file,
                                  m->path, r, c, x, ref);
                else
                    ck_assert_msg(fabs(x * unit - ref) <= tol,
                                  "%s: %s[%d][%d]: cell %.4f x 10^%d, record %.17g",
                                  m->file, m->path, r, c, x, m->scale, ref);
                m->max_cell = fmax(m->max_cell, fabs(x));
                m->max_ref = fmax(m->max_ref, fabs(ref));
                tally->n_cells_checked++;
            }
        }
        p = ws(p);
        c++;
    }
    ck_assert_msg(c == c1 + 1, "%s: %s row %d has %d cells, expected %d", m->file,
                  m->path, r, c - c0, c1 - c0 + 1);
    ck_assert_msg(strncmp(p, "\\\\", 2) == 0, "%s: %s row %d does not end in \\\\",
                  m->file, m->path, r);
}

static void check_fragment(Tally *tally, const char *name, const char *text)
{
    static Mat m;
    memset(&m, 0, sizeof m);
    snprintf(m.file, sizeof m.file, "%s", name);
    int in_block = 0, in_data = 0, r0 = 0, r1 = -1, c0 = 0, c1 = -1, row = 0;
    for (const char *line = text; *line; ) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[4096];
        ck_assert_uint_lt(len, sizeof buf);
        memcpy(buf, line, len);
        buf[len] = '\0';
        line += len + (nl ? 1 : 0);

        if (strncmp(buf, "% tinygpt-matrix ", 17) == 0) {
            ck_assert_msg(!in_block, "%s: matrix header inside a block", name);
            mat_finish(&m);
            memset(m.seen, 0, sizeof m.seen);
            m.max_cell = m.max_ref = 0.0;
            ck_assert_msg(sscanf(buf, "%% tinygpt-matrix %127s rows=%d cols=%d scale=%d",
                                 m.path, &m.rows, &m.cols, &m.scale) == 4,
                          "%s: bad header '%s'", name, buf);
            ck_assert(m.rows > 0 && m.cols > 0 && m.rows * m.cols <= 64 * 64);
            tally->n_matrices++;
            m.has_ref = strcmp(m.path, "-") != 0;
            if (m.has_ref) {
                int n = json_path_numbers(m.path, m.rows, m.cols, m.ref, 64 * 64);
                ck_assert_msg(n == m.rows * m.cols, "%s: %s has %d numbers in the "
                              "record, the table %d x %d", name, m.path, n, m.rows, m.cols);
                tally->n_json_matrices++;
                note_coverage(tally, m.path);
            }
        } else if (strncmp(buf, "% block ", 8) == 0) {
            ck_assert_msg(m.path[0] && !in_block, "%s: stray block comment", name);
            ck_assert(sscanf(buf, "%% block rows=%d-%d cols=%d-%d", &r0, &r1, &c0, &c1) == 4);
            ck_assert_msg(0 <= r0 && r0 <= r1 && r1 < m.rows && 0 <= c0 && c0 <= c1
                          && c1 < m.cols && c1 - c0 < 8,
                          "%s: %s block rows %d-%d cols %d-%d", name, m.path, r0, r1, c0, c1);
            in_block = 1;
            in_data = 0;
        } else if (in_block && strcmp(buf, "\\midrule") == 0) {
            in_data = 1;
            row = r0;
        } else if (in_block && strcmp(buf, "\\bottomrule") == 0) {
            ck_assert_msg(in_data && row == r1 + 1, "%s: %s block ends at row %d, not %d",
                          name, m.path, row, r1 + 1);
            in_block = in_data = 0;
        } else if (in_data) {
            ck_assert_msg(row <= r1, "%s: %s: too many rows in a block", name, m.path);
            check_row(tally, &m, buf, row, c0, c1);
            row++;
        }
    }
    ck_assert_msg(!in_block, "%s: unterminated block", name);
    mat_finish(&m);
}

/* Every matrix of every fragment in directory D against the record. */
static void check_fragments(const char *d)
{
    static Tally tally;
    memset(&tally, 0, sizeof tally);
    DIR *dd = opendir(d);
    ck_assert_ptr_nonnull(dd);
    struct dirent *e;
    int n_tex = 0;
    while ((e = readdir(dd)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".tex") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", d, e->d_name);
        char *text = slurp(path, NULL);
        ck_assert_ptr_nonnull(text);
        check_fragment(&tally, e->d_name, text);
        free(text);
        n_tex++;
    }
    closedir(dd);
    ck_assert_int_gt(n_tex, 20);
    ck_assert_int_gt(tally.n_json_matrices, 40);
    /* both parameter sets are printed in full: every entry checked */
    ck_assert_int_ge(tally.n_cells_checked, 2 * N_PARAMS);
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < N_TENSORS; k++) {
            int heads = param_tensors[k].rank == 3 ? N_HEADS : 1;
            for (int h = 0; h < heads; h++)
                ck_assert_msg(tally.covered[s][k][h], "%s.%s%s is in no fragment",
                              s ? "grads" : "params_init", param_tensors[k].name,
                              heads == 1 ? "" : h ? "[1]" : "[0]");
        }
}

START_TEST(fragments_print_the_record)
{
    ck_assert_ptr_nonnull(json);
    ck_assert_int_eq(tex_status, 0);
    check_fragments(dir);
}
END_TEST

START_TEST(short_sentence_fragments_print_the_record)
{
    ck_assert_ptr_nonnull(short_json);
    ck_assert_int_eq(short_json_status, 0);
    short_tex_status = write_tex(short_run, short_dir);
    ck_assert_int_eq(short_tex_status, 0);
    char *saved = json;
    json = short_json;
    check_fragments(short_dir);
    json = saved;
}
END_TEST

START_TEST(short_sentence_record_has_T_rows)
{
    /* the per-head activations of a T = 4 run are [2][4][...] and hold the
       run's numbers (stored with row strides of MAX_SEQ) */
    ck_assert_ptr_nonnull(short_json);
    const Activations *a = &short_run->acts_init;
    char *saved = json;
    json = short_json;
    static double v[4096];
    const char *acts = json_member(json, "activations");
    ck_assert_ptr_nonnull(acts);
    ck_assert_int_eq(json_numbers(json_member(acts, "Q"), v, 4096), N_HEADS * 4 * D_K);
    for (int h = 0; h < N_HEADS; h++)
        for (int t = 0; t < 4; t++)
            for (int k = 0; k < D_K; k++)   /* %.17g: exact */
                ck_assert_double_eq(v[(h * 4 + t) * D_K + k], a->Q[h][t][k]);
    ck_assert_int_eq(json_numbers(json_member(acts, "weights"), v, 4096), N_HEADS * 16);
    for (int h = 0; h < N_HEADS; h++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                ck_assert_double_eq(v[(h * 4 + i) * 4 + j], a->P[h][i][j]);
    ck_assert_int_eq(json_numbers(json_member(acts, "logits"), v, 4096), 4 * VOCAB);
    ck_assert_int_eq(json_numbers(json_member(acts, "losses"), v, 4096), 3);
    for (int t = 0; t < 3; t++)
        ck_assert_double_eq(v[t], a->losses[t]);
    ck_assert_int_eq(json_numbers(json_member(json, "tokens"), v, 4096), 4);
    ck_assert_int_eq(json_numbers(json_member(json, "losses"), v, 4096), 6);
    json = saved;
}
END_TEST

/* ---- other fragments --------------------------------------------------- */

static char *fragment_text(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = slurp(path, NULL);
    ck_assert_msg(text != NULL, "no fragment %s", name);
    return text;
}

START_TEST(macros_state_the_run)
{
    ck_assert_int_eq(tex_status, 0);
    char *t = fragment_text("macros.tex");
    /* the loss at initialisation of the original notebooks' model (seed 42)
       is 1.8298677505438041, printed to four decimals; e^1.82987 = 6.2331
       (CPython math.exp); ln 6 = 1.791759 */
    static const char *const want[] = {
        "\\newcommand{\\LossInit}{1.8299}", "\\newcommand{\\PerplexityInit}{6.23}",
        "\\newcommand{\\NParams}{3{,}456}", "\\newcommand{\\UniformLoss}{1.7918}",
        "\\newcommand{\\Generated}{I like transformers <EOS>}\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(t, want[i]) != NULL, "macros.tex lacks %s", want[i]);
    free(t);
}
END_TEST

/* The printed form of a macro, "3{,}456", "1.8299", "-2.43\times10^{-3}",
   "10^{-5}", as a number; *ulp gets half a unit of its last printed digit. */
static double printed_number(const char *s, double *ulp)
{
    char buf[64];
    size_t n = 0;
    int decimals = 0, in_frac = 0, e = 0;
    for (; *s && *s != '\\' && *s != '^' && n < 60; s++) {
        if (*s == '{' || *s == ',' || *s == '}')
            continue;                       /* the thousands separator {,} */
        if (*s == '.')
            in_frac = 1;
        else if (in_frac)
            decimals++;
        buf[n++] = *s;
    }
    buf[n] = '\0';
    double x = strtod(buf, NULL);
    if (strncmp(s, "\\times10^{", 10) == 0)
        e = atoi(s + 10);
    if (n == 2 && strncmp(buf, "10", 2) == 0 && s[0] == '^') {   /* 10^{e} */
        x = 1.0;
        e = atoi(s + 2);
    }
    *ulp = 0.5 * pow(10.0, e - decimals);
    return x * pow(10.0, e);
}

START_TEST(the_books_numbers_are_the_records)
{
    /* every statistic the prose quotes is in the record under "stats", its
       exact value in macros.tex is the record's (both %.17g: exact), and
       its printed form is that value rounded to the digits it shows (half
       a unit of the last digit, plus 1e-12 relative for the binary
       rounding of the scaling) */
    ck_assert_int_eq(tex_status, 0);
    char *t = fragment_text("macros.tex");
    const char *stats = json_member(json, "stats");
    ck_assert_ptr_nonnull(stats);
    int n = 0;
    for (const char *p = strstr(t, "\\tgq{"); p; p = strstr(p + 1, "\\tgq{")) {
        char name[64], printed[128];
        int at = 0;
        if (sscanf(p, "\\tgq{%63[A-Za-z0-9_]}{%n", name, &at) != 1 || at == 0)
            continue;
        size_t len = 0;        /* the printed form, up to its matching brace */
        for (int depth = 1; p[at + len] && len < sizeof printed - 1; len++) {
            depth += p[at + len] == '{' ? 1 : p[at + len] == '}' ? -1 : 0;
            if (depth == 0)
                break;
        }
        snprintf(printed, sizeof printed, "%.*s", (int)len, p + at);
        char tail[96];
        snprintf(tail, sizeof tail, "\\runvalue{%s}{", name);
        const char *exact = strstr(p, tail);
        if (!exact || exact > strchr(p, '\n'))
            continue;                       /* a word, not a number */
        const char *rec = json_member(stats, name);
        ck_assert_msg(rec != NULL, "\\%s is not in the record's stats", name);
        double value = strtod(exact + strlen(tail), NULL);
        double recorded = strncmp(rec, "null", 4) == 0 ? NAN : strtod(rec, NULL);
        ck_assert_msg(value == recorded || (isnan(value) && isnan(recorded)),
                      "\\%s: macros.tex %.17g, record %.17g", name, value, recorded);
        if (isnan(value)) {
            ck_assert_msg(strstr(printed, "n/a") != NULL, "\\%s prints %s", name, printed);
        } else {
            double ulp, shown = printed_number(printed, &ulp);
            ck_assert_msg(fabs(shown - value) <= ulp + 1e-12 * fabs(value),
                          "\\%s prints %s for %.17g", name, printed, value);
        }
        n++;
    }
    ck_assert_int_ge(n, 40);
    free(t);
}
END_TEST

/* The largest |a - b| over the numbers of members NAME of objects A and B. */
static double json_max_diff(const char *a, const char *b, const char *name, int *count)
{
    static double x[8192], y[8192];
    int n = json_numbers(json_member(a, name), x, 8192);
    ck_assert_int_eq(json_numbers(json_member(b, name), y, 8192), n);
    double d = 0.0;
    for (int i = 0; i < n; i++)
        d = fmax(d, fabs(x[i] - y[i]));
    *count = n;
    return d;
}

START_TEST(record_statistics_recomputed_from_the_record)
{
    /* three statistics the prose relies on, recomputed here from the
       record's own sets: they are what the record's numbers say (the same
       subtractions of the same doubles: exact) */
    ck_assert_ptr_nonnull(json);
    const char *stats = json_member(json, "stats");
    const char *p0 = json_member(json, "params_init"), *pf = json_member(json, "params_final");
    const char *a0 = json_member(json, "activations"), *af = json_member(json, "activations_final");
    ck_assert(stats && p0 && pf && a0 && af);
    double moved = 0.0;
    int total = 0, n;
    for (int k = 0; k < N_TENSORS; k++) {
        moved = fmax(moved, json_max_diff(p0, pf, param_tensors[k].name, &n));
        total += n;
    }
    ck_assert_int_eq(total, N_PARAMS);
    ck_assert_double_eq(strtod(json_member(stats, "MaxParamMove"), NULL), moved);
    /* the weights above the diagonal are 0 before and after: the largest
       change over all of them is the largest over the visible ones */
    ck_assert_double_eq(strtod(json_member(stats, "AttnMaxChange"), NULL),
                        json_max_diff(a0, af, "weights", &n));
    ck_assert_double_eq(strtod(json_member(stats, "LossInit"), NULL), run->losses[0]);
    /* the moments after one step: m = (1 - beta1) g, v = (1 - beta2) g^2 */
    static double g[4096], m[4096], v[4096];
    for (int k = 0; k < N_TENSORS; k++) {
        const char *name = param_tensors[k].name;
        int c = json_numbers(json_member(json_member(json, "grads"), name), g, 4096);
        ck_assert_int_eq(json_numbers(json_member(json_member(json, "m_step1"), name), m, 4096), c);
        ck_assert_int_eq(json_numbers(json_member(json_member(json, "v_step1"), name), v, 4096), c);
        for (int i = 0; i < c; i++) {
            ck_assert_double_eq(m[i], (1.0 - 0.9) * g[i]);
            ck_assert_double_eq(v[i], (1.0 - 0.999) * g[i] * g[i]);
        }
    }
}
END_TEST

START_TEST(loss_curve_data_is_the_run)
{
    ck_assert_int_eq(tex_status, 0);
    char *t = fragment_text("losses.dat");
    ck_assert(strncmp(t, "step loss\n", 10) == 0);
    const char *p = t + 10;
    for (int s = 0; s <= 100; s++) {
        char *end;
        long step = strtol(p, &end, 10);
        ck_assert_int_eq(step, s);
        double loss = strtod(end, &end);
        ck_assert_double_eq(loss, run->losses[s]);   /* %.17g: exact */
        p = end;
    }
    ck_assert_str_eq(p, "\n");
    free(t);
}
END_TEST

START_TEST(no_temporaries_left)
{
    ck_assert_int_eq(tex_status, 0);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        int ok = e->d_name[0] == '.' || (n > 4 && strcmp(e->d_name + n - 4, ".tex") == 0)
                 || (n > 4 && strcmp(e->d_name + n - 4, ".dat") == 0)
                 || strcmp(e->d_name, "run.json") == 0;
        ck_assert_msg(ok, "unexpected file %s", e->d_name);
    }
    closedir(d);
}
END_TEST

/* ---- failures leave nothing behind ------------------------------------- */

START_TEST(write_json_to_missing_directory_fails)
{
    ck_assert_ptr_nonnull(run);
    char *d = tmpdir_new();
    char path[512];
    snprintf(path, sizeof path, "%s/missing/run.json", d);
    ck_assert_int_eq(write_json(run, path), -1);
    ck_assert_int_eq(dir_entries(d), 0);
    tmpdir_remove(d);
}
END_TEST

START_TEST(write_tex_to_missing_directory_fails)
{
    ck_assert_ptr_nonnull(run);
    char *d = tmpdir_new();
    char path[512];
    snprintf(path, sizeof path, "%s/missing", d);
    ck_assert_int_eq(write_tex(run, path), -1);
    ck_assert_int_eq(dir_entries(d), 0);
    tmpdir_remove(d);
}
END_TEST

START_TEST(write_json_onto_a_directory_fails_cleanly)
{
    /* the temporary is written, then cannot be renamed over a directory:
       the call fails and the temporary is removed */
    ck_assert_ptr_nonnull(run);
    char *d = tmpdir_new();
    char path[512];
    snprintf(path, sizeof path, "%s/sub", d);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_eq(write_json(run, path), -1);
    ck_assert_int_eq(dir_entries(d), 1);
    ck_assert_int_eq(dir_entries(path), 0);
    tmpdir_remove(d);
}
END_TEST

START_TEST(write_tex_blocked_fragment_fails_cleanly)
{
    /* a directory squats on the name of one fragment: that fragment's
       rename fails, the call returns -1, and no temporary file is left;
       whatever else is there is a complete fragment under its own name */
    ck_assert_ptr_nonnull(run);
    char *d = tmpdir_new();
    char path[512];
    snprintf(path, sizeof path, "%s/gradcheck.tex", d);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_eq(write_tex(run, d), -1);
    ck_assert_int_eq(dir_entries(path), 0);
    DIR *dd = opendir(d);
    ck_assert_ptr_nonnull(dd);
    struct dirent *e;
    while ((e = readdir(dd)) != NULL) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.')
            continue;
        ck_assert_msg(n > 4 && (strcmp(e->d_name + n - 4, ".tex") == 0
                                || strcmp(e->d_name + n - 4, ".dat") == 0),
                      "left behind: %s", e->d_name);
    }
    closedir(dd);
    tmpdir_remove(d);
}
END_TEST

Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("outputs");
    tcase_add_unchecked_fixture(tc, report_setup, report_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_design_test(tc, json_written_and_well_formed);
    tcase_add_design_test(tc, json_scalars_and_sentence);
    tcase_add_test(tc, json_parameter_sets_round_trip);
    tcase_add_test(tc, fragments_print_the_record);
    tcase_add_test(tc, short_sentence_fragments_print_the_record);
    tcase_add_test(tc, short_sentence_record_has_T_rows);
    tcase_add_design_test(tc, macros_state_the_run);
    tcase_add_test(tc, the_books_numbers_are_the_records);
    tcase_add_test(tc, record_statistics_recomputed_from_the_record);
    tcase_add_test(tc, loss_curve_data_is_the_run);
    tcase_add_test(tc, no_temporaries_left);
    suite_add_tcase(s, tc);
    tc = tcase_create("failures");
    tcase_add_unchecked_fixture(tc, failures_setup, NULL);
    tcase_set_timeout(tc, 30);   /* write_tex judges the claims: two gradient checks */
    tcase_add_test(tc, write_json_to_missing_directory_fails);
    tcase_add_test(tc, write_tex_to_missing_directory_fails);
    tcase_add_test(tc, write_json_onto_a_directory_fails_cleanly);
    tcase_add_test(tc, write_tex_blocked_fragment_fails_cleanly);
    suite_add_tcase(s, tc);
    return s;
}
