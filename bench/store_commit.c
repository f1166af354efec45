/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_commit - durable commit rates: raw LMDB against store_apply batches.
 *
 *   store_commit [-d DIR] [-n COUNT] [-s BYTES] [-t SECONDS] [-b BATCH]... [-o]
 *
 * Mode "raw": one write txn per commit putting one BYTES-byte value, with the
 * store's durability (no NOSYNC/NOMETASYNC/MAPASYNC/WRITEMAP), so every
 * commit waits for fdatasync: the rate one fsync'ed commit per request gives.
 * Mode "store": store_apply() of BATCH creates of ~BYTES-byte JSON documents,
 * each with its own unique key (records + history + change log + unique key
 * + audit leaf), one durable commit per batch. Batches default to 1, 16, 64
 * and 256; -b (repeatable) picks others. Ids are fresh random ones (the
 * store draws them); -o opens the stores with ordered_ids (time-ordered
 * ids), to show what random ids cost in page writes.
 * Prints one line per run:
 *   raw   commits=N seconds=S commits_per_s=R cpu_us_per_commit=C value_bytes=B
 *   store batch=K commits=N seconds=S commits_per_s=R mutations_per_s=M
 *         cpu_us_per_mutation=C doc_bytes=B
 * Mode "unit": batches of BATCH checkout-shaped units of work
 * (store_apply_work; each unit creates one record with a unique key and
 * takes 1 from three counters: a per-SKU stock out of 64, a coupon and a
 * usage limit that every unit shares), at 1 and 64 units per batch: what 1
 * and 64 concurrent submitters of the group commit get:
 *   unit  batch=K commits=N seconds=S commits_per_s=R units_per_s=U
 *         cpu_us_per_unit=C doc_bytes=B
 * and last the ratio of batch-64 (or the largest batch up to 64) mutations/s
 * to raw commits/s:
 *   ratio batch=64 mutations_per_s/raw_commits_per_s=X
 * cpu_us is process CPU time (user + system) per commit or mutation: the
 * work beyond waiting for the disk. The modes run round robin in 200 ms
 * slices until each has run SECONDS (or COUNT commits), so that all of them
 * see the same disk even when its latency drifts (a shared machine);
 * documents are built outside the timed part. DIR defaults to a fresh
 * directory under /tmp (the disk under test), removed afterwards.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "store/store.h"

#define MAX_BATCHES 8

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One measured mode: raw LMDB commits (batch 0) or store_apply batches. */
typedef struct {
	size_t batch;
	MDB_env *env;
	MDB_dbi dbi;
	store_t *s;
	uint64_t commits, wall_ns, cpu_ns, serial, failed;
	bool broken;
	/* store mode buffers */
	char *docs, *keys;
	size_t *dlens, *klens, cap, doc_bytes;
	const char **kp;
	store_mut_t *m;
	bool unit;           /* checkout-shaped units instead of plain creates */
	store_work_t *w;
} bmode_t;

static char *raw_val;
static bool ordered_ids; /* -o */

/* ---- checkout-shaped units ---- */

#define UNIT_SKUS 64
#define UNIT_STOCK (1ll << 40) /* never runs out in a bench run */

static int seed_unit(store_txn_t *t, void *arg)
{
	char name[32];
	int rc = 0;
	for (int i = 0; i < UNIT_SKUS && rc == 0; i++) {
		snprintf(name, sizeof(name), "stock:%d", i);
		rc = store_counter_add(t, name, strlen(name), UNIT_STOCK, 0, INT64_MAX, NULL);
	}
	if (rc == 0)
		rc = store_counter_add(t, "coupon:bench", 12, UNIT_STOCK, 0, INT64_MAX, NULL);
	if (rc == 0)
		rc = store_counter_add(t, "limit:bench", 11, UNIT_STOCK, 0, INT64_MAX, NULL);
	return rc;
}

static int counters_seed(store_t *s)
{
	store_work_t w = { .fn = seed_unit, .actor = "bench" };
	int rc = store_apply_work(s, &w, 1);
	if (rc == 0)
		rc = w.result;
	if (rc)
		fprintf(stderr, "store_commit, counter seed failed (%s)\n", souk_strerror(rc));
	return rc ? -1 : 0;
}

