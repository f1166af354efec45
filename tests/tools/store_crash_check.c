/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_crash_check - check a store written by store_crash_writer.
 *
 *   store_crash_check DIR TAG LAST
 *
 * The items of TAG must be exactly 1..M (no gap, no duplicate) with M >= LAST
 * (every reported commit present), their change-log sequences must increase
 * with n (commit order kept), the TAG counter must name M with its unique key
 * "last:TAG:M" (and no older key), and store_audit_verify() must pass.
 * Prints M.
 * Exit 0 when all holds, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "store/store.h"

typedef struct {
	const char *tag;
	uint64_t *seq_of; /* index n -> seq */
	uint64_t cap, count, max;
	int dup, bad;
} scan_t;

static int cb(const store_rec_t *r, void *arg)
{
	scan_t *s = arg;
	json_error_t e;
	json_t *j = json_loadb(r->doc, r->doc_len, 0, &e);
	const char *tag = j ? json_string_value(json_object_get(j, "tag")) : NULL;
	json_int_t n = j ? json_integer_value(json_object_get(j, "n")) : 0;
	if (!j || !tag || n <= 0) {
		s->bad = 1;
	} else if (strcmp(tag, s->tag) == 0) {
		if ((uint64_t)n >= s->cap) {
			uint64_t cap = (uint64_t)n * 2 + 64;
			uint64_t *p = realloc(s->seq_of, cap * sizeof(*p));
			if (!p) {
				json_decref(j);
				return SOUK_ENOMEM;
			}
			memset(p + s->cap, 0, (cap - s->cap) * sizeof(*p));
			s->seq_of = p;
			s->cap = cap;
		}
		if (s->seq_of[n])
			s->dup = 1;
		s->seq_of[n] = r->seq;
		s->count++;
		if ((uint64_t)n > s->max)
			s->max = (uint64_t)n;
	}
	json_decref(j);
	return 0;
}

int main(int argc, char **argv)
{
	store_t *st = NULL;
	uint64_t last, bad = 0;
	int rc, fail = 0;
	if (argc != 4 || souk_parse_u64(argv[3], 0, UINT64_MAX / 2, &last) != 0) {
		fprintf(stderr, "usage: store_crash_check DIR TAG LAST\n");
		return 2;
	}
	log_init("store_crash_check", LOG_TARGET_STDERR);
	scan_t s = { .tag = argv[2] };
	store_opts_t o = { .map_size = 1 << 20 };
	if ((rc = store_open(argv[1], &o, &st)) != 0) {
		fprintf(stderr, "check, open failed (%s)\n", souk_strerror(rc));
		return 1;
	}
	if ((rc = store_scan(st, "item", cb, &s)) != 0) {
		fprintf(stderr, "check, scan failed (%s)\n", souk_strerror(rc));
		fail = 1;
	}
	if (s.bad || s.dup) {
		fprintf(stderr, "check, malformed or duplicate items\n");
		fail = 1;
	}
	if (s.count != s.max) {
		fprintf(stderr, "check, %llu items but highest is %llu (gap)\n",
			(unsigned long long)s.count, (unsigned long long)s.max);
		fail = 1;
	}
	if (s.max < last) {
		fprintf(stderr, "check, reported commit %llu is missing (highest %llu)\n",
			(unsigned long long)last, (unsigned long long)s.max);
		fail = 1;
	}
	for (uint64_t n = 2; n <= s.max && !fail; n++)
		if (s.seq_of[n] <= s.seq_of[n - 1]) {
			fprintf(stderr, "check, item %llu committed before %llu\n",
				(unsigned long long)n, (unsigned long long)(n - 1));
			fail = 1;
		}
	if (s.max > 0 && !fail) {
		char key[64];
		store_rec_t r;
		snprintf(key, sizeof(key), "last:%s:%llu", argv[2], (unsigned long long)s.max);
		if ((rc = store_get_by_key(st, "counter", key, strlen(key), &r)) != 0) {
			fprintf(stderr, "check, counter key '%s' missing (%s)\n", key, souk_strerror(rc));
			fail = 1;
		} else {
			json_error_t e;
			json_t *j = json_loadb(r.doc, r.doc_len, 0, &e);
			json_int_t l = j ? json_integer_value(json_object_get(j, "last")) : -1;
			if (l != (json_int_t)s.max) {
				fprintf(stderr, "check, counter says %lld, items end at %llu\n",
					(long long)l, (unsigned long long)s.max);
				fail = 1;
			}
			json_decref(j);
			store_rec_deinit(&r);
		}
		if (s.max > 1) {
			snprintf(key, sizeof(key), "last:%s:%llu", argv[2], (unsigned long long)s.max - 1);
			if (store_get_by_key(st, "counter", key, strlen(key), &r) == 0) {
				fprintf(stderr, "check, old counter key '%s' still held\n", key);
				store_rec_deinit(&r);
				fail = 1;
			}
		}
	}
	if ((rc = store_audit_verify(st, &bad)) != 0) {
		fprintf(stderr, "check, audit verification failed (%s) at index %llu\n",
			souk_strerror(rc), (unsigned long long)bad);
		fail = 1;
	}
	printf("%llu\n", (unsigned long long)s.max);
	free(s.seq_of);
	store_close(&st);
	return fail;
}
