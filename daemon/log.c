/* daemon/log.c — leveled, timestamped log lines on stderr (one write per
 * line so lines from several threads do not interleave). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

static _Atomic int log_level = DLOG_INFO;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void dlog_set_level(int level) { log_level = level; }
int  dlog_level(void) { return log_level; }

int dlog_parse_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    if (strcasecmp(name, "warning") == 0)
        return DLOG_WARN;
    return -1;
}

void dlog(int level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    char line[1024];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    int k = snprintf(line + n, sizeof line - n, ".%03ldZ %-5s [%d] ",
                     (long)(tv.tv_usec / 1000), level_names[level],
                     (int)getpid());
    if (k > 0)
        n += (size_t)k;
    va_list ap;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (k > 0)
        n += (size_t)k < sizeof line - n - 1 ? (size_t)k : sizeof line - n - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;   /* nowhere to report a failing stderr */
}