/* 1 record + 3 counters, as a checkout of one line would be. */
static int checkout_unit(store_txn_t *t, void *arg)
{
	store_mut_t m = *(const store_mut_t *)arg;
	char name[32];
	int rc;
	if ((rc = store_txn_put(t, &m)) != 0)
		return rc;
	/* the SKU's stock: from the last two digits of its unique key */
	const char *k = m.keys[0] + m.key_lens[0] - 2;
	int n = snprintf(name, sizeof(name), "stock:%d", ((k[0] - '0') * 10 + (k[1] - '0')) % UNIT_SKUS);
	if ((rc = store_counter_add(t, name, (size_t)n, -1, 0, INT64_MAX, NULL)) != 0 ||
	    (rc = store_counter_add(t, "coupon:bench", 12, -1, 0, INT64_MAX, NULL)) != 0)
		return rc;
	return store_counter_add(t, "limit:bench", 11, -1, 0, INT64_MAX, NULL);
}

static int mode_open(bmode_t *md, const char *dir, size_t size)
{
	int rc;
	if (md->batch == 0) {
		MDB_txn *txn;
		if (!(raw_val = malloc(size)))
			return -1;
		memset(raw_val, 'v', size);
		if ((rc = mdb_env_create(&md->env)) || (rc = mdb_env_set_mapsize(md->env, 1ull << 30)) ||
		    (rc = mdb_env_open(md->env, dir, MDB_NOTLS, 0600)) ||
		    (rc = mdb_txn_begin(md->env, NULL, 0, &txn))) {
			fprintf(stderr, "store_commit, lmdb open failed (%s)\n", mdb_strerror(rc));
			return -1;
		}
		mdb_dbi_open(txn, NULL, 0, &md->dbi);
		return mdb_txn_commit(txn) ? -1 : 0;
	}
	store_opts_t o = { .map_size = 64ull << 20, .ordered_ids = ordered_ids };
	size_t n = md->batch;
	md->cap = size + 512;
	md->docs = malloc(n * md->cap);
	md->keys = malloc(n * 32);
	md->dlens = calloc(n, sizeof(size_t));
	md->klens = calloc(n, sizeof(size_t));
	md->kp = calloc(n, sizeof(char *));
	md->m = calloc(n, sizeof(*md->m));
	md->w = calloc(n, sizeof(*md->w));
	if (!md->docs || !md->keys || !md->dlens || !md->klens || !md->kp || !md->m || !md->w)
		return -1;
	if ((rc = store_open(dir, &o, &md->s)) != 0) {
		fprintf(stderr, "store_commit, store open failed (%s)\n", souk_strerror(rc));
		return -1;
	}
	return md->unit ? counters_seed(md->s) : 0;
}

static void mode_close(bmode_t *md)
{
	if (md->env)
		mdb_env_close(md->env);
	store_close(&md->s);
	free(md->docs);
	free(md->keys);
	free(md->dlens);
	free(md->klens);
	free(md->kp);
	free(md->m);
	free(md->w);
}

/* A product-like JSON document of about size bytes, numbered n. */
static size_t make_doc(char *buf, size_t cap, size_t size, uint64_t n)
{
	int len = snprintf(buf, cap,
			   "{\"sku\":\"SKU-%010llu\",\"name\":\"Bench product %llu\",\"price\":{\"amount\":%llu,"
			   "\"currency\":\"EUR\"},\"stock\":%llu,\"tags\":[\"bench\",\"store\",\"commit\"],"
			   "\"description\":\"",
			   (unsigned long long)n, (unsigned long long)n, (unsigned long long)(n % 10000) + 99,
			   (unsigned long long)(n % 500));
	size_t l = (size_t)len;
	for (; l + 3 < size && l + 3 < cap; l++)
		buf[l] = (char)('a' + (l * 7 + n) % 26);
	memcpy(buf + l, "\"}", 3);
	return l + 2;
}

