/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_crash_writer - commit numbered changes and report each number on
 * stdout once store_apply() has returned (the commit is durable).
 *
 *   store_crash_writer DIR TAG START COUNT [MAP_BYTES]
 *
 * Number i creates an "item" with document {"tag":TAG,"n":i} and unique key
 * "n:TAG:i", in batches of 1..3 numbers (group commit). Each batch also
 * updates the "counter" entity of TAG to {"tag":TAG,"last":L} (L = the last
 * number of the batch) and moves its unique key to "last:TAG:L". COUNT 0 =
 * until killed. Exit 0 when done, 3 when a commit failed (error on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "store/store.h"

int main(int argc, char **argv)
{
	store_t *s = NULL;
	uint64_t start, count, map = 1 << 20;
	if (argc < 5 || souk_parse_u64(argv[3], 1, UINT64_MAX / 2, &start) != 0 ||
	    souk_parse_u64(argv[4], 0, UINT64_MAX / 4, &count) != 0 ||
	    (argc > 5 && souk_parse_u64(argv[5], 4096, UINT64_MAX, &map) != 0)) {
		fprintf(stderr, "usage: store_crash_writer DIR TAG START COUNT [MAP_BYTES]\n");
		return 2;
	}
	log_init("store_crash_writer", LOG_TARGET_STDERR);
	const char *tag = argv[2];
	store_opts_t o = { .map_size = map, .max_readers = 64 };
	int rc = store_open(argv[1], &o, &s);
	if (rc) {
		fprintf(stderr, "store_crash_writer, open failed (%s)\n", souk_strerror(rc));
		return 3;
	}
	store_id_t cid = { { 0 } };
	memcpy(cid.b, tag, strlen(tag) < 16 ? strlen(tag) : 16);
	store_mut_t c = { .op = STORE_OP_CREATE, .kind = "counter", .id = cid, .doc = "{}",
			  .doc_len = 2, .actor = "crash-writer" };
	if ((rc = store_apply(s, &c, 1)) != 0 || (c.result != 0 && c.result != SOUK_EEXIST)) {
		fprintf(stderr, "store_crash_writer, counter create failed (%s)\n",
			souk_strerror(rc ? rc : c.result));
		store_close(&s);
		return 3;
	}
	uint64_t i = start, end = count ? start + count : UINT64_MAX;
	while (i < end) {
		char docs[4][96], keys[4][64];
		const char *kp[4][1];
		size_t kl[4][1];
		store_mut_t m[4];
		size_t n = 1 + (size_t)(i % 3);
		if (n > end - i)
			n = (size_t)(end - i);
		memset(m, 0, sizeof(m));
		for (size_t j = 0; j < n; j++) {
			snprintf(docs[j], sizeof(docs[j]), "{\"tag\":\"%s\",\"n\":%llu}", tag,
				 (unsigned long long)(i + j));
			snprintf(keys[j], sizeof(keys[j]), "n:%s:%llu", tag, (unsigned long long)(i + j));
			kp[j][0] = keys[j];
			kl[j][0] = strlen(keys[j]);
			m[j].op = STORE_OP_CREATE;
			m[j].kind = "item";
			m[j].doc = docs[j];
			m[j].doc_len = strlen(docs[j]);
			m[j].keys = kp[j];
			m[j].key_lens = kl[j];
			m[j].nkeys = 1;
			m[j].actor = "crash-writer";
			m[j].reason = "crash test"; /* for store_tamper edit-reason */
		}
		snprintf(docs[n], sizeof(docs[n]), "{\"tag\":\"%s\",\"last\":%llu}", tag,
			 (unsigned long long)(i + n - 1));
		snprintf(keys[n], sizeof(keys[n]), "last:%s:%llu", tag, (unsigned long long)(i + n - 1));
		kp[n][0] = keys[n];
		kl[n][0] = strlen(keys[n]);
		m[n] = (store_mut_t){ .op = STORE_OP_UPDATE, .kind = "counter", .id = cid,
				      .doc = docs[n], .doc_len = strlen(docs[n]), .keys = kp[n],
				      .key_lens = kl[n], .nkeys = 1, .actor = "crash-writer",
				      .reason = "crash test" };
		rc = store_apply(s, m, n + 1);
		if (rc) {
			fprintf(stderr, "store_crash_writer, commit of %llu failed (%s)\n",
				(unsigned long long)i, souk_strerror(rc));
			store_close(&s);
			return 3;
		}
		for (size_t j = 0; j <= n; j++) {
			if (m[j].result) {
				fprintf(stderr, "store_crash_writer, mutation %llu failed (%s)\n",
					(unsigned long long)(i + j), souk_strerror(m[j].result));
				store_close(&s);
				return 3;
			}
			if (j < n)
				printf("%llu\n", (unsigned long long)(i + j));
		}
		fflush(stdout);
		i += n;
	}
	store_close(&s);
	return 0;
}
