/* client/main.c — usjsearch: options, asking a running usjsearchd (or
 * opening the index file itself), printing hits in the chosen format, and
 * query errors with a caret under the column. Exit status like grep: 0 when
 * something matched, 1 when nothing did, 2 on any error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utf8proc.h>

#include "usj/usj.h"

#define EXIT_MATCH   0
#define EXIT_NOMATCH 1
#define EXIT_ERROR   2
/* How long to wait for a daemon before reading the index file ourselves. */
#define CLIENT_CONNECT_MS 200u
/* Query context shown around an error column (bytes). */
#define CARET_BEFORE 60u
#define CARET_AFTER  30u
/* Longest path handled (lib/limits.h shadows <limits.h> here). */
#define CLIENT_PATH_MAX 4096

static const char usage_text[] =
"usage: usjsearch [options] QUERY...\n"
"Search the paragraphs of an index built by usjindex; the QUERY arguments\n"
"are joined with spaces.\n"
"\n"
"Query language (docs/QUERY.md):\n"
"  tariff steel        both words (AND); words are stemmed: tariffs = tariff\n"
"  steel OR aluminum   either (also |); OR binds tighter: a b OR c = a (b OR c)\n"
"  -word, NOT word     exclude;  ( ... ) groups\n"
"  \"safety clause\"     exact phrase (stemmed words at consecutive positions);\n"
"                      U.S.-Japan, F-150 are phrases of their parts\n"
"  semicond*           prefix (at most 128 most frequent dictionary terms)\n"
"  $500b..$600b $1t.. ..$20b   money (k m b bn t tn suffixes)\n"
"  30%..40%  <5%       percent;  2027..2028, 1m..2m, >2000: counts and years\n"
"  year:2025..2027 money:..5e9 percent:10.. count:1000..   explicit type\n"
"  file:GLOB           path (or basename) matches the glob\n"
"  title:word          the article title has the word (title:\"a phrase\")\n"
"Ranking: BM25 (k1 1.2, b 0.75) over paragraphs; ranges, file: and title:\n"
"filter without scoring; ties in corpus order.\n"
"\n"
"Options:\n"
"  -n, --limit N       hits to show (default 10, at most 10000 with --offset)\n"
"      --offset N      skip the first N hits\n"
"  -c, --count         print the number of matching paragraphs only\n"
"      --total-upto N  count matches exactly up to N only, then skip what\n"
"                      cannot be in the hits: faster; the JSON summary says\n"
"                      \"total_exact\": false when total is a lower bound\n"
"                      (default 0: exact)\n"
"      --index PATH    index file (default: $USJ_INDEX, else .usjsearch.idx\n"
"                      in this folder or the nearest parent)\n"
"      --vimgrep       path:line:column:text (like rg --vimgrep)\n"
"      --json          JSON Lines: one object per hit, then a summary\n"
"      --color WHEN    auto (default), always, never; NO_COLOR is honoured\n"
"      --heading, --no-heading   title lines in plain output (default on)\n"
"      --absolute      print absolute paths\n"
"      --explain       show the score breakdown of each hit\n"
"      --timeout MS    give up after MS milliseconds (default 5000)\n"
"      --server ADDR   ask the usjsearchd at ADDR (unix:PATH or HOST:PORT)\n"
"      --no-server     always read the index file\n"
"  -h, --help          this help;  --version   the version\n"
"Exit status: 0 matches, 1 no match, 2 error.\n";

enum {
    O_OFFSET = 256, O_INDEX, O_VIMGREP, O_JSON, O_COLOR, O_ABSOLUTE,
    O_EXPLAIN, O_TIMEOUT, O_SERVER, O_NOSERVER, O_VERSION, O_HEADING,
    O_NOHEADING, O_TOTAL_UPTO
};

static const struct option long_opts[] = {
    {"limit", required_argument, NULL, 'n'},
    {"offset", required_argument, NULL, O_OFFSET},
    {"count", no_argument, NULL, 'c'},
    {"total-upto", required_argument, NULL, O_TOTAL_UPTO},
    {"index", required_argument, NULL, O_INDEX},
    {"vimgrep", no_argument, NULL, O_VIMGREP},
    {"json", no_argument, NULL, O_JSON},
    {"color", required_argument, NULL, O_COLOR},
    {"colour", required_argument, NULL, O_COLOR},
    {"heading", no_argument, NULL, O_HEADING},
    {"no-heading", no_argument, NULL, O_NOHEADING},
    {"absolute", no_argument, NULL, O_ABSOLUTE},
    {"explain", no_argument, NULL, O_EXPLAIN},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"server", required_argument, NULL, O_SERVER},
    {"no-server", no_argument, NULL, O_NOSERVER},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, O_VERSION},
    {NULL, 0, NULL, 0}
};