/* One commit of the mode; its documents are built before the clock runs. */
static int mode_prepare(bmode_t *md, size_t size)
{
	for (size_t i = 0; i < md->batch; i++, md->serial++) {
		char *d = md->docs + i * md->cap, *k = md->keys + i * 32;
		md->dlens[i] = make_doc(d, md->cap, size, md->serial);
		md->doc_bytes = md->dlens[i];
		md->klens[i] = 4 + (size_t)snprintf(k + 4, 28, "SKU-%010llu", (unsigned long long)md->serial);
		memcpy(k, "sku", 4);
		md->kp[i] = k;
		store_mut_t *m = &md->m[i];
		memset(m, 0, sizeof(*m));
		m->op = STORE_OP_CREATE;
		m->kind = "product";
		m->doc = d;
		m->doc_len = md->dlens[i];
		m->keys = &md->kp[i];
		m->key_lens = &md->klens[i];
		m->nkeys = 1;
		m->actor = "bench";
		md->w[i] = (store_work_t){ .fn = checkout_unit, .arg = m, .actor = "bench" };
	}
	return 0;
}

static int mode_commit(bmode_t *md, size_t size)
{
	int rc;
	if (md->batch == 0) {
		MDB_txn *txn;
		uint8_t kb[8];
		for (int i = 0; i < 8; i++)
			kb[i] = (uint8_t)(md->serial >> (56 - 8 * i));
		md->serial++;
		MDB_val k = { 8, kb }, v = { size, raw_val };
		if ((rc = mdb_txn_begin(md->env, NULL, 0, &txn)) ||
		    (rc = mdb_put(txn, md->dbi, &k, &v, MDB_APPEND)) || (rc = mdb_txn_commit(txn))) {
			fprintf(stderr, "store_commit, commit failed (%s)\n", mdb_strerror(rc));
			return -1;
		}
		return 0;
	}
	rc = md->unit ? store_apply_work(md->s, md->w, md->batch)
		      : store_apply(md->s, md->m, md->batch);
	if (rc != 0) {
		fprintf(stderr, "store_commit, apply failed (%s)\n", souk_strerror(rc));
		return -1;
	}
	for (size_t i = 0; i < md->batch; i++)
		md->failed += (md->unit ? md->w[i].result : md->m[i].result) != 0;
	return 0;
}

/* Run the mode for one time slice (or until count commits). */
static void mode_slice(bmode_t *md, size_t size, uint64_t slice_ns, uint64_t count)
{
	uint64_t spent = 0;
	while (!md->broken && md->commits < count && spent < slice_ns) {
		if (md->batch)
			mode_prepare(md, size);
		uint64_t t0 = souk_now_mono_ns(), c0 = cpu_ns();
		if (mode_commit(md, size) != 0)
			md->broken = true;
		uint64_t dt = souk_now_mono_ns() - t0;
		md->cpu_ns += cpu_ns() - c0;
		md->wall_ns += dt;
		spent += dt;
		md->commits += !md->broken;
	}
}

