/*
 * store_commit - the storage ceiling: durable LMDB commits per second.
 *
 *   store_commit [-d DIR] [-n COUNT] [-s BYTES] [-t SECONDS] [-b BATCH]
 *
 * Mode "raw": one write txn per commit putting one BYTES-byte value, with the
 * store's durability (no NOSYNC/NOMETASYNC/MAPASYNC/WRITEMAP), so every
 * commit waits for fdatasync. Mode "store": store_apply() of BATCH creates
 * of BYTES-byte documents (records + history + change log + audit leaf),
 * one durable commit per batch. Prints one line per mode:
 *   raw   commits=N seconds=S commits_per_s=R value_bytes=B
 *   store commits=N seconds=S commits_per_s=R mutations_per_s=M batch=K doc_bytes=B
 * Bounded by COUNT and SECONDS, whichever ends first. DIR defaults to a
 * fresh directory under /tmp (the disk under test), removed afterwards.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "store/store.h"

static int run_raw(const char *dir, uint64_t count, size_t size, double secs)
{
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *txn;
	char *val = malloc(size);
	int rc;
	if (!val)
		return 1;
	memset(val, 'v', size);
	if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_mapsize(env, 1ull << 30)) ||
	    (rc = mdb_env_open(env, dir, MDB_NOTLS, 0600))) {
		fprintf(stderr, "store_commit, lmdb open failed (%s)\n", mdb_strerror(rc));
		free(val);
		return 1;
	}
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, NULL, 0, &dbi);
	mdb_txn_commit(txn);
	uint64_t t0 = souk_now_mono_ns(), n = 0, limit = (uint64_t)(secs * 1e9);
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
	double s = (double)(souk_now_mono_ns() - t0) / 1e9;
	printf("raw   commits=%llu seconds=%.3f commits_per_s=%.0f value_bytes=%zu\n",
	       (unsigned long long)n, s, s > 0 ? (double)n / s : 0.0, size);
	mdb_env_close(env);
	free(val);
	return rc ? 1 : 0;
}

static int run_store(const char *dir, uint64_t count, size_t size, double secs, size_t batch)
{
	store_t *s = NULL;
	store_opts_t o = { .map_size = 64ull << 20 };
	size_t dlen = size < 16 ? 16 : size;
	char *doc = malloc(dlen + 1);
	store_mut_t *m = calloc(batch, sizeof(*m));
	int rc = 1;
	if (!doc || !m)
		goto out;
	memset(doc, 'd', dlen);
	memcpy(doc, "{\"p\":\"", 6);
	memcpy(doc + dlen - 2, "\"}", 2);
	doc[dlen] = 0;
	if ((rc = store_open(dir, &o, &s)) != 0) {
		fprintf(stderr, "store_commit, store open failed (%s)\n", souk_strerror(rc));
		rc = 1;
		goto out;
	}
	uint64_t t0 = souk_now_mono_ns(), n = 0, limit = (uint64_t)(secs * 1e9);
	for (; n < count && souk_now_mono_ns() - t0 < limit; n++) {
		for (size_t i = 0; i < batch; i++) {
			memset(&m[i], 0, sizeof(m[i]));
			m[i].op = STORE_OP_CREATE;
			m[i].kind = "bench";
			m[i].doc = doc;
			m[i].doc_len = dlen;
			m[i].actor = "bench";
		}
		if ((rc = store_apply(s, m, batch)) != 0) {
			fprintf(stderr, "store_commit, apply failed (%s)\n", souk_strerror(rc));
			break;
		}
	}
	double sec = (double)(souk_now_mono_ns() - t0) / 1e9;
	printf("store commits=%llu seconds=%.3f commits_per_s=%.0f mutations_per_s=%.0f batch=%zu doc_bytes=%zu\n",
	       (unsigned long long)n, sec, sec > 0 ? (double)n / sec : 0.0,
	       sec > 0 ? (double)(n * batch) / sec : 0.0, batch, dlen);
	rc = rc ? 1 : 0;
out:
	store_close(&s);
	free(doc);
	free(m);
	return rc;
}

int main(int argc, char **argv)
{
	const char *base = NULL;
	uint64_t count = 2000, size = 256, batch = 16;
	double secs = 5;
	int ch, rc = 0;
	char tmpl[] = "/tmp/souk-bench-XXXXXX", raw[300], st[300];
	log_init("store_commit", LOG_TARGET_STDERR);
	while ((ch = getopt(argc, argv, "d:n:s:t:b:")) != -1) {
		uint64_t v;
		switch (ch) {
		case 'd': base = optarg; break;
		case 'n': if (souk_parse_u64(optarg, 1, UINT64_MAX, &count)) goto usage; break;
		case 's': if (souk_parse_u64(optarg, 1, 1 << 20, &size)) goto usage; break;
		case 'b': if (souk_parse_u64(optarg, 1, 4096, &batch)) goto usage; break;
		case 't': if (souk_parse_u64(optarg, 1, 3600, &v)) goto usage; secs = (double)v; break;
		default: goto usage;
		}
	}
	if (!base && !(base = mkdtemp(tmpl))) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(raw, sizeof(raw), "%s/raw", base);
	snprintf(st, sizeof(st), "%s/store", base);
	if (mkdir(raw, 0700) != 0 && errno != EEXIST) {
		perror("mkdir");
		return 1;
	}
	rc |= run_raw(raw, count, (size_t)size, secs);
	rc |= run_store(st, count, (size_t)size, secs, (size_t)batch);
	if (base == tmpl) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		if (system(cmd) != 0)
			fprintf(stderr, "store_commit, could not remove '%s'\n", base);
	}
	return rc;
usage:
	fprintf(stderr, "usage: store_commit [-d DIR] [-n COUNT] [-s BYTES] [-t SECONDS] [-b BATCH]\n");
	return 2;
}
