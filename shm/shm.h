/* SPDX-License-Identifier: Apache-2.0 */
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
 * /dev/shm/<instance>.img.<generation>. Instance names are 1..64 characters
 * of [A-Za-z0-9_-] (SOUK_EINVAL otherwise).
 *
 * Both are mode 0640: workers must run as the owner (the souk user) to claim
 * slots; a process of the group attaches read-only (slots: -EACCES) and can
 * still read images, figures and counters.
 *
 * Thread safety: a shm_ctl_t may be shared by the threads of a process
 * (readers, slots, stats); a shm_reader_t belongs to one thread; one builder
 * at a time per shm_ctl_t. Free readers before their shm_ctl_t.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct shm_ctl shm_ctl_t;	  /* mapped control segment */
typedef struct shm_builder shm_builder_t; /* an image being built (soukd) */
typedef struct shm_reader shm_reader_t;	  /* one per reading thread */
typedef struct shm_image shm_image_t;	  /* a validated, mapped image */

/* ---- control segment ---------------------------------------------------- */
/* soukd: create (or take over) the control segment, mode 0640. */
int shm_ctl_create(const char *instance, uint32_t nslots, shm_ctl_t **out);
/* workers/tools: attach to an existing control segment; SOUK_ENOENT when it
 * does not exist or is still being created (retry later). */
int shm_ctl_attach(const char *instance, shm_ctl_t **out);
void shm_ctl_free(shm_ctl_t **ctl);
uint64_t shm_ctl_generation(const shm_ctl_t *ctl); /* acquire-load */
/* Was the segment unlinked or replaced since attach (soukd removed it at a
 * clean shutdown and a new soukd created a fresh one)? 1, 0, or -errno.
 * Costs two syscalls: workers call it from housekeeping, not per request,
 * and re-attach when it returns 1 (keeping the old ctl and its readers until
 * their requests end). */
int shm_ctl_replaced(const shm_ctl_t *ctl);
/* Drop the images this process keeps for the readers of ctl to share (the
 * newest one validated and its base); each reader keeps its own until it
 * moves on. For a replaced segment: its files, unlinked by soukd, are given
 * back as soon as the last reader lets go. */
void shm_ctl_forget_images(shm_ctl_t *ctl);
/* Change-log sequence included in the current image (set by the publisher). */
uint64_t shm_ctl_seq(const shm_ctl_t *ctl);
/* soukd: remove the control segment and every image of the instance
 * (clean shutdown). Mappings still in use stay valid until unmapped. */
int shm_ctl_unlink(const char *instance);

/* Publisher figures kept in the control segment (written by soukd only,
 * read by anyone, e.g. /metrics and soukctl status). */
typedef struct {
	uint64_t generation;	  /* current image, 0 = none published */
	uint64_t seq;		  /* change-log sequence in the current image */
	uint64_t publish_count;	  /* publishes since the segment was created */
	uint64_t last_publish_ns; /* duration of the last build+publish */
	uint64_t last_publish_ms; /* wall clock (ms since epoch) of the last one */
	uint64_t image_size;	  /* bytes of the current image */
	uint64_t publisher_pid;	  /* soukd that created or took over the segment */
	uint64_t base_generation; /* base of the current image (= generation when
				   * the current image is a full one) */
	uint64_t base_size;	  /* bytes of that base */
	uint64_t render_failures; /* product versions the publisher could not render */
	uint32_t nslots;	  /* worker slots */
	uint32_t slots_used;	  /* slots currently claimed */
} shm_ctl_stats_t;
void shm_ctl_stats(const shm_ctl_t *ctl, shm_ctl_stats_t *out);
/* soukd: the worker settings of generation gen (shm/settings.h) are in the
 * current image: release-stored after that image was published, so a
 * worker that sees gen and then acquires the image reads them. Workers keep
 * the limits they read until the generation moves (no image acquired per
 * write); 0 = not announced: read the image every time. */
