/* bench/peer_fts5.c — the SQLite FTS5 peer of `make bench`: indexes the
 * corpus paragraphs and runs the query sets (compiled by bench/run.sh with
 * -lsqlite3).
 *
 *   peer_fts5 index DB CORPUS_DIR
 *   peer_fts5 query DB QUERY_DIR REPS COUNTS_FILE
 *
 * Index: CREATE VIRTUAL TABLE t USING fts5(body, content='',
 * tokenize='porter unicode61') — contentless (no copy of the text), full
 * detail (positions, needed for phrases); one transaction; rowid = paragraph
 * number (1-based, corpus order, as bench_util.h enumerates them); then
 * 'optimize' merges the segments into one b-tree, so that the index is as
 * compact and as fast to query as FTS5 can make it. journal_mode=OFF and
 * synchronous=OFF (we measure indexing, not durability), cache_size 64 MB.
 * Prints "docs N input_bytes B insert_s S optimize_s O total_s T".
 *
 * Query: TOP-10 is
 *   SELECT rowid FROM t WHERE t MATCH ?1 ORDER BY bm25(t) LIMIT 10
 * (bm25 with k1 = 1.2, b = 0.75, like usjsearch) and COUNT is
 *   SELECT count(*) FROM t WHERE t MATCH ?1
 * Both statements are prepared once; a query binds its text, steps through
 * the rows and resets. Query text is FTS5 syntax as written by queries.c.
 *
 * index-version: 1   (run.sh keys the cached index on this: bump it when
 *                     the indexing code changes) */
#include <sqlite3.h>

#include "bench_util.h"

typedef struct {
    sqlite3      *db;
    sqlite3_stmt *ins, *top, *cnt;
    uint64_t      docs;
} fts;

static void sql_die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "peer_fts5: %s: %s\n", what, db ? sqlite3_errmsg(db) : "open failed");
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "peer_fts5: %s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

static void add_para(void *ctx, const char *p, size_t len)
{
    fts *f = ctx;
    f->docs++;
    sqlite3_bind_int64(f->ins, 1, (sqlite3_int64)f->docs);
    sqlite3_bind_text(f->ins, 2, p, (int)len, SQLITE_STATIC);
    if (sqlite3_step(f->ins) != SQLITE_DONE)
        sql_die(f->db, "insert");
    sqlite3_reset(f->ins);
}

static int do_index(const char *path, const char *dir)
{
    fts f = {0};
    remove(path);
    if (sqlite3_open(path, &f.db) != SQLITE_OK)
        sql_die(f.db, path);
    double t0 = bu_now_ns();
    exec(f.db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
               "PRAGMA cache_size=-65536;");
    exec(f.db, "CREATE VIRTUAL TABLE t USING fts5(body, content='', "
               "tokenize='porter unicode61')");
    exec(f.db, "BEGIN");
    if (sqlite3_prepare_v2(f.db, "INSERT INTO t(rowid, body) VALUES(?1, ?2)", -1,
                           &f.ins, NULL) != SQLITE_OK)
        sql_die(f.db, "prepare insert");
    uint64_t bytes = bu_each_para(dir, add_para, &f);
    sqlite3_finalize(f.ins);
    exec(f.db, "COMMIT");
    double t1 = bu_now_ns();
    exec(f.db, "INSERT INTO t(t) VALUES('optimize')");
    double t2 = bu_now_ns();
    if (sqlite3_close(f.db) != SQLITE_OK)
        sql_die(f.db, "close");
    double t3 = bu_now_ns();
    printf("docs %llu input_bytes %llu insert_s %.3f optimize_s %.3f total_s %.3f\n",
           (unsigned long long)f.docs, (unsigned long long)bytes, (t1 - t0) / 1e9,
           (t2 - t1) / 1e9, (t3 - t0) / 1e9);
    return 0;
}

static uint64_t run_top(void *ctx, const char *q)
{
    fts *f = ctx;
    uint64_t n = 0;
    int rc;
    sqlite3_bind_text(f->top, 1, q, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(f->top)) == SQLITE_ROW) {
        volatile sqlite3_int64 id = sqlite3_column_int64(f->top, 0);
        (void)id;
        n++;
    }
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "peer_fts5: [%s]: %s\n", q, sqlite3_errmsg(f->db));
        exit(1);
    }
    sqlite3_reset(f->top);
    return n;
}

static uint64_t run_count(void *ctx, const char *q)
{
    fts *f = ctx;
    uint64_t n = 0;
    sqlite3_bind_text(f->cnt, 1, q, -1, SQLITE_STATIC);
    if (sqlite3_step(f->cnt) != SQLITE_ROW) {
        fprintf(stderr, "peer_fts5: [%s]: %s\n", q, sqlite3_errmsg(f->db));
        exit(1);
    }
    n = (uint64_t)sqlite3_column_int64(f->cnt, 0);
    sqlite3_reset(f->cnt);
    return n;
}

static int do_query(const char *path, const char *qdir, int reps, const char *counts)
{
    fts f = {0};
    if (sqlite3_open_v2(path, &f.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        sql_die(f.db, path);
    exec(f.db, "PRAGMA cache_size=-262144");
    if (sqlite3_prepare_v2(f.db, "SELECT rowid FROM t WHERE t MATCH ?1 "
                                 "ORDER BY bm25(t) LIMIT 10", -1, &f.top, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(f.db, "SELECT count(*) FROM t WHERE t MATCH ?1", -1,
                           &f.cnt, NULL) != SQLITE_OK)
        sql_die(f.db, "prepare");
    bu_qset sets[BU_NTYPES];
    bu_load_queries(sets, qdir, reps);
    bu_run(sets, reps, run_top, run_count, &f);
    bu_report(sets, reps, counts);
    bu_free_queries(sets);
    sqlite3_finalize(f.top);
    sqlite3_finalize(f.cnt);
    sqlite3_close(f.db);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "index"))
        return do_index(argv[2], argv[3]);
    if (argc == 6 && !strcmp(argv[1], "query")) {
        int reps = atoi(argv[4]);
        if (reps < 1 || reps > 1000)
            reps = 1;
        return do_query(argv[2], argv[3], reps, argv[5]);
    }
    fprintf(stderr, "usage: peer_fts5 index DB CORPUS_DIR\n"
                    "       peer_fts5 query DB QUERY_DIR REPS COUNTS_FILE\n");
    return 2;
}
