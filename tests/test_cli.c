/* test_cli.c -- the command line, through the real program build/tinygpt.

   Every test runs build/tinygpt (the tests run from the repository's root)
   with fork and execv, so that its arguments reach it exactly as written
   here, with no shell in between.  Its standard output and error go to
   files in a temporary directory of their own, its standard input is
   /dev/null, and its umask is set in the child.  The outputs it is asked
   to write go to a second temporary directory, DIR: --json DIR/out.json
   and --tex DIR/tex, an empty directory made beforehand.

   Bad input must end with status 2, nothing on standard output, exactly
   one line on standard error that starts with "tinygpt: " and names the
   option and the offending value (a value is looked for as the program
   quotes it, 'VALUE', so that an empty value or a "0" is really named),
   and no file anywhere in DIR: no out.json, no fragment, no temporary. */
#define _XOPEN_SOURCE 700   /* fork, execv, mkdtemp, umask; posix_openpt, ptsname */
#include "tests.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define TINYGPT "build/tinygpt"
#define MAX_ARGS 24
#define PATH_MAX_LEN 512

/* ------------------------------------------------------------ running it */

typedef struct {
    int exited;        /* 1 if the program exited, 0 if a signal killed it */
    int status;        /* its exit status, or the signal */
    char *out, *err;   /* what it wrote on stdout and stderr */
    size_t out_len, err_len;
    char what[1024];   /* the command line, for messages */
} Result;

/* DIR for the outputs, and a separate directory for stdout and stderr. */
typedef struct {
    char *dir, *io;
    char json[PATH_MAX_LEN];   /* DIR/out.json */
    char tex[PATH_MAX_LEN];    /* DIR/tex, an existing empty directory */
} Area;

static void area_new(Area *a)
{
    a->dir = tmpdir_new();
    a->io = tmpdir_new();
    snprintf(a->json, sizeof a->json, "%s/out.json", a->dir);
    snprintf(a->tex, sizeof a->tex, "%s/tex", a->dir);
    ck_assert_msg(mkdir(a->tex, 0755) == 0, "mkdir %s: %s", a->tex, strerror(errno));
}

static void area_free(Area *a)
{
    tmpdir_remove(a->dir);
    tmpdir_remove(a->io);
    a->dir = a->io = NULL;
}

static void result_free(Result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* Runs build/tinygpt ARGS... (a NULL-terminated list) under umask MASK. */
static void run_tinygpt(const Area *a, mode_t mask, const char *const args[], Result *r)
{
    char *argv[MAX_ARGS + 2];
    int n = 0;
    argv[n++] = (char *)TINYGPT;
    size_t w = (size_t)snprintf(r->what, sizeof r->what, "%s", TINYGPT);
    for (; args[n - 1]; n++) {
        ck_assert_int_lt(n, MAX_ARGS + 1);
        argv[n] = (char *)args[n - 1];
        if (w < sizeof r->what)
            w += (size_t)snprintf(r->what + w, sizeof r->what - w, " '%s'", args[n - 1]);
    }
    argv[n] = NULL;

    ck_assert_msg(access(TINYGPT, X_OK) == 0,
                  "%s is not an executable (run the tests from the repository's root "
                  "after make): %s", TINYGPT, strerror(errno));
    char out_path[PATH_MAX_LEN], err_path[PATH_MAX_LEN];
    snprintf(out_path, sizeof out_path, "%s/stdout", a->io);
    snprintf(err_path, sizeof err_path, "%s/stderr", a->io);

    fflush(NULL);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0 ||
            dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(126);
        close(in);
        close(out);
        close(err);
        umask(mask);
        execv(TINYGPT, argv);
        _exit(127);
    }
    int st;
    pid_t got;
    do
        got = waitpid(pid, &st, 0);
    while (got < 0 && errno == EINTR);
    ck_assert_msg(got == pid, "waitpid: %s", strerror(errno));
    r->exited = WIFEXITED(st);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? WTERMSIG(st) : -1;
    r->out = slurp(out_path, &r->out_len);
    r->err = slurp(err_path, &r->err_len);
    ck_assert_msg(r->out && r->err, "cannot read the output of %s", r->what);
}

/* ------------------------------------------------------------ assertions */

static void assert_exit(const Result *r, int status)
{
    ck_assert_msg(r->exited, "%s was killed by signal %d", r->what, r->status);
    ck_assert_msg(r->status == status, "%s exited with %d, expected %d; stderr: %s",
                  r->what, r->status, status, r->err);
}

static void assert_stdout_empty(const Result *r)
{
    ck_assert_msg(r->out_len == 0, "%s wrote %zu bytes on stdout: %.200s",
                  r->what, r->out_len, r->out);
}

static void assert_stderr_empty(const Result *r)
{
    ck_assert_msg(r->err_len == 0, "%s wrote on stderr: %.200s", r->what, r->err);
}

/* A quiet run that succeeds: status 0, nothing on stdout or stderr, and
   the record it wrote to a.json (malloc'd). */
