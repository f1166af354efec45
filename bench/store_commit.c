/*
 * store_commit - durable commit rates: raw LMDB against store_apply batches.
 *
 *   store_commit [-d DIR] [-n COUNT] [-s BYTES] [-t SECONDS] [-b BATCH]...
 *
 * Mode "raw": one write txn per commit putting one BYTES-byte value, with the
 * store's durability (no NOSYNC/NOMETASYNC/MAPASYNC/WRITEMAP), so every
 * commit waits for fdatasync: the rate one fsync'ed commit per request gives.
 * Mode "store": store_apply() of BATCH creates of ~BYTES-byte JSON documents,
 * each with its own unique key (records + history + change log + unique key
 * + audit leaf), one durable commit per batch. Batches default to 1, 16, 64
 * and 256; -b (repeatable) picks others. Prints one line per run:
 *   raw   commits=N seconds=S commits_per_s=R cpu_us_per_commit=C value_bytes=B
 *   store batch=K commits=N seconds=S commits_per_s=R mutations_per_s=M
 *         cpu_us_per_mutation=C doc_bytes=B
 * and last the ratio of batch-64 (or the largest batch below it) mutations/s
 * to raw commits/s:
 *   ratio batch=64 mutations_per_s/raw_commits_per_s=X
 * cpu_us is process CPU time (user + system) per commit or mutation: the
 * work beyond waiting for the disk. Each run is bounded by COUNT commits and
 * SECONDS, whichever ends first. DIR defaults to a fresh directory under
 * /tmp (the disk under test), removed afterwards.
 */
#include <errno.h>
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

static double run_raw(const char *dir, uint64_t count, size_t size, double secs)
{
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *txn;
	char *val = malloc(size);
	int rc;
	if (!val)
		return -1;
	memset(val, 'v', size);
	if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_mapsize(env, 1ull << 30)) ||
	    (rc = mdb_env_open(env, dir, MDB_NOTLS, 0600))) {
		fprintf(stderr, "store_commit, lmdb open failed (%s)\n", mdb_strerror(rc));
		free(val);
		return -1;
	}
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, NULL, 0, &dbi);
	mdb_txn_commit(txn);
	uint64_t t0 = souk_now_mono_ns(), c0 = cpu_ns(), n = 0, limit = (uint64_t)(secs * 1e9);
	for (; n < count && souk_now_mono_ns() - t0 < limit; n++) {
		uint8_t kb[8];
		for (int i = 0; i < 8; i++)
			kb[i] = (uint8_t)(n >> (56 - 8 * i));
		MDB_val k = { 8, kb }, v = { size, val };
		if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) || (rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND)) ||
		    (rc = mdb_txn_commit(txn))) {
			fprintf(stderr, "store_commit, commit failed (%s)\n", mdb_strerror(rc));
			break;
		}
	}
	double s = (double)(souk_now_mono_ns() - t0) / 1e9, cpu = (double)(cpu_ns() - c0) / 1e3;
	double rate = s > 0 ? (double)n / s : 0.0;
	printf("raw   commits=%llu seconds=%.3f commits_per_s=%.0f cpu_us_per_commit=%.1f value_bytes=%zu\n",
	       (unsigned long long)n, s, rate, n ? cpu / (double)n : 0.0, size);
	fflush(stdout);
	mdb_env_close(env);
	free(val);
	return rc ? -1 : rate;
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

