/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * common/problem.h - RFC 9457 problem details.
 *
 * Every API error is an application/problem+json document whose `type` is
 * a stable URI https://souk.dev/problems/<slug>; the slugs below are part of
 * the API (docs/openapi.yaml lists them) and never change meaning.
 * Validation problems carry `errors: [{"field": ..., "detail": ...}]` where
 * `field` is a JSON pointer-like path ("price/GBP", "title/en").
 */
#include <stdarg.h>
#include <stddef.h>

#define PROBLEM_TYPE_BASE "https://souk.dev/problems/"

/* slugs */
#define PROBLEM_VALIDATION "validation"           /* 422 field errors */
#define PROBLEM_MALFORMED "malformed-request"     /* 400 unparsable JSON, bad query */
#define PROBLEM_INVALID_UTF8 "invalid-utf8"       /* 400 body is not UTF-8 */
#define PROBLEM_NOT_FOUND "not-found"             /* 404 */
#define PROBLEM_CHANNEL_UNKNOWN "channel-unknown" /* 404 no such storefront */
#define PROBLEM_METHOD "method-not-allowed"       /* 405 */
#define PROBLEM_UNAUTHORIZED "unauthorized"       /* 401 */
#define PROBLEM_FORBIDDEN "forbidden"             /* 403 principal lacks the permission */
#define PROBLEM_TOO_LARGE "payload-too-large"     /* 413 */
#define PROBLEM_HEADER_TOO_LARGE "header-too-large" /* 431 */
#define PROBLEM_MEDIA_TYPE "unsupported-media-type" /* 415 */
#define PROBLEM_PRECONDITION "precondition-failed" /* 412 stale If-Match */
#define PROBLEM_PRECONDITION_REQUIRED "precondition-required" /* 428 */
#define PROBLEM_CONFLICT "conflict"               /* 409 unique key taken */
#define PROBLEM_COUNTER_LIMIT "counter-limit"   /* 409 floor or ceiling refused */
#define PROBLEM_IDEM_REUSED "idempotency-key-reused" /* 422 key sent with another request */
#define PROBLEM_NOT_VISIBLE "not-yet-visible"     /* 503 Souk-Min-Seq wait expired */
#define PROBLEM_MIN_SEQ_AHEAD "min-seq-ahead"     /* 400 Souk-Min-Seq not committed */
#define PROBLEM_UNAVAILABLE "service-unavailable" /* 503 no image / store down */
#define PROBLEM_INTERNAL "internal-error"         /* 500 */

#define PROBLEM_MAX_ERRORS 16

typedef struct {
	char field[96];
	char detail[160];
} problem_field_t;

typedef struct {
	int status;              /* 0 = no problem recorded */
	const char *slug;        /* one of the PROBLEM_* slugs */
	const char *title;       /* short, stable per slug */
	char detail[256];        /* this occurrence */
	problem_field_t errors[PROBLEM_MAX_ERRORS];
	size_t nerrors;
	size_t dropped;          /* field errors beyond PROBLEM_MAX_ERRORS */
} problem_t;

void problem_init(problem_t *p);
void problem_set(problem_t *p, int status, const char *slug, const char *title,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Record a field error; sets a 422 validation problem if none is set. */
void problem_field(problem_t *p, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Render as JSON (malloc'ed, NUL-terminated); NULL on allocation failure. */
char *problem_render(const problem_t *p, const char *instance);