void shm_ctl_set_settings_gen(shm_ctl_t *ctl, uint64_t gen);
uint64_t shm_ctl_settings_gen(const shm_ctl_t *ctl); /* acquire-load */
/* soukd: count n product versions the publisher could not render. */
void shm_ctl_count_render_failures(shm_ctl_t *ctl, uint64_t n);

/* Change-log consumers (soukd's publisher, later search indexing,
 * webhooks...) and how far each has processed the log, for /metrics and
 * soukctl status; lag = log_seq - cursor. */
#define SHM_CONSUMERS_MAX 16
#define SHM_CONSUMER_NAME_MAX 31
typedef struct {
	char name[SHM_CONSUMER_NAME_MAX + 1];
	uint64_t cursor;
} shm_consumer_info_t;
/* soukd: set consumer name's cursor (registering it on first use) and, when
 * log_seq is not 0, the last committed sequence; SOUK_ETOOBIG when the
 * table is full, SOUK_EINVAL for a bad name. */
int shm_ctl_consumer_set(shm_ctl_t *ctl, const char *name, uint64_t cursor, uint64_t log_seq);
/* The registered consumers (at most cap into out, *n of them) and the last
 * committed sequence soukd saw into *log_seq (may be NULL). */
void shm_ctl_consumers(const shm_ctl_t *ctl, shm_consumer_info_t *out, size_t cap, size_t *n,
		       uint64_t *log_seq);

/* ---- per-worker slots (pid + start time, generation in use, counters) --- */
#define SHM_SLOT_COUNTERS 512 /* generic counters; fcgi assigns meanings (ABI 3) */
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
/* Record the image generation this worker uses (relaxed store). */
void shm_slot_set_generation(shm_slot_t *slot, uint64_t generation);
/* Read slot i (for status/metrics): 0, or SOUK_ENOENT when it is free. */
typedef struct {
	uint32_t pid;
	uint64_t start_time; /* /proc/<pid>/stat field 22 (clock ticks since boot) */
	uint64_t generation; /* image generation in use */
} shm_slot_info_t;
int shm_ctl_slot_info(const shm_ctl_t *ctl, uint32_t i, shm_slot_info_t *out);

/* ---- builder (soukd) ----------------------------------------------------- */
/* Start a full image (generation = current + 1, or above any base being
 * built). One publication builder (full or delta) at a time per shm_ctl_t,
 * and only on a segment from shm_ctl_create (SOUK_EBUSY / -EPERM otherwise).
 * Files grow with posix_fallocate: a full /dev/shm fails a reserve with
 * -ENOSPC (never a SIGBUS). */
int shm_builder_new(shm_ctl_t *ctl, shm_builder_t **out);
/* Start a delta image over base_gen: a full image that is current, or the
 * base of the current delta, or finished by shm_builder_finish. It holds only
 * sections describing changes (see shm/image.h, "Base and delta images").
 * SOUK_ENOENT when the base is gone, SOUK_EINVAL when base_gen is a delta. */
int shm_builder_new_delta(shm_ctl_t *ctl, uint64_t base_gen, shm_builder_t **out);
/* Start a base image built apart from publication: it may be filled on
 * another thread while the owner keeps publishing deltas (one base builder
 * at a time, besides the publication builder), then completed with
 * shm_builder_finish and published by a delta over it. */
int shm_builder_new_base(shm_ctl_t *ctl, shm_builder_t **out);
/* Change-log sequence this image includes (stored in the image and, at
 * publish, in the control segment). Default 0. */
void shm_builder_set_seq(shm_builder_t *b, uint64_t seq);
/* Generation this builder will publish. */
uint64_t shm_builder_generation(const shm_builder_t *b);
/* Reserve a named section of len bytes aligned to align (power of two);
 * *out points at zeroed writable memory valid until publish/free. */
int shm_builder_reserve(shm_builder_t *b, const char *name, size_t align, size_t len, void **out);
/* Copy data into a new named section. */
int shm_builder_add(shm_builder_t *b, const char *name, size_t align, const void *data, size_t len);
/* Delta builders: copy the sections whose names start with prefix from the
 * current image into b, for sections that did not change since it.
 * SOUK_ESTALE when the current image is not a delta over b's base (then
 * there is nothing to copy: build them instead). *bytes gets what was
 * copied (0 when the current image had none: they are then its base's). */
