/* indexer/main.c — the usjindex program: options, building the index from
 * files and folders, the final summary, --stats and --check.
 *
 * Exit status: 0 success; 1 index published but some inputs were skipped
 * (unreadable); 2 error (nothing published, the old index untouched). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "indexer.h"
#include "limits.h"
#include "usj/usj.h"

static const char usage[] =
    "usage: usjindex [-o INDEX] [--memory SIZE] [--split auto|line|block]\n"
    "                [--glob PATTERN] [-v] [-q] PATH...\n"
    "       usjindex --stats [INDEX]\n"
    "       usjindex --check [INDEX]\n"
    "\n"
    "Builds the search index of the text files in PATH... (folders are searched\n"
    "recursively for names matching --glob, default '*.txt'; hidden entries are\n"
    "skipped). The index is published atomically: readers see the old or the\n"
    "new file, never a partial one.\n"
    "\n"
    "  -o, --output INDEX  index file; default: $USJ_INDEX, else the nearest\n"
    "                      " USJ_INDEX_DEFAULT_NAME " in this folder or a parent,\n"
    "                      else " USJ_INDEX_DEFAULT_NAME " in this folder\n"
    "  -m, --memory SIZE   memory for postings before spilling sorted runs to\n"
    "                      temporary files (k/m/g suffixes; default 256m)\n"
    "  -s, --split MODE    paragraphs: auto (default), line, block\n"
    "  -g, --glob PATTERN  file names to take in folders (default '*.txt')\n"
    "  -v, --verbose       name each file; progress even when not on a terminal\n"
    "  -q, --quiet         no progress bar and no summary\n"
    "      --stats         print the statistics of an index\n"
    "      --check         verify every checksum and structure of an index\n"
    "  -h, --help          this help\n"
    "      --version       print the version\n"
    "\n"
    "Environment: USJ_INDEX  the default index file;\n"
    "             USJ_INDEX_THREADS  analysis threads (default: one per extra\n"
    "             core; 0 = everything on one thread). The index is the same.\n"
    "\n"
    "Exit status: 0 ok, 1 some inputs skipped (index written), 2 error (no index\n"
    "written; an existing index is left untouched).\n";

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    double mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1024.0; end++; break;
    case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
    case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end == 'i')
        end++;
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end || v * mul > (double)SIZE_MAX / 2)
        return -1;
    *out = (size_t)(v * mul);
    return 0;
}

static void human(char *buf, size_t n, double bytes)
{
    if (bytes >= 1e9)
        snprintf(buf, n, "%.2f GB", bytes / 1e9);
    else if (bytes >= 1e6)
        snprintf(buf, n, "%.1f MB", bytes / 1e6);
    else
        snprintf(buf, n, "%.1f KB", bytes / 1e3);
}

static int open_index(const char *arg, usj_index **idx, unsigned flags)
{
    char path[4096];
    if (usj_index_locate(path, sizeof path, arg) != 0) {
        fprintf(stderr, "usjindex: %s\n", usj_error_last());
        return 2;
    }
    if (usj_index_open(idx, path, flags) != 0) {
        fprintf(stderr, "usjindex: %s\n", usj_error_last());
        return 2;
    }
    return 0;
}

static int do_stats(const char *arg)
{
    usj_index *idx;
    int rc = open_index(arg, &idx, USJ_OPEN_NOVERIFY);
    if (rc)
        return rc;
    usj_index_stats s;
    usj_index_stats_get(idx, &s);
    char a[32], b[32], created[64];
    time_t t = (time_t)s.created;
    struct tm tm;
    strftime(created, sizeof created, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
    human(a, sizeof a, (double)s.input_bytes);
    human(b, sizeof b, (double)s.file_bytes);
    printf("index:        %s\n", s.path);
    printf("format:       version %u\n", s.version);
    printf("created:      %s\n", created);
    printf("root:         %s\n", s.root);
    printf("files:        %u\n", s.files);
    printf("paragraphs:   %u\n", s.docs);
    printf("terms:        %llu\n", (unsigned long long)s.terms);
    printf("postings:     %llu\n", (unsigned long long)s.postings);
    printf("positions:    %llu\n", (unsigned long long)s.positions);
    printf("total length: %llu tokens (average %.2f per paragraph)\n",
           (unsigned long long)s.total_length, s.avg_length);
    printf("numbers:     ");
    for (int i = 0; i < USJ_NUM_NTYPES; i++)
        printf(" %s %llu", usj_numtype_name((usj_numtype)i), (unsigned long long)s.numbers[i]);
    printf("\n");
    printf("input:        %s (%llu bytes)\n", a, (unsigned long long)s.input_bytes);
    printf("index size:   %s (%llu bytes, %.3f x input)\n", b,
           (unsigned long long)s.file_bytes,
           s.input_bytes ? (double)s.file_bytes / s.input_bytes : 0.0);
    printf("sections:\n");
    for (uint32_t i = 0; i < s.nsections; i++)
        printf("  %-10s %12llu bytes  %5.1f%%\n", s.section_names[i],
               (unsigned long long)s.section_bytes[i],
               100.0 * s.section_bytes[i] / (double)s.file_bytes);
    usj_index_unref(idx);
    return 0;
}

static int do_check(const char *arg)
{
    usj_index *idx;
    int rc = open_index(arg, &idx, 0);
    if (rc)
        return rc;
    if (usj_index_check(idx) != 0) {
        usj_index_stats s0;
        usj_index_stats_get(idx, &s0);
        fprintf(stderr, "usjindex: %s: %s\n", s0.path, usj_error_last());
        usj_index_unref(idx);
        return 2;
    }
    usj_index_stats s;
    usj_index_stats_get(idx, &s);
    printf("%s: ok (%u file%s, %u paragraph%s, %llu terms)\n", s.path, s.files,
           s.files == 1 ? "" : "s", s.docs, s.docs == 1 ? "" : "s",
           (unsigned long long)s.terms);
    usj_index_unref(idx);
    return 0;
}

/* Read a whole file: mmap when possible. */
static int load_file(const char *path, char **data, size_t *len, int *mapped)
{
    *data = NULL;
    *len = 0;
    *mapped = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (!errno)
            errno = EINVAL;
        close(fd);
        return -1;
    }
    if (sb.st_size == 0) {
        close(fd);
        return 0;
    }
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m != MAP_FAILED) {
        madvise(m, (size_t)sb.st_size, MADV_SEQUENTIAL);
        close(fd);
        /* probe the first byte so an unreadable file fails here */
        *data = m;
        *len = (size_t)sb.st_size;
        *mapped = 1;
        return 0;
    }
    char *buf = malloc((size_t)sb.st_size);
    size_t got = 0;
    while (buf && got < (size_t)sb.st_size) {
        ssize_t k = read(fd, buf + got, (size_t)sb.st_size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    int e = errno;
    close(fd);
    if (!buf || got == 0) {
        free(buf);
        errno = buf ? e : ENOMEM;
        return -1;
    }
    *data = buf;
    *len = got;
    return 0;
}

int main(int argc, char **argv)
{
    enum { OPT_STATS = 256, OPT_CHECK, OPT_VERSION };
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"memory", required_argument, 0, 'm'},
        {"split", required_argument, 0, 's'},  {"glob", required_argument, 0, 'g'},
        {"verbose", no_argument, 0, 'v'},      {"quiet", no_argument, 0, 'q'},
        {"stats", no_argument, 0, OPT_STATS},  {"check", no_argument, 0, OPT_CHECK},
        {"help", no_argument, 0, 'h'},         {"version", no_argument, 0, OPT_VERSION},
        {0, 0, 0, 0}};
    const char *output = NULL, *glob = "*.txt";
    size_t memory = 0;
    int split = USJ_SPLIT_AUTO, verbose = 0, quiet = 0, mode = 0, c;
    while ((c = getopt_long(argc, argv, "o:m:s:g:vqh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'm':
            if (parse_size(optarg, &memory) != 0 || memory < USJ_MIN_MEMORY) {
                fprintf(stderr, "usjindex: bad --memory '%s' (a size such as 512m; at least %uk)\n",
                        optarg, USJ_MIN_MEMORY / 1024);
                return 2;
            }
            break;
        case 's':
            if ((split = usj_split_parse(optarg)) < 0) {
                fprintf(stderr, "usjindex: bad --split '%s' (auto, line or block)\n", optarg);
                return 2;
            }
            break;
        case 'g': glob = optarg; break;
        case 'v': verbose = 1; break;
        case 'q': quiet = 1; break;
        case OPT_STATS: case OPT_CHECK: mode = c; break;
        case 'h': fputs(usage, stdout); return 0;
        case OPT_VERSION: printf("usjindex %s (index format %u)\n", USJ_VERSION_STRING, 1u); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (mode) {
        if (argc - optind > 1) {
            fputs(usage, stderr);
            return 2;
        }
        const char *arg = optind < argc ? argv[optind] : output;
        return mode == OPT_STATS ? do_stats(arg) : do_check(arg);
    }
    if (optind >= argc) {
        fprintf(stderr, "usjindex: no input (give files or folders to index)\n");
        fputs(usage, stderr);
        return 2;
    }
    char out[4096];
    if (usj_index_locate(out, sizeof out, output) != 0) {
        fprintf(stderr, "usjindex: %s\n", usj_error_last());
        return 2;
    }
    double t0 = ix_now();
    ix_list files = {0};
    for (int i = optind; i < argc; i++)
        if (ix_walk(&files, argv[i], glob) != 0) {
            fprintf(stderr, "usjindex: out of memory\n");
            return 2;
        }
    int warnings = files.warnings;
    ix_progress pr = {0};
    pr.bar = !quiet && isatty(2);
    pr.verbose = verbose;
    pr.start = t0;
    pr.total_bytes = files.total;
    pr.total_files = files.n;
    usj_writer_opts wo = {0};
    wo.memory_budget = memory;
    wo.split = (usj_split_mode)split;
    wo.progress = ix_progress_cb;
    wo.progress_ctx = &pr;
    usj_writer *w;
    if (usj_writer_open(&w, out, &wo) != 0) {
        fprintf(stderr, "usjindex: %s\n", usj_error_last());
        ix_list_free(&files);
        return 2;
    }
    int status = 0;
    for (size_t i = 0; i < files.n; i++) {
        const char *path = files.v[i].path;
        char *data;
        size_t len;
        int mapped;
        if (load_file(path, &data, &len, &mapped) != 0) {
            ix_progress_clear(&pr);
            fprintf(stderr, "usjindex: warning: cannot read %s: %s (skipped)\n", path,
                    strerror(errno));
            warnings++;
            continue;
        }
        if (verbose) {
            ix_progress_clear(&pr);
            fprintf(stderr, "usjindex: %s (%zu bytes)\n", path, len);
        }
        size_t ninv = 0;
        int rc = usj_writer_add_file(w, path, data ? data : "", len, &ninv);
        if (mapped)
            munmap(data, len);
        else
            free(data);
        if (rc != 0) {
            ix_progress_clear(&pr);
            fprintf(stderr, "usjindex: %s: %s\n", path, usj_error_last());
            status = 2;
            break;
        }
        if (ninv) {
            ix_progress_clear(&pr);
            fprintf(stderr, "usjindex: warning: %s is not valid UTF-8: %zu sequence%s replaced by U+FFFD\n",
                    path, ninv, ninv == 1 ? "" : "s");
        }
    }
    usj_build_stats st;
    if (status == 0 && usj_writer_commit(w, &st) != 0) {
        ix_progress_clear(&pr);
        fprintf(stderr, "usjindex: %s (%s not written)\n", usj_error_last(), out);
        status = 2;
    }
    ix_progress_clear(&pr);
    usj_writer_free(w);
    ix_list_free(&files);
    if (status)
        return status;
    double el = ix_now() - t0;
    if (!quiet) {
        char a[32], b[32];
        human(a, sizeof a, (double)st.input_bytes);
        human(b, sizeof b, (double)st.index_bytes);
        fprintf(stderr, "usjindex: %llu file%s, %llu paragraph%s, %llu terms, %llu postings, %llu positions\n",
                (unsigned long long)st.files, st.files == 1 ? "" : "s",
                (unsigned long long)st.paragraphs, st.paragraphs == 1 ? "" : "s",
                (unsigned long long)st.terms, (unsigned long long)st.postings,
                (unsigned long long)st.positions);
        fprintf(stderr, "usjindex: numbers:");
        for (int i = 0; i < USJ_NUM_NTYPES; i++)
            fprintf(stderr, " %llu %s", (unsigned long long)st.numbers[i],
                    usj_numtype_name((usj_numtype)i));
        fprintf(stderr, "\n");
        fprintf(stderr, "usjindex: input %s, index %s (%.2f x input), %.2f s, %.1f MB/s, "
                        "peak memory %.1f MB, %u run%s spilled\n",
                a, b, st.input_bytes ? (double)st.index_bytes / st.input_bytes : 0.0, el,
                el > 0 ? st.input_bytes / 1e6 / el : 0.0, st.peak_memory / 1e6,
                st.runs_spilled, st.runs_spilled == 1 ? "" : "s");
        if (st.invalid_utf8)
            fprintf(stderr, "usjindex: %llu invalid UTF-8 sequences replaced\n",
                    (unsigned long long)st.invalid_utf8);
        fprintf(stderr, "usjindex: wrote %s\n", out);
    }
    if (warnings) {
        fprintf(stderr, "usjindex: %d input%s skipped\n", warnings, warnings == 1 ? "" : "s");
        return 1;
    }
    return 0;
}
