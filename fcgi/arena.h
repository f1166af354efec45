/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * fcgi/arena.h - per-request arena allocator and string builder.
 *
 * Every request handler allocates from one arena; arena_reset() at the end
 * of the request gives everything back at once (the first chunk is kept for
 * the next request, larger ones are freed). The arena has a ceiling so one
 * request cannot take unbounded memory: allocations past it return NULL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct arena arena_t;

/* chunk: size of the first (kept) chunk; max: ceiling of all chunks. */
int arena_new(size_t chunk, size_t max, arena_t **out);
void arena_free(arena_t **a);
/* Give back everything allocated since the last reset. */
void arena_reset(arena_t *a);
/* 16-byte aligned memory, or NULL when the ceiling is reached. */
void *arena_alloc(arena_t *a, size_t n);
char *arena_strndup(arena_t *a, const char *s, size_t n);
char *arena_printf(arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Bytes handed out since the last reset. */
size_t arena_used(const arena_t *a);

/* A growing byte string on an arena; stays NUL-terminated. On allocation
 * failure `failed` is set and further appends are ignored. */
typedef struct {
	arena_t *arena;
	char *data;
	size_t len, cap;
	int failed;
} sbuf_t;

void sbuf_init(sbuf_t *b, arena_t *a);
void sbuf_add(sbuf_t *b, const void *data, size_t len);
void sbuf_adds(sbuf_t *b, const char *s);
/* A decimal integer, without printf (the read path's numbers). */
void sbuf_add_u64(sbuf_t *b, uint64_t v);
void sbuf_add_i64(sbuf_t *b, int64_t v);
void sbuf_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal (quotes and escapes included). */
void sbuf_add_json_str(sbuf_t *b, const char *s, size_t len);
