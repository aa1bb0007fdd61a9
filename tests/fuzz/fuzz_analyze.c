/* tests/fuzz/fuzz_analyze.c — libFuzzer target for the analyzer and the
 * paragraph splitter: every split mode, usj_analyze on each paragraph (spans
 * in bounds, positions consecutive), usj_utf8_sanitize (output valid) and
 * usj_para_title. Not built by the Makefile; run it with clang:
 *
 *   clang -std=c11 -D_GNU_SOURCE -Iinclude -Ilib -O1 -g \
 *     -fsanitize=fuzzer,address,undefined -o /tmp/fuzz_analyze \
 *     tests/fuzz/fuzz_analyze.c lib/utf8.c lib/stem.c lib/analyze.c \
 *     lib/numbers.c lib/para.c lib/error.c -lstemmer -lutf8proc -lm
 *   /tmp/fuzz_analyze -max_total_time=120 -max_len=4096 CORPUS_DIR
 *
 * (CORPUS_DIR: a scratch folder seeded with copies of the seed files.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "usj/analyze.h"
#include "usj/para.h"
static usj_analyzer *A;
static int cb(void *c, const usj_para *p) { (void)c; const usj_analysis *r; usj_analyze(A, p->text, p->len, &r);
  for (size_t i = 0; i < r->ntokens; i++) if (r->tokens[i].end > p->len || r->tokens[i].pos != i) abort();
  for (size_t i = 0; i < r->nnumbers; i++) if (r->numbers[i].end > p->len || r->numbers[i].start >= r->numbers[i].end) abort();
  return 0; }
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  if (!A) usj_analyzer_new(&A, 0);
  for (int m = 0; m < 3; m++) usj_para_split((const char *)d, n, m, cb, NULL);
  char *o; size_t ol, bad; if (usj_utf8_sanitize((const char *)d, n, &o, &ol, &bad) == 0) { if (!usj_utf8_valid(o, ol, NULL)) abort(); free(o); }
  const char *t; size_t tl; usj_para_title((const char *)d, n, &t, &tl);
  return 0; }
