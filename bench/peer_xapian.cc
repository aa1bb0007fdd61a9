/* bench/peer_xapian.cc — the Xapian peer of `make bench`: indexes the corpus
 * paragraphs and runs the query sets (compiled by bench/run.sh:
 * g++ -O2 bench/peer_xapian.cc -lxapian).
 *
 *   peer_xapian index DBDIR CORPUS_DIR
 *   peer_xapian query DBDIR QUERY_DIR REPS COUNTS_FILE
 *
 * Index: a new glass database; one document per paragraph (docid =
 * paragraph number, 1-based, corpus order, as bench_util.h enumerates them);
 * TermGenerator with Stem("english") and the default STEM_SOME strategy
 * (unstemmed terms with positions plus Z-prefixed stems), index_text() with
 * positions; no document data or values stored (like FTS5 contentless).
 * Xapian's default flush threshold (10 000 documents, XAPIAN_FLUSH_THRESHOLD)
 * is left as is; one commit at the end. The database is built in DBDIR.build
 * and then compacted into DBDIR (Database::compact, what xapian-compact
 * does: the B-trees are left about half full by incremental flushes, and
 * compaction halves the size, so this is Xapian at its most compact, as FTS5
 * after 'optimize'); the build folder is removed. Prints "docs N
 * input_bytes B build_s S compact_s C total_s T".
 *
 * Query: QueryParser with the same stemmer and strategy, the database set
 * (for the stemming of phrases and wildcards), default operator AND, default
 * flags (boolean operators, phrases, +/-). TOP-10 is get_mset(0, 10) (BM25,
 * Xapian's defaults) reading the 10 docids. COUNT must be exact, and
 * get_matches_estimated() is only an estimate unless the matcher has looked at
 * every match: COUNT is get_mset(0, 0, check_at_least = doccount), after
 * which lower bound == upper bound == the exact count (checked here: a
 * mismatch aborts the run).
 *
 * index-version: 1   (run.sh keys the cached index on this: bump it when
 *                     the indexing code above or below changes) */
#include <xapian.h>

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench_util.h"

namespace {

struct ctx_t {
    Xapian::Database    *db;
    Xapian::Enquire     *enq;
    Xapian::QueryParser *qp;
    Xapian::doccount     ndocs;
};

struct index_ctx {
    Xapian::WritableDatabase *db;
    Xapian::TermGenerator    *tg;
    uint64_t                  docs;
};

void add_para(void *c, const char *p, size_t len)
{
    index_ctx *ic = static_cast<index_ctx *>(c);
    Xapian::Document doc;
    ic->tg->set_document(doc);
    ic->tg->index_text(std::string(p, len));
    ic->db->add_document(doc);
    ic->docs++;
}

/* Removes a flat folder of files (a glass database) if it exists. */
void remove_db(const std::string &path)
{
    DIR *d = opendir(path.c_str());
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
            unlink((path + "/" + e->d_name).c_str());
    closedir(d);
    rmdir(path.c_str());
}

int do_index(const char *path, const char *dir)
{
    std::string build = std::string(path) + ".build";
    remove_db(build);
    remove_db(path);
    double t0 = bu_now_ns();
    Xapian::WritableDatabase db(build, Xapian::DB_CREATE_OR_OVERWRITE |
                                           Xapian::DB_BACKEND_GLASS);
    Xapian::TermGenerator tg;
    tg.set_stemmer(Xapian::Stem("english"));
    tg.set_stemming_strategy(Xapian::TermGenerator::STEM_SOME);
    index_ctx ic = {&db, &tg, 0};
    uint64_t bytes = bu_each_para(dir, add_para, &ic);
    db.commit();
    db.close();
    double t1 = bu_now_ns();
    {
        Xapian::Database src(build);
        src.compact(path);
    }
    double t2 = bu_now_ns();
    remove_db(build);
    std::printf("docs %llu input_bytes %llu build_s %.3f compact_s %.3f total_s %.3f\n",
                (unsigned long long)ic.docs, (unsigned long long)bytes, (t1 - t0) / 1e9,
                (t2 - t1) / 1e9, (t2 - t0) / 1e9);
    return 0;
}

Xapian::Query parse(ctx_t *c, const char *q)
{
    return c->qp->parse_query(q, Xapian::QueryParser::FLAG_DEFAULT);
}

uint64_t run_top(void *cv, const char *q)
{
    ctx_t *c = static_cast<ctx_t *>(cv);
    c->enq->set_query(parse(c, q));
    Xapian::MSet m = c->enq->get_mset(0, 10);
    uint64_t n = 0;
    for (Xapian::MSetIterator it = m.begin(); it != m.end(); ++it) {
        volatile Xapian::docid id = *it;
        (void)id;
        n++;
    }
    return n;
}

uint64_t run_count(void *cv, const char *q)
{
    ctx_t *c = static_cast<ctx_t *>(cv);
    c->enq->set_query(parse(c, q));
    Xapian::MSet m = c->enq->get_mset(0, 0, c->ndocs);
    if (m.get_matches_lower_bound() != m.get_matches_upper_bound()) {
        std::fprintf(stderr, "peer_xapian: count of [%s] is not exact (%u..%u)\n", q,
                     m.get_matches_lower_bound(), m.get_matches_upper_bound());
        std::exit(1);
    }
    return m.get_matches_estimated();
}

int do_query(const char *path, const char *qdir, int reps, const char *counts)
{
    Xapian::Database db(path);
    Xapian::Enquire enq(db);
    Xapian::QueryParser qp;
    qp.set_stemmer(Xapian::Stem("english"));
    qp.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
    qp.set_database(db);
    qp.set_default_op(Xapian::Query::OP_AND);
    ctx_t c = {&db, &enq, &qp, db.get_doccount()};
    bu_qset sets[BU_NTYPES];
    bu_load_queries(sets, qdir, reps);
    bu_run(sets, reps, run_top, run_count, &c);
    bu_report(sets, reps, counts);
    bu_free_queries(sets);
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    try {
        if (argc == 4 && !std::strcmp(argv[1], "index"))
            return do_index(argv[2], argv[3]);
        if (argc == 6 && !std::strcmp(argv[1], "query")) {
            int reps = std::atoi(argv[4]);
            if (reps < 1 || reps > 1000)
                reps = 1;
            return do_query(argv[2], argv[3], reps, argv[5]);
        }
    } catch (const Xapian::Error &e) {
        std::fprintf(stderr, "peer_xapian: %s\n", e.get_description().c_str());
        return 1;
    }
    std::fprintf(stderr, "usage: peer_xapian index DBDIR CORPUS_DIR\n"
                         "       peer_xapian query DBDIR QUERY_DIR REPS COUNTS_FILE\n");
    return 2;
}
