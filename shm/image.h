/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * shm/image.h - on-memory layout of the control segment and of images, and
 * the publication protocol that keeps readers safe without locks.
 *
 * Objects (POSIX shared memory, i.e. files in /dev/shm, named after the
 * instance so several instances share a machine without colliding; instance
 * names are 1..64 characters of [A-Za-z0-9_-]):
 *
 *   /dev/shm/<instance>.ctl               control segment (shm_ctl_hdr_t +
 *                                         nslots x shm_slot_seg_t), mode 0640
 *   /dev/shm/<instance>.img.<generation>  one immutable image per generation
 *                                         (decimal), mode 0640
 *
 * Both modes are set with fchmod after creation so the umask cannot change
 * them. All integers are native-endian (the segment never leaves the host);
 * all references inside an image are byte offsets from the image start,
 * never pointers, so every process may map it at any address.
 *
 * ---- Who writes what ----------------------------------------------------
 *
 * soukd (one publisher per instance, enforced by an exclusive flock(2) held
 * on the control segment by shm_ctl_create) is the only writer of:
 *   - every image file, and only while it is unpublished;
 *   - the control header fields generation, seq, publish_count,
 *     last_publish_ns, last_publish_ms, image_size, render_failures.
 * Workers (souk-fcgi) write only their own slot (claimed by CAS) and the
 * claim word of slots they reclaim from dead processes.
 *
 * ---- Publishing (shm_builder_*, soukd) -----------------------------------
 *
 *  1. G = max(current generation, highest generation handed to a base
 *     builder) + 1. Create <instance>.img.G with O_CREAT|O_EXCL|O_RDWR,
 *     fchmod 0640. The name is never visible to readers before step 5: they
 *     only open the generation they loaded (or the base a published delta
 *     names).
 *  2. Reserve address space once (SHM_IMAGE_MAX bytes, MAP_SHARED over the
 *     file) and grow the file with posix_fallocate as sections are reserved,
 *     so section pointers handed to the caller never move and a full
 *     /dev/shm fails the build with ENOSPC (or EFBIG past RLIMIT_FSIZE)
 *     instead of a SIGBUS on first touch. Sections are written in place.
 *  3. Finish: write the section table and header (magic, ABI, generation,
 *     size, seq, created time, flags and base fields), then the checksum
 *     over bytes [SHM_IMG_CSUM_FROM, size), then munmap. The image is
 *     complete in the page cache of tmpfs; no fsync is needed.
 *  4. Store informational fields (image_size, seq, base_generation) with
 *     relaxed stores.
 *  5. atomic_store_explicit(&ctl->generation, G, memory_order_release).
 *     This is the publication point: every byte of image G (and of the base
 *     it names, finished before G was built) and the fields of step 4
 *     happen-before any reader's acquire-load that sees G.
 *  6. Update publish_count / last_publish_ns / last_publish_ms (relaxed).
 *  7. Unlink what the new generation no longer needs: the replaced image,
 *     unless it is the base of G, and the replaced image's base, unless it
 *     is still the base of G. Only the current image and its base stay.
 *     Mappings that still use an unlinked image stay valid until unmapped.
 * A published image is never opened for writing again.
 *
 * ---- Base and delta images ----------------------------------------------
 *
 * A full image (flags 0) holds everything. A delta image (flags
 * SHM_IMG_DELTA) holds only what changed since a base image and names it:
 * base_gen, base_checksum, base_size are the base's generation, header
 * checksum and size. A base is a full image: either one that was published
 * as current, or one built apart (shm_builder_new_base, possibly on another
 * thread while deltas keep being published) and finished
 * (shm_builder_finish) without ever being current; its generation comes
 * from the same counter, so names never repeat and base_gen < generation.
 * A delta never names a delta. What "changed" means is the business of the
 * sections (domain/catalog/sections.c: records, tombstones and an order overlay); the
 * reader only guarantees that a request sees one consistent (base, delta)
 * pair: the delta holds a reference on its base mapping.
 *
 * Sections are written by providers (catalog, worker settings, ...), each
 * writing its own names. A provider with nothing new since the base writes
 * nothing into a delta: a section absent from the delta's table is read
 * from its base (shm_image_section looks in the delta, then in the base),
 * so a settings change does not copy the catalog and a price change does
 * not copy the settings. A provider whose delta sections are changes over
 * the base's rather than replacements (the catalog) tells the two cases
 * apart with shm_image_section_own, and either writes all of its sections
 * into a delta or none of them.
 *
 * The publisher writes one delta per coalesced burst (cost proportional to
 * the changes) and replaces the base when the delta grows too large: the new
 * base is built from a snapshot of the rendered products, then published by
 * a delta over it holding the changes made during the build.
 *
 * A base stays linked while the current generation is it or a delta over
 * it (step 7); a finished base not yet named by a published delta is the
 * publisher's and is removed by shm_image_discard when abandoned.
 *
 * ---- Reading (shm_reader_*, workers) --------------------------------------
 *
 * At the start of each request a reader does one
 * atomic_load_explicit(&ctl->generation, memory_order_acquire). When it equals
 * the generation the reader already holds, the request uses that image: no
 * syscall, no lock. When it changed:
 *   - shm_open(<instance>.img.G, O_RDONLY). On ENOENT the image was replaced
 *     and unlinked meanwhile: re-load the generation and retry (at most
 *     SHM_READER_RETRIES times); if the generation did not move the image is
 *     gone (shutdown): keep the last good image.
 *   - fstat; refuse sizes below the header or above SHM_IMAGE_MAX; mmap
 *     PROT_READ, MAP_SHARED; close the fd.
 *   - validate: magic, ABI version, header size, generation == G,
 *     size == st_size, section table inside the image, every section inside
 *     the image and aligned as recorded, names NUL-terminated, flags known,
 *     base fields consistent with the flags, checksum.
 *   - a delta: find its base among the process's mappings (the cached base,
 *     or the current image when the base was published as one), else open,
 *     map and validate <instance>.img.<base_gen> likewise (generation ==
 *     base_gen, not itself a delta) and check its checksum and size against
 *     the delta's base_checksum / base_size. A base checksummed once is
 *     cached in the shm_ctl_t for every thread of the process. A base that
 *     is missing while the generation moved on is an unlink race (retry with
 *     the new generation); missing while it did not move, or not matching,
 *     refuses the delta (permanent, the last good pair is kept).
 *   - bind the views registered on the shm_ctl_t (shm_ctl_add_view) once,
 *     for every thread: a view whose sections are missing or unusable keeps
 *     its bind's error (shm_image_view answers it), the image is still
 *     served; only running out of memory fails the switch (transient).
 *   - on a permanent failure (ECORRUPT, EVERSION, image missing): log
 *     (rate-limited) "shm, refused image ... (reason)", remember G as bad so
 *     the next requests do not retry it (still no syscall), and keep serving
 *     the last good image. SOUK_ENOENT only when there never was a good one.
 *   - on a transient failure (open/mmap errors such as EMFILE or ENOMEM,
 *     retries exhausted because the publisher kept replacing images): log
 *     (rate-limited), keep the last good image, and retry at the next
 *     request.
 * Threads of one process share the shm_ctl_t; the first thread that sees a new
 * generation maps and validates it under a mutex of the shm_ctl_t (not on the
 * hot path), the others take a reference to the same mapping, so a 100 MB
 * image is checksummed once per process, not once per thread.
 * A request keeps its image from acquire to release even when newer images
 * are published meanwhile; a mapping is unmapped when the last reference is
 * dropped, i.e. after release and once it is no longer the current image.
 *
 * ---- Slots --------------------------------------------------------------
 *
 * owner word = (tag << 32) | pid. pid 0 = free, pid SHM_SLOT_BUSY = being
 * reset. Claim: CAS (tag, 0) -> (tag + 1, pid), then zero the counters and
 * store the process start time (field 22 of /proc/<pid>/stat) with release.
 * A slot is dead when /proc/<pid>/stat is missing, shows a zombie, or shows
 * another start time (pid reused). Reap: load owner (acquire), load start
 * time; if dead CAS owner -> (tag, SHM_SLOT_BUSY), zero counters, generation
 * and start time, store (tag, 0) with release. The tag makes a stale CAS fail
 * (no ABA when a pid is reused). A start time of 0 means "claim in progress"
 * and is only reaped when the pid is gone. A process killed inside the few
 * stores of a reset leaves that one slot BUSY until the segment is recreated.
 *
 * ---- Checksum ------------------------------------------------------------
 *
 * shm_hash64 (shm/hash.c) is XXH64 from Debian's libxxhash: four independent
 * 64-bit lanes, about 1 byte per cycle per lane, so a 100 MB image validates in ~10 ms on one core, 10x
 * faster than SHA-256 and portable (CRC32C would need SSE4.2/ARMv8 CRC and
 * three interleaved streams to match). It detects corruption and torn
 * writes; it is not a defence against an attacker who can write /dev/shm
 * (mode 0640 and the souk user are).
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/shm.h"

