/* lib/limits.h — every hard limit and default of libusj in one place.
 * Each has a comment saying why it has its value and what happens past it.
 * Modules add their own limits here, in their section. */
#ifndef USJ_LIMITS_H
#define USJ_LIMITS_H

/* ---- analyzer ---- */
/* Longest paragraph analyzed: positions and spans are uint32; past this the
 * writer splits the paragraph at a line boundary, a query gets USJ_ELIMIT. */
#define USJ_MAX_PARA_BYTES      (16u * 1024u * 1024u)
/* Longest token kept; longer runs (base64, hashes) are cut to this many
 * bytes so the dictionary stays sane. */
#define USJ_MAX_TOKEN_BYTES     64u
/* Stem cache entries per analyzer (power of two); misses call libstemmer.
 * 64 bytes each (4 MB, calloc'd: only the slots used are touched); 2^14
 * measured ~15% slower on English prose (collisions), 2^12 ~2x slower. */
#define USJ_STEM_CACHE_SLOTS    (1u << 16)
/* ... which starts at this many slots (64 KB) and grows 16-fold, up to the
 * above, each time it has missed as many words as it has slots: a one-shot
 * query touches 16 pages, not the 4 MB whose first-touch page faults took
 * ~3 ms of a `usjsearch` process on a large index. */
#define USJ_STEM_CACHE_FIRST    (1u << 10)
/* Largest amount extracted as a typed number: values are stored as int64
 * thousandths (USJ_NUM_SCALE), INT64_MAX / 1000 ~ 9.22e15; larger amounts
 * stay ordinary tokens only. */
#define USJ_NUM_MAX             9e15

/* ---- paragraphs ---- */
/* A block of 2+ lines is hard-wrapped (one paragraph) in auto mode when every
 * line but the last is between these byte lengths (and the last is at most
 * USJ_WRAP_MAX): ~70-column text fits, seed headlines (< 30) and unwrapped
 * prose lines (> 100) do not. */
#define USJ_WRAP_MIN            30u
#define USJ_WRAP_MAX            100u
/* An article's title (usj_para_title) is at most this many bytes: a file
 * without a headline opens with a paragraph (seeds/001: 1092 bytes), which
 * would otherwise be repeated with every hit of the file. A longer first
 * line is cut after its first sentence when that ends in time, else after
 * its last whole word (the writer then adds "…"). */
#define USJ_TITLE_MAX           160u
/* ... and a first sentence shorter than this is no cut point ("Note. ..."). */
#define USJ_TITLE_MIN_SENTENCE  24u

/* ---- writer ---- */
/* Default in-memory budget for postings before a sorted run is spilled. */
#define USJ_DEFAULT_MEMORY      (256u * 1024u * 1024u)
/* Smallest budget accepted (--memory); below it runs would be tiny. */
#define USJ_MIN_MEMORY          (256u * 1024u)
/* Documents per postings block (skip data granularity). */
#define USJ_BLOCK_DOCS          128u
/* Uncompressed text per stored-text block (a block is closed once its
 * texts reach this). With the preset dictionary below, 8 KB blocks at level
 * 5 take 0.331 x the input on the kernel docs (64 KB blocks without one:
 * 0.326) and a random paragraph costs ~19 us (64 KB: ~110-220 us); 4 KB:
 * 0.347 and ~12 us, 16 KB: 0.321 and ~33 us (bench/bench_text.c). */
#define USJ_TEXT_BLOCK_BYTES    (8u * 1024u)
/* Preset DEFLATE dictionary of the text blocks, at most this many bytes
 * (DEFLATE's window: a larger one could not be referenced), and at most a
 * sixteenth of the sample it is built from (a small corpus gets a small one,
 * none below USJ_TEXT_DICT_MIN bytes of text). */
#define USJ_TEXT_DICT_BYTES     32768u
#define USJ_TEXT_DICT_MIN       (64u * 1024u)
/* Text held back (not compressed) at the start of a build to choose the
 * dictionary from: 4 MB gives 0.331 x the kernel docs, 1 MB ~1.2% more
 * text bytes. The writer holds this much more memory until then. */
#define USJ_TEXT_DICT_SAMPLE    (4u * 1024u * 1024u)

/* Largest USJ_BLOCK_DOCS the reader accepts (its decode buffers). */
#define USJ_BLOCK_DOCS_MAX      128u
/* Longest term stored in the dictionary; the analyzer cuts tokens at
 * USJ_MAX_TOKEN_BYTES, so this only guards the format (ELIMIT/ECORRUPT). */
#define USJ_MAX_TERM_BYTES      256u
/* zlib level of stored-text blocks. On 8 KB blocks with the dictionary
 * (kernel docs), level 5 costs ~45% less CPU than 6 for 1% more bytes;
 * level 4 saves a third of the CPU but adds 3% and level 3 6% (the text is
 * ~45% of the index, whose target is 0.75 x the input). */
