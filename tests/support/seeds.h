/* tests/support/seeds.h — reading the seed articles in the test suites. */
#ifndef USJ_TEST_SEEDS_H
#define USJ_TEST_SEEDS_H

#include <stddef.h>

/* The five seed file names, in corpus order. */
extern const char *const tst_seed_names[5];

/* Whole contents of seeds/<name> under $USJ_TEST_ROOT (default "."),
 * NUL-terminated, malloc'd; fails the current test when unreadable. */
char *tst_read_seed(const char *name, size_t *len);

#endif
