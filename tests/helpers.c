/* helpers.c -- fixtures and utilities shared by the tinygpt test suites. */
#define _POSIX_C_SOURCE 200809L   /* mkdtemp, lstat */
#include "tests.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const int sentence_tokens[MAX_SEQ] = { TOK_BOS, 3, 4, 5, TOK_EOS };

void test_rng_seed(TestRng *r, uint64_t seed)
{
    r->s = seed;
}

static uint64_t splitmix64(TestRng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double test_uniform(TestRng *r)
{
    return (double)(splitmix64(r) >> 11) * (1.0 / 9007199254740992.0);
}

double test_sym(TestRng *r)
{
    return 2.0 * test_uniform(r) - 1.0;
}

void test_fill(TestRng *r, double *x, int n, double scale)
{
    for (int i = 0; i < n; i++)
        x[i] = scale * test_sym(r);
}

Model *model_new(void)
{
    Model *m = calloc(1, sizeof *m);
    ck_assert_ptr_nonnull(m);
    return m;
}

Model *model;

void model_setup(void)
{
    model = model_new();
    model_init(model, 42);
}

void model_teardown(void)
{
    free(model);
    model = NULL;
}

/* The configuration of the tests' reference values, set field by field so
   that no test depends on config_default, which a reader may change.  These
   are the settings of the original Python notebooks the book retells:
   random.seed(42) before the weights are drawn, 100 training steps on the
   one sentence "<BOS> I like transformers <EOS>", and AdamW with PyTorch's
   torch.optim.AdamW defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8,
   weight_decay 0.01).  The gradient check is off, as in config_default. */
void config_reference(Config *c)
{
    memset(c, 0, sizeof *c);   /* a field added later starts at 0 */
    c->seed = 42;
    c->steps = 100;
    c->adamw.lr = 1e-3;
    c->adamw.beta1 = 0.9;
    c->adamw.beta2 = 0.999;
    c->adamw.eps = 1e-8;
    c->adamw.weight_decay = 0.01;
    c->T = MAX_SEQ;
    for (int t = 0; t < MAX_SEQ; t++)
        c->tokens[t] = sentence_tokens[t];
    c->gradcheck = 0;
}

Run *run_new(void)
{
    Run *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    config_reference(&r->cfg);
    r->losses = calloc((size_t)r->cfg.steps + 1, sizeof *r->losses);
    if (!r->losses) {
        free(r);
        return NULL;
    }
    return r;
}

void run_free(Run *r)
{
    if (r) {
        free(r->losses);
        free(r);
    }
}

const Run *shared_default_run(void)
{
    static Run *run;
    static int tried;
    if (!tried) {
        tried = 1;
        Model *m = calloc(1, sizeof *m);
        run = run_new();
        if (run)
            run->cfg.gradcheck = 1;   /* test_training.c reads run->gradcheck */
        if (!m || !run || run_experiment(run, m) != 0) {
            run_free(run);
            run = NULL;
        }
        free(m);
    }
    return run;
}

char *tmpdir_new(void)
{
    char *dir = strdup("/tmp/tinygpt-test-XXXXXX");
    ck_assert_ptr_nonnull(dir);
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp failed");
    return dir;
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                size_t n = strlen(path) + strlen(e->d_name) + 2;
                char *sub = malloc(n);
                if (sub) {
                    snprintf(sub, n, "%s/%s", path, e->d_name);
                    remove_tree(sub);
                    free(sub);
                }
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

void tmpdir_remove(char *dir)
{
    if (dir && strncmp(dir, "/tmp/tinygpt-test-", 18) == 0)  /* never anything else */
        remove_tree(dir);
    free(dir);
}

int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        char *bigger = realloc(buf, 2 * cap + 1);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
