/* lib/reader.c — opening an index (mmap, header/section/CRC validation),
 * reference counting, statistics, the doc and file tables, and the deep
 * check (usj_index_*, usj/index.h). The format is described at the top of
 * lib/writer.c; the per-section readers live in dict.c, postings.c,
 * docstore.c and numidx.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "format.h"
#include "limits.h"
#include "usj/error.h"

static const char *const section_names[USJ_NSECTIONS] = {
    "meta", "dict", "postings", "positions", "docs", "files", "text", "numbers"};

static int open_meta(usj_index *idx)
{
    const usj_section *s = &idx->sec[USJ_SECTION_META];
    const uint64_t fixed = 8u * USJ_META_NFIELDS + 4;
    if (s->len < fixed + 1)
        return usj_error_set(USJ_ECORRUPT, "meta section: too short");
    for (int i = 0; i < USJ_META_NFIELDS; i++)
        idx->meta[i] = usj_ld64(s->p + 8 * i);
    uint32_t rl = usj_ld32(s->p + 8 * USJ_META_NFIELDS);
    if (rl > s->len - fixed - 1 || s->p[fixed + rl] != '\0' ||
        memchr(s->p + fixed, '\0', rl))
        return usj_error_set(USJ_ECORRUPT, "meta section: bad root path");
    idx->root = (const char *)s->p + fixed;
    if (idx->meta[USJ_META_NDOCS] == 0 || idx->meta[USJ_META_NDOCS] >= UINT32_MAX ||
        idx->meta[USJ_META_NFILES] >= UINT32_MAX)
        return usj_error_set(USJ_ECORRUPT, "meta section: bad document or file count");
    idx->ndocs = (uint32_t)idx->meta[USJ_META_NDOCS];
    idx->nfiles = (uint32_t)idx->meta[USJ_META_NFILES];
    return 0;
}

/* Do n (>= 1) fields of width w at byte off of a column's len bytes fit,
 * with the 8 bytes usj_col_get may read from the last one on? */
static int col_fits(unsigned w, uint64_t off, uint64_t n, uint64_t len)
{
    return w <= USJ_COL_MAX_WIDTH && off <= len &&
           ((n - 1) * w + 7) / 8 + 8 <= len - off;
}

/* The docs section. Every column group entry and the sum of the lengths
 * are checked here, unless USJ_OPEN_NOVERIFY: that open (a one-shot
 * client on a large index) would otherwise read 12 bytes per paragraph
 * (2.7M paragraphs: 13 MB, ~2 ms) before its query; col_value then checks
 * the one group it reads, so a damaged entry gives wrong lines, never a
 * read out of bounds, and usj_index_check still finds it (CRC). */