#define SHM_ABI_VERSION	   3u /* 2: base/delta images; 3: 512 slot counters, consumer
				  * table in the control header */
#define SHM_CTL_MAGIC	   0x314c54434b554f53ull /* "SOUKCTL1" */
#define SHM_IMG_MAGIC	   0x31474d494b554f53ull /* "SOUKIMG1" */
#define SHM_SECT_NAME_MAX  32			 /* including the NUL */
#define SHM_SECT_MAX	   256			 /* sections per image */
#define SHM_SECT_ALIGN_MAX 4096u
#define SHM_IMAGE_MAX	   ((size_t)16 << 30) /* address space per image */
#define SHM_READER_RETRIES 16
#define SHM_SLOT_BUSY	   0xffffffffu
#define SHM_INSTANCE_MAX   64
#define SHM_SLOTS_MAX	   4096u

/* A change-log consumer as soukd shows it (written by soukd only). The name
 * is written once, before used is release-stored to 1, and never changes
 * while the segment lives; cursor is the sequence it has processed. */
typedef struct {
	char name[32];		 /* NUL-terminated */
	_Atomic uint64_t used;	 /* 1 once name is valid */
	_Atomic uint64_t cursor; /* relaxed */
} shm_consumer_seg_t;

/* Control segment header: 4096 bytes, slots follow. */
typedef struct {
	uint64_t magic;			  /* SHM_CTL_MAGIC, written at create */
	uint32_t abi;			  /* SHM_ABI_VERSION */
	uint32_t nslots;		  /* slots after the header */
	uint64_t size;			  /* bytes of the whole segment */
	uint64_t created_ms;		  /* wall clock of creation */
	_Atomic uint64_t generation;	  /* current image; 0 = none. release/acquire */
	_Atomic uint64_t seq;		  /* change-log seq in the current image */
	_Atomic uint64_t publish_count;	  /* publishes since creation */
	_Atomic uint64_t last_publish_ns; /* build+publish duration of the last one */
	_Atomic uint64_t last_publish_ms; /* wall clock of the last publish */
	_Atomic uint64_t image_size;	  /* bytes of the current image */
	_Atomic uint64_t publisher_pid;	  /* pid of soukd that created/took over */
	_Atomic uint64_t base_generation; /* base of the current image (itself
					   * when it is a full image) */
	_Atomic uint64_t base_size;	  /* bytes of that base */
	_Atomic uint64_t render_failures; /* product versions the publisher could
					   * not render (zero in older segments:
					   * taken from reserved, same ABI) */
	_Atomic uint64_t log_seq;	  /* last committed change-log sequence
					   * soukd saw (consumer lag is measured
					   * against it) */
	shm_consumer_seg_t consumers[SHM_CONSUMERS_MAX];
	_Atomic uint64_t settings_gen;	  /* generation of the worker settings in
					   * the current image (shm/settings.h),
					   * release-stored after it is published;
					   * 0 = not announced (taken from
					   * reserved, same ABI) */
	uint8_t reserved[4096 - 128 - SHM_CONSUMERS_MAX * 48];
} shm_ctl_hdr_t;