typedef struct cli {
    usj_search_opts sopts;
    usj_fmt_opts    fopts;
    int             count;
    int             no_server;
    int             heading;
    const char     *index;
    const char     *server;
    const char     *color;
} cli;

static int die(const char *fmt, const char *arg)
{
    fprintf(stderr, "usjsearch: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return EXIT_ERROR;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    if (!s[0] || s[0] == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Display width of q[a..b) on a terminal (invalid bytes count one). */
static size_t display_width(const char *q, size_t a, size_t b)
{
    size_t w = 0;
    while (a < b) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)q + a,
                                              (utf8proc_ssize_t)(b - a), &cp);
        if (n <= 0) {
            w++;
            a++;
            continue;
        }
        int cw = utf8proc_charwidth(cp);
        w += cw > 0 ? (size_t)cw : (cp < 0x20 ? 1 : 0);
        a += (size_t)n;
    }
    return w;
}

static void put_visible(FILE *f, const char *q, size_t a, size_t b)
{
    for (size_t i = a; i < b; i++) {
        unsigned char c = (unsigned char)q[i];
        fputc(c < 0x20 || c == 0x7f ? ' ' : (int)c, f);
    }
}

/* "usjsearch: query error at column N: message", the query, a caret. */
static int query_error(int rc, const char *q, size_t len)
{
    int col = usj_error_column();
    if (col <= 0) {
        fprintf(stderr, "usjsearch: query error: %s\n", usj_error_last());
        return EXIT_ERROR;
    }
    fprintf(stderr, "usjsearch: query error at column %d: %s\n", col,
            usj_error_last());
    (void)rc;
    size_t at = (size_t)col - 1;
    if (at > len)
        at = len;
    size_t a = at > CARET_BEFORE ? at - CARET_BEFORE : 0;
    while (a > 0 && a < len && ((unsigned char)q[a] & 0xC0) == 0x80)
        a--;
    size_t b = len - at > CARET_AFTER ? at + CARET_AFTER : len;
    while (b < len && ((unsigned char)q[b] & 0xC0) == 0x80)
        b++;
    fputs("  ", stderr);
    if (a > 0)
        fputs("...", stderr);
    put_visible(stderr, q, a, b);
    if (b < len)
        fputs("...", stderr);
    fputs("\n  ", stderr);
    size_t w = display_width(q, a, at) + (a > 0 ? 3 : 0);
    for (size_t i = 0; i < w; i++)
        fputc(' ', stderr);
    fputs("^\n", stderr);
    return EXIT_ERROR;
}

/* Options may come before or after the query words, but a query word may
 * itself start with '-' (an exclusion: `japan -tariff`). So argv is split
 * first: "--" ends the options; an argument starting with "--", or exactly
 * one of our short options (-n N, -nN, -c, -h), is an option; anything else
 * is query text. opts receives argv[0] and the options, words the rest. */
static void split_args(int argc, char **argv, char **opts, int *nopts,
                       char **words, int *nwords)
{
    int no = 0, nw = 0, only_words = 0;
    opts[no++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_words) {
            words[nw++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            only_words = 1;
        } else if (strncmp(a, "--", 2) == 0) {
            opts[no++] = argv[i];
            const struct option *o;
            size_t l = strcspn(a + 2, "=");
            for (o = long_opts; o->name; o++)
                if (strlen(o->name) == l && strncmp(o->name, a + 2, l) == 0)
                    break;
            if (o->name && o->has_arg == required_argument && !a[2 + l] &&
                i + 1 < argc)
                opts[no++] = argv[++i];
        } else if (strcmp(a, "-c") == 0 || strcmp(a, "-h") == 0) {
            opts[no++] = argv[i];
        } else if (strncmp(a, "-n", 2) == 0) {
            opts[no++] = argv[i];
            if (!a[2] && i + 1 < argc)
                opts[no++] = argv[++i];
        } else {
            words[nw++] = argv[i];
        }
    }
    opts[no] = NULL;
    words[nw] = NULL;
    *nopts = no;
    *nwords = nw;
}