static int open_docs(usj_index *idx, unsigned flags)
{
    const usj_section *s = &idx->sec[USJ_SECTION_DOCS];
    if (s->len < USJ_DOCS_HEADER)
        return usj_error_set(USJ_ECORRUPT, "docs section: too short");
    const uint8_t *h = s->p + s->len - USJ_DOCS_HEADER;   /* a trailer */
    uint64_t body = s->len - USJ_DOCS_HEADER;
    if (usj_ld32(h) != idx->ndocs)
        return usj_error_set(USJ_ECORRUPT, "docs section: doc count differs from meta");
    uint64_t ngroups = ((uint64_t)idx->ndocs + USJ_DOCS_GROUP - 1) / USJ_DOCS_GROUP;
    for (unsigned c = 0; c < USJ_DOCS_NCOLS; c++) {
        uint64_t doff = usj_ld64(h + 8 + 16 * c), toff = usj_ld64(h + 16 + 16 * c);
        if (doff > toff || toff > body || ngroups > (body - toff) / USJ_DOCS_GENTRY)
            return usj_error_set(USJ_ECORRUPT, "docs section: column %u out of bounds", c);
        idx->col_data[c] = s->p + doff;
        idx->col_table[c] = s->p + toff;
        uint64_t dlen = toff - doff, prev = 0;
        idx->col_len[c] = dlen;
        for (uint64_t g = 0; g < ngroups && !(flags & USJ_OPEN_NOVERIFY); g++) {
            const uint8_t *e = idx->col_table[c] + g * USJ_DOCS_GENTRY;
            uint64_t off = usj_ld32(e + 8);
            unsigned w = e[12];
            uint64_t n = g + 1 < ngroups ? USJ_DOCS_GROUP : idx->ndocs - g * USJ_DOCS_GROUP;
            if (off < prev || !col_fits(w, off, n, dlen))
                return usj_error_set(USJ_ECORRUPT, "docs section: group %llu of column %u out of bounds",
                                     (unsigned long long)g, c);
            prev = off;
        }
    }
    uint64_t off = usj_ld64(h + 56);
    if (off > body || off % 4 || (uint64_t)idx->ndocs * 4 > body - off)
        return usj_error_set(USJ_ECORRUPT, "docs section: length array out of bounds");
    const uint8_t *p = s->p + off;
    if ((uintptr_t)p % _Alignof(uint32_t) == 0) {
        idx->doclens = (const uint32_t *)(const void *)p;
    } else {   /* cannot happen with an mmap'd file; kept for safety */
        idx->doclens_copy = malloc((size_t)idx->ndocs * 4);
        if (!idx->doclens_copy)
            return usj_error_set(USJ_ENOMEM, "out of memory (doc lengths)");
        memcpy(idx->doclens_copy, p, (size_t)idx->ndocs * 4);
        idx->doclens = idx->doclens_copy;
    }
    uint64_t total = idx->meta[USJ_META_TOTAL_LENGTH];
    if (!(flags & USJ_OPEN_NOVERIFY)) {
        uint64_t sum = 0;
        for (uint32_t d = 0; d < idx->ndocs; d++)
            sum += usj_ld32(p + 4 * (size_t)d);
        if (sum != total)
            return usj_error_set(USJ_ECORRUPT, "docs section: lengths do not add up to the total");
    }
    idx->avglen = (double)total / idx->ndocs;
    return 0;
}

/* Sum of the first n (< 64) zigzag differences of width 3 at data, 18 per
 * 8-byte load (SWAR): an odd field f becomes 7 - f, every field is
 * shifted down one bit and an even field gets bit 2, which is its
 * difference plus 4 (0..7); those are summed by pairs (6-bit lanes), pairs
 * of pairs (12-bit lanes) and one multiply, and 4 per field taken off.
 * Reads the bytes usj_col_get would for the same fields. Width 3 is what
 * the line and line-count columns nearly always get (consecutive
 * paragraphs a few lines apart). */
static int64_t zz3_sum(const uint8_t *data, uint32_t n)
{
    const uint64_t L = UINT64_C(0x9249249249249);     /* bit 0 of 18 fields */
    const uint64_t E3 = UINT64_C(0x71c71c71c71c7);    /* 9 lanes of 6: low 3 */
    const uint64_t E12 = UINT64_C(0x3f03f03f03f03f);  /* 5 lanes of 12: low 6 */
    const uint64_t R12 = UINT64_C(0x1001001001001);   /* one per 12-bit lane */
    int64_t sum = 0;
    for (uint32_t k = 0; k < n; k += 18) {
        uint32_t m = n - k < 18 ? n - k : 18;
        uint64_t bit = (uint64_t)k * 3;
        uint64_t fm = (UINT64_C(1) << (3 * m)) - 1;     /* m fields */
        uint64_t x = (usj_ld64(data + bit / 8) >> (bit % 8)) & fm;
        uint64_t l = L & fm;
        uint64_t s = (x & l) * 7;                       /* odd fields: 111 */
        uint64_t g = (((x ^ s) >> 1) & (l * 3)) | (~s & (l << 2));
        uint64_t t = (g & E3) + ((g >> 3) & E3);
        uint64_t u = (t & E12) + ((t >> 6) & E12);
        sum += (int64_t)(((u * R12) >> 48) & 0xFFF) - 4 * (int64_t)m;
    }
    return sum;
}

