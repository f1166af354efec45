/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shm/index.c - read-only lookup structures stored in image sections:
 * a hash index (key bytes -> 64-bit value) and sorted arrays.
 *
 * Hash index blob (8-aligned, all offsets relative to the blob):
 *   header  shm_hidx_hdr_t (32 bytes)
 *   buckets 2^log2 x shm_hidx_bucket_t (24 bytes): stored hash (0 = empty),
 *           value, key offset and length in the key area
 *   keys    concatenated key bytes
 * Open addressing with linear probing, load factor <= 3/4, seeded hash
 * (random seed per index, so crafted keys cannot force long probe chains).
 * Every lookup checks the header and each key reference against idx_len, and
 * probes at most 2^log2 buckets, so a damaged blob yields SOUK_ECORRUPT or
 * SOUK_ENOENT, never an out-of-bounds read or an endless loop.
 */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "shm/shm.h"

#define HIDX_MAGIC    0x58444948u /* "HIDX" */
#define HIDX_LOG2_MAX 40u

typedef struct {
	uint32_t magic;
	uint32_t log2; /* buckets = 1 << log2 */
	uint64_t n;    /* entries */
	uint64_t seed;
	uint64_t keys_len;
} shm_hidx_hdr_t;

typedef struct {
	uint64_t hash; /* 0 = empty bucket */
	uint64_t value;
	uint32_t key_off;
	uint32_t key_len;
} shm_hidx_bucket_t;

_Static_assert(sizeof(shm_hidx_hdr_t) == 32, "hidx header layout");
_Static_assert(sizeof(shm_hidx_bucket_t) == 24, "hidx bucket layout");

static uint32_t hidx_log2(size_t n)
{
	size_t want = n + n / 3 + 1; /* load factor <= 3/4 */
	uint32_t l = 3;

	while (((size_t)1 << l) < want)
		l++;
	return l;
}

static size_t align8(size_t v)
{
	return (v + 7) & ~(size_t)7;
}

size_t shm_hidx_size(size_t n, size_t total_key_bytes)
{
	return sizeof(shm_hidx_hdr_t) + ((size_t)1 << hidx_log2(n)) * sizeof(shm_hidx_bucket_t) +
	       align8(total_key_bytes);
}

static inline uint64_t hidx_hash(const void *key, uint32_t len, uint64_t seed)
{
	uint64_t h = shm_hash64(key, len, seed);
	return h != 0 ? h : 1;
}

int shm_hidx_build(const shm_hidx_entry_t *e, size_t n, void *out, size_t out_len)
{
	shm_hidx_hdr_t *h = out;
	shm_hidx_bucket_t *bk;
	uint8_t *keys;
	size_t total = 0, nb, mask, need, koff = 0;
	uint32_t l;

	if (((uintptr_t)out & 7) != 0)
		return SOUK_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (e[i].key_len > 0 && e[i].key == NULL)
			return SOUK_EINVAL;
		total += e[i].key_len;
	}
	if (total > UINT32_MAX)
		return SOUK_ETOOBIG;
	l = hidx_log2(n);
	if (l > HIDX_LOG2_MAX)
		return SOUK_ETOOBIG;
	need = shm_hidx_size(n, total);
	if (out_len < need)
		return SOUK_EINVAL;
	nb = (size_t)1 << l;
	mask = nb - 1;
	memset(out, 0, need);
	h->magic = HIDX_MAGIC;
	h->log2 = l;
	h->n = n;
	if (souk_random(&h->seed, sizeof(h->seed)) != 0)
		h->seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
	h->keys_len = total;
	bk = (shm_hidx_bucket_t *)(h + 1);
	keys = (uint8_t *)(bk + nb);
	for (size_t i = 0; i < n; i++) {
		uint64_t hv = hidx_hash(e[i].key, e[i].key_len, h->seed);
		size_t b = hv & mask;
		for (;;) {
			shm_hidx_bucket_t *x = &bk[b];
			if (x->hash == 0)
				break;
			if (x->hash == hv && x->key_len == e[i].key_len &&
			    memcmp(keys + x->key_off, e[i].key, e[i].key_len) == 0)
				return SOUK_EEXIST;
			b = (b + 1) & mask;
		}
		bk[b].hash = hv;
		bk[b].value = e[i].value;
		bk[b].key_off = (uint32_t)koff;
		bk[b].key_len = e[i].key_len;
		if (e[i].key_len > 0)
			memcpy(keys + koff, e[i].key, e[i].key_len);
		koff += e[i].key_len;
	}
	return 0;
}

