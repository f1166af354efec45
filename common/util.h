/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * common/util.h - small utilities shared by every subsystem.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#define SOUK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* x_free(&p) frees p and leaves it NULL. */
#define souk_free(pp)                                                                              \
	do {                                                                                       \
		free(*(pp));                                                                       \
		*(pp) = NULL;                                                                      \
	} while (0)

/* Constant-time equality of two byte strings; lengths leak, contents do not. */
bool souk_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Monotonic and wall-clock time. */
uint64_t souk_now_mono_ns(void);
uint64_t souk_now_mono_ms(void);
uint64_t souk_now_real_ms(void);

/* Fill buf with cryptographically strong random bytes; 0 or SOUK_ECRYPTO. */
int souk_random(void *buf, size_t len);

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void souk_hex(const void *bytes, size_t len, char *out);
/* Parse exactly 2*len hex characters; 0 or SOUK_EINVAL. */
int souk_unhex(const char *hex, size_t len, void *out);
/* Value 0..15 of one hex digit (either case), or -1 if c is not one. */
int souk_hexval(char c);

/* Read a whole file (at most max bytes) into a NUL-terminated heap buffer. */
int souk_read_file(const char *path, size_t max, char **out, size_t *out_len);

/*
 * mkdir -p: create path and any missing parents with mode; 0 when path ends
 * up a directory, -ENAMETOOLONG, -ENOTDIR or the mkdir/stat -errno.
 */
int souk_mkdir_p(const char *path, mode_t mode);

/*
 * State letter (field 3) and start time (field 22, clock ticks after boot) of
 * a process from /proc/<pid>/stat; 0, or -errno of the open, -ENOENT when
 * nothing could be read, -EINVAL when the line does not parse.
 */
int souk_proc_stat(uint32_t pid, char *state, uint64_t *start);

/* Parse a non-negative decimal integer with range check; 0 or SOUK_EINVAL. */
int souk_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* v in decimal, NUL-terminated, into out (room for 20 digits + NUL); returns
 * the number of digits (no printf on hot paths). */
#define SOUK_U64_DEC_MAX 21
size_t souk_u64_dec(uint64_t v, char out[SOUK_U64_DEC_MAX]);
