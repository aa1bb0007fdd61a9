/* daemon/commands.c — the command table (name -> arguments -> handler ->
 * help) and the handlers. Arity is checked in one place (commands_execute);
 * handlers append their whole answer to w->out (the connection's output:
 * earlier answers may precede it). Wire format: PROTOCOL.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "limits.h"
#include "usj/proto.h"

/* Handler: args is the rest of the line after the command word. */
typedef int (*cmd_fn)(worker *w, const char *args, const char *end);

typedef struct command {
    const char *name;
    int         min_args, max_args;   /* words; max -1 = free text */
    int         is_query;             /* counted in queries and latency;
                                         2: also cacheable (SEARCH, COUNT) */
    cmd_fn      fn;
    const char *usage;
    const char *help;
} command;

static int put_error(worker *w, int code, const char *name, int column,
                     const char *msg)
{
    stats_add(&w->st.errors, 1);
    usj_proto_format_error(&w->out, code, name, column, msg);
    return CMD_CONTINUE;
}

static int put_last_error(worker *w, int code)
{
    return put_error(w, code, NULL, usj_error_column(), usj_error_last());
}

static int run_query(worker *w, const usj_proto_search *ps, int count_only,
                     usj_results **res)
{
    usj_index *idx = worker_index(w);
    usj_query *q = NULL;
    int rc = usj_query_parse(&q, ps->query, ps->query_len, w->an);
    if (rc)
        return rc;
    usj_search_opts o = {
        .limit = count_only ? 0 : ps->limit,
        .offset = count_only ? 0 : ps->offset,
        .timeout_ms = w->srv->set.query_timeout_ms,
        .explain = ps->explain,
        .flags = ps->flags,
        .total_upto = count_only ? 0 : ps->total_upto,
    };
    if (ps->timeout_ms && (o.timeout_ms == 0 || ps->timeout_ms < o.timeout_ms))
        o.timeout_ms = ps->timeout_ms;
    rc = usj_search(res, idx, q, &o);
    usj_query_free(q);
    return rc;
}

static int cmd_search(worker *w, const char *args, const char *end)
{
    usj_proto_search ps;
    if (usj_proto_parse_search(&ps, args, end))
        return put_error(w, USJ_EINVAL, "ARGS", 0, usj_error_last());
    size_t start = w->out.len;     /* earlier answers may precede ours */
    usj_results *r = NULL;
    int rc = run_query(w, &ps, 0, &r);
    if (rc)
        return put_last_error(w, rc);
    rc = usj_proto_format_results_head(&w->out, r);
    for (size_t i = 0; !rc && i < r->nhits; i++)
        rc = usj_proto_format_hit(&w->out, &r->hits[i]);
    if (!rc)
        rc = usj_buf_put(&w->out, ".\n", 2);
    usj_results_free(r);
    if (rc) {
        w->out.len = start;        /* drop the partial answer */
        if (w->out.cap)
            w->out.data[start] = '\0';
        return put_last_error(w, rc);
    }
    return CMD_CONTINUE;
}

static int cmd_count(worker *w, const char *args, const char *end)
{
    usj_proto_search ps;
    memset(&ps, 0, sizeof ps);
    while (args < end && (*args == ' ' || *args == '\t'))
        args++;
    ps.query = args;
    ps.query_len = (size_t)(end - args);
    usj_results *r = NULL;
    int rc = run_query(w, &ps, 1, &r);
    if (rc)
        return put_last_error(w, rc);
    usj_buf_printf(&w->out, "OK %llu\n", (unsigned long long)r->total);
    usj_results_free(r);
    return CMD_CONTINUE;
}