/* Validate the header against idx_len; 0 or SOUK_ECORRUPT. */
static int hidx_open(const void *idx, size_t idx_len, const shm_hidx_hdr_t **hp,
		     const shm_hidx_bucket_t **bp, const uint8_t **kp)
{
	const shm_hidx_hdr_t *h = idx;
	size_t nb, room;

	if (idx == NULL || ((uintptr_t)idx & 7) != 0 || idx_len < sizeof(*h))
		return SOUK_ECORRUPT;
	if (h->magic != HIDX_MAGIC || h->log2 > HIDX_LOG2_MAX || h->log2 < 3)
		return SOUK_ECORRUPT;
	nb = (size_t)1 << h->log2;
	room = idx_len - sizeof(*h);
	if (room / sizeof(shm_hidx_bucket_t) < nb || h->n > nb)
		return SOUK_ECORRUPT;
	room -= nb * sizeof(shm_hidx_bucket_t);
	if (h->keys_len > room)
		return SOUK_ECORRUPT;
	*hp = h;
	*bp = (const shm_hidx_bucket_t *)(h + 1);
	*kp = (const uint8_t *)(*bp + nb);
	return 0;
}

int shm_hidx_lookup(const void *idx, size_t idx_len, const void *key, uint32_t key_len,
		    uint64_t *value)
{
	const shm_hidx_hdr_t *h;
	const shm_hidx_bucket_t *bk;
	const uint8_t *keys;
	uint64_t hv;
	size_t mask, b;
	int rc = hidx_open(idx, idx_len, &h, &bk, &keys);

	if (rc != 0)
		return rc;
	mask = ((size_t)1 << h->log2) - 1;
	hv = hidx_hash(key, key_len, h->seed);
	b = hv & mask;
	for (size_t probes = 0; probes <= mask; probes++) {
		const shm_hidx_bucket_t *x = &bk[b];
		if (x->hash == 0)
			return SOUK_ENOENT;
		if (x->hash == hv && x->key_len == key_len) {
			if (x->key_off > h->keys_len || key_len > h->keys_len - x->key_off)
				return SOUK_ECORRUPT;
			if (memcmp(keys + x->key_off, key, key_len) == 0) {
				*value = x->value;
				return 0;
			}
		}
		b = (b + 1) & mask;
	}
	return SOUK_ENOENT;
}

uint64_t shm_hidx_count(const void *idx, size_t idx_len)
{
	const shm_hidx_hdr_t *h;
	const shm_hidx_bucket_t *bk;
	const uint8_t *keys;

	return hidx_open(idx, idx_len, &h, &bk, &keys) == 0 ? h->n : 0;
}

/* ---- sorted arrays -------------------------------------------------------- */

int shm_sorted_lower_bound(const void *blob, size_t blob_len, size_t rec_size, const void *key,
			   shm_cmp_fn cmp, void *arg, size_t *index)
{
	const uint8_t *base = blob;
	size_t lo = 0, hi;

	if (rec_size == 0 || blob_len % rec_size != 0 || (blob_len > 0 && blob == NULL))
		return SOUK_ECORRUPT;
	hi = blob_len / rec_size;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp(key, base + mid * rec_size, arg) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*index = lo;
	return 0;
}

int shm_sorted_find(const void *blob, size_t blob_len, size_t rec_size, const void *key,
		    shm_cmp_fn cmp, void *arg, const void **rec)
{
	size_t i;
	int rc = shm_sorted_lower_bound(blob, blob_len, rec_size, key, cmp, arg, &i);

	if (rc != 0)
		return rc;
	if (i >= blob_len / rec_size || cmp(key, (const uint8_t *)blob + i * rec_size, arg) != 0)
		return SOUK_ENOENT;
	*rec = (const uint8_t *)blob + i * rec_size;
	return 0;
}

static int kv_cmp(const void *a, const void *b)
{
	uint64_t x = ((const shm_kv_t *)a)->key, y = ((const shm_kv_t *)b)->key;
	return x < y ? -1 : x > y;
}

int shm_sorted_kv_sort(shm_kv_t *kv, size_t n)
{
	if (n > 1)
		qsort(kv, n, sizeof(*kv), kv_cmp);
	for (size_t i = 1; i < n; i++)
		if (kv[i].key == kv[i - 1].key)
			return SOUK_EEXIST;
	return 0;
}

int shm_sorted_kv_lookup(const void *blob, size_t blob_len, uint64_t key, uint64_t *value)
{
	const shm_kv_t *kv = blob;
	size_t lo = 0, hi;

	if (blob_len % sizeof(shm_kv_t) != 0 || (blob_len > 0 && ((uintptr_t)blob & 7) != 0))
		return SOUK_ECORRUPT;
	hi = blob_len / sizeof(shm_kv_t);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (kv[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < blob_len / sizeof(shm_kv_t) && kv[lo].key == key) {
		*value = kv[lo].value;
		return 0;
	}
	return SOUK_ENOENT;
}
