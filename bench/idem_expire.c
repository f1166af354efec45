/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idem_expire - other writers' commit latency while idempotency keys expire.
 *
 *   idem_expire [-d DIR] [-n KEYS] [-w WRITERS] [-t SECONDS] [-p PER_TXN]
 *
 * Records KEYS (default 1,000,000) idempotency keys with store_apply (creates
 * of "{}" in batches of 1,000), then runs WRITERS threads (default 2) that
 * commit one create each per store_apply(), as API writers do, and measures
 * each commit's latency twice in the same run: for SECONDS (default 5)
 * without expiry (the baseline), then while store_idem_expire_opts() forgets
 * all KEYS keys (PER_TXN per write txn, default the store's) on a thread of
 * its own, as soukd's job does. Prints
 *   baseline commits=N p50_ms=A p99_ms=B max_ms=C
 *   expiry   commits=N p50_ms=A p99_ms=B max_ms=C keys=K seconds=S
 *            keys_per_s=R chunks=M per_txn=P
 * and the same as one line of JSON after "IDEMJSON " (read by scripts/bench).
 * DIR defaults to a fresh directory under /tmp, removed afterwards.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "store/store.h"

#define FILL_BATCH 1000
#define SAMPLES_MAX (1u << 22)
#define WRITERS_MAX 16

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

typedef struct {
	store_t *s;
	_Atomic int phase; /* 0 wait, 1 measure, 2 stop */
	_Atomic uint64_t failed;
	uint32_t *lat_us; /* per writer, SAMPLES_MAX each */
	_Atomic uint32_t n[WRITERS_MAX];
	int writers;
} bench_t;

typedef struct {
	bench_t *b;
	int idx;
} writer_arg_t;

static void *writer(void *arg)
{
	writer_arg_t *w = arg;
	bench_t *b = w->b;
	uint32_t *lat = b->lat_us + (size_t)w->idx * SAMPLES_MAX;
	while (atomic_load(&b->phase) != 2) {
		store_mut_t m = {.op = STORE_OP_CREATE, .kind = "order", .doc = "{}", .doc_len = 2,
				 .actor = "bench"};
		uint64_t t0 = now_us();
		if (store_apply(b->s, &m, 1) != 0 || m.result != 0)
			atomic_fetch_add(&b->failed, 1);
		uint64_t d = now_us() - t0;
		uint32_t i = atomic_load(&b->n[w->idx]);
		if (atomic_load(&b->phase) == 1 && i < SAMPLES_MAX) {
			lat[i] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
			atomic_store(&b->n[w->idx], i + 1);
		}
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

typedef struct {
	uint64_t commits;
	double p50_ms, p99_ms, max_ms;
} lat_t;

/* Gather and reset every writer's samples (writers are between phases). */
static lat_t collect(bench_t *b)
{
	lat_t r = {0};
	uint64_t n = 0;
	for (int w = 0; w < b->writers; w++)
		n += atomic_load(&b->n[w]);
	uint32_t *all = malloc((n ? n : 1) * sizeof(*all));
	if (!all)
		return r;
	n = 0;
	for (int w = 0; w < b->writers; w++) {
		uint32_t k = atomic_load(&b->n[w]);
		memcpy(all + n, b->lat_us + (size_t)w * SAMPLES_MAX, k * sizeof(*all));
		n += k;
		atomic_store(&b->n[w], 0);
	}
	qsort(all, n, sizeof(*all), cmp_u32);
	r.commits = n;
	if (n) {
		r.p50_ms = all[n / 2] / 1e3;
		r.p99_ms = all[(n * 99) / 100] / 1e3;
		r.max_ms = all[n - 1] / 1e3;
	}
	free(all);
	return r;
}

static int fill(store_t *s, uint64_t keys)
{
	static store_mut_t m[FILL_BATCH];
	static char names[FILL_BATCH][24];
	for (uint64_t done = 0; done < keys;) {
		size_t n = keys - done < FILL_BATCH ? (size_t)(keys - done) : FILL_BATCH;
		for (size_t i = 0; i < n; i++) {
			/* random-looking keys, as clients make them (UUIDs) */
			uint64_t h = (done + i + 1) * 0x9e3779b97f4a7c15ull;
			snprintf(names[i], sizeof(names[i]), "%016llx", (unsigned long long)h);
			m[i] = (store_mut_t){.op = STORE_OP_CREATE, .kind = "order", .doc = "{}",
					     .doc_len = 2, .actor = "admin", .idem_key = names[i],
					     .idem_key_len = 16};
		}
		int rc = store_apply(s, m, n);
		if (rc)
			return rc;
		done += n;
	}
	return 0;
}

typedef struct {
	uint64_t chunks;
} expiry_arg_t;

static int between(void *arg, uint64_t removed)
{
	(void)removed;
	((expiry_arg_t *)arg)->chunks++;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: idem_expire [-d DIR] [-n KEYS] [-w WRITERS] [-t SECONDS] [-p PER_TXN]\n");
}

int main(int argc, char **argv)
{
	char dir[256] = "", tmp[] = "/tmp/souk-idem-bench-XXXXXX";
	uint64_t keys = 1000000, secs = 5, per = 0;
	int writers = 2, c, rc = 1;
	bench_t b = {0};
	pthread_t th[WRITERS_MAX];
	writer_arg_t wa[WRITERS_MAX];
	bool made = false;

	while ((c = getopt(argc, argv, "d:n:w:t:p:")) != -1) {
		switch (c) {
		case 'd': snprintf(dir, sizeof(dir), "%s", optarg); break;
		case 'n': keys = strtoull(optarg, NULL, 10); break;
		case 'w': writers = atoi(optarg); break;
		case 't': secs = strtoull(optarg, NULL, 10); break;
		case 'p': per = strtoull(optarg, NULL, 10); break;
		default: usage(); return 2;
		}
	}
	if (keys == 0 || writers < 1 || writers > WRITERS_MAX || secs == 0 || secs > 600 ||
	    per > UINT32_MAX) {
		usage();
		return 2;
	}
	log_init("idem_expire", LOG_TARGET_STDERR);
	log_set_level(LOG_WARNING);
	if (!dir[0]) {
		if (!mkdtemp(tmp)) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(dir, sizeof(dir), "%s", tmp);
		made = true;
	}
	store_opts_t o = {.map_size = 1ull << 30, .max_readers = 64};
	if ((rc = store_open(dir, &o, &b.s)) != 0) {
		fprintf(stderr, "idem_expire, cannot open the store in '%s' (%s)\n", dir,
			souk_strerror(rc));
		rc = 1;
		goto out;
	}
	uint64_t t0 = now_us();
	if ((rc = fill(b.s, keys)) != 0) {
		fprintf(stderr, "idem_expire, fill failed (%s)\n", souk_strerror(rc));
		rc = 1;
		goto out;
	}
	double fill_s = (now_us() - t0) / 1e6;
	uint64_t cutoff_ms = souk_now_real_ms();
	b.writers = writers;
	b.lat_us = malloc((size_t)writers * SAMPLES_MAX * sizeof(uint32_t));
	if (!b.lat_us) {
		rc = 1;
		goto out;
	}
	for (int w = 0; w < writers; w++) {
		wa[w] = (writer_arg_t){&b, w};
		pthread_create(&th[w], NULL, writer, &wa[w]);
	}
	/* baseline: writers alone */
	atomic_store(&b.phase, 1);
	for (uint64_t end = now_us() + secs * 1000000u; now_us() < end;)
		usleep(10000);
	atomic_store(&b.phase, 0);
	usleep(100000); /* writers finish the commit they are in */
	lat_t base = collect(&b);
	/* the same writers while every key expires */
	expiry_arg_t ea = {0};
	store_idem_expire_opts_t eo = {.per_txn = (uint32_t)per, .now_ms = cutoff_ms,
				       .between = between, .arg = &ea};
	uint64_t removed = 0;
	atomic_store(&b.phase, 1);
	t0 = now_us();
	rc = store_idem_expire_opts(b.s, 0, &eo, &removed);
	double exp_s = (now_us() - t0) / 1e6;
	atomic_store(&b.phase, 2);
	for (int w = 0; w < writers; w++)
		pthread_join(th[w], NULL);
	lat_t during = collect(&b);
	if (rc != 0 || removed != keys || atomic_load(&b.failed)) {
		fprintf(stderr, "idem_expire, expiry %s, removed %llu of %llu, %llu writer commits failed\n",
			souk_strerror(rc), (unsigned long long)removed, (unsigned long long)keys,
			(unsigned long long)atomic_load(&b.failed));
		rc = 1;
		goto out;
	}
	uint32_t per_txn = per ? (uint32_t)per : STORE_IDEM_EXPIRE_PER_TXN;
	printf("baseline commits=%llu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
	       (unsigned long long)base.commits, base.p50_ms, base.p99_ms, base.max_ms);
	printf("expiry commits=%llu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f keys=%llu seconds=%.2f "
	       "keys_per_s=%.0f chunks=%llu per_txn=%u fill_s=%.1f\n",
	       (unsigned long long)during.commits, during.p50_ms, during.p99_ms, during.max_ms,
	       (unsigned long long)removed, exp_s, removed / (exp_s > 0 ? exp_s : 1e-9),
	       (unsigned long long)ea.chunks + 1, per_txn, fill_s);
	printf("IDEMJSON {\"keys\":%llu,\"per_txn\":%u,\"writers\":%d,\"expiry_s\":%.3f,"
	       "\"base_commits\":%llu,\"base_p50_ms\":%.3f,\"base_p99_ms\":%.3f,\"base_max_ms\":%.3f,"
	       "\"commits\":%llu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
	       (unsigned long long)removed, per_txn, writers, exp_s,
	       (unsigned long long)base.commits, base.p50_ms, base.p99_ms, base.max_ms,
	       (unsigned long long)during.commits, during.p50_ms, during.p99_ms, during.max_ms);
	rc = 0;
out:
	store_close(&b.s);
	free(b.lat_us);
	if (made) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "idem_expire, cannot remove '%s'\n", dir);
	}
	return rc;
}
