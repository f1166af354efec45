/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/publish.c - catalog publishing figures.
 *
 *   publish [N] [CHANGES] [FRESH]
 *
 * Writes N products (default 100000) to a fresh LMDB store in a temporary
 * directory, then measures: the publisher's full build + publish at start,
 * the incremental publish (a delta) after one change (CHANGES rounds,
 * default 20), freshness commit -> datagram -> coalesce -> publish -> seen
 * by a reader (FRESH rounds, default 200) while a reader thread runs
 * lookups, a base rebuild on the worker thread and freshness during it,
 * the image (base and delta) and catalog section sizes, a product lookup
 * through base + delta, and the process RSS. Everything it creates is
 * removed at the end.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/publisher.h"
#include "domain/catalog/sections.h"
#include "shm/shm.h"
#include "store/store.h"

static const char *const cats[] = { "bags", "christmas", "garden", "home",
				    "kitchen", "party", "stationery", "toys" };

static long rss_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			v = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void doc_for(char *buf, size_t cap, unsigned i, unsigned rev)
{
	snprintf(buf, cap,
		 "{\"sku\":\"B%07u\",\"status\":\"active\",\"seller\":\"s%u\",\"category\":\"%s\","
		 "\"title\":{\"en\":\"Benchmark product %u rev %u\",\"fr\":\"Produit %u\"},"
		 "\"description\":{\"en\":\"A product used to measure publishing: number %u, "
		 "with enough text to look like a real description of a real thing.\"},"
		 "\"price\":{\"GBP\":%u,\"EUR\":%u},\"stock\":%u,"
		 "\"attributes\":{\"colour\":\"red\",\"size\":\"M\"}}",
		 i, i % 50, cats[i % 8], i, rev, i, i, 100 + i % 5000, 120 + i % 6000, i % 100);
}

/* A reader thread doing lookups all the time, as workers do. */
typedef struct {
	shm_ctl_t *ctl;
	const store_id_t *ids;
	unsigned n;
	atomic_bool stop;
	uint64_t lookups, misses;
} reads_t;

static void *reads_main(void *arg)
{
	reads_t *rd = arg;
	shm_reader_t *r = NULL;
	uint32_t x = 12345;
	if (shm_reader_new(rd->ctl, &r) != 0)
		return NULL;
	while (!atomic_load_explicit(&rd->stop, memory_order_relaxed)) {
		const shm_image_t *img;
		catalog_view_t v;
		if (shm_reader_acquire(r, &img) != 0)
			continue;
		if (catalog_view_init(img, &v) == 0) {
			for (int k = 0; k < 64; k++) {
				const char *json;
				size_t len;
				x = x * 1664525u + 1013904223u;
				if (catalog_get(&v, &rd->ids[x % rd->n], "fr", &json, &len, NULL) != 0)
					rd->misses++;
				rd->lookups++;
			}
		}
		shm_reader_release(r);
	}
	shm_reader_free(&r);
	return NULL;
}

/* One update of product i committed, announced and waited for until a reader
 * sees it; returns microseconds from commit to visible, 0 on failure. */
