/* lib/outfile.c — the index file being written: per-section offsets,
 * lengths and CRC32, the header, and the atomic publish (an unnamed file in
 * the target folder, fsync, link under a temporary name, rename over the
 * target, fsync of the folder). See the format at the top of writer.c. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "index_build.h"
#include "usj/error.h"

int usj_out_begin(usj_outfile *o)
{
    int rc = usj_spool_pad(&o->s, 8);
    if (rc)
        return rc;
    o->s.crc = (uint32_t)crc32_z(0, NULL, 0);
    o->s.crc_on = 1;
    return 0;
}

void usj_out_end(usj_outfile *o, int id, uint64_t start)
{
    o->off[id] = start;
    o->len[id] = usj_spool_tell(&o->s) - start;
    o->crc[id] = o->s.crc;
    o->s.crc_on = 0;
}

int usj_out_open(usj_outfile *o, const char *dir, const char *path)
{
    memset(o, 0, sizeof *o);
    usj_spool *s = &o->s;
    s->fd = -1;
    s->what = "index file";
    s->buf = malloc(1u << 20);
    if (!s->buf)
        return usj_error_set(USJ_ENOMEM, "out of memory (output buffer)");
    s->cap = 1u << 20;
#ifdef O_TMPFILE
    s->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
#endif
    if (s->fd < 0) {
        size_t n = strlen(path) + 32;
        s->name = malloc(n);
        if (!s->name)
            return usj_error_set(USJ_ENOMEM, "out of memory");
        snprintf(s->name, n, "%s.tmp.XXXXXX", path);
        s->fd = mkostemp(s->name, O_CLOEXEC);
        if (s->fd < 0) {
            int e = errno;
            free(s->name);
            s->name = NULL;
            return usj_error_set(USJ_EIO, "cannot create a file in %s: %s", dir,
                                 strerror(e));
        }
        if (fchmod(s->fd, 0644) != 0) {
            /* keep the restrictive mode; not fatal */
        }
    }
    return 0;
}

static int publish(usj_outfile *o, const char *dir, const char *path, const uint8_t *hdr)
{
    usj_spool *s = &o->s;
    int rc = usj_spool_flush(s);
    if (rc)
        return rc;
    ssize_t k = pwrite(s->fd, hdr, USJ_HEADER_BYTES, 0);
    if (k != (ssize_t)USJ_HEADER_BYTES)
        return usj_error_set(USJ_EIO, "writing the index header: %s",
                             k < 0 ? strerror(errno) : "short write");
    if (fsync(s->fd) != 0)
        return usj_error_set(USJ_EIO, "fsync of the new index: %s", strerror(errno));
    if (!s->name) {
        size_t n = strlen(path) + 48;
        char *name = malloc(n);
        if (!name)
            return usj_error_set(USJ_ENOMEM, "out of memory");
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", s->fd);
        for (unsigned i = 0;; i++) {
            snprintf(name, n, "%s.tmp.%ld.%u", path, (long)getpid(), i);
            if (linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0)
                break;
            if (errno != EEXIST || i > 100) {
                int e = errno;
                free(name);
                return usj_error_set(USJ_EIO, "cannot link the new index into %s: %s",
                                     dir, strerror(e));
            }
        }
        s->name = name;
    }
    if (rename(s->name, path) != 0)
        return usj_error_set(USJ_EIO, "cannot rename the new index to %s: %s",
                             path, strerror(errno));
    free(s->name);
    s->name = NULL;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

static void make_header(uint8_t *h, const usj_outfile *o, uint64_t size)
{
    memset(h, 0, USJ_HEADER_BYTES);
    memcpy(h, USJ_MAGIC, USJ_MAGIC_LEN);
    usj_st32(h + 8, USJ_FORMAT_VERSION);
    usj_st32(h + 12, 0);
    usj_st64(h + 16, (uint64_t)time(NULL));
    usj_st64(h + 24, size);
    usj_st32(h + 32, USJ_NSECTIONS);
    for (int i = 0; i < USJ_NSECTIONS; i++) {
        uint8_t *e = h + USJ_HEADER_FIXED + USJ_SECTION_ENTRY * i;
        usj_st64(e, o->off[i]);
        usj_st64(e + 8, o->len[i]);
        usj_st32(e + 16, o->crc[i]);
        usj_st32(e + 20, (uint32_t)i);
    }
    uint32_t crc = (uint32_t)crc32_z(0, h, USJ_HEADER_FIXED + USJ_SECTION_ENTRY * USJ_NSECTIONS);
    usj_st32(h + 36, crc);
}

int usj_out_publish(usj_outfile *o, const char *dir, const char *path, uint64_t size)
{
    uint8_t hdr[USJ_HEADER_BYTES];
    make_header(hdr, o, size);
    return publish(o, dir, path, hdr);
}

void usj_out_cleanup(const char *dir, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t bl = strlen(base);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (strncmp(n, base, bl) != 0 || strncmp(n + bl, ".tmp.", 5) != 0)
            continue;
        char *end;
        long pid = strtol(n + bl + 5, &end, 10);
        if (end == n + bl + 5 || *end != '.' || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;            /* that build may still be running */
        size_t len = strlen(dir) + strlen(n) + 2;
        char *full = malloc(len);
        if (full) {
            snprintf(full, len, "%s/%s", dir, n);
            unlink(full);
            free(full);
        }
    }
    closedir(d);
}