static int parse_args(cli *c, int argc, char **argv)
{
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+n:ch", long_opts, NULL)) != -1) {
        /* only options reach here (split_args) */
        switch (ch) {
        case 'n':
            if (parse_u32(optarg, 10000, &c->sopts.limit))
                return die("bad --limit '%s' (0..10000)", optarg);
            break;
        case O_OFFSET:
            if (parse_u32(optarg, 10000, &c->sopts.offset))
                return die("bad --offset '%s' (0..10000)", optarg);
            break;
        case 'c': c->count = 1; break;
        case O_TOTAL_UPTO: {
            uint32_t n;
            if (parse_u32(optarg, UINT32_MAX, &n))
                return die("bad --total-upto '%s' (0..4294967295)", optarg);
            c->sopts.total_upto = n;
            break;
        }
        case O_INDEX: c->index = optarg; break;
        case O_VIMGREP: c->fopts.format = USJ_FMT_VIMGREP; break;
        case O_JSON: c->fopts.format = USJ_FMT_JSON; break;
        case O_COLOR:
            if (strcmp(optarg, "auto") && strcmp(optarg, "always") &&
                strcmp(optarg, "never"))
                return die("bad --color '%s' (auto, always, never)", optarg);
            c->color = optarg;
            break;
        case O_HEADING: c->heading = 1; break;
        case O_NOHEADING: c->heading = 0; break;
        case O_ABSOLUTE: c->fopts.absolute = 1; break;
        case O_EXPLAIN: c->sopts.explain = c->fopts.explain = 1; break;
        case O_TIMEOUT:
            if (parse_u32(optarg, 86400000u, &c->sopts.timeout_ms) ||
                c->sopts.timeout_ms == 0)
                return die("bad --timeout '%s' (milliseconds, > 0)", optarg);
            break;
        case O_SERVER: c->server = optarg; break;
        case O_NOSERVER: c->no_server = 1; break;
        case 'h':
            fputs(usage_text, stdout);
            return -1;
        case O_VERSION:
            printf("usjsearch %s\n", USJ_VERSION_STRING);
            return -1;
        default:
            if (optopt == 'n')
                return die("%s needs a value", "-n");
            if (optopt)
                fprintf(stderr, "usjsearch: unknown option '-%c'\n", optopt);
            else
                fprintf(stderr, "usjsearch: unknown or incomplete option "
                        "'%s'\n", argv[optind - 1]);
            fputs("usage: usjsearch [options] QUERY...  (--help)\n", stderr);
            return EXIT_ERROR;
        }
    }
    return 0;
}

static char *join_args(int argc, char **argv, size_t *len)
{
    size_t n = 0;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    char *q = malloc(n + 1);
    if (!q)
        return NULL;
    size_t o = 0;
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(argv[i]);
        if (i)
            q[o++] = ' ';
        memcpy(q + o, argv[i], l);
        o += l;
    }
    q[o] = 0;
    *len = o;
    return q;
}

/* Search through a daemon when one answers (and does not turn us away with
 * ERR BUSY), else the index file itself. */
static int run_search(cli *c, const char *index_path, const char *q,
                      size_t qlen, usj_results **res)
{
    if (!c->no_server) {
        usj_remote *rem = NULL;
        int rc = usj_remote_connect(&rem, c->server, index_path,
                                    CLIENT_CONNECT_MS);
        if (rc == 0) {
            rc = usj_remote_search(rem, q, qlen, &c->sopts, res);
            usj_remote_close(rem);
            if (rc != USJ_ENOTFOUND)       /* ENOTFOUND: ERR BUSY */
                return rc;
        } else if (rc != USJ_ENOTFOUND && c->server) {
            return rc;
        }
    }
    struct stat st;
    if (stat(index_path, &st) != 0)
        return usj_error_set(USJ_ENOTFOUND, "no index at %s; build one with "
                             "'usjindex PATH...' (it writes .usjsearch.idx "
                             "here) or name one with --index / USJ_INDEX",
                             index_path);
    usj_index *idx = NULL;
    usj_analyzer *an = NULL;
    usj_query *query = NULL;
    int rc = usj_index_open(&idx, index_path, USJ_OPEN_NOVERIFY);
    if (!rc)
        rc = usj_analyzer_new(&an, 0);
    if (!rc)
        rc = usj_query_parse(&query, q, qlen, an);
    if (!rc)
        rc = usj_search(res, idx, query, &c->sopts);
    usj_query_free(query);
    usj_analyzer_free(an);
    usj_index_unref(idx);
    return rc;
}