/* One worker slot: 64-byte aligned to keep counters of two workers off one
 * cache line. */
typedef struct shm_slot {
	_Atomic uint64_t owner;	     /* (tag << 32) | pid, see above */
	_Atomic uint64_t start_time; /* /proc/<pid>/stat field 22; 0 = claiming */
	_Atomic uint64_t generation; /* image generation in use */
	uint64_t reserved[5];
	_Atomic uint64_t counters[SHM_SLOT_COUNTERS]; /* relaxed, fcgi's meanings */
} shm_slot_seg_t;

/* Section table entry. */
typedef struct {
	char name[SHM_SECT_NAME_MAX]; /* NUL-terminated, unique */
	uint64_t offset;	      /* from image start, multiple of align */
	uint64_t len;
	uint32_t align; /* power of two, <= SHM_SECT_ALIGN_MAX */
	uint32_t flags; /* 0 */
	uint64_t reserved;
} shm_sect_t;

/* Image header: at offset 0, followed by the section table at sect_off. */
typedef struct {
	uint64_t magic;	     /* SHM_IMG_MAGIC */
	uint32_t abi;	     /* SHM_ABI_VERSION */
	uint32_t hdr_size;   /* sizeof(shm_img_hdr_t) */
	uint64_t checksum;   /* shm_hash64 of [SHM_IMG_CSUM_FROM, size) */
	uint64_t generation; /* must equal the file name's generation */
	uint64_t size;	     /* bytes, must equal the file size */
	uint64_t created_ms; /* wall clock at publish */
	uint64_t seq;	     /* change-log sequence included */
	uint64_t sect_off;   /* section table offset */
	uint32_t nsect;	     /* entries in the section table */
	uint32_t flags;	     /* 0 (full image) or SHM_IMG_DELTA */
	uint64_t base_gen;   /* delta: generation of its base, else 0 */
	uint64_t base_checksum; /* delta: checksum field of the base, else 0 */
	uint64_t base_size;  /* delta: size of the base, else 0 */
	uint64_t reserved[2];
} shm_img_hdr_t;

