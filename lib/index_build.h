/* lib/index_build.h — the writer-side encoders of each index section, used by
 * lib/writer.c: postings lists (postings.c), the dictionary (dict.c), stored
 * text blocks (docstore.c) and the numeric index (numidx.c). Internal. */
#ifndef USJ_INDEX_BUILD_H
#define USJ_INDEX_BUILD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "format.h"
#include "spool.h"
#include "usj/buf.h"

/* ---- postings: one term at a time ---- */
typedef struct usj_penc {
    uint32_t  docs[USJ_BLOCK_DOCS_MAX], tfs[USJ_BLOCK_DOCS_MAX];
    uint32_t  n;              /* docs in the open block */
    uint32_t *pos;            /* position gaps of the open block */
    size_t    npos, pos_cap;
    uint32_t  base;           /* next doc gap is doc - base */
    usj_buf   data;           /* encoded blocks of the term */
    usj_buf   skips;          /* skip entries */
    uint8_t  *scratch;
    size_t    scratch_cap;
    uint64_t  pos_bytes;      /* bytes of this term in the positions stream */
    uint32_t  df, max_tf, min_len, blk_max_tf, blk_min_len;
    uint64_t  cf;
    double    avgdl;          /* mean doc length, for the block impacts */
    double    blk_impact;     /* largest BM25 term impact in the open block */
    const uint32_t *doclens;
    usj_spool *posout;
} usj_penc;

/* avgdl: total length / ndocs of the final index (the skip entries' impacts
 * depend on it; the reader computes it the same way). */
void usj_penc_init(usj_penc *e, const uint32_t *doclens, double avgdl,
                   usj_spool *posout);
void usj_penc_begin(usj_penc *e);
/* Add one doc (strictly increasing) with tf positions given as gaps (the
 * first absolute). */
int  usj_penc_add(usj_penc *e, uint32_t doc, uint32_t tf, const uint32_t *gaps);
/* Close the term: write skip table and blocks to out; fill df, cf, max_tf,
 * min_len, len, pos_len of ti (off and pos_off are the caller's). */
int  usj_penc_finish(usj_penc *e, usj_spool *out, usj_term_info *ti);
void usj_penc_free(usj_penc *e);
size_t usj_penc_memory(const usj_penc *e);

/* ---- dictionary ---- */
typedef struct usj_dictw {
    usj_spool *data;          /* block bytes (a temporary spool) */
    usj_buf    index;         /* block index entries */
    uint64_t   nterms;
    uint32_t   nblocks;
    char       prev[USJ_MAX_TERM_BYTES];
    size_t     prev_len;
} usj_dictw;

void usj_dictw_init(usj_dictw *d, usj_spool *data);
/* Terms must come in strictly increasing byte order. */
int  usj_dictw_add(usj_dictw *d, const char *term, size_t len,
                   const usj_term_info *ti);
/* Write the DICT section body (header, index, blocks) to out. */
int  usj_dictw_finish(usj_dictw *d, usj_spool *out);
void usj_dictw_free(usj_dictw *d);

/* ---- stored text ---- */
#define USJ_TEXTW_JOBS    4    /* blocks in flight to the compression threads */
#define USJ_TEXTW_THREADS 2    /* compression threads (1 on two cores) */

typedef struct usj_tjob {
    usj_buf  lens, text, out;  /* the block, and its DEFLATE stream */
    uint32_t first;
    int      state, rc;
    char     msg[256];
} usj_tjob;

typedef struct usj_textw {
    usj_spool *data;          /* where the section goes (the output file) */
    usj_buf    lens, text;    /* the open block */
    uint32_t   first_doc, n;
    usj_buf    entries;       /* {off u64, first_doc u32, ulen u32} */
    uint32_t   nblocks;
    uint64_t   comp_bytes;
    /* the preset dictionary, built from the first USJ_TEXT_DICT_SAMPLE bytes
     * of text, which are held back (sample, their lengths as size_t in
     * sample_lens) until then */
    usj_buf    dict, sample, sample_lens;
    uint32_t   sample_first, sample_n;
    int        dict_ready;
    z_stream   z, zp;         /* inline compression (no threads): the stream
                                 and a copy primed with the dictionary */
    int        zinit, zpinit, zprimed;
    void      *zpool;         /* their allocations (docstore.c) */
    usj_buf    zout;
    /* compression threads and the ring of jobs [head, tail) */
    int        sync;          /* mutex and condition initialised */
    unsigned   nthreads;
    pthread_t  th[USJ_TEXTW_THREADS];
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int        quit;
    usj_tjob   jobs[USJ_TEXTW_JOBS];
    uint64_t   head, tail;
} usj_textw;

/* nthreads compression threads (at most USJ_TEXTW_THREADS; 0: inline). */
int  usj_textw_init(usj_textw *t, usj_spool *data, unsigned nthreads);
int  usj_textw_add(usj_textw *t, uint32_t doc, const char *text, size_t len);
int  usj_textw_flush(usj_textw *t);
/* Flush, wait for the blocks in flight, and end the TEXT section (block
 * table and trailer) in the same file as the blocks. */
int  usj_textw_finish(usj_textw *t, uint32_t ndocs);
void usj_textw_free(usj_textw *t);

/* ---- numbers ---- */
typedef struct usj_wnum {
    int64_t  value;
    uint32_t doc;
    uint32_t type;
} usj_wnum;

void usj_wnum_sort(usj_wnum *v, size_t n);

/* Block encoder of the NUMBERS section; records must come sorted by
 * (type, value, doc). */
typedef struct usj_numw {
    usj_spool *out;
    uint64_t   start;                 /* section start in out */
    int        type;                  /* current type, -1 before the first */
    uint32_t   in_block;
    int64_t    prev;
    uint64_t   count[USJ_NUM_NTYPES], data_off[USJ_NUM_NTYPES], data_len[USJ_NUM_NTYPES];
    usj_buf    index[USJ_NUM_NTYPES];
} usj_numw;

void usj_numw_init(usj_numw *n, usj_spool *out);
int  usj_numw_add(usj_numw *n, const usj_wnum *r);
int  usj_numw_finish(usj_numw *n);     /* block indexes and trailer */
void usj_numw_free(usj_numw *n);
int  usj_wnum_cmp(const usj_wnum *a, const usj_wnum *b);

/* ---- the output file ---- */
typedef struct usj_outfile {
    usj_spool s;
    uint64_t  off[USJ_NSECTIONS], len[USJ_NSECTIONS];
    uint32_t  crc[USJ_NSECTIONS];
} usj_outfile;

/* An unnamed file in dir (O_TMPFILE, else a temporary name). */
int  usj_out_open(usj_outfile *o, const char *dir, const char *path);
/* Pad to 8 and start the CRC of a section / record where it ended. */
int  usj_out_begin(usj_outfile *o);
void usj_out_end(usj_outfile *o, int id, uint64_t start);
/* Write the header, fsync, and move the file to path atomically. */
int  usj_out_publish(usj_outfile *o, const char *dir, const char *path, uint64_t size);
/* Remove "<path>.tmp.<pid>.<n>" names left by builds killed between the
 * link and the rename (their process is gone). Best effort. */
void usj_out_cleanup(const char *dir, const char *path);

#endif