#define USJ_TEXT_ZLEVEL         5
/* Largest uncompressed text block accepted by the reader: one block holds
 * whole paragraphs, so it can reach a paragraph plus a block of text plus
 * its length varints. Larger is treated as corruption (no zip bombs). */
#define USJ_MAX_TEXT_BLOCK      (USJ_MAX_PARA_BYTES + 2u * USJ_TEXT_BLOCK_BYTES + 65536u)
/* Text per window of the parallel analysis (the writer analyzes one window
 * on worker threads while it indexes the previous one); at most this, and
 * at most an eighth of the memory budget. */
#define USJ_ANALYSIS_WINDOW     (256u * 1024u)
/* Most analysis threads (one per core beyond the first, up to this). */
#define USJ_MAX_ANALYSIS_THREADS 7u
/* Most input files per index (file numbers are uint32). */
#define USJ_MAX_FILES           (UINT32_MAX - 1u)

/* ---- query ---- */
/* Longest query text accepted (bytes); longer gives USJ_ELIMIT at the
 * column where the limit is crossed. */
#define USJ_MAX_QUERY_BYTES     4096u
/* Deepest nesting of parentheses / NOT. */
#define USJ_MAX_QUERY_DEPTH     32u
/* Most clauses (words, phrases, ranges) in one query. */
#define USJ_MAX_QUERY_CLAUSES   256u
/* Most terms a prefix (word*) expands to; the most frequent (by df) are
 * kept, the rest ignored, and --explain says the expansion was truncated. */
#define USJ_MAX_PREFIX_TERMS    128u
/* Largest LIMIT + OFFSET served. */
#define USJ_MAX_RESULTS         10000u
/* Default per-query deadline. */
#define USJ_DEFAULT_QUERY_TIMEOUT_MS 5000u
/* Stored-text caches kept per searching thread (direct-mapped by doc id >>
 * USJ_TEXT_CACHE_SHIFT): up to 32 inflated 8 KB blocks, ~256 KB a thread. */
#define USJ_TEXT_CACHE_SLOTS    32u
#define USJ_TEXT_CACHE_SHIFT    3u
/* Paragraphs whose text and analysis each searching thread keeps for hit
 * building (lib/query_hits.c): direct-mapped slots, a byte budget per
 * thread, and the longest paragraph kept. */
#define USJ_HIT_CACHE_SLOTS     1024u
#define USJ_HIT_CACHE_BYTES     (4u * 1024u * 1024u)
#define USJ_HIT_CACHE_MAX_TEXT  (64u * 1024u)
/* Default snippet width for long paragraphs (bytes of text shown). */
#define USJ_DEFAULT_SNIPPET_BYTES 240u
/* Evaluation steps (docs matched or skipped) between two looks at the
 * clock; bounds how far past its deadline a query can run. */
#define USJ_QUERY_CHECK_EVERY   4096u

/* ---- daemon / protocol ---- */
/* Longest request line; past it: ERR TOOLONG and the connection closes. */
#define USJ_MAX_LINE_BYTES      (16u * 1024u)
/* Default --max-conns; one more connection gets ERR BUSY and is closed. */
#define USJ_DEFAULT_MAX_CONNS   1024u
/* Default --idle-timeout in seconds (0 disables): a connection that sends
 * nothing for this long is closed. */
#define USJ_DEFAULT_IDLE_TIMEOUT_S 300u
/* Unsent answer bytes queued for one client before the daemon stops reading
 * its requests; reading resumes once the queue drains below half of it. */
#define USJ_MAX_PENDING_OUTPUT  (4u * 1024u * 1024u)
/* Requests answered per turn of one connection before it goes back behind
 * the other ready ones (a pipelining client cannot starve them). */
#define USJ_REQS_PER_EVENT      32u
/* After ERR TOOLONG / QUIT / end of input the daemon stops writing, then
 * discards what the client still sends for at most this long (so the last
 * answer is not destroyed by a reset) before closing. */
#define USJ_LINGER_MS           1000u
/* On SIGTERM/SIGINT the daemon answers what each client has sent and
 * waits at most this long for the answers to go out before it exits. */
#define USJ_SHUTDOWN_GRACE_MS   2000u
/* Most worker threads (--threads). */
#define USJ_MAX_THREADS         64u
/* Longest answer line the client accepts from a daemon (an escaped
 * paragraph doubles at worst, plus the other fields); past it: USJ_EIO. */
#define USJ_MAX_REPLY_LINE_BYTES (2u * USJ_MAX_PARA_BYTES + 64u * 1024u)
/* Default connect/answer timeout of the client when the caller gives 0. */
#define USJ_DEFAULT_REMOTE_TIMEOUT_MS 2000u
/* Answer cache of each daemon worker (--cache N entries, default below):
 * at most this many bytes of answers held per worker, and no answer larger
 * than the second limit is cached (it is recomputed each time). */
#define USJ_DEFAULT_CACHE_ENTRIES 4096u
#define USJ_ANSWER_CACHE_BYTES  (16u * 1024u * 1024u)
#define USJ_ANSWER_CACHE_MAX_ENTRY (256u * 1024u)

#endif