static int print_results(cli *c, const usj_results *r)
{
    usj_buf out = USJ_BUF_INIT;
    int rc = 0;
    if (c->count) {
        rc = usj_buf_printf(&out, "%llu\n", (unsigned long long)r->total);
    } else {
        char cwd[CLIENT_PATH_MAX];
        c->fopts.cwd = getcwd(cwd, sizeof cwd);
        c->fopts.root = r->root;
        const char *prev = NULL;
        for (size_t i = 0; i < r->nhits && !rc; i++) {
            const usj_hit *h = &r->hits[i];
            c->fopts.heading = c->heading && c->fopts.format == USJ_FMT_PLAIN &&
                               (!prev || strcmp(prev, h->title ? h->title : ""));
            prev = h->title ? h->title : "";
            rc = usj_fmt_hit(&out, &c->fopts, h);
            if (!rc && out.len > (1u << 16)) {
                fwrite(out.data, 1, out.len, stdout);
                usj_buf_clear(&out);
            }
        }
        if (!rc)
            rc = usj_fmt_summary(&out, &c->fopts, r);
    }
    if (!rc && out.len)
        fwrite(out.data, 1, out.len, stdout);
    usj_buf_free(&out);
    if (rc)
        return die("%s", usj_error_last());
    if (fflush(stdout) != 0)
        return die("cannot write the output: %s", strerror(errno));
    return r->total > 0 ? EXIT_MATCH : EXIT_NOMATCH;
}

int main(int argc, char **argv)
{
    cli c;
    memset(&c, 0, sizeof c);
    c.sopts.limit = 10;
    c.fopts.format = USJ_FMT_PLAIN;
    c.heading = 1;
    c.color = "auto";
    char **opts = calloc((size_t)argc + 1, sizeof *opts);
    char **words = calloc((size_t)argc + 1, sizeof *words);
    if (!opts || !words) {
        free(opts);
        free(words);
        return die("%s", "out of memory");
    }
    int nopts, nwords;
    split_args(argc, argv, opts, &nopts, words, &nwords);
    int rc = parse_args(&c, nopts, opts);
    if (!rc && optind < nopts) {
        /* a stray value (e.g. `--color` given last without its value) */
        rc = die("unexpected argument '%s'", opts[optind]);
    }
    free(opts);
    if (rc) {
        free(words);
        return rc < 0 ? 0 : rc;
    }
    if (nwords == 0) {
        free(words);
        fputs("usjsearch: no query given\n"
              "usage: usjsearch [options] QUERY...  (--help)\n", stderr);
        return EXIT_ERROR;
    }
    if (c.count)
        c.sopts.limit = 0;
    const char *nc = getenv("NO_COLOR");
    if (strcmp(c.color, "always") == 0)
        c.fopts.color = 1;
    else if (strcmp(c.color, "auto") == 0)
        c.fopts.color = isatty(STDOUT_FILENO) && !(nc && nc[0]);
    if (c.fopts.format != USJ_FMT_PLAIN)
        c.fopts.color = 0;
    size_t qlen;
    char *q = join_args(nwords, words, &qlen);
    free(words);
    if (!q)
        return die("%s", "out of memory");
    char index_path[CLIENT_PATH_MAX];
    if (usj_index_locate(index_path, sizeof index_path, c.index)) {
        free(q);
        return die("%s", usj_error_last());
    }
    usj_results *r = NULL;
    rc = run_search(&c, index_path, q, qlen, &r);
    if (rc == USJ_EPARSE || (rc == USJ_ELIMIT && usj_error_column() > 0))
        rc = query_error(rc, q, qlen);
    else if (rc)
        rc = die("%s", usj_error_last());
    else
        rc = print_results(&c, r);
    usj_results_free(r);
    free(q);
    return rc;
}