/* Value of column c (0 line, 1 nlines, 2 offset) for doc d: the group's
 * base plus the zigzag differences up to d. */
static uint64_t col_value(const usj_index *idx, unsigned c, uint32_t d)
{
    const uint8_t *e = idx->col_table[c] + (size_t)(d / USJ_DOCS_GROUP) * USJ_DOCS_GENTRY;
    uint64_t v = usj_ld64(e);
    uint64_t off = usj_ld32(e + 8);
    const uint8_t *data = idx->col_data[c] + off;
    unsigned w = e[12];
    uint32_t n = d % USJ_DOCS_GROUP;
    if (w == 0 || n == 0)
        return v;
    /* the n deltas read (open_docs checks whole groups unless
     * USJ_OPEN_NOVERIFY; a bad entry then reads as its base) */
    if (!col_fits(w, off, n, idx->col_len[c]))
        return v;
    if (w == 3)
        return v + (uint64_t)zz3_sum(data, n);
    for (uint32_t k = 0; k < n; k++) {      /* the deltas before d */
        uint64_t z = usj_col_get(data, w, k);
        v += (z >> 1) ^ (0 - (z & 1));
    }
    return v;
}

static int open_files(usj_index *idx)
{
    const usj_section *s = &idx->sec[USJ_SECTION_FILES];
    uint64_t n = idx->nfiles;
    uint64_t fd_end = (8 + 4 * (n + 1) + 7) & ~(uint64_t)7;
    uint64_t str = fd_end + 8 * n;
    if (s->len < 8 || usj_ld32(s->p) != n || str > s->len)
        return usj_error_set(USJ_ECORRUPT, "files section: table out of bounds");
    idx->first_doc = s->p + 8;
    idx->str_off = s->p + fd_end;
    idx->strings = s->p + str;
    idx->strings_end = s->p + s->len;
    uint64_t slen = s->len - str;
    uint32_t prev = 0;
    for (uint64_t i = 0; i <= n; i++) {
        uint32_t f = usj_ld32(idx->first_doc + 4 * i);
        if (f < prev || (i == 0 && f != 0) || (i == n && f != idx->ndocs))
            return usj_error_set(USJ_ECORRUPT, "files section: first docs out of order");
        prev = f;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t o = usj_ld64(idx->str_off + 8 * i);
        if (o >= slen)
            return usj_error_set(USJ_ECORRUPT, "files section: string offset out of bounds");
        const uint8_t *a = memchr(idx->strings + o, '\0', slen - o);
        const uint8_t *b = a ? memchr(a + 1, '\0', (size_t)(idx->strings_end - a - 1)) : NULL;
        if (!b)
            return usj_error_set(USJ_ECORRUPT, "files section: unterminated path or title");
    }
    return 0;
}

static int verify_crc(const usj_index *idx, int i)
{
    const usj_section *s = &idx->sec[i];
    uint32_t crc = (uint32_t)crc32_z(0, s->p, (size_t)s->len);
    if (crc != s->crc)
        return usj_error_set(USJ_ECORRUPT, "%s section: CRC mismatch (stored %08x, computed %08x)",
                             section_names[i], s->crc, crc);
    return 0;
}

/* Sections must not overlap, and the bytes between them (alignment
 * padding, at most 7) must be zero, so that every byte of the file is
 * covered by a check. */