static char *assert_quiet_success(const Area *a, const Result *r)
{
    assert_exit(r, 0);
    assert_stdout_empty(r);
    assert_stderr_empty(r);
    char *json = slurp(a->json, NULL);
    ck_assert_msg(json != NULL, "%s: no %s", r->what, a->json);
    return json;
}

/* stderr is exactly one line, "tinygpt: ...\n", that contains each of NEEDLES. */
static void assert_one_error_line(const Result *r, const char *const needles[])
{
    ck_assert_msg(r->err_len > 0, "%s wrote nothing on stderr", r->what);
    ck_assert_msg(strlen(r->err) == r->err_len, "%s wrote a NUL byte on stderr", r->what);
    const char *nl = strchr(r->err, '\n');
    ck_assert_msg(nl == r->err + r->err_len - 1,
                  "%s: stderr is not exactly one line ending in a newline: \"%s\"",
                  r->what, r->err);
    ck_assert_msg(strncmp(r->err, "tinygpt: ", 9) == 0,
                  "%s: stderr does not start with \"tinygpt: \": %s", r->what, r->err);
    ck_assert_msg(r->err_len > 10, "%s: the error line says nothing: %s", r->what, r->err);
    for (int i = 0; needles && needles[i]; i++)
        ck_assert_msg(strstr(r->err + 9, needles[i]) != NULL,
                      "%s: the error line does not mention \"%s\": %s",
                      r->what, needles[i], r->err);
}

/* DIR holds nothing but the entries named in KEEP (NULL-terminated; "tex"
   is always kept), and DIR/tex is still empty: no out.json, no fragment,
   no temporary file. */
static void assert_no_outputs(const Area *a, const char *what, const char *const keep[])
{
    struct stat st;
    int json_kept = 0;
    for (int i = 0; keep && keep[i]; i++)
        json_kept |= strcmp(keep[i], "out.json") == 0;
    if (!json_kept)
        ck_assert_msg(lstat(a->json, &st) != 0 && errno == ENOENT,
                      "%s created %s", what, a->json);
    DIR *d = opendir(a->dir);
    ck_assert_msg(d != NULL, "opendir %s: %s", a->dir, strerror(errno));
    struct dirent *e;
    char stray[256] = "";
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, "tex") == 0)
            continue;
        int kept = 0;
        for (int i = 0; keep && keep[i]; i++)
            kept |= strcmp(e->d_name, keep[i]) == 0;
        if (!kept && !*stray)
            snprintf(stray, sizeof stray, "%s", e->d_name);
    }
    closedir(d);
    ck_assert_msg(!*stray, "%s left %s/%s behind", what, a->dir, stray);
    ck_assert_msg(stat(a->tex, &st) == 0 && S_ISDIR(st.st_mode),
                  "%s: %s is no longer a directory", what, a->tex);
    int n = dir_entries(a->tex);
    ck_assert_msg(n == 0, "%s wrote %d entries into %s", what, n, a->tex);
}

/* Does TEXT mention the option OPT as a whole word (so that "--tex" is not
   found inside "--text")? */