static uint64_t fresh_round(store_t *s, publisher_t *p, struct event_base *base, shm_reader_t *rd,
			    int nfd, const store_id_t *ids, uint64_t *versions, unsigned i,
			    unsigned rev)
{
	char doc[768], key[16];
	const char *k = key;
	size_t klen;
	store_mut_t u;
	doc_for(doc, sizeof(doc), i, rev);
	memcpy(key, "sku", 4);
	snprintf(key + 4, 12, "B%07u", i);
	klen = 4 + strlen(key + 4);
	memset(&u, 0, sizeof(u));
	u.op = STORE_OP_UPDATE;
	u.kind = "product";
	u.id = ids[i];
	u.expect_version = versions[i];
	u.doc = doc;
	u.doc_len = strlen(doc);
	u.keys = &k;
	u.key_lens = &klen;
	u.nkeys = 1;
	u.actor = "bench";
	uint64_t t0 = souk_now_mono_ns();
	if (store_apply(s, &u, 1) != 0 || u.result != 0)
		return 0;
	versions[i] = u.version;
	publisher_notify(nfd, publisher_socket_path(p), u.seq);
	for (int spin = 0; spin < 5000; spin++) {
		const shm_image_t *img;
		catalog_view_t v;
		bool seen = false;
		if (shm_reader_acquire(rd, &img) == 0) {
			seen = catalog_view_init(img, &v) == 0 && v.seq >= u.seq;
			shm_reader_release(rd);
		}
		if (seen)
			return (souk_now_mono_ns() - t0) / 1000u;
		struct timeval tv = { 0, 500 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return 0;
}

static double pct(const uint64_t *sorted, unsigned n, unsigned q)
{
	unsigned i = (unsigned)(((uint64_t)n * q + 99) / 100);
	return (n ? sorted[i ? i - 1 : 0] : 0) / 1000.0;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 100000;
	unsigned rounds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 20;
	unsigned nfr = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 200;
	char dir[] = "/tmp/souk-bench-publish-XXXXXX", db[128], inst[64], cmd[160];
	store_t *s = NULL;
	shm_ctl_t *ctl = NULL;
	struct event_base *base = NULL;
	publisher_t *p = NULL;
	store_id_t *ids = NULL;
	uint64_t *versions = NULL, *inc = NULL, *fresh = NULL;
	int rc = 1;

	if (n == 0 || rounds == 0 || rounds > 10000 || nfr == 0 || nfr > 10000) {
		fprintf(stderr, "usage: publish [N>0] [CHANGES 1..10000] [FRESH 1..10000]\n");
		return 2;
	}
	log_init("bench-publish", LOG_TARGET_STDERR);
	log_set_level(LOG_WARNING);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db, sizeof(db), "%s/db", dir);
	uint32_t rnd = 0;
	souk_random(&rnd, sizeof(rnd));
	snprintf(inst, sizeof(inst), "soukbench-%d-%08x", (int)getpid(), rnd);

	store_opts_t so = { .map_size = 256ull << 20 };
	ids = calloc(n, sizeof(*ids));
	versions = calloc(n, sizeof(*versions));
	inc = calloc(rounds, sizeof(*inc));
	if (!ids || !versions || !inc || store_open(db, &so, &s) != 0) {
		fprintf(stderr, "bench, cannot set up the store\n");
		goto out;
	}

	/* write the products: 1000 per transaction */
	uint64_t t0 = souk_now_mono_ns();
	enum { BATCH = 1000 };
	store_mut_t *m = calloc(BATCH, sizeof(*m));
	char (*docs)[768] = calloc(BATCH, sizeof(*docs));
	char (*keys)[16] = calloc(BATCH, sizeof(*keys));
	const char **kp = calloc(BATCH, sizeof(*kp));
	size_t *kl = calloc(BATCH, sizeof(*kl));
	if (!m || !docs || !keys || !kp || !kl)
		goto out;
	for (unsigned i = 0; i < n; i += BATCH) {
		unsigned k = n - i < BATCH ? n - i : BATCH;
		memset(m, 0, k * sizeof(*m));
		for (unsigned j = 0; j < k; j++) {
			doc_for(docs[j], sizeof(docs[j]), i + j, 0);
			memcpy(keys[j], "sku", 4);
			snprintf(keys[j] + 4, 12, "B%07u", i + j);
			kp[j] = keys[j];
			kl[j] = 4 + strlen(keys[j] + 4);
			m[j].op = STORE_OP_CREATE;
			m[j].kind = "product";
			m[j].doc = docs[j];
			m[j].doc_len = strlen(docs[j]);
			m[j].keys = &kp[j];
			m[j].key_lens = &kl[j];
			m[j].nkeys = 1;
			m[j].actor = "bench";
		}
		if (store_apply(s, m, k) != 0) {
			fprintf(stderr, "bench, store_apply failed\n");
			goto out;
		}
		for (unsigned j = 0; j < k; j++) {
			ids[i + j] = m[j].id;
			versions[i + j] = m[j].version;
		}
	}
	double load_s = (double)(souk_now_mono_ns() - t0) / 1e9;
	free(docs);
	free(keys);
	free(kp);
	free(kl);
	free(m);

	if (shm_ctl_create(inst, 8, &ctl) != 0 || !(base = event_base_new())) {
		fprintf(stderr, "bench, cannot create the control segment\n");
		goto out;
	}
	long rss_before = rss_kb("VmRSS:");
	t0 = souk_now_mono_ns();
	publisher_opts_t po = { .runtime_dir = dir, .coalesce_ms = 2, .poll_ms = 60000 };
	if (publisher_new(base, s, ctl, &po, &p) != 0) {
		fprintf(stderr, "bench, full build failed\n");
		goto out;
	}
	double full_ms = (double)(souk_now_mono_ns() - t0) / 1e6;
	publisher_stats_t ps;
	publisher_stats(p, &ps);
	shm_ctl_stats_t cs;
	shm_ctl_stats(ctl, &cs);
	uint64_t full_pub_us = ps.last_duration_us;

	/* one change, then catch up: what a datagram triggers */
	for (unsigned r = 0; r < rounds; r++) {
		unsigned i = (unsigned)((r * 7919u) % n);
		char doc[768], key[16];
		const char *k = key;
		size_t klen;
		store_mut_t u;
		doc_for(doc, sizeof(doc), i, r + 1);
		memcpy(key, "sku", 4);
		snprintf(key + 4, 12, "B%07u", i);
		klen = 4 + strlen(key + 4);
		memset(&u, 0, sizeof(u));
		u.op = STORE_OP_UPDATE;
		u.kind = "product";
		u.id = ids[i];
		u.expect_version = versions[i];
		u.doc = doc;
		u.doc_len = strlen(doc);
		u.keys = &k;
		u.key_lens = &klen;
		u.nkeys = 1;
		u.actor = "bench";
		if (store_apply(s, &u, 1) != 0 || u.result != 0) {
			fprintf(stderr, "bench, update failed\n");
			goto out;
		}
		versions[i] = u.version;
		uint64_t t1 = souk_now_mono_ns();
		if (publisher_catch_up(p) != 0) {
			fprintf(stderr, "bench, incremental publish failed\n");
			goto out;
		}
		inc[r] = (souk_now_mono_ns() - t1) / 1000u;
	}
	qsort(inc, rounds, sizeof(*inc), cmp_u64);
	publisher_stats(p, &ps);
	shm_ctl_stats(ctl, &cs);

	shm_ctl_stats_t cs_delta = cs;

	/* freshness: commit -> datagram -> coalesce -> publish -> seen by a reader,
	 * through the event loop as in soukd, while a thread keeps reading */
	uint64_t fresh_rb[64] = { 0 };
	fresh = calloc(nfr, sizeof(*fresh));
	unsigned nfresh = 0, nfresh_rb = 0;
	uint64_t rebuild_us = 0, rebuilds_before = 0;
	reads_t reads = { .ctl = ctl, .ids = ids, .n = n };
	pthread_t rth;
	bool rth_ok = false;
	shm_reader_t *frd = NULL;
	int nfd = publisher_notify_open();
	if (fresh && nfd >= 0 && publisher_socket_path(p)[0] && shm_reader_new(ctl, &frd) == 0) {
		atomic_init(&reads.stop, false);
		rth_ok = pthread_create(&rth, NULL, reads_main, &reads) == 0;
		for (unsigned r = 0; r < nfr; r++) {
			unsigned i = (unsigned)((r * 104729u + 17u) % n);
			uint64_t us = fresh_round(s, p, base, frd, nfd, ids, versions, i, 1000 + r);
			if (us)
				fresh[nfresh++] = us;
		}
		/* a base rebuild on the worker thread, with changes going on */
		publisher_stats(p, &ps);
		rebuilds_before = ps.base_rebuilds;
		if (publisher_rebuild_base(p) == 0) {
			for (unsigned r = 0; r < 64 && publisher_rebuilding(p); r++) {
				unsigned i = (unsigned)((r * 7u + 3u) % n);
				uint64_t us =
				    fresh_round(s, p, base, frd, nfd, ids, versions, i, 5000 + r);
				if (us)
					fresh_rb[nfresh_rb++] = us;
			}
			for (int spin = 0; spin < 100000 && publisher_rebuilding(p); spin++) {
				struct timeval tv = { 0, 1000 };
				event_base_loopexit(base, &tv);
				event_base_dispatch(base);
			}
			publisher_stats(p, &ps);
			if (ps.base_rebuilds > rebuilds_before)
				rebuild_us = ps.last_base_build_us;
		}
		atomic_store(&reads.stop, true);
		if (rth_ok)
			pthread_join(rth, NULL);
	}
	shm_reader_free(&frd);
	if (nfd >= 0)
		close(nfd);

	/* a lookup in the published image */
	shm_reader_t *rd = NULL;
	const shm_image_t *img;
	catalog_view_t v;
	double get_ns = 0;
	if (shm_reader_new(ctl, &rd) == 0 && shm_reader_acquire(rd, &img) == 0 &&
	    catalog_view_init(img, &v) == 0) {
		const char *json;
		size_t len;
		unsigned lookups = 200000, found = 0;
		uint64_t t2 = souk_now_mono_ns();
		for (unsigned i = 0; i < lookups; i++)
			found += catalog_get(&v, &ids[(i * 2654435761u) % n], "fr", &json, &len,
					     NULL) == 0;
		get_ns = (double)(souk_now_mono_ns() - t2) / lookups;
		if (found != lookups)
			fprintf(stderr, "bench, %u lookups missed\n", lookups - found);
		shm_reader_release(rd);
	}
	shm_reader_free(&rd);

	printf("products                      %u\n", n);
	printf("store load (1000/txn)         %.2f s (%.0f products/s)\n", load_s, n / load_s);
	printf("full build at start           %.1f ms (scan+render+build+publish)\n", full_ms);
	printf("  of which build+publish      %.1f ms\n", full_pub_us / 1000.0);
	printf("incremental publish, 1 change median %.1f ms, p90 %.1f ms, max %.1f ms (%u rounds)\n",
	       inc[rounds / 2] / 1000.0, inc[(rounds * 9) / 10] / 1000.0, inc[rounds - 1] / 1000.0,
	       rounds);
	if (nfresh) {
		qsort(fresh, nfresh, sizeof(*fresh), cmp_u64);
		printf("freshness commit->visible     p50 %.1f ms, p99 %.1f ms, max %.1f ms (%u rounds, "
		       "reads running: %llu lookups, %llu misses)\n",
		       pct(fresh, nfresh, 50), pct(fresh, nfresh, 99), fresh[nfresh - 1] / 1000.0,
		       nfresh, (unsigned long long)reads.lookups, (unsigned long long)reads.misses);
	}
	if (rebuild_us)
		printf("base rebuild (worker thread)  %.1f ms\n", rebuild_us / 1000.0);
	if (nfresh_rb) {
		qsort(fresh_rb, nfresh_rb, sizeof(*fresh_rb), cmp_u64);
		printf("freshness during the rebuild  p50 %.1f ms, max %.1f ms (%u rounds)\n",
		       pct(fresh_rb, nfresh_rb, 50), fresh_rb[nfresh_rb - 1] / 1000.0, nfresh_rb);
	}
	printf("base image                    %.1f MiB (catalog sections %.1f MiB)\n",
	       cs_delta.base_size / 1048576.0, ps.base_catalog_bytes / 1048576.0);
	printf("delta image after %u changes  %.1f KiB\n", rounds, cs_delta.image_size / 1024.0);
	printf("bytes per product in base     %.0f\n", (double)cs_delta.base_size / n);
	printf("rendered table in soukd heap  %.1f MiB\n", ps.table_bytes / 1048576.0);
	printf("catalog_get (fr) in image     %.0f ns\n", get_ns);
	printf("RSS before publisher          %.1f MiB\n", rss_before / 1024.0);
	printf("RSS now / peak                %.1f / %.1f MiB\n", rss_kb("VmRSS:") / 1024.0,
	       rss_kb("VmHWM:") / 1024.0);
	printf("publishes                     %llu\n", (unsigned long long)ps.publishes);
	rc = 0;
out:
	publisher_free(&p);
	if (base)
		event_base_free(base);
	shm_ctl_free(&ctl);
	shm_ctl_unlink(inst);
	store_close(&s);
	free(ids);
	free(versions);
	free(inc);
	free(fresh);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench, cannot remove %s\n", dir);
	return rc;
}