static int check_layout(const usj_index *idx)
{
    int order[USJ_NSECTIONS];
    for (int i = 0; i < USJ_NSECTIONS; i++)
        order[i] = i;
    for (int i = 1; i < USJ_NSECTIONS; i++)
        for (int j = i; j > 0 && idx->sec[order[j]].off < idx->sec[order[j - 1]].off; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    uint64_t at = USJ_HEADER_BYTES;
    for (int k = 0; k <= USJ_NSECTIONS; k++) {
        uint64_t next = k < USJ_NSECTIONS ? idx->sec[order[k]].off : idx->size;
        if (next < at || next - at > 7)
            return usj_error_set(USJ_ECORRUPT, "index %s: sections overlap or leave gaps", idx->path);
        for (; at < next; at++)
            if (idx->map[at] != 0)
                return usj_error_set(USJ_ECORRUPT, "index %s: non-zero padding at byte %llu",
                                     idx->path, (unsigned long long)at);
        if (k < USJ_NSECTIONS)
            at = next + idx->sec[order[k]].len;
    }
    for (uint64_t i = USJ_HEADER_FIXED + USJ_SECTION_ENTRY * USJ_NSECTIONS; i < USJ_HEADER_BYTES; i++)
        if (idx->map[i] != 0)
            return usj_error_set(USJ_ECORRUPT, "index %s: non-zero header padding", idx->path);
    return 0;
}

static void destroy(usj_index *idx)
{
    if (!idx)
        return;
    if (idx->map)
        munmap((void *)idx->map, idx->size);
    usj_dict_close(idx);
    free(idx->doclens_copy);
    free(idx->path);
    free(idx);
}

int usj_index_open(usj_index **out, const char *path, unsigned flags)
{
    *out = NULL;
    usj_index *idx = calloc(1, sizeof *idx);
    if (!idx)
        return usj_error_set(USJ_ENOMEM, "out of memory (index)");
    atomic_init(&idx->refs, 1);
    static atomic_uint_fast64_t serials;
    idx->serial = atomic_fetch_add(&serials, 1) + 1;
    int rc = 0;
    idx->path = strdup(path);
    if (!idx->path) {
        rc = usj_error_set(USJ_ENOMEM, "out of memory");
        goto fail;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = usj_error_set(USJ_EIO, "cannot open index %s: %s", path, strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        rc = usj_error_set(USJ_EIO, "index %s is not a regular file", path);
        goto fail;
    }
    if ((uint64_t)sb.st_size < USJ_HEADER_BYTES) {
        close(fd);
        rc = usj_error_set(USJ_ECORRUPT, "index %s: file too short (%lld bytes) for a header",
                           path, (long long)sb.st_size);
        goto fail;
    }
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        rc = usj_error_set(USJ_EIO, "cannot map index %s: %s", path, strerror(errno));
        goto fail;
    }
    idx->map = m;
    idx->size = (uint64_t)sb.st_size;
    const uint8_t *h = idx->map;
    if (memcmp(h, USJ_MAGIC, USJ_MAGIC_LEN) != 0) {
        rc = usj_error_set(USJ_ECORRUPT, "index %s: not a usjsearch index (bad magic)", path);
        goto fail;
    }
    idx->version = usj_ld32(h + 8);
    if (idx->version > USJ_FORMAT_VERSION) {
        rc = usj_error_set(USJ_EVERSION,
                           "index %s has format version %u, newer than this program's %u: "
                           "upgrade usjsearch or rebuild the index", path, idx->version,
                           USJ_FORMAT_VERSION);
        goto fail;
    }
    if (idx->version == 0) {
        rc = usj_error_set(USJ_ECORRUPT, "index %s: bad format version 0", path);
        goto fail;
    }
    uint8_t hdr[USJ_HEADER_FIXED + USJ_SECTION_ENTRY * USJ_NSECTIONS];
    memcpy(hdr, h, sizeof hdr);
    uint32_t hcrc = usj_ld32(hdr + 36);
    usj_st32(hdr + 36, 0);
    if ((uint32_t)crc32_z(0, hdr, sizeof hdr) != hcrc || usj_ld32(h + 32) != USJ_NSECTIONS) {
        rc = usj_error_set(USJ_ECORRUPT, "index %s: header CRC mismatch", path);
        goto fail;
    }
    idx->flags = usj_ld32(h + 12);
    idx->created = usj_ld64(h + 16);
    if (usj_ld64(h + 24) != idx->size) {
        rc = usj_error_set(USJ_ECORRUPT, "index %s: truncated or extended (header says %llu bytes, file has %llu)",
                           path, (unsigned long long)usj_ld64(h + 24), (unsigned long long)idx->size);
        goto fail;
    }
    for (int i = 0; i < USJ_NSECTIONS; i++) {
        const uint8_t *e = h + USJ_HEADER_FIXED + USJ_SECTION_ENTRY * i;
        uint64_t off = usj_ld64(e), len = usj_ld64(e + 8);
        if (usj_ld32(e + 20) != (uint32_t)i || off < USJ_HEADER_BYTES || off % 8 ||
            off > idx->size || len > idx->size - off) {
            rc = usj_error_set(USJ_ECORRUPT, "index %s: %s section out of bounds", path,
                               section_names[i]);
            goto fail;
        }
        idx->sec[i] = (usj_section){idx->map + off, len, off, usj_ld32(e + 16)};
    }
    if ((rc = check_layout(idx)))
        goto fail;
    for (int i = 0; i < USJ_NSECTIONS && !(flags & USJ_OPEN_NOVERIFY); i++)
        if ((rc = verify_crc(idx, i)))
            goto fail;
    if ((rc = open_meta(idx)) || (rc = usj_dict_open(idx)) || (rc = open_docs(idx, flags)) ||
        (rc = open_files(idx)) || (rc = usj_docstore_open(idx, flags)) ||
        (rc = usj_numidx_open(idx, flags)))
        goto fail;
    *out = idx;
    return 0;
fail:
    destroy(idx);
    return rc;
}

void usj_index_ref(usj_index *idx)
{
    atomic_fetch_add(&idx->refs, 1);
}

void usj_index_unref(usj_index *idx)
{
    if (idx && atomic_fetch_sub(&idx->refs, 1) == 1)
        destroy(idx);
}

void usj_index_stats_get(const usj_index *idx, usj_index_stats *o)
{
    memset(o, 0, sizeof *o);
    o->version = idx->version;
    o->file_bytes = idx->size;
    o->input_bytes = idx->meta[USJ_META_INPUT_BYTES];
    o->created = idx->created;
    o->files = idx->nfiles;
    o->docs = idx->ndocs;
    o->terms = idx->nterms;
    o->postings = idx->meta[USJ_META_POSTINGS];
    o->positions = idx->meta[USJ_META_POSITIONS];
    o->total_length = idx->meta[USJ_META_TOTAL_LENGTH];
    o->avg_length = idx->avglen;
    for (int t = 0; t < USJ_NUM_NTYPES; t++)
        o->numbers[t] = idx->meta[USJ_META_NUM0 + t];
    for (int i = 0; i < USJ_NSECTIONS; i++) {
        o->section_bytes[i] = idx->sec[i].len;
        o->section_names[i] = section_names[i];
    }
    o->nsections = USJ_NSECTIONS;
    o->root = idx->root;
    o->path = idx->path;
}

/* ---- docs and files ---- */

uint32_t usj_index_ndocs(const usj_index *idx) { return idx->ndocs; }
uint32_t usj_index_nfiles(const usj_index *idx) { return idx->nfiles; }
const uint32_t *usj_index_doclens(const usj_index *idx) { return idx->doclens; }
double usj_index_avglen(const usj_index *idx) { return idx->avglen; }

static uint32_t first_doc(const usj_index *idx, uint32_t f)
{
    return usj_ld32(idx->first_doc + 4 * (size_t)f);
}

static uint32_t file_of(const usj_index *idx, uint32_t doc)
{
    uint32_t lo = 0, hi = idx->nfiles;   /* first file with first_doc > doc */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (first_doc(idx, mid) <= doc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;   /* first_doc[0] == 0 <= doc, so lo >= 1 */
}

int usj_index_file(const usj_index *idx, uint32_t i, const char **path,
                   const char **title)
{
    if (i >= idx->nfiles)
        return usj_error_set(USJ_EINVAL, "file %u out of range (%u files)", i, idx->nfiles);
    const char *p = (const char *)idx->strings + usj_ld64(idx->str_off + 8 * (size_t)i);
    if (path)
        *path = p;
    if (title)
        *title = p + strlen(p) + 1;
    return 0;
}

int usj_index_doc(const usj_index *idx, uint32_t doc, usj_doc_info *out)
{
    if (doc >= idx->ndocs)
        return usj_error_set(USJ_EINVAL, "doc %u out of range (%u docs)", doc, idx->ndocs);
    out->file = file_of(idx, doc);
    usj_index_file(idx, out->file, &out->path, &out->title);
    out->line = (uint32_t)col_value(idx, 0, doc);
    out->nlines = (uint32_t)col_value(idx, 1, doc);
    out->offset = col_value(idx, 2, doc);
    out->length = idx->doclens[doc];
    return 0;
}

int usj_index_doc_line(const usj_index *idx, uint32_t doc, const char **path,
                       const char **title, uint32_t *line)
{
    if (doc >= idx->ndocs)
        return usj_error_set(USJ_EINVAL, "doc %u out of range (%u docs)", doc, idx->ndocs);
    usj_index_file(idx, file_of(idx, doc), path, title);
    *line = (uint32_t)col_value(idx, 0, doc);
    return 0;
}

/* The paragraph of file f holding `line`: 0, or 1 when there is none. */
static int line_in_file(const usj_index *idx, uint32_t f, uint32_t line,
                        uint32_t *doc)
{
    uint32_t lo = first_doc(idx, f), hi = first_doc(idx, f + 1);
    if (lo == hi)
        return 1;
    /* last doc of the file whose first line <= line */
    uint32_t a = lo, b = hi;
    while (b - a > 1) {
        uint32_t mid = a + (b - a) / 2;
        if (col_value(idx, 0, mid) <= line)
            a = mid;
        else
            b = mid;
    }
    uint64_t l0 = col_value(idx, 0, a);
    uint64_t nl = col_value(idx, 1, a);
    if (l0 <= line && line < l0 + nl) {
        *doc = a;
        return 0;
    }
    return 1;
}

static const char *file_path(const usj_index *idx, uint32_t f)
{
    const char *p = "";
    usj_index_file(idx, f, &p, NULL);
    return p;
}

/* usjindex writes the files in byte order of their paths: bisect to the
 * run of entries with this path. An index written in another order (the
 * library takes files as given) may hide the path from the bisection, so
 * a path not found there is looked for entry by entry. */
int usj_index_find_line(const usj_index *idx, const char *path, uint32_t line,
                        uint32_t *doc)
{
    uint32_t lo = 0, hi = idx->nfiles;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (strcmp(file_path(idx, mid), path) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t f = lo;
    for (; f < idx->nfiles && strcmp(file_path(idx, f), path) == 0; f++)
        if (line_in_file(idx, f, line, doc) == 0)
            return 0;
    if (f == lo)                    /* not where byte order puts it */
        for (uint32_t g = 0; g < idx->nfiles; g++)
            if (strcmp(file_path(idx, g), path) == 0 &&
                line_in_file(idx, g, line, doc) == 0)
                return 0;
    return usj_error_set(USJ_ENOTFOUND, "no paragraph at %s:%u", path, line);
}

/* ---- deep check ---- */

int usj_index_check(const usj_index *idx)
{
    int rc;
    for (int i = 0; i < USJ_NSECTIONS; i++)
        if ((rc = verify_crc(idx, i)))
            return rc;
    for (uint32_t f = 0; f < idx->nfiles; f++) {
        uint32_t lo = first_doc(idx, f), hi = first_doc(idx, f + 1);
        uint64_t prev_end = 0;
        for (uint32_t d = lo; d < hi; d++) {
            uint64_t l0 = col_value(idx, 0, d);
            uint64_t nl = col_value(idx, 1, d);
            if (l0 == 0 || nl == 0 || l0 < prev_end)
                return usj_error_set(USJ_ECORRUPT, "docs section: bad lines of doc %u", d);
            prev_end = l0 + nl;
        }
    }
    if ((rc = usj_dict_check(idx)) || (rc = usj_docstore_check(idx)) ||
        (rc = usj_numidx_check(idx)))
        return rc;
    return 0;
}
