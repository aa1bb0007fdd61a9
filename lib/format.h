/* lib/format.h — the index file format: constants, section ids, little-endian
 * load/store helpers, and the reader's in-memory view (struct usj_index) that
 * reader.c, dict.c, postings.c, docstore.c and numidx.c share.
 *
 * The byte-by-byte layout is documented at the top of lib/writer.c and in
 * docs/FORMAT.md. All fixed-width integers are little-endian; every section
 * starts at an 8-byte aligned offset.
 *
 * Version log:
 *   1  2026-11-21  first format: meta, dict, postings, positions, docs, files,
 *                  text, numbers sections; 128-doc blocks with skip data. */
#ifndef USJ_FORMAT_H
#define USJ_FORMAT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "usj/index.h"

#define USJ_MAGIC          "USJIDX\r\n"   /* 8 bytes; CR LF catch text-mode mangling */
#define USJ_MAGIC_LEN      8u
#define USJ_FORMAT_VERSION 1u

/* Sections, in the order of usj_index_stats.section_bytes. */
enum {
    USJ_SECTION_META = 0,
    USJ_SECTION_DICT,
    USJ_SECTION_POSTINGS,
    USJ_SECTION_POSITIONS,
    USJ_SECTION_DOCS,
    USJ_SECTION_FILES,
    USJ_SECTION_TEXT,
    USJ_SECTION_NUMBERS,
    USJ_NSECTIONS
};

/* Header: magic[8] version u32 flags u32 created u64 file_size u64
 * nsections u32 header_crc u32, then nsections x {off u64, len u64, crc u32,
 * id u32}; padded with zeros to USJ_HEADER_BYTES. */
#define USJ_HEADER_FIXED   40u
#define USJ_SECTION_ENTRY  24u
#define USJ_HEADER_BYTES   256u

/* META section: fixed u64 fields in this order, then root (u32 len, bytes, NUL). */
enum {
    USJ_META_NDOCS = 0, USJ_META_NFILES, USJ_META_NTERMS, USJ_META_POSTINGS,
    USJ_META_POSITIONS, USJ_META_TOTAL_LENGTH, USJ_META_INPUT_BYTES,
    USJ_META_NUM0, /* four counts, one per usj_numtype */
    USJ_META_NFIELDS = USJ_META_NUM0 + USJ_NUM_NTYPES
};

/* DICT: terms per front-coded block, and the fixed block-index entry. */
#define USJ_DICT_BLOCK_TERMS 16u
#define USJ_DICT_HEADER      16u   /* nterms u64, nblocks u32, block_terms u32 */
#define USJ_DICT_ENTRY       24u   /* block off u64, postings base u64, positions base u64 */

/* POSTINGS: skip entry of a list with more than one block. */
#define USJ_SKIP_ENTRY       24u   /* last_doc, doc_off, pos_off, max_tf, min_len (u32),
                                      max impact (f32 bits, see lib/rank.h) */

/* DOCS: header ndocs u32, 0 u32, per column (line, nlines, offset) u64 data
 * offset and u64 group-table offset, then u64 doclens offset (64 bytes).
 * Columns are delta-coded in groups of USJ_DOCS_GROUP docs (see writer.c). */
#define USJ_DOCS_HEADER      64u
#define USJ_DOCS_NCOLS       3u
#define USJ_DOCS_GROUP       64u
#define USJ_DOCS_GENTRY      16u   /* base u64, data offset u32, width u8, 3 zero */
#define USJ_COL_MAX_WIDTH    57u

/* FILES: nfiles u32, pad u32, first_doc u32 x (nfiles+1), pad to 8,
 * string offsets u64 x nfiles (path NUL title NUL), strings. */
/* TEXT: raw DEFLATE blocks, the preset dictionary, entries x (nblocks+1)
 * {off u64, first_doc u32, ulen u32}, trailer {nblocks u32, dict_len u32}
 * (see lib/docstore.c). */
#define USJ_TEXT_ENTRY       16u
#define USJ_TEXT_TRAILER     8u
/* NUMBERS: records per block of the delta-coded tables (see numidx.c). */
#define USJ_NUM_BLOCK        64u

/* ---- little-endian helpers (the format is little-endian everywhere) ---- */

static inline uint32_t usj_ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline uint64_t usj_ld64(const uint8_t *p)
{
    return (uint64_t)usj_ld32(p) | (uint64_t)usj_ld32(p + 4) << 32;
}
static inline void usj_st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void usj_st64(uint8_t *p, uint64_t v)
{
    usj_st32(p, (uint32_t)v);
    usj_st32(p + 4, (uint32_t)(v >> 32));
}

