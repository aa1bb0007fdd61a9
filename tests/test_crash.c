/* tests/test_crash.c — crash safety of usjindex ($USJ_TEST_BIN): SIGKILL in
 * the middle of a large build over an existing index leaves that index
 * readable and valid, with no temporary files behind; a full disk
 * (simulated with RLIMIT_FSIZE) fails with exit 2 and leaves the old index
 * byte for byte. */
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include "ixt_fixture.h"

static pid_t spawn(char *const argv[], rlim_t fsize)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fsize) {
            struct rlimit rl = {fsize, fsize};
            signal(SIGXFSZ, SIG_IGN);
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int wait_status(pid_t pid)
{
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void assert_valid(const char *path, uint32_t want_docs)
{
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, path, 0), 0, "%s", usj_error_last());
    cr_assert_eq(usj_index_check(idx), 0, "%s", usj_error_last());
    if (want_docs)
        cr_assert_eq(usj_index_ndocs(idx), want_docs);
    usj_index_unref(idx);
}

static int leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            strcmp(e->d_name, "x.idx"))
            n++;
    closedir(d);
    return n;
}

Test(crash, sigkill_mid_build_keeps_the_old_index, .timeout = 600)
{
    char *prog = ixt_prog("usjindex");
    if (!prog)
        cr_skip_test("USJ_TEST_BIN has no usjindex");
    char *tmp = ixt_mkdtemp();
    char out[4200], corpus[4200], seeds[4200];
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(corpus, sizeof corpus, "%s/corpus", tmp);
    mkdir(out, 0755);
    mkdir(corpus, 0755);
    char idxp[4300];
    snprintf(idxp, sizeof idxp, "%s/x.idx", out);
    snprintf(seeds, sizeof seeds, "%s/seeds", ixt_root());
    char *old[] = {prog, "-q", "-o", idxp, seeds, NULL};
    cr_assert_eq(wait_status(spawn(old, 0)), 0);
    assert_valid(idxp, 176);
    ixt_free_paths(ixt_gen_corpus(corpus, 40, 400000, 11, 0));   /* ~16 MB */
    char *big[] = {prog, "-q", "--memory", "4m", "-o", idxp, corpus, NULL};
    const int delays_ms[] = {50, 200, 450, 800, 1200};
    int killed = 0;
    for (size_t k = 0; k < sizeof delays_ms / sizeof *delays_ms; k++) {
        pid_t pid = spawn(big, 0);
        struct timespec ts = {0, (long)delays_ms[k] * 1000000L};
        while (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        nanosleep(&ts, NULL);
        int finished = waitpid(pid, NULL, WNOHANG) == pid;
        if (!finished) {
            kill(pid, SIGKILL);
            cr_assert_eq(wait_status(pid), 128 + SIGKILL);
            killed++;
            assert_valid(idxp, 176);      /* the old index, intact */
        } else {
            assert_valid(idxp, 0);        /* finished: the new one, complete */
        }
        cr_assert_eq(leftovers(out), 0, "temporary files left in the output folder");
    }
    cr_assert_gt(killed, 0, "the build always finished before the kill");
    /* a complete build replaces it */
    cr_assert_eq(wait_status(spawn(big, 0)), 0);
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, idxp, 0), 0);
    cr_assert_gt(usj_index_ndocs(idx), 176);
    usj_index_unref(idx);
    cr_assert_eq(leftovers(out), 0);
    free(prog);
    ixt_rmrf(tmp);
}

Test(crash, full_disk_leaves_the_old_index, .timeout = 300)
{
    char *prog = ixt_prog("usjindex");
    if (!prog)
        cr_skip_test("USJ_TEST_BIN has no usjindex");
    char *tmp = ixt_mkdtemp();
    char out[4200], corpus[4200], seeds[4200], idxp[4300];
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(corpus, sizeof corpus, "%s/corpus", tmp);
    mkdir(out, 0755);
    mkdir(corpus, 0755);
    snprintf(idxp, sizeof idxp, "%s/x.idx", out);
    snprintf(seeds, sizeof seeds, "%s/seeds", ixt_root());
    char *old[] = {prog, "-q", "-o", idxp, seeds, NULL};
    cr_assert_eq(wait_status(spawn(old, 0)), 0);
    size_t n0, n1;
    char *before = ixt_slurp(idxp, &n0);
    ixt_free_paths(ixt_gen_corpus(corpus, 10, 100000, 3, 0));
    char *big[] = {prog, "-q", "-o", idxp, corpus, NULL};
    /* writes beyond 40 KB fail (EFBIG), like a full disk */
    cr_assert_eq(wait_status(spawn(big, 40 * 1024)), 2);
    char *after = ixt_slurp(idxp, &n1);
    cr_assert_eq(n0, n1);
    cr_assert(memcmp(before, after, n0) == 0, "old index changed");
    cr_assert_eq(leftovers(out), 0);
    assert_valid(idxp, 176);
    free(before);
    free(after);
    free(prog);
    ixt_rmrf(tmp);
}

Test(crash, names_left_by_a_killed_build_are_removed)
{
    char *tmp = ixt_mkdtemp();
    char idxp[4200], stale[4300], live[4300], seeds[4200];
    snprintf(idxp, sizeof idxp, "%s/x.idx", tmp);
    snprintf(seeds, sizeof seeds, "%s/seeds", ixt_root());
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    snprintf(stale, sizeof stale, "%s.tmp.%ld.0", idxp, (long)dead);
    snprintf(live, sizeof live, "%s.tmp.%ld.0", idxp, (long)getppid());
    ixt_write(stale, "partial", 7);
    ixt_write(live, "in use", 6);
    char **paths = calloc(2, sizeof *paths);
    paths[0] = malloc(4300);
    snprintf(paths[0], 4300, "%s/000_3e9f356e5c9bf5c6.txt", seeds);
    cr_assert_eq(ixt_build(idxp, paths, 0, NULL), 0, "%s", usj_error_last());
    cr_assert_neq(access(stale, F_OK), 0, "stale temporary of a dead build kept");
    cr_assert_eq(access(live, F_OK), 0, "temporary of a live process removed");
    ixt_free_paths(paths);
    ixt_rmrf(tmp);
}