int main(int argc, char **argv)
{
	const char *base = NULL;
	uint64_t count = 1000000, size = 600, batches[MAX_BATCHES] = { 1, 16, 64, 256 };
	size_t nb = 4, userb = 0;
	double secs = 4;
	bmode_t modes[MAX_BATCHES + 3];
	int ch, rc = 0;
	char tmpl[] = "/tmp/souk-bench-XXXXXX", path[300];
	log_init("store_commit", LOG_TARGET_STDERR);
	while ((ch = getopt(argc, argv, "d:n:s:t:b:o")) != -1) {
		uint64_t v;
		switch (ch) {
		case 'd': base = optarg; break;
		case 'n': if (souk_parse_u64(optarg, 1, UINT64_MAX, &count)) goto usage; break;
		case 's': if (souk_parse_u64(optarg, 200, 1 << 20, &size)) goto usage; break;
		case 'b':
			if (userb == MAX_BATCHES || souk_parse_u64(optarg, 1, 4096, &v))
				goto usage;
			batches[userb++] = v;
			nb = userb;
			break;
		case 'o': ordered_ids = true; break;
		case 't': if (souk_parse_u64(optarg, 1, 3600, &v)) goto usage; secs = (double)v; break;
		default: goto usage;
		}
	}
	if (!base && !(base = mkdtemp(tmpl))) {
		perror("mkdtemp");
		return 1;
	}
	memset(modes, 0, sizeof(modes));
	size_t nm = nb + 3; /* raw, the store batches, units at 1 and 64 */
	for (size_t i = 0; i < nm; i++) {
		modes[i].batch = i == 0 ? 0 : i <= nb ? (size_t)batches[i - 1] : i == nb + 1 ? 1 : 64;
		modes[i].unit = i > nb;
		if (i == 0)
			snprintf(path, sizeof(path), "%s/raw", base);
		else
			snprintf(path, sizeof(path), "%s/%s-%zu-%zu", base, modes[i].unit ? "unit" : "store",
				 i, modes[i].batch);
		if (i == 0 && mkdir(path, 0700) != 0 && errno != EEXIST) {
			perror("mkdir");
			rc = 1;
			goto out;
		}
		if (mode_open(&modes[i], path, (size_t)size) != 0) {
			rc = 1;
			goto out;
		}
	}
	/* round robin in short slices, so every mode sees the same disk */
	uint64_t limit = (uint64_t)(secs * 1e9), slice = 200000000ull, t0 = souk_now_mono_ns();
	for (bool more = true; more && souk_now_mono_ns() - t0 < 4 * limit * nm;) {
		more = false;
		for (size_t i = 0; i < nm; i++) {
			bmode_t *md = &modes[i];
			if (md->broken || md->commits >= count || md->wall_ns >= limit)
				continue;
			mode_slice(md, (size_t)size, slice, count);
			more = true;
		}
	}
	double raw = 0, pick_rate = 0;
	size_t pick = 0;
	for (size_t i = 0; i < nm; i++) {
		bmode_t *md = &modes[i];
		double sec = (double)md->wall_ns / 1e9, cpu = (double)md->cpu_ns / 1e3;
		double cps = sec > 0 ? (double)md->commits / sec : 0.0;
		rc |= md->broken;
		if (md->batch == 0) {
			raw = cps;
			printf("raw   commits=%llu seconds=%.3f commits_per_s=%.0f cpu_us_per_commit=%.1f value_bytes=%llu\n",
			       (unsigned long long)md->commits, sec, cps,
			       md->commits ? cpu / (double)md->commits : 0.0, (unsigned long long)size);
			continue;
		}
		uint64_t muts = md->commits * md->batch;
		double mps = sec > 0 ? (double)muts / sec : 0.0;
		if (md->unit) {
			printf("unit  batch=%zu commits=%llu seconds=%.3f commits_per_s=%.0f units_per_s=%.0f "
			       "cpu_us_per_unit=%.1f doc_bytes=%zu\n",
			       md->batch, (unsigned long long)md->commits, sec, cps, mps,
			       muts ? cpu / (double)muts : 0.0, md->doc_bytes);
			if (md->failed) {
				fprintf(stderr, "store_commit, %llu units failed\n",
					(unsigned long long)md->failed);
				rc = 1;
			}
			continue;
		}
		printf("store batch=%zu commits=%llu seconds=%.3f commits_per_s=%.0f mutations_per_s=%.0f "
		       "cpu_us_per_mutation=%.1f doc_bytes=%zu\n",
		       md->batch, (unsigned long long)md->commits, sec, cps, mps,
		       muts ? cpu / (double)muts : 0.0, md->doc_bytes);
		if (md->failed) {
			fprintf(stderr, "store_commit, %llu mutations failed\n", (unsigned long long)md->failed);
			rc = 1;
		}
		/* the batch the product target names: 64, else the largest below it */
		if (md->batch <= 64 && md->batch > pick) {
			pick = md->batch;
			pick_rate = mps;
		}
	}
	if (pick && raw > 0)
		printf("ratio batch=%zu mutations_per_s/raw_commits_per_s=%.2f\n", pick, pick_rate / raw);
out:
	for (size_t i = 0; i < nb + 3; i++)
		mode_close(&modes[i]);
	free(raw_val);
	if (base == tmpl) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		if (system(cmd) != 0)
			fprintf(stderr, "store_commit, could not remove '%s'\n", base);
	}
	return rc ? 1 : 0;
usage:
	fprintf(stderr, "usage: store_commit [-d DIR] [-n COUNT] [-s BYTES] [-t SECONDS] [-b BATCH]... [-o]\n");
	return 2;
}