#define SHM_IMG_DELTA 0x1u /* holds changes over the image base_gen */

#define SHM_IMG_CSUM_FROM offsetof(shm_img_hdr_t, generation)
#define SHM_IMG_CSUM_SEED 0x736f756b696d6731ull

_Static_assert(sizeof(shm_ctl_hdr_t) == 4096, "control header is one page");
_Static_assert(offsetof(shm_ctl_hdr_t, generation) == 32, "ctl layout");
_Static_assert(offsetof(shm_ctl_hdr_t, publisher_pid) == 80, "ctl layout");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "atomic u64 is plain u64");
_Static_assert(sizeof(shm_consumer_seg_t) == 48, "consumer entry layout");
_Static_assert(offsetof(shm_ctl_hdr_t, consumers) == 120, "ctl layout");
_Static_assert(sizeof(shm_slot_seg_t) == 64 + 8 * SHM_SLOT_COUNTERS, "slot layout");
_Static_assert(sizeof(shm_slot_seg_t) % 64 == 0, "slots are cache-line sized");
_Static_assert(sizeof(shm_sect_t) == 64, "section entry layout");
_Static_assert(sizeof(shm_img_hdr_t) == 112, "image header layout");
_Static_assert(offsetof(shm_img_hdr_t, checksum) == 16, "image header layout");
_Static_assert(SHM_IMG_CSUM_FROM == 24, "checksum covers all but magic/abi/csum");

/* A mapped image (process-local). Refcounted across the threads of a process
 * sharing one shm_ctl_t; views over plain memory (fuzzing, tests) have
 * map_len 0 and are never unmapped. */
struct shm_image {
	uint64_t magic; /* SHM_IMAGE_OBJ_MAGIC */
	const uint8_t *base;
	size_t size;
	size_t map_len;
	const shm_img_hdr_t *hdr;
	const shm_sect_t *sect;
	struct shm_image *base_img; /* a delta's base (one reference), else NULL */
	_Atomic uint32_t refs;
	/* views bound when the image was mapped (shm/view.c), written before
	 * the image is shared, read-only afterwards; 0 for a view over plain
	 * memory or an image mapped only as a base */
	uint32_t nviews;
	int view_rc[SHM_VIEWS_MAX]; /* each bind's result */
	void *view[SHM_VIEWS_MAX];  /* its storage, inside view_mem */
	void *view_mem;		    /* one allocation, freed with the image */
};
#define SHM_IMAGE_OBJ_MAGIC 0x6a626f2e676d6973ull

/*
 * Validate len bytes as an image: structure and, unless skip_checksum,
 * the checksum. generation 0 accepts any. On success fills *img as a view
 * (no mapping, no reference counting). SOUK_ECORRUPT / SOUK_EVERSION with a
 * static reason string in *why.
 */
int shm_image_check(const void *buf, size_t len, uint64_t generation, int skip_checksum,
		    shm_image_t *img, const char **why);
/* Checksum of an image buffer as stored in its header. */
uint64_t shm_image_checksum(const void *buf, size_t len);

/* Valid instance name (see above)? */
int shm_instance_valid(const char *instance);
/* "/<instance>.ctl" or "/<instance>.img.<gen>" into buf; -ENAMETOOLONG. */
int shm_name_ctl(const char *instance, char *buf, size_t len);
int shm_name_img(const char *instance, uint64_t gen, char *buf, size_t len);
