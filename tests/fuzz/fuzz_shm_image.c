/*
 * tests/fuzz/fuzz_shm_image.c - arbitrary bytes as an image: validation,
 * section lookup, hash index and sorted-array lookups over every section.
 *
 * The first input byte selects repairs applied before validation so the
 * fuzzer gets past the header: bit 0 recomputes the checksum, bit 1 sets the
 * size field to the input size, bit 2 sets magic, ABI and header size.
 * Nothing may read outside the buffer whatever the section contents.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "shm/image.h"
#include "shm/shm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_u32(const void *key, const void *rec, void *arg)
{
	uint32_t k = *(const uint32_t *)key, r;
	(void)arg;
	memcpy(&r, rec, sizeof(r));
	return k < r ? -1 : k > r;
}

static void probe_blob(const void *p, size_t len, const uint8_t *key, size_t klen)
{
	uint64_t v;
	const void *rec;
	size_t at;
	uint32_t k32 = 0;

	shm_hidx_lookup(p, len, key, (uint32_t)klen, &v);
	shm_hidx_lookup(p, len, "k1", 2, &v);
	shm_hidx_count(p, len);
	memcpy(&k32, key, klen < 4 ? klen : 4);
	shm_sorted_kv_lookup(p, len, k32, &v);
	shm_sorted_find(p, len, 12, &k32, cmp_u32, NULL, &rec);
	shm_sorted_lower_bound(p, len, 4, &k32, cmp_u32, NULL, &at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shm_image_t img;
	const char *why;
	uint8_t fix, *buf;
	size_t klen;

	if (size < 1)
		return 0;
	fix = data[0];
	data++;
	size--;
	buf = malloc(size + 8); /* malloc: 8-aligned like a mapping */
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (size >= sizeof(shm_img_hdr_t)) {
		shm_img_hdr_t *h = (shm_img_hdr_t *)buf;
		if (fix & 4) {
			h->magic = SHM_IMG_MAGIC;
			h->abi = SHM_ABI_VERSION;
			h->hdr_size = sizeof(*h);
		}
		if (fix & 2)
			h->size = size;
		if (fix & 1)
			h->checksum = shm_image_checksum(buf, size);
	}
	klen = size < 16 ? size : 16;
	/* the raw bytes as an index blob too */
	probe_blob(buf, size, data, klen);
	if (shm_image_check(buf, size, 0, 0, &img, &why) == 0) {
		const shm_sect_t *sect = img.sect;
		for (uint32_t i = 0; i < img.hdr->nsect; i++) {
			const void *p;
			size_t len;
			if (shm_image_section(&img, sect[i].name, &p, &len) != 0)
				abort(); /* a validated section must be found */
			probe_blob(p, len, data, klen);
		}
		shm_image_generation(&img);
		shm_image_seq(&img);
		shm_image_size(&img);
	}
	free(buf);
	return 0;
}
