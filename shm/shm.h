#pragma once
/*
 * shm/shm.h - immutable shared-memory images (public API).
 *
 * soukd builds an image, publishes it by a release-store of its generation
 * into the control segment; souk-fcgi threads acquire-load the generation at
 * the start of each request and switch images only when it changed. The
 * protocol itself is written down in shm/image.h beside the code keeping it.
 *
 * Names: every object is named after the instance ("souk" by default), so
 * several instances can share a machine: /dev/shm/<instance>.ctl and
 * /dev/shm/<instance>.img.<generation>.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct shm_ctl shm_ctl_t;         /* mapped control segment */
typedef struct shm_builder shm_builder_t; /* an image being built (soukd) */
typedef struct shm_reader shm_reader_t;   /* one per reading thread */
typedef struct shm_image shm_image_t;     /* a validated, mapped image */

/* ---- control segment ---------------------------------------------------- */
/* soukd: create (or take over) the control segment, mode 0640. */
int shm_ctl_create(const char *instance, uint32_t nslots, shm_ctl_t **out);
/* workers/tools: attach to an existing control segment. */
int shm_ctl_attach(const char *instance, shm_ctl_t **out);
void shm_ctl_free(shm_ctl_t **ctl);
uint64_t shm_ctl_generation(const shm_ctl_t *ctl); /* acquire-load */
/* soukd: remove the control segment and current image (clean shutdown). */
int shm_ctl_unlink(const char *instance);

/* ---- per-worker slots (pid + start time, generation in use, counters) --- */
#define SHM_SLOT_COUNTERS 64 /* generic counters; fcgi assigns meanings */
typedef struct shm_slot shm_slot_t;
/* Claim a free slot for this process (reclaiming slots of dead processes). */
int shm_slot_claim(shm_ctl_t *ctl, shm_slot_t **out);
void shm_slot_release(shm_ctl_t *ctl, shm_slot_t **slot);
/* Relaxed atomic add to counter i of the slot. */
void shm_slot_count(shm_slot_t *slot, unsigned i, uint64_t delta);
/* Sum counter i over live slots (for /metrics). */
uint64_t shm_ctl_counter_sum(const shm_ctl_t *ctl, unsigned i);
/* Reclaim slots whose process is gone; returns how many were reclaimed. */
int shm_ctl_reap(shm_ctl_t *ctl);

/* ---- builder (soukd) ----------------------------------------------------- */
int shm_builder_new(shm_ctl_t *ctl, shm_builder_t **out);
/* Reserve a named section of len bytes aligned to align (power of two);
 * *out points at zeroed writable memory valid until publish/free. */
int shm_builder_reserve(shm_builder_t *b, const char *name, size_t align,
			size_t len, void **out);
/* Copy data into a new named section. */
int shm_builder_add(shm_builder_t *b, const char *name, size_t align,
		    const void *data, size_t len);
/* Checksum, publish (release-store of the generation), unlink the replaced
 * image. The builder is consumed (freed) whatever the result. */
int shm_builder_publish(shm_builder_t **b, uint64_t *out_generation);
void shm_builder_free(shm_builder_t **b);

/* ---- reader (workers) ---------------------------------------------------- */
int shm_reader_new(shm_ctl_t *ctl, shm_reader_t **out);
void shm_reader_free(shm_reader_t **r);
/* At the start of a request: returns the image to use until release.
 * No syscall when the generation did not change. SOUK_ENOENT when nothing
 * has been published yet. A bad image is refused (logged) and the last good
 * one is kept. */
int shm_reader_acquire(shm_reader_t *r, const shm_image_t **out);
void shm_reader_release(shm_reader_t *r);

uint64_t shm_image_generation(const shm_image_t *img);
uint64_t shm_image_created_ms(const shm_image_t *img); /* wall clock */
size_t shm_image_size(const shm_image_t *img);
/* Find a section by name: 0, or SOUK_ENOENT. */
int shm_image_section(const shm_image_t *img, const char *name,
		      const void **data, size_t *len);

/* ---- lookups over an image ---------------------------------------------- */
/* Read-only hash index (key bytes -> 64-bit value, e.g. a record offset).
 * Build into a buffer that is then added as a section. */
typedef struct {
	const void *key;
	uint32_t key_len;
	uint64_t value;
} shm_hidx_entry_t;
/* Size in bytes of an index over n entries with total_key_bytes of keys. */
size_t shm_hidx_size(size_t n, size_t total_key_bytes);
/* Build into out (shm_hidx_size bytes, 8-aligned); SOUK_EEXIST on a duplicate. */
int shm_hidx_build(const shm_hidx_entry_t *e, size_t n, void *out, size_t out_len);
/* 0 and *value, or SOUK_ENOENT; validates bounds (SOUK_ECORRUPT). */
int shm_hidx_lookup(const void *idx, size_t idx_len, const void *key,
		    uint32_t key_len, uint64_t *value);