static int mentions_option(const char *text, const char *opt)
{
    size_t n = strlen(opt);
    for (const char *p = strstr(text, opt); p; p = strstr(p + 1, opt)) {
        char before = p == text ? ' ' : p[-1], after = p[n];
        int word_before = before == '-' || before == '_' ||
                          (before >= 'a' && before <= 'z') || (before >= 'A' && before <= 'Z');
        int word_after = after == '-' || after == '_' || after == '=' ||
                         (after >= 'a' && after <= 'z') || (after >= 'A' && after <= 'Z');
        if (!word_before && !word_after)
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ bad input */

typedef struct {
    const char *args[4];      /* after --json DIR/out.json --tex DIR/tex */
    const char *needles[3];   /* what the error line must mention */
} BadCase;

static const BadCase bad_cases[] = {
    /* unknown options, a stray argument */
    { { "--bogus" },                    { "--bogus" } },
    { { "-x" },                         { "-x" } },
    { { "--bogus=1" },                  { "--bogus" } },
    { { "stray" },                      { "stray" } },
    /* an ambiguous abbreviation: --tex or --text */
    { { "--te", "x" },                  { "'--te'", "ambiguous" } },
    /* after --, an option is an unexpected argument */
    { { "--", "--steps", "2" },         { "unexpected argument", "'--steps'" } },
    { { "-q=1" },                       { "'-='" } },
    /* a missing value: the option is the last argument, or the next
       argument starts with -- (it is not taken as the value) */
    { { "--steps" },                    { "--steps" } },
    { { "--json" },                     { "--json" } },
    { { "-n" },                         { "--steps", "missing value" } },
    { { "--json", "--quiet" },          { "--json", "missing value" } },
    { { "-j", "--quiet" },              { "--json", "missing value" } },
    { { "--seed", "--" },               { "--seed", "missing value" } },
    /* malformed numbers */
    { { "--steps", "abc" },             { "--steps", "'abc'" } },
    { { "--steps", "10x" },             { "--steps", "'10x'" } },
    { { "--steps", "" },                { "--steps", "''" } },
    { { "--steps", " 5" },              { "--steps", "' 5'" } },
    { { "--steps", "1.5" },             { "--steps", "'1.5'" } },
    { { "--steps", "0x10" },            { "--steps", "'0x10'" } },
    { { "--steps=abc" },                { "--steps", "'abc'" } },
    { { "--steps=" },                   { "--steps", "''" } },
    { { "--seed", "12 " },              { "--seed", "'12 '" } },
    { { "--lr", "abc" },                { "--lr", "'abc'" } },
    /* short forms and abbreviations are named by the long name */
    { { "-n", "abc" },                  { "--steps", "'abc'" } },
    { { "-n0" },                        { "--steps", "'0'" } },
    { { "--st=abc" },                   { "--steps", "'abc'" } },
    { { "-s", "-1" },                   { "--seed", "'-1'" } },
    { { "-l", "0" },                    { "--lr", "'0'" } },
    { { "--weight", "nan" },            { "--weight-decay", "'nan'" } },
    { { "--lr", "" },                   { "--lr", "''" } },
    /* numbers out of range */
    { { "--steps", "0" },               { "--steps", "'0'" } },
    { { "--steps", "-1" },              { "--steps", "'-1'" } },
    { { "--steps", "1000001" },         { "--steps", "'1000001'" } },
    { { "--steps", "99999999999999999999" }, { "--steps", "'99999999999999999999'" } },
    { { "--seed", "-1" },               { "--seed", "'-1'" } },
    { { "--seed", "4294967296" },       { "--seed", "'4294967296'" } },
    { { "--lr", "0" },                  { "--lr", "'0'" } },
    { { "--lr", "-1" },                 { "--lr", "'-1'" } },
    { { "--lr", "nan" },                { "--lr", "'nan'" } },
    { { "--lr", "inf" },                { "--lr", "'inf'" } },
    { { "--lr", "1e400" },              { "--lr", "'1e400'" } },
    { { "--lr", "+inf" },               { "--lr", "'+inf'" } },
    { { "--lr", "-nan" },               { "--lr", "'-nan'" } },
    { { "--lr", "1e-400" },             { "--lr", "'1e-400'" } },   /* rounds to 0 */
    { { "--weight-decay", "-0.1" },     { "--weight-decay", "'-0.1'" } },
    { { "--weight-decay", "nan" },      { "--weight-decay", "'nan'" } },
    { { "--weight-decay", "+nan" },     { "--weight-decay", "'+nan'" } },
    { { "--beta1", "1" },               { "--beta1", "'1'" } },
    { { "--beta1", "-0.1" },            { "--beta1", "'-0.1'" } },
    { { "--beta2", "1.5" },             { "--beta2", "'1.5'" } },
    { { "--beta2=nan" },                { "--beta2", "'nan'" } },
    /* a value given to an option that takes none */
    { { "--quiet=1" },                  { "--quiet" } },
    { { "--gradcheck=yes" },            { "--gradcheck" } },
    { { "--qu=1" },                     { "--quiet" } },
    /* sentences the model cannot take */
    { { "--text", "I like transformer" }, { "--text", "'transformer'" } },
    { { "--text", "I Like" },           { "--text", "'Like'" } },
    { { "--text", "<BOS>" },            { "--text", "'<BOS>'" } },
    { { "--text", "" },                 { "--text" } },
    { { "--text", "   " },              { "--text" } },
    { { "--text=" },                    { "--text" } },
    { { "--text", "I like like transformers" }, { "--text" } },
    /* an empty output name */
    { { "--json=" },                    { "--json" } },
};

#define N_BAD_CASES ((int)(sizeof bad_cases / sizeof bad_cases[0]))

START_TEST(bad_input_is_refused)
{
    const BadCase *c = &bad_cases[_i];
    Area a;
    area_new(&a);
    const char *args[MAX_ARGS] = { "--json", a.json, "--tex", a.tex };
    int n = 4;
    for (int k = 0; k < 4 && c->args[k]; k++)
        args[n++] = c->args[k];
    args[n] = NULL;
    Result r;
    run_tinygpt(&a, 022, args, &r);
    assert_exit(&r, 2);
    assert_stdout_empty(&r);
    assert_one_error_line(&r, c->needles);
    assert_no_outputs(&a, r.what, NULL);
    result_free(&r);
    area_free(&a);
}
END_TEST

/* ------------------------------------------------------------ bad outputs */

/* Runs with --json JSON --tex TEX (and --steps 2, so that a program that
   failed to refuse would not train long) and checks the refusal: stderr
   is exactly "tinygpt: EXPECT\n".  The expected lines are the messages of
   check_outputs, in the chapter "The command-line driver" of tinygpt.nw;
   the system's reason is strerror's, in the C locale both programs run in. */
static void check_bad_output(Area *a, const char *json, const char *tex,
                             const char *expect, const char *const keep[])
{
    const char *args[] = { "--steps", "2", "--json", json, "--tex", tex, NULL };
    Result r;
    run_tinygpt(a, 022, args, &r);
    assert_exit(&r, 2);
    assert_stdout_empty(&r);
    assert_one_error_line(&r, NULL);
    char want[4 * PATH_MAX_LEN];
    snprintf(want, sizeof want, "tinygpt: %s\n", expect);
    ck_assert_msg(strcmp(r.err, want) == 0, "%s: stderr is\n  %s  expected\n  %s",
                  r.what, r.err, want);
    assert_no_outputs(a, r.what, keep);
    result_free(&r);
}

/* DIR/file, a regular file holding "keep me\n"; PATH receives its name. */
static void make_file(const Area *a, char path[PATH_MAX_LEN])
{
    snprintf(path, PATH_MAX_LEN, "%s/file", a->dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("keep me\n", f);
    ck_assert_int_eq(fclose(f), 0);
}

static void assert_file_kept(const char *path)
{
    char *text = slurp(path, NULL);
    ck_assert_msg(text && strcmp(text, "keep me\n") == 0, "%s was changed", path);
    free(text);
}

START_TEST(json_in_missing_directory)
{
    Area a;
    area_new(&a);
    char json[PATH_MAX_LEN], expect[3 * PATH_MAX_LEN];
    snprintf(json, sizeof json, "%s/nowhere/out.json", a.dir);
    snprintf(expect, sizeof expect,
             "--json: cannot write '%s': the directory '%s/nowhere/' does not exist",
             json, a.dir);
    check_bad_output(&a, json, a.tex, expect, NULL);
    area_free(&a);
}
END_TEST

START_TEST(json_names_a_directory)
{
    Area a;
    area_new(&a);
    ck_assert_int_eq(mkdir(a.json, 0755), 0);   /* DIR/out.json is a directory */
    const char *keep[] = { "out.json", NULL };
    char expect[2 * PATH_MAX_LEN];
    snprintf(expect, sizeof expect, "--json: '%s' is a directory", a.json);
    check_bad_output(&a, a.json, a.tex, expect, keep);
    struct stat st;
    ck_assert_msg(stat(a.json, &st) == 0 && S_ISDIR(st.st_mode), "%s was replaced", a.json);
    ck_assert_int_eq(dir_entries(a.json), 0);
    area_free(&a);
}
END_TEST

START_TEST(tex_names_a_missing_directory)
{
    Area a;
    area_new(&a);
    char tex[PATH_MAX_LEN], expect[2 * PATH_MAX_LEN];
    snprintf(tex, sizeof tex, "%s/nowhere", a.dir);
    snprintf(expect, sizeof expect, "--tex: '%s' does not exist", tex);
    check_bad_output(&a, a.json, tex, expect, NULL);
    area_free(&a);
}
END_TEST

START_TEST(tex_names_a_regular_file)
{
    Area a;
    area_new(&a);
    char file[PATH_MAX_LEN], expect[2 * PATH_MAX_LEN];
    make_file(&a, file);
    snprintf(expect, sizeof expect, "--tex: '%s' is not a directory", file);
    const char *keep[] = { "file", NULL };
    check_bad_output(&a, a.json, file, expect, keep);
    assert_file_kept(file);
    area_free(&a);
}
END_TEST

/* A directory nobody can write into, root included: a path through a
   regular file, DIR/file/..., which fails with ENOTDIR.  (A directory
   without write permission would not stop root, and CI runs as root.) */
START_TEST(tex_directory_not_writable)
{
    Area a;
    area_new(&a);
    char file[PATH_MAX_LEN], tex[PATH_MAX_LEN + 8], expect[3 * PATH_MAX_LEN];
    make_file(&a, file);
    snprintf(tex, sizeof tex, "%s/tex", file);
    snprintf(expect, sizeof expect, "--tex: cannot write into '%s': %s", tex,
             strerror(ENOTDIR));
    const char *keep[] = { "file", NULL };
    check_bad_output(&a, a.json, tex, expect, keep);
    assert_file_kept(file);
    area_free(&a);
}
END_TEST

START_TEST(json_directory_not_writable)
{
    Area a;
    area_new(&a);
    char file[PATH_MAX_LEN], json[PATH_MAX_LEN + 16], expect[3 * PATH_MAX_LEN];
    make_file(&a, file);
    snprintf(json, sizeof json, "%s/out.json", file);
    snprintf(expect, sizeof expect, "--json: cannot write '%s': %s", json,
             strerror(ENOTDIR));
    const char *keep[] = { "file", NULL };
    check_bad_output(&a, json, a.tex, expect, keep);
    assert_file_kept(file);
    area_free(&a);
}
END_TEST

/* ------------------------------------------------------------ a diverging run */

START_TEST(diverging_run_exits_1_without_outputs)
{
    Area a;
    area_new(&a);
    const char *args[] = { "--lr", "10", "--json", a.json, "--tex", a.tex, NULL };
    Result r;
    run_tinygpt(&a, 022, args, &r);
    assert_exit(&r, 1);
    assert_stdout_empty(&r);                /* no summary of a failed run */
    const char *needles[] = { "loss", "--lr", NULL };
    assert_one_error_line(&r, needles);
    assert_no_outputs(&a, r.what, NULL);
    result_free(&r);
    area_free(&a);
}
END_TEST

START_TEST(claims_lists_the_false_ones_and_exits_1)
{
    /* one step does not teach the sentence: --claims lists the claims
       that say it was learned, on stdout, writes the outputs asked for,
       and exits 1; run from the repository's root, where tinygpt.nw is */
    Area a;
    area_new(&a);
    const char *args[] = { "--steps", "1", "--claims", "--json", a.json, NULL };
    Result r;
    run_tinygpt(&a, 022, args, &r);
    assert_exit(&r, 1);
    assert_stderr_empty(&r);
    ck_assert_msg(strstr(r.out, "false claim 'learned': ") != NULL, "stdout: %s", r.out);
    ck_assert_msg(strncmp(r.out, "tinygpt.nw:", 11) == 0, "stdout: %s", r.out);
    ck_assert_msg(access(a.json, F_OK) == 0, "%s: no record written", r.what);
    result_free(&r);
    area_free(&a);
}
END_TEST

/* ------------------------------------------------------------ --help, --version */

START_TEST(help_lists_every_option)
{
    static const char *const options[] = {
        "--steps", "--lr", "--weight-decay", "--beta1", "--beta2", "--seed", "--text",
        "--json", "--tex",
        "--gradcheck", "--quiet", "--help", "--version",
        "-n", "-l", "-w", "-s", "-j", "-t", "-g", "-q", "-h", "-V"
    };
    Area a;
    area_new(&a);
    const char *args[] = { "--help", NULL };
    Result r;
    run_tinygpt(&a, 022, args, &r);
    assert_exit(&r, 0);
    assert_stderr_empty(&r);
    ck_assert_msg(strncmp(r.out, "usage:", 6) == 0 || strncmp(r.out, "Usage:", 6) == 0,
                  "--help does not start with a usage line: %.100s", r.out);
    ck_assert_msg(r.out_len > 0 && r.out[r.out_len - 1] == '\n',
                  "--help does not end with a newline");
    for (size_t k = 0; k < sizeof options / sizeof options[0]; k++)
        ck_assert_msg(mentions_option(r.out, options[k]),
                      "--help does not mention %s", options[k]);
    /* the defaults are config_default's */
    Config d;
    config_default(&d);
    char want[4][64];
    snprintf(want[0], sizeof want[0], "--steps N ");
    snprintf(want[1], sizeof want[1], "(default %d)\n", d.steps);
    snprintf(want[2], sizeof want[2], "--seed N ");
    snprintf(want[3], sizeof want[3], "(default %lu)\n", (unsigned long)d.seed);
    for (int k = 0; k < 4; k += 2) {
        const char *line = strstr(r.out, want[k]);
        ck_assert_msg(line != NULL, "--help has no line with %s", want[k]);
        const char *end = strchr(line, '\n'), *def = strstr(line, want[k + 1]);
        ck_assert_msg(def && def < end + 1 && def[strlen(want[k + 1]) - 1] == '\n',
                      "--help: the line of %sdoes not end in %s", want[k], want[k + 1]);
    }
    result_free(&r);
    area_free(&a);
}
END_TEST

START_TEST(version_prints_name_and_version)
{
    Area a;
    area_new(&a);
    const char *args[] = { "--version", NULL };
    Result r;
    run_tinygpt(&a, 022, args, &r);
    assert_exit(&r, 0);
    assert_stderr_empty(&r);
    ck_assert_msg(strncmp(r.out, "tinygpt ", 8) == 0,
                  "--version does not start with \"tinygpt \": %s", r.out);
    const char *v = r.out + 8;
    size_t n = strspn(v, "0123456789.");
    ck_assert_msg(n > 0 && v[0] >= '0' && v[0] <= '9' && strcmp(v + n, "\n") == 0,
                  "--version: not \"tinygpt VERSION\" on one line: \"%s\"", r.out);
    /* the manual page is dated with the same version */
    char *man = slurp("man/tinygpt.1.md", NULL);
    ck_assert_msg(man != NULL, "cannot read man/tinygpt.1.md");
    char footer[64];
    snprintf(footer, sizeof footer, "footer: tinygpt %.*s\n", (int)n, v);
    ck_assert_msg(strstr(man, footer) != NULL,
                  "man/tinygpt.1.md has no line \"%.*s\"", (int)strlen(footer) - 1, footer);
    free(man);
    result_free(&r);
    area_free(&a);
}
END_TEST

/* ------------------------------------------------------------ --steps N, --steps=N */

static const char *const steps_forms[][3] = {
    { "--steps", "2", NULL },
    { "--steps=2", NULL, NULL },
};

START_TEST(steps_both_forms_work)
{
    Area a;
    area_new(&a);
    const char *quiet[4] = { steps_forms[_i][0], steps_forms[_i][1], NULL, NULL };
    quiet[steps_forms[_i][1] ? 2 : 1] = "--quiet";
    Result r;
    run_tinygpt(&a, 022, quiet, &r);
    assert_exit(&r, 0);
    assert_stdout_empty(&r);
    assert_stderr_empty(&r);
    assert_no_outputs(&a, r.what, NULL);    /* nothing written unless asked */
    result_free(&r);

    /* without --quiet, the summary shows that 2 steps were trained */
    run_tinygpt(&a, 022, steps_forms[_i], &r);
    assert_exit(&r, 0);
    assert_stderr_empty(&r);
    ck_assert_msg(strstr(r.out, "loss after 2:") != NULL,
                  "%s: the summary does not report 2 steps:\n%s", r.what, r.out);
    ck_assert_msg(strstr(r.out, "\ngradient check:    not run\n") != NULL,
                  "%s: the summary does not say the check was not run:\n%s", r.what, r.out);
    result_free(&r);
    area_free(&a);
}
END_TEST

/* ------------------------------------------------------------ the limits */

/* The ends of the ranges are accepted, and the seed is not truncated. */
START_TEST(limits_are_accepted)
{
    Area a;
    area_new(&a);
    const char *args[] = { "--steps", "1", "--seed", "4294967295", "--weight-decay", "0",
                           "--text", " like\tI ", "--quiet", "--json", a.json,
                           "--tex", a.tex, NULL };
    Result r;
    run_tinygpt(&a, 022, args, &r);
    char *json = assert_quiet_success(&a, &r);
    ck_assert_msg(strstr(json, "\"seed\": 4294967295,") && strstr(json, "\"steps\": 1,") &&
                  strstr(json, "\"weight_decay\": 0}") && strstr(json, "\"tokens\": [1,4,3,2]"),
                  "%s does not record the options given: %.400s", a.json, json);
    free(json);
    /* the book prints the largest seed, beyond an int, with every separator */
    char path[PATH_MAX_LEN + 16];
    snprintf(path, sizeof path, "%s/macros.tex", a.tex);
    char *macros = slurp(path, NULL);
    ck_assert_msg(macros && strstr(macros, "\\newcommand{\\RunSeed}{4{,}294{,}967{,}295}"),
                  "%s does not print the seed 4294967295 in groups of three", path);
    free(macros);
    result_free(&r);
    area_free(&a);
}
END_TEST

/* ------------------------------------------------------------ a good run */

static const mode_t good_umasks[] = { 022, 027 };

/* Is NAME the name of a fragment, NAME.tex or NAME.dat, and not of a
   temporary file (NAME.tex.XXXXXX)? */
static int is_fragment_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && (strcmp(name + n - 4, ".tex") == 0 || strcmp(name + n - 4, ".dat") == 0);
}

START_TEST(outputs_are_written_with_the_umask)
{
    mode_t mask = good_umasks[_i], want = 0666 & ~mask;
    Area a;
    area_new(&a);
    const char *args[] = { "--steps", "2", "--quiet", "--json", a.json, "--tex", a.tex, NULL };
    Result r;
    run_tinygpt(&a, mask, args, &r);
    assert_exit(&r, 0);
    assert_stdout_empty(&r);
    assert_stderr_empty(&r);

    struct stat st;
    ck_assert_msg(stat(a.json, &st) == 0, "%s: no %s", r.what, a.json);
    ck_assert_msg(S_ISREG(st.st_mode), "%s is not a regular file", a.json);
    ck_assert_msg((st.st_mode & 07777) == want, "%s has mode %04o, expected %04o (umask %04o)",
                  a.json, (unsigned)(st.st_mode & 07777), (unsigned)want, (unsigned)mask);
    size_t len;
    char *json = slurp(a.json, &len);
    ck_assert_msg(json && len > 2 && json[0] == '{', "%s does not hold a JSON object", a.json);
    ck_assert_msg(strstr(json, "\"steps\": 2,") != NULL, "%s does not record 2 steps", a.json);
    free(json);

    /* DIR holds out.json and tex, nothing else */
    DIR *d = opendir(a.dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        ck_assert_msg(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
                      strcmp(e->d_name, "tex") == 0 || strcmp(e->d_name, "out.json") == 0,
                      "stray file %s/%s", a.dir, e->d_name);
    closedir(d);

    /* DIR/tex holds the fragments, each NAME.tex or NAME.dat with the mode
       the umask gives, and no temporary file */
    d = opendir(a.tex);
    ck_assert_ptr_nonnull(d);
    int n = 0, macros = 0, gradcheck_tex = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        ck_assert_msg(is_fragment_name(e->d_name), "stray file %s/%s", a.tex, e->d_name);
        char path[PATH_MAX_LEN + 256];
        snprintf(path, sizeof path, "%s/%s", a.tex, e->d_name);
        ck_assert_msg(stat(path, &st) == 0 && S_ISREG(st.st_mode), "%s is not a file", path);
        ck_assert_msg((st.st_mode & 07777) == want, "%s has mode %04o, expected %04o",
                      path, (unsigned)(st.st_mode & 07777), (unsigned)want);
        ck_assert_msg(st.st_size > 0, "%s is empty", path);
        macros |= strcmp(e->d_name, "macros.tex") == 0;
        gradcheck_tex |= strcmp(e->d_name, "gradcheck.tex") == 0;
    }
    closedir(d);
    ck_assert_msg(n >= 10, "only %d files in %s", n, a.tex);
    ck_assert_msg(macros && gradcheck_tex, "macros.tex or gradcheck.tex missing in %s", a.tex);
    result_free(&r);
    area_free(&a);
}
END_TEST

/* ------------------------------------------------------------ --gradcheck */

/* --gradcheck is part of a run: the table, then the summary, and the
   outputs are written, the record holding the check's errors. */
START_TEST(gradcheck_prints_every_tensor_then_trains)
{
    static const char *const names[] = {
        "E_token", "E_pos", "W_Q", "W_K", "W_V", "W_O", "W1", "b1", "W2", "b2",
        "gamma", "beta", "W_lm"
    };
    enum { N_NAMES = sizeof names / sizeof names[0] };
    Area a;
    area_new(&a);
    const char *args[] = { "--gradcheck", "--steps", "2", "--json", a.json, "-t", a.tex, NULL };
    Result r;
    run_tinygpt(&a, 022, args, &r);
    assert_exit(&r, 0);
    assert_stderr_empty(&r);
    ck_assert_int_eq(N_NAMES, N_TENSORS);
    /* a header line, then one line per tensor that starts with its name and
       ends in "ok", then the summary's 6 lines */
    int lines = 0, seen[N_NAMES] = { 0 };
    for (const char *p = r.out; *p; lines++) {
        const char *nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL, "--gradcheck: the last line has no newline");
        size_t w = strcspn(p, " \n");
        for (int k = 0; k < N_NAMES; k++)
            if (strlen(names[k]) == w && strncmp(p, names[k], w) == 0) {
                seen[k]++;
                ck_assert_msg(lines == k + 1 && nl - p > (long)w + 10 &&
                              strncmp(nl - 3, " ok", 3) == 0,
                              "--gradcheck: bad row %d for %s:\n%s", lines, names[k], r.out);
            }
        p = nl + 1;
    }
    for (int k = 0; k < N_NAMES; k++)
        ck_assert_msg(seen[k] == 1, "--gradcheck: tensor %s has %d rows, expected 1:\n%s",
                      names[k], seen[k], r.out);
    ck_assert_msg(lines == N_NAMES + 1 + 6, "--gradcheck printed %d lines, expected %d:\n%s",
                  lines, N_NAMES + 7, r.out);
    ck_assert_msg(strstr(r.out, "\nparameters: ") && strstr(r.out, "\nloss after 2: ") &&
                  strstr(r.out, "\ngradient check:    passed\n"),
                  "--gradcheck: no summary of a passed check:\n%s", r.out);
    /* the record holds the check: the relative error of W_Q is not zero */
    char *json = slurp(a.json, NULL);
    ck_assert_msg(json != NULL, "%s: no %s", r.what, a.json);
    const char *wq = strstr(json, "\"W_Q\": {\"max_grad\": ");
    ck_assert_msg(wq && strncmp(wq + strlen("\"W_Q\": {\"max_grad\": "), "0,", 2) != 0,
                  "%s does not record the check of W_Q", a.json);
    free(json);
    char frag[PATH_MAX_LEN + 32];
    snprintf(frag, sizeof frag, "%s/gradcheck.tex", a.tex);
    ck_assert_msg(access(frag, F_OK) == 0, "%s: no %s", r.what, frag);
    result_free(&r);
    area_free(&a);
}
END_TEST

/* ------------------------------------------------------------ short options */

/* Each way of writing the same options gives the same record, byte for
   byte, as the long options written out in full. */
static const char *const same_options[][14] = {
    { "--steps", "2", "--seed", "7", "--lr", "0.002", "--weight-decay", "0",
      "--text", "like I", "--quiet", "--json", NULL },
    { "-n", "2", "-s", "7", "-l", "0.002", "-w", "0", "--text", "like I", "-q", "-j", NULL },
    { "-n2", "-s7", "-l0.002", "-w0", "--text=like I", "-qj", NULL },
    { "--ste", "2", "--se=7", "--l", "0.002", "--w", "0", "--text", "like I", "--qu",
      "--js", NULL },
    { "--steps=2", "--seed", "7", "--lr=0.002", "--weight-decay=0", "--text", "like I",
      "--quiet", "--json", NULL },
};
enum { N_SAME = sizeof same_options / sizeof same_options[0] };

START_TEST(short_options_and_abbreviations_work)
{
    Area a;
    area_new(&a);
    char *want = NULL;
    for (int v = 0; v < N_SAME; v++) {
        const char *args[MAX_ARGS];
        int n = 0;
        for (; same_options[v][n]; n++)
            args[n] = same_options[v][n];
        args[n++] = a.json;           /* the value of --json, -j, -qj, --js */
        if (v == N_SAME - 1)
            args[n++] = "--";         /* -- ends the options */
        args[n] = NULL;
        Result r;
        run_tinygpt(&a, 022, args, &r);
        char *json = assert_quiet_success(&a, &r);
        ck_assert_int_eq(unlink(a.json), 0);
        if (!want) {
            ck_assert_msg(strstr(json, "\"seed\": 7,") && strstr(json, "\"steps\": 2,") &&
                          strstr(json, "\"tokens\": [1,4,3,2]"),
                          "%s does not record the options given: %.300s", a.json, json);
            want = json;
        } else {
            ck_assert_msg(strcmp(json, want) == 0, "%s: another record than the long options'",
                          r.what);
            free(json);
        }
        result_free(&r);
    }
    free(want);
    area_free(&a);
}
END_TEST

/* ------------------------------------------------------------ progress */

/* A run of 40000 steps took 2.3 s of CPU time on the machine these tests
   were written on (time build/tinygpt --steps 40000 --quiet), more than
   the second after which progress is shown. */
#define LONG_STEPS "40000"

/* Runs build/tinygpt ARGS with its stderr on a pseudo-terminal and its
   stdout on /dev/null; returns what the terminal received (to free) and
   the exit status. */
static char *run_on_terminal(const char *const args[], int *status)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_msg(master >= 0, "posix_openpt: %s", strerror(errno));
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    ck_assert_msg(slave >= 0, "open %s: %s", ptsname(master), strerror(errno));
    char *argv[MAX_ARGS + 2] = { (char *)TINYGPT };
    for (int n = 0; args[n]; n++)
        argv[n + 1] = (char *)args[n];
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(slave, 2) < 0)
            _exit(126);
        execv(TINYGPT, argv);
        _exit(127);
    }
    close(slave);   /* the master reads EIO once the child's copy is closed */
    size_t len = 0, cap = 4096;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    for (;;) {
        if (len + 1 == cap)
            ck_assert_ptr_nonnull(text = realloc(text, cap *= 2));
        ssize_t got = read(master, text + len, cap - len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    text[len] = '\0';
    close(master);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return text;
}

/* On a terminal a long run shows lines "\rstep S/N  loss ...  remaining ..."
   that it erases at the end ("\r\033[K", the last thing written), and never
   ends a line; with --quiet it shows nothing. */
START_TEST(progress_is_shown_on_a_terminal_only)
{
    const char *loud[] = { "--steps", LONG_STEPS, NULL };
    int status;
    char *text = run_on_terminal(loud, &status);
    ck_assert_int_eq(status, 0);
    ck_assert_msg(strstr(text, "\rstep ") && strstr(text, "/" LONG_STEPS "  loss ") &&
                  strstr(text, "  remaining "), "no progress on the terminal: \"%s\"", text);
    size_t len = strlen(text);
    ck_assert_msg(len >= 4 && strcmp(text + len - 4, "\r\033[K") == 0,
                  "the progress line is not erased at the end: \"%s\"", text);
    ck_assert_msg(!strchr(text, '\n'), "the progress ends a line: \"%s\"", text);
    free(text);

    const char *quiet[] = { "--steps", LONG_STEPS, "--quiet", NULL };
    text = run_on_terminal(quiet, &status);
    ck_assert_int_eq(status, 0);
    ck_assert_msg(!*text, "--quiet wrote on the terminal: \"%s\"", text);
    free(text);

    /* stderr on a file: nothing either */
    Area a;
    area_new(&a);
    Result r;
    run_tinygpt(&a, 022, loud, &r);
    assert_exit(&r, 0);
    assert_stderr_empty(&r);
    result_free(&r);
    area_free(&a);
}
END_TEST

Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("bad input");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, bad_input_is_refused, 0, N_BAD_CASES);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad outputs");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, json_in_missing_directory);
    tcase_add_test(tc, json_names_a_directory);
    tcase_add_test(tc, tex_names_a_missing_directory);
    tcase_add_test(tc, tex_names_a_regular_file);
    tcase_add_test(tc, tex_directory_not_writable);
    tcase_add_test(tc, json_directory_not_writable);
    suite_add_tcase(s, tc);

    tc = tcase_create("runs");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, diverging_run_exits_1_without_outputs);
    tcase_add_test(tc, claims_lists_the_false_ones_and_exits_1);
    tcase_add_test(tc, help_lists_every_option);
    tcase_add_test(tc, version_prints_name_and_version);
    tcase_add_test(tc, limits_are_accepted);
    tcase_add_loop_test(tc, steps_both_forms_work, 0,
                        (int)(sizeof steps_forms / sizeof steps_forms[0]));
    tcase_add_loop_test(tc, outputs_are_written_with_the_umask, 0,
                        (int)(sizeof good_umasks / sizeof good_umasks[0]));
    tcase_add_test(tc, gradcheck_prints_every_tensor_then_trains);
    tcase_add_test(tc, short_options_and_abbreviations_work);
    suite_add_tcase(s, tc);

    tc = tcase_create("progress");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, progress_is_shown_on_a_terminal_only);
    suite_add_tcase(s, tc);
    return s;
}