/* Value k of a bit-packed column of width w (w <= USJ_COL_MAX_WIDTH); the
 * column must have 8 readable bytes past its last value (checked on open). */
static inline uint64_t usj_col_get(const uint8_t *col, unsigned w, uint64_t k)
{
    if (w == 0)
        return 0;
    uint64_t bit = k * w;
    uint64_t v = usj_ld64(col + bit / 8) >> (bit % 8);
    return v & ((w == 64 ? 0 : (UINT64_C(1) << w)) - 1);
}

/* ---- the reader's view ---- */

typedef struct usj_section {
    const uint8_t *p;
    uint64_t len;
    uint64_t off;
    uint32_t crc;
} usj_section;

struct usj_index {
    atomic_int     refs;
    uint64_t       serial;         /* unique per open in this process */
    char          *path;
    const uint8_t *map;
    uint64_t       size;
    uint32_t       version, flags;
    uint64_t       created;
    usj_section    sec[USJ_NSECTIONS];
    uint64_t       meta[USJ_META_NFIELDS];
    const char    *root;
    /* dict */
    uint64_t       nterms;
    uint32_t       dict_nblocks;
    const uint8_t *dict_index, *dict_data, *dict_end;
    /* the first 8 bytes of each block's first term, big-endian, zero past
     * its end: made once USJ_DICT_KEYS_AFTER lookups were made without
     * them (lib/dict.c; counted in dict_lookups), NULL before */
    uint64_t *_Atomic dict_keys;
    atomic_uint    dict_lookups;
    /* docs */
    uint32_t       ndocs;
    const uint8_t *col_data[USJ_DOCS_NCOLS];   /* delta bits */
    const uint8_t *col_table[USJ_DOCS_NCOLS];  /* group entries */
    uint64_t       col_len[USJ_DOCS_NCOLS];    /* bytes at col_data */
    const uint32_t *doclens;
    uint32_t      *doclens_copy;   /* used only if the map is misaligned */
    double         avglen;
    /* files */
    uint32_t       nfiles;
    const uint8_t *first_doc;      /* u32 x (nfiles+1) */
    const uint8_t *str_off;        /* u64 x nfiles */
    const uint8_t *strings, *strings_end;
    /* text */
    uint32_t       text_nblocks;
    const uint8_t *text_entries;
    const uint8_t *text_data;
    uint64_t       text_len;
    const uint8_t *text_dict;      /* preset dictionary of every block */
    uint32_t       text_dict_len;
    /* numbers */
    uint64_t       num_count[USJ_NUM_NTYPES], num_nblocks[USJ_NUM_NTYPES];
    const uint8_t *num_index[USJ_NUM_NTYPES];
    uint64_t       num_data_end[USJ_NUM_NTYPES];
};

/* Room for one postings cursor (struct usj_postings; lib/postings.c checks
 * at compile time that it fits), for a caller that keeps cursors in its own
 * memory instead of one malloc each (a search: on its stack). */
#define USJ_POSTINGS_BYTES 2560
typedef union usj_postings_mem {
    max_align_t   align;
    unsigned char bytes[USJ_POSTINGS_BYTES];
} usj_postings_mem;
/* usj_postings_open in *m (m NULL: malloc'd, as usj_postings_open).
 * usj_postings_free frees what the cursor allocated, and the cursor only
 * when it was malloc'd: m's memory is the caller's to reuse after it. */
int usj_postings_open_in(usj_postings **out, usj_postings_mem *m,
                         const usj_index *idx, const usj_term_info *ti);

/* Internal checks used by usj_index_check (reader.c); each returns 0 or
 * USJ_ECORRUPT with a message naming the section. */
int usj_dict_check(const usj_index *idx);
int usj_postings_check(const usj_index *idx, const char *term, size_t len,
                       const usj_term_info *ti);
int usj_docstore_check(const usj_index *idx);
int usj_numidx_check(const usj_index *idx);
/* Opening helpers: validate the section's own header and fill idx. */
int usj_dict_open(usj_index *idx);
void usj_dict_close(usj_index *idx);   /* what the lookups allocated */
/* flags: usj_index_open's; USJ_OPEN_NOVERIFY skips the per-block table
 * passes (each block is then checked where it is read). */
int usj_docstore_open(usj_index *idx, unsigned flags);
int usj_numidx_open(usj_index *idx, unsigned flags);

#endif