int shm_builder_copy(shm_builder_t *b, const char *prefix, size_t *bytes);
/* Checksum, publish (release-store of the generation), unlink the images the
 * new one no longer needs. The builder is consumed (freed) whatever the
 * result. Not for base builders (SOUK_EINVAL). */
int shm_builder_publish(shm_builder_t **b, uint64_t *out_generation);
/* Complete a base builder: header and checksum written, file kept but not
 * published; *out_generation is what shm_builder_new_delta takes. The
 * builder is consumed whatever the result. */
int shm_builder_finish(shm_builder_t **b, uint64_t *out_generation);
/* Remove a finished base that will not be published after all (a no-op for
 * the current image or its base). */
int shm_image_discard(shm_ctl_t *ctl, uint64_t generation);
void shm_builder_free(shm_builder_t **b);

/* ---- reader (workers) ---------------------------------------------------- */
/* Readers are per thread; many readers may share one shm_ctl_t (they then
 * share mappings, validated once per process). Free readers before the ctl. */
int shm_reader_new(shm_ctl_t *ctl, shm_reader_t **out);
void shm_reader_free(shm_reader_t **r);
/* Optional: report the generation in use into this worker slot. */
void shm_reader_set_slot(shm_reader_t *r, shm_slot_t *slot);
/* Images refused (bad, truncated, missing) by the readers sharing r's
 * shm_ctl_t. */
uint64_t shm_reader_refused(const shm_reader_t *r);
/* Figures of the readers sharing one shm_ctl_t (for /metrics). */
typedef struct {
	uint64_t mapped;       /* images mapped and validated */
	uint64_t refused;      /* images refused for good (corrupt, truncated,
				* wrong version, missing) */
	uint64_t errors;       /* transient failures (open/mmap errors, retries
				* exhausted); retried at the next request */
	uint64_t unlink_races; /* image unlinked between load and open: retried */
} shm_reader_stats_t;
void shm_reader_stats(const shm_reader_t *r, shm_reader_stats_t *out);
/* At the start of a request: returns the image to use until release.
 * No syscall when the generation did not change. SOUK_ENOENT when nothing
 * (good) has been published yet. A bad image is refused (logged,
 * rate-limited) and the last good one is kept; a refused generation is not
 * retried, a transient failure (e.g. EMFILE) is retried at the next request.
 * Nested acquire/release pairs return the same image. An idle reader keeps
 * its last image mapped until its next acquire. */
int shm_reader_acquire(shm_reader_t *r, const shm_image_t **out);
void shm_reader_release(shm_reader_t *r);

uint64_t shm_image_generation(const shm_image_t *img);
uint64_t shm_image_created_ms(const shm_image_t *img); /* wall clock */
size_t shm_image_size(const shm_image_t *img);
uint64_t shm_image_seq(const shm_image_t *img); /* change-log sequence */
/* A delta's base (held as long as the delta is), or NULL for a full image. */
const shm_image_t *shm_image_base(const shm_image_t *img);
/* Find a section of this image by name: 0, or SOUK_ENOENT. A section a
 * delta does not hold is looked up in its base (see shm/image.h, "Base and
 * delta images"), so a provider whose data did not change writes nothing
 * into the delta. Images over plain memory (shm_image_check) have no base:
 * their own sections only. */
int shm_image_section(const shm_image_t *img, const char *name, const void **data, size_t *len);
/* The image's own sections only, never its base's: for readers that must
 * know whether a delta carries a section (e.g. the catalog, whose delta
 * sections are changes over the base's rather than replacements). */
int shm_image_section_own(const shm_image_t *img, const char *name, const void **data,
			  size_t *len);