static double run_store(const char *dir, uint64_t count, size_t size, double secs, size_t batch)
{
	store_t *s = NULL;
	store_opts_t o = { .map_size = 64ull << 20 };
	size_t cap = size + 512;
	char *docs = malloc(batch * cap), *keys = malloc(batch * 32);
	size_t *dlens = calloc(batch, sizeof(size_t)), *klens = calloc(batch, sizeof(size_t));
	const char **kp = calloc(batch, sizeof(char *));
	store_mut_t *m = calloc(batch, sizeof(*m));
	double rate = -1;
	int rc = 0;
	if (!docs || !keys || !dlens || !klens || !kp || !m)
		goto out;
	if ((rc = store_open(dir, &o, &s)) != 0) {
		fprintf(stderr, "store_commit, store open failed (%s)\n", souk_strerror(rc));
		goto out;
	}
	uint64_t t0 = souk_now_mono_ns(), c0 = cpu_ns(), n = 0, limit = (uint64_t)(secs * 1e9);
	uint64_t serial = 0, failed = 0;
	for (; n < count && souk_now_mono_ns() - t0 < limit; n++) {
		for (size_t i = 0; i < batch; i++, serial++) {
			char *d = docs + i * cap, *k = keys + i * 32;
			dlens[i] = make_doc(d, cap, size, serial);
			klens[i] = 4 + (size_t)snprintf(k + 4, 28, "SKU-%010llu", (unsigned long long)serial);
			memcpy(k, "sku", 4);
			kp[i] = k;
			memset(&m[i], 0, sizeof(m[i]));
			m[i].op = STORE_OP_CREATE;
			m[i].kind = "product";
			m[i].doc = d;
			m[i].doc_len = dlens[i];
			m[i].keys = &kp[i];
			m[i].key_lens = &klens[i];
			m[i].nkeys = 1;
			m[i].actor = "bench";
		}
		if ((rc = store_apply(s, m, batch)) != 0) {
			fprintf(stderr, "store_commit, apply failed (%s)\n", souk_strerror(rc));
			break;
		}
		for (size_t i = 0; i < batch; i++)
			failed += m[i].result != 0;
	}
	double sec = (double)(souk_now_mono_ns() - t0) / 1e9, cpu = (double)(cpu_ns() - c0) / 1e3;
	rate = sec > 0 ? (double)(n * batch) / sec : 0.0;
	printf("store batch=%zu commits=%llu seconds=%.3f commits_per_s=%.0f mutations_per_s=%.0f "
	       "cpu_us_per_mutation=%.1f doc_bytes=%zu\n",
	       batch, (unsigned long long)n, sec, sec > 0 ? (double)n / sec : 0.0, rate,
	       n ? cpu / (double)(n * batch) : 0.0, dlens[0]);
	fflush(stdout);
	if (failed) {
		fprintf(stderr, "store_commit, %llu mutations failed\n", (unsigned long long)failed);
		rc = SOUK_ESTORE;
	}
out:
	store_close(&s);
	free(docs);
	free(keys);
	free(dlens);
	free(klens);
	free(kp);
	free(m);
	return rc ? -1 : rate;
}

int main(int argc, char **argv)
{
	const char *base = NULL;
	uint64_t count = 100000, size = 600, batches[MAX_BATCHES] = { 1, 16, 64, 256 };
	size_t nb = 4, userb = 0;
	double secs = 4, rates[MAX_BATCHES];
	int ch, rc = 0;
	char tmpl[] = "/tmp/souk-bench-XXXXXX", path[300];
	log_init("store_commit", LOG_TARGET_STDERR);
	while ((ch = getopt(argc, argv, "d:n:s:t:b:")) != -1) {
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
		case 't': if (souk_parse_u64(optarg, 1, 3600, &v)) goto usage; secs = (double)v; break;
		default: goto usage;
		}
	}
	if (!base && !(base = mkdtemp(tmpl))) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/raw", base);
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		perror("mkdir");
		return 1;
	}
	double raw = run_raw(path, count, (size_t)size, secs);
	rc |= raw < 0;
	for (size_t i = 0; i < nb; i++) {
		snprintf(path, sizeof(path), "%s/store-%llu", base, (unsigned long long)batches[i]);
		rates[i] = run_store(path, count, (size_t)size, secs, (size_t)batches[i]);
		rc |= rates[i] < 0;
	}
	/* the batch the product target names: 64, else the largest below it */
	int pick = -1;
	for (size_t i = 0; i < nb; i++)
		if (batches[i] <= 64 && (pick < 0 || batches[i] > batches[pick]))
			pick = (int)i;
	if (pick >= 0 && raw > 0 && rates[pick] > 0)
		printf("ratio batch=%llu mutations_per_s/raw_commits_per_s=%.2f\n",
		       (unsigned long long)batches[pick], rates[pick] / raw);
	if (base == tmpl) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		if (system(cmd) != 0)
			fprintf(stderr, "store_commit, could not remove '%s'\n", base);
	}
	return rc ? 1 : 0;
usage:
	fprintf(stderr, "usage: store_commit [-d DIR] [-n COUNT] [-s BYTES] [-t SECONDS] [-b BATCH]...\n");
	return 2;
}