static int cmd_get(worker *w, const char *args, const char *end)
{
    while (args < end && (*args == ' ' || *args == '\t'))
        args++;
    while (end > args && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    const char *colon = NULL;
    for (const char *s = args; s < end; s++)
        if (*s == ':')
            colon = s;
    unsigned long line = 0;
    if (colon && colon + 1 < end && colon - args < 4096) {
        for (const char *s = colon + 1; s < end && line <= UINT32_MAX; s++) {
            if (*s < '0' || *s > '9') {
                line = 0;
                break;
            }
            line = line * 10 + (unsigned long)(*s - '0');
        }
    }
    if (!colon || line == 0 || line > UINT32_MAX)
        return put_error(w, USJ_EINVAL, "ARGS", 0, "usage: GET <path>:<line>");
    char path[4096];
    memcpy(path, args, (size_t)(colon - args));
    path[colon - args] = '\0';
    if (memchr(path, '\0', (size_t)(colon - args)))
        return put_error(w, USJ_ENOTFOUND, NULL, 0, "no such path in the index");
    usj_index *idx = worker_index(w);
    uint32_t doc;
    usj_doc_info di;
    const char *text;
    size_t tlen;
    int rc = usj_index_find_line(idx, path, (uint32_t)line, &doc);
    if (!rc)
        rc = usj_index_doc(idx, doc, &di);
    if (!rc)
        rc = usj_index_text(idx, doc, &w->tc, &text, &tlen);
    if (rc)
        return put_last_error(w, rc);
    usj_hit h;
    memset(&h, 0, sizeof h);
    h.doc = doc;
    h.path = (char *)di.path;
    h.title = (char *)di.title;
    h.line = di.line;
    h.column = 1;
    h.para_line = di.line;
    h.text = (char *)text;
    h.text_len = tlen;
    usj_buf_puts(&w->out, "OK\n");
    usj_proto_format_hit(&w->out, &h);
    usj_buf_put(&w->out, ".\n", 2);
    return CMD_CONTINUE;
}

static int cmd_stats(worker *w, const char *args, const char *end)
{
    (void)args; (void)end;
    server *s = w->srv;
    usj_index *idx = worker_index(w);
    usj_index_stats is;
    usj_index_stats_get(idx, &is);
    uint64_t req = 0, q = 0, err = 0, hits = 0;
    wstats *all[USJ_MAX_THREADS];
    for (unsigned i = 0; i < s->nworkers; i++) {
        all[i] = &s->workers[i].st;
        req += stats_get(&all[i]->requests);
        q += stats_get(&all[i]->queries);
        err += stats_get(&all[i]->errors);
        hits += stats_get(&all[i]->cache_hits);
    }
    usj_buf *o = &w->out;
    usj_buf_puts(o, "OK\n");
    usj_buf_printf(o, "version %s\n", USJ_VERSION_STRING);
    usj_buf_printf(o, "protocol %d\n", USJ_PROTO_VERSION);
    usj_buf_printf(o, "pid %ld\n", (long)getpid());
    usj_buf_printf(o, "uptime_s %llu\n",
                   (unsigned long long)((stats_now_us() - s->start_us) / 1000000));
    usj_buf_printf(o, "threads %u\n", s->nworkers);
    usj_buf_puts(o, "index_path ");
    usj_proto_escape(o, is.path ? is.path : "", is.path ? strlen(is.path) : 0);
    usj_buf_puts(o, "\nroot ");
    usj_proto_escape(o, is.root ? is.root : "", is.root ? strlen(is.root) : 0);
    usj_buf_printf(o, "\nindex_version %u\n", is.version);
    usj_buf_printf(o, "index_bytes %llu\n", (unsigned long long)is.file_bytes);
    usj_buf_printf(o, "index_created %llu\n", (unsigned long long)is.created);
    usj_buf_printf(o, "files %u\n", is.files);
    usj_buf_printf(o, "paragraphs %u\n", is.docs);
    usj_buf_printf(o, "terms %llu\n", (unsigned long long)is.terms);
    usj_buf_printf(o, "postings %llu\n", (unsigned long long)is.postings);
    usj_buf_printf(o, "reloads %llu\n",
                   (unsigned long long)atomic_load(&s->reloads));
    usj_buf_printf(o, "connections_current %llu\n",
                   (unsigned long long)atomic_load(&s->conns_current));
    usj_buf_printf(o, "connections_total %llu\n",
                   (unsigned long long)atomic_load(&s->conns_total));
    usj_buf_printf(o, "connections_rejected %llu\n",
                   (unsigned long long)atomic_load(&s->conns_rejected));
    usj_buf_printf(o, "max_connections %u\n", s->set.max_conns);
    usj_buf_printf(o, "requests %llu\n", (unsigned long long)req);
    usj_buf_printf(o, "queries %llu\n", (unsigned long long)q);
    usj_buf_printf(o, "errors %llu\n", (unsigned long long)err);
    usj_buf_printf(o, "cache_entries %u\n", s->set.cache_entries);
    usj_buf_printf(o, "cache_hits %llu\n", (unsigned long long)hits);
    usj_buf_printf(o, "latency_p50_us %llu\n",
                   (unsigned long long)stats_percentile(all, s->nworkers, 0.50));
    usj_buf_printf(o, "latency_p99_us %llu\n",
                   (unsigned long long)stats_percentile(all, s->nworkers, 0.99));
    usj_buf_put(o, ".\n", 2);
    return CMD_CONTINUE;
}

static int cmd_ping(worker *w, const char *args, const char *end)
{
    (void)args; (void)end;
    usj_buf_puts(&w->out, "OK PONG\n");
    return CMD_CONTINUE;
}

static int cmd_reload(worker *w, const char *args, const char *end)
{
    (void)args; (void)end;
    int rc = server_reload(w->srv);
    if (rc)
        return put_last_error(w, rc);
    usj_index_stats is;
    usj_index_stats_get(worker_index(w), &is);
    usj_buf_printf(&w->out, "OK RELOADED %u paragraphs\n", is.docs);
    return CMD_CONTINUE;
}

static int cmd_quit(worker *w, const char *args, const char *end)
{
    (void)args; (void)end;
    usj_buf_puts(&w->out, "OK BYE\n");
    return CMD_CLOSE;
}

static int cmd_help(worker *w, const char *args, const char *end);

static const command commands[] = {
    { "SEARCH", 0, -1, 2, cmd_search,
      "SEARCH [LIMIT n] [OFFSET n] [EXPLAIN] [NOTEXT] [TIMEOUT ms] [TOTALUPTO n] [--] <query>",
      "ranked hits: OK <returned> <total> <took_us> <root>, hit lines, ." },
    { "COUNT", 0, -1, 2, cmd_count, "COUNT <query>",
      "number of matching paragraphs: OK <total>" },
    { "GET", 1, -1, 1, cmd_get, "GET <path>:<line>",
      "the paragraph holding that line: OK, one hit line, ." },
    { "STATS", 0, 0, 0, cmd_stats, "STATS",
      "index and server statistics: OK, key value lines, ." },
    { "PING", 0, 0, 0, cmd_ping, "PING", "OK PONG" },
    { "RELOAD", 0, 0, 0, cmd_reload, "RELOAD",
      "reopen the index file (the old one serves until it succeeds)" },
    { "HELP", 0, 0, 0, cmd_help, "HELP", "this list: OK, lines, ." },
    { "QUIT", 0, 0, 0, cmd_quit, "QUIT", "OK BYE, then the server closes" },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int cmd_help(worker *w, const char *args, const char *end)
{
    (void)args; (void)end;
    usj_buf_puts(&w->out, "OK\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        usj_buf_printf(&w->out, "%s\t%s\n", commands[i].usage,
                       commands[i].help);
    usj_buf_put(&w->out, ".\n", 2);
    return CMD_CONTINUE;
}

/* Printable ASCII copy of a token for messages (never echo raw bytes). */
static void safe_copy(char *dst, size_t n, const char *src, size_t len)
{
    size_t j = 0;
    for (size_t i = 0; i < len && j + 1 < n; i++)
        dst[j++] = (src[i] > ' ' && src[i] < 0x7f) ? src[i] : '?';
    dst[j] = '\0';
}

int commands_execute(worker *w, const char *line, size_t len)
{
    const char *p = line, *end = line + len, *tok;
    size_t tlen;
    if (!usj_proto_token(&p, end, &tok, &tlen))
        return CMD_CONTINUE;                    /* blank line: no answer */
    stats_add(&w->st.requests, 1);
    const command *cmd = NULL;
    for (size_t i = 0; i < NCOMMANDS && !cmd; i++)
        if (usj_proto_word_is(tok, tlen, commands[i].name))
            cmd = &commands[i];
    char name[40];
    if (!cmd) {
        char msg[80];
        safe_copy(name, sizeof name, tok, tlen);
        snprintf(msg, sizeof msg, "unknown command '%s' (try HELP)", name);
        return put_error(w, USJ_EINVAL, "UNKNOWN", 0, msg);
    }
    if (cmd->max_args >= 0 || cmd->min_args > 0) {
        int n = 0;
        const char *s = p, *t;
        size_t l;
        while (usj_proto_token(&s, end, &t, &l))
            n++;
        if (n < cmd->min_args || (cmd->max_args >= 0 && n > cmd->max_args)) {
            char msg[160];
            snprintf(msg, sizeof msg, "wrong number of arguments, usage: %s",
                     cmd->usage);
            return put_error(w, USJ_EINVAL, "ARGS", 0, msg);
        }
    }
    if (!cmd->is_query)
        return cmd->fn(w, p, end);
    uint64_t t0 = stats_now_us();
    int r = CMD_CONTINUE;
    if (cmd->is_query == 2 && w->cache.nslots) {
        /* same request bytes under the same index: same answer */
        worker_index(w);                     /* sync the generation */
        size_t vlen;
        const char *v = acache_get(&w->cache, w->idx_gen, line, len, &vlen);
        if (v) {
            usj_buf_put(&w->out, v, vlen);
            stats_add(&w->st.cache_hits, 1);
        } else {
            size_t before = w->out.len;
            r = cmd->fn(w, p, end);
            if (w->out.len - before >= 2 &&
                memcmp(w->out.data + before, "OK", 2) == 0)
                acache_put(&w->cache, w->idx_gen, line, len,
                           w->out.data + before, w->out.len - before);
        }
    } else {
        r = cmd->fn(w, p, end);
    }
    stats_add(&w->st.queries, 1);
    stats_latency(&w->st, stats_now_us() - t0);
    return r;
}