/* ---- views: what readers derive from an image, once per image ------------ */
/* A view is what a reader binds from an image's sections (the catalog's five
 * sections checked and located, the worker settings checked): bind fills
 * size bytes of zeroed storage from img and returns 0, SOUK_ENOENT when the
 * image lacks the view's sections, SOUK_ECORRUPT (or another error) when
 * they are unusable. Views are registered on a shm_ctl_t; every image the
 * readers of that ctl map is bound once, when it is mapped and validated
 * (under the ctl's mutex, off the hot path, by the first thread that sees
 * the generation), and the result is shared by every thread of the process
 * and freed with the image. bind may read img and its base (shm_image_base,
 * shm_image_section) but must not use readers of the same ctl; name points
 * to static storage (log lines name the view). */
#define SHM_VIEWS_MAX	  8
#define SHM_VIEW_SIZE_MAX ((size_t)64 << 10)
typedef struct {
	const char *name;
	size_t size; /* 1..SHM_VIEW_SIZE_MAX bytes of storage per image */
	int (*bind)(const shm_image_t *img, void *view);
} shm_view_def_t;
/* Register def (copied) on ctl before its readers map any image: 0 and its
 * *slot, SOUK_EBUSY once an image was mapped through ctl, SOUK_ETOOBIG past
 * SHM_VIEWS_MAX, SOUK_EINVAL for a bad definition. A process that attaches a
 * new ctl (soukd re-created the segment) registers its views there again. */
int shm_ctl_add_view(shm_ctl_t *ctl, const shm_view_def_t *def, unsigned *slot);
/* The bound view of img: 0 and *view (valid while img is held), else what
 * the bind returned (SOUK_ENOENT: the image lacks those sections;
 * SOUK_ECORRUPT: unusable) and *view NULL. No syscall, no lock. SOUK_EINVAL
 * for a slot not bound on img, which is every slot of an image over plain
 * memory (shm_image_check: no ctl, no registry): such callers bind
 * themselves (e.g. catalog_view_init). */
int shm_image_view(const shm_image_t *img, unsigned slot, const void **view);

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
/* Build into out (shm_hidx_size bytes, 8-aligned); SOUK_EEXIST on a duplicate.
 * Add it as a section with align >= 8; lookups refuse a misaligned blob. */
int shm_hidx_build(const shm_hidx_entry_t *e, size_t n, void *out, size_t out_len);
/* 0 and *value, or SOUK_ENOENT; validates bounds (SOUK_ECORRUPT). */
int shm_hidx_lookup(const void *idx, size_t idx_len, const void *key, uint32_t key_len,
		    uint64_t *value);
/* Entries in a (valid) index, else 0. */
uint64_t shm_hidx_count(const void *idx, size_t idx_len);

/* Sorted arrays searched by binary search. Generic form: n fixed-size records
 * (rec_size bytes each) in ascending order of cmp(key, rec), which returns
 * <0, 0, >0 like memcmp. Lower bound: index of the first record not less
 * than key (n when none). blob_len must be a multiple of rec_size
 * (SOUK_ECORRUPT otherwise). */
typedef int (*shm_cmp_fn)(const void *key, const void *rec, void *arg);
int shm_sorted_lower_bound(const void *blob, size_t blob_len, size_t rec_size, const void *key,
			   shm_cmp_fn cmp, void *arg, size_t *index);
/* Exact match: 0 and *rec pointing into blob, or SOUK_ENOENT. */
int shm_sorted_find(const void *blob, size_t blob_len, size_t rec_size, const void *key,
		    shm_cmp_fn cmp, void *arg, const void **rec);
/* (key, value) pairs of 64-bit integers sorted by key, unique keys. */
typedef struct {
	uint64_t key;
	uint64_t value;
} shm_kv_t;
/* Sort in place for building; SOUK_EEXIST on a duplicate key. */
int shm_sorted_kv_sort(shm_kv_t *kv, size_t n);
int shm_sorted_kv_lookup(const void *blob, size_t blob_len, uint64_t key, uint64_t *value);

/* 64-bit hash (XXH64 algorithm) used for image checksums and hash indexes. */
uint64_t shm_hash64(const void *data, size_t len, uint64_t seed);
