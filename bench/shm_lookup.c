/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/shm_lookup.c - lookups over a published image at 1M keys.
 *
 * Publishes an image holding a hash index over N keys ("sku-00000042"
 * style, 12 bytes) and a sorted (key, value) array of N 64-bit keys, reads
 * it back through a reader, then times random hits and misses. Prints ns/op;
 * asserts nothing about speed.
 *
 *   shm_lookup [N (default 1000000)] [queries (default 2000000)]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "shm/shm.h"

#define KEYLEN 12

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void make_key(char *buf, uint64_t i)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "sku-%08llu", (unsigned long long)i);
	memcpy(buf, tmp, KEYLEN);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	size_t q = argc > 2 ? strtoull(argv[2], NULL, 10) : 2000000;
	char inst[64], *keys = NULL, *hits = NULL, *miss = NULL;
	shm_hidx_entry_t *e = NULL;
	shm_ctl_t *ctl = NULL;
	shm_builder_t *b = NULL;
	shm_reader_t *r = NULL;
	const shm_image_t *img;
	shm_kv_t *kv;
	uint64_t gen, v, sink = 0, t0, found = 0, *kq = NULL;
	const void *idx, *kvs;
	size_t idx_len, kv_len;
	void *p;
	int rc;

	if (n == 0 || q == 0)
		return 2;
	log_init("shm_lookup", LOG_TARGET_STDERR);
	snprintf(inst, sizeof(inst), "souk-bench-%d", (int)getpid());
	keys = malloc(n * KEYLEN);
	e = malloc(n * sizeof(*e));
	hits = malloc(q * KEYLEN);
	miss = malloc(q * KEYLEN);
	kq = malloc(q * sizeof(*kq));
	if (!keys || !e || !hits || !miss || !kq)
		return 2;
	for (size_t i = 0; i < n; i++) {
		make_key(keys + i * KEYLEN, i);
		e[i] = (shm_hidx_entry_t){keys + i * KEYLEN, KEYLEN, i};
	}
	for (size_t i = 0; i < q; i++) {
		make_key(hits + i * KEYLEN, next_rand() % n);
		make_key(miss + i * KEYLEN, n + next_rand() % n);
		kq[i] = (next_rand() % n) * 2;
	}
	if ((rc = shm_ctl_create(inst, 4, &ctl)) != 0 || (rc = shm_builder_new(ctl, &b)) != 0)
		goto fail;
	t0 = souk_now_mono_ns();
	size_t sz = shm_hidx_size(n, n * KEYLEN);
	if ((rc = shm_builder_reserve(b, "idx", 8, sz, &p)) != 0 ||
	    (rc = shm_hidx_build(e, n, p, sz)) != 0)
		goto fail;
	if ((rc = shm_builder_reserve(b, "kv", 8, n * sizeof(shm_kv_t), &p)) != 0)
		goto fail;
	kv = p;
	for (size_t i = 0; i < n; i++)
		kv[i] = (shm_kv_t){i * 2, i};
	if ((rc = shm_builder_publish(&b, &gen)) != 0)
		goto fail;
	double build_ms = (double)(souk_now_mono_ns() - t0) / 1e6;
	if ((rc = shm_reader_new(ctl, &r)) != 0)
		goto fail;
	t0 = souk_now_mono_ns();
	if ((rc = shm_reader_acquire(r, &img)) != 0)
		goto fail;
	double validate_ms = (double)(souk_now_mono_ns() - t0) / 1e6;
	shm_image_section(img, "idx", &idx, &idx_len);
	shm_image_section(img, "kv", &kvs, &kv_len);
	printf("keys=%zu queries=%zu image=%.1f MB build+publish=%.1f ms map+validate=%.1f ms\n", n,
	       q, (double)shm_image_size(img) / 1e6, build_ms, validate_ms);

	t0 = souk_now_mono_ns();
	for (size_t i = 0; i < q; i++)
		if (shm_hidx_lookup(idx, idx_len, hits + i * KEYLEN, KEYLEN, &v) == 0) {
			sink += v;
			found++;
		}
	double hit_ns = (double)(souk_now_mono_ns() - t0) / (double)q;
	if (found != q)
		fprintf(stderr, "shm_lookup, %llu hits missing\n", (unsigned long long)(q - found));
	t0 = souk_now_mono_ns();
	found = 0;
	for (size_t i = 0; i < q; i++)
		if (shm_hidx_lookup(idx, idx_len, miss + i * KEYLEN, KEYLEN, &v) == 0)
			found++;
	double miss_ns = (double)(souk_now_mono_ns() - t0) / (double)q;
	if (found != 0)
		fprintf(stderr, "shm_lookup, %llu false hits\n", (unsigned long long)found);
	t0 = souk_now_mono_ns();
	for (size_t i = 0; i < q; i++)
		if (shm_sorted_kv_lookup(kvs, kv_len, kq[i], &v) == 0)
			sink += v;
	double kv_hit_ns = (double)(souk_now_mono_ns() - t0) / (double)q;
	t0 = souk_now_mono_ns();
	for (size_t i = 0; i < q; i++)
		if (shm_sorted_kv_lookup(kvs, kv_len, kq[i] + 1, &v) == 0)
			sink += v;
	double kv_miss_ns = (double)(souk_now_mono_ns() - t0) / (double)q;
	t0 = souk_now_mono_ns();
	for (size_t i = 0; i < q; i++) {
		const shm_image_t *im;
		shm_reader_release(r);
		shm_reader_acquire(r, &im);
		sink += (uintptr_t)im & 1;
	}
	double acq_ns = (double)(souk_now_mono_ns() - t0) / (double)q;
	shm_reader_release(r);
	printf("hidx hit   %.1f ns/op\nhidx miss  %.1f ns/op\n", hit_ns, miss_ns);
	printf("sorted kv hit  %.1f ns/op\nsorted kv miss %.1f ns/op\n", kv_hit_ns, kv_miss_ns);
	printf("reader release+acquire (no change) %.1f ns/op\n", acq_ns);
	printf("(sink %llu)\n", (unsigned long long)(sink & 1));
	rc = 0;
fail:
	if (rc != 0)
		fprintf(stderr, "shm_lookup, failed (%s)\n", souk_strerror(rc));
	shm_reader_free(&r);
	shm_builder_free(&b);
	shm_ctl_free(&ctl);
	shm_ctl_unlink(inst);
	free(keys);
	free(e);
	free(hits);
	free(miss);
	free(kq);
	return rc == 0 ? 0 : 1;
}
