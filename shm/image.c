/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shm/image.c - image builder (soukd), validation and readers (workers).
 * The protocol is described in shm/image.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "shm/internal.h"

#define SHM_BUILDER_MAGIC 0x646c6975622e6d73ull
#define SHM_READER_MAGIC  0x726461652e6d6873ull

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static int is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* ---- validation ----------------------------------------------------------- */

uint64_t shm_image_checksum(const void *buf, size_t len)
{
	if (len < SHM_IMG_CSUM_FROM)
		return 0;
	return shm_hash64((const uint8_t *)buf + SHM_IMG_CSUM_FROM, len - SHM_IMG_CSUM_FROM,
			  SHM_IMG_CSUM_SEED);
}

int shm_image_check(const void *buf, size_t len, uint64_t generation, int skip_checksum,
		    shm_image_t *img, const char **why)
{
	const shm_img_hdr_t *h = buf;
	const shm_sect_t *sect;

	*why = NULL;
	if (((uintptr_t)buf & 7) != 0) {
		*why = "misaligned buffer";
		return SOUK_EINVAL;
	}
	if (len < sizeof(*h)) {
		*why = "truncated header";
		return SOUK_ECORRUPT;
	}
	if (h->magic != SHM_IMG_MAGIC) {
		*why = "bad magic";
		return SOUK_ECORRUPT;
	}
	if (h->abi != SHM_ABI_VERSION) {
		*why = "unsupported ABI version";
		return SOUK_EVERSION;
	}
	if (h->hdr_size != sizeof(*h)) {
		*why = "bad header size";
		return SOUK_ECORRUPT;
	}
	if (generation != 0 && h->generation != generation) {
		*why = "generation mismatch";
		return SOUK_ECORRUPT;
	}
	if (h->size != len) {
		*why = "size mismatch (truncated or extended)";
		return SOUK_ECORRUPT;
	}
	if (h->nsect > SHM_SECT_MAX || (h->sect_off & 7) != 0 || h->sect_off < sizeof(*h) ||
	    h->sect_off > len || (len - h->sect_off) / sizeof(shm_sect_t) < h->nsect) {
		*why = "section table out of bounds";
		return SOUK_ECORRUPT;
	}
	sect = (const shm_sect_t *)((const uint8_t *)buf + h->sect_off);
	for (uint32_t i = 0; i < h->nsect; i++) {
		const shm_sect_t *s = &sect[i];
		if (s->name[0] == '\0' || memchr(s->name, '\0', sizeof(s->name)) == NULL) {
			*why = "bad section name";
			return SOUK_ECORRUPT;
		}
		if (!is_pow2(s->align) || s->align > SHM_SECT_ALIGN_MAX ||
		    s->offset % s->align != 0 || s->offset < sizeof(*h) || s->offset > len ||
		    s->len > len - s->offset) {
			*why = "section out of bounds";
			return SOUK_ECORRUPT;
		}
	}
	if ((h->flags & ~SHM_IMG_DELTA) != 0) {
		*why = "unknown flags";
		return SOUK_ECORRUPT;
	}
	if ((h->flags & SHM_IMG_DELTA) != 0
		? (h->base_gen == 0 || h->base_gen >= h->generation || h->base_size < sizeof(*h))
		: (h->base_gen != 0 || h->base_checksum != 0 || h->base_size != 0)) {
		*why = "bad base reference";
		return SOUK_ECORRUPT;
	}
	if (!skip_checksum && shm_image_checksum(buf, len) != h->checksum) {
		*why = "checksum mismatch";
		return SOUK_ECORRUPT;
	}
	if (img != NULL) {
		memset(img, 0, sizeof(*img));
		img->magic = SHM_IMAGE_OBJ_MAGIC;
		img->base = buf;
		img->size = len;
		img->hdr = h;
		img->sect = sect;
	}
	return 0;
}

void shm_image_unref(shm_image_t *img)
{
	if (img == NULL || atomic_fetch_sub_explicit(&img->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (img->map_len != 0)
		munmap((void *)img->base, img->map_len);
	if (img->base_img != NULL)
		shm_image_unref(img->base_img);
	shm_image_free_views(img);
	img->magic = 0;
	free(img);
}

uint64_t shm_image_generation(const shm_image_t *img)
{
	return img->hdr->generation;
}

uint64_t shm_image_created_ms(const shm_image_t *img)
{
	return img->hdr->created_ms;
}

size_t shm_image_size(const shm_image_t *img)
{
	return img->size;
}

uint64_t shm_image_seq(const shm_image_t *img)
{
	return img->hdr->seq;
}

const shm_image_t *shm_image_base(const shm_image_t *img)
{
	return img->base_img;
}

int shm_image_peek(const char *instance, uint64_t gen, shm_img_hdr_t *out)
{
	char name[SHM_INSTANCE_MAX + 32];
	ssize_t n;
	int fd, rc = 0;

	shm_name_img(instance, gen, name, sizeof(name));
	fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return errno == ENOENT ? SOUK_ENOENT : -errno;
	n = pread(fd, out, sizeof(*out), 0);
	if (n < 0)
		rc = -errno;
	else if ((size_t)n != sizeof(*out) || out->magic != SHM_IMG_MAGIC ||
		 out->abi != SHM_ABI_VERSION || out->generation != gen)
		rc = SOUK_ECORRUPT;
	close(fd);
	return rc;
}

int shm_image_section_own(const shm_image_t *img, const char *name, const void **data,
			  size_t *len)
{
	for (uint32_t i = 0; i < img->hdr->nsect; i++) {
		const shm_sect_t *s = &img->sect[i];
		if (strncmp(s->name, name, SHM_SECT_NAME_MAX) == 0) {
			*data = img->base + s->offset;
			*len = (size_t)s->len;
			return 0;
		}
	}
	return SOUK_ENOENT;
}

int shm_image_section(const shm_image_t *img, const char *name, const void **data, size_t *len)
{
	int rc = shm_image_section_own(img, name, data, len);

	/* a delta holds only the sections whose provider had changes: the
	 * others are its base's (a base is never a delta, so one step) */
	if (rc == SOUK_ENOENT && img->base_img != NULL)
		rc = shm_image_section_own(img->base_img, name, data, len);
	return rc;
}

/* ---- builder -------------------------------------------------------------- */

enum { BUILD_FULL, BUILD_DELTA, BUILD_BASE };

struct shm_builder {
	uint64_t magic;
	shm_ctl_t *ctl;
	int kind; /* BUILD_* */
	uint64_t gen, prev_gen, seq, t0_ns;
	uint64_t base_gen, base_checksum, base_size; /* BUILD_DELTA */
	int fd;
	char name[SHM_INSTANCE_MAX + 32];
	uint8_t *base;	 /* SHM_IMAGE_MAX bytes of address space over the file */
	size_t file_len; /* current file size */
	size_t used;	 /* end of the last section */
	uint32_t nsect;
	shm_sect_t sect[SHM_SECT_MAX];
};

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Claim the builder kind's place and a generation; 0 or SOUK_EBUSY. */
static int builder_claim(shm_ctl_t *ctl, int kind, uint64_t *gen, uint64_t *prev)
{
	int rc = 0;

	pthread_mutex_lock(&ctl->lock);
	int *active = kind == BUILD_BASE ? &ctl->base_active : &ctl->builder_active;
	if (*active) {
		rc = SOUK_EBUSY;
	} else {
		*active = 1;
		*prev = shm_ctl_generation(ctl);
		*gen = max_u64(*prev, ctl->gen_hi) + 1;
		if (kind == BUILD_BASE) {
			/* above a publication builder that may be running too */
			*gen += 1;
			ctl->gen_hi = *gen;
		}
	}
	pthread_mutex_unlock(&ctl->lock);
	return rc;
}

static void builder_unclaim(shm_ctl_t *ctl, int kind)
{
	pthread_mutex_lock(&ctl->lock);
	if (kind == BUILD_BASE)
		ctl->base_active = 0;
	else
		ctl->builder_active = 0;
	pthread_mutex_unlock(&ctl->lock);
}

static int builder_start(shm_ctl_t *ctl, int kind, uint64_t base_gen, shm_builder_t **out)
{
	shm_builder_t *b = NULL;
	shm_img_hdr_t bh;
	uint64_t gen = 0, prev = 0;
	int rc;

	*out = NULL;
	if (!ctl->writer)
		return -EPERM;
	if (kind == BUILD_DELTA) {
		if (base_gen == 0)
			return SOUK_EINVAL;
		rc = shm_image_peek(ctl->instance, base_gen, &bh);
		if (rc != 0)
			return rc;
		if ((bh.flags & SHM_IMG_DELTA) != 0 || bh.size < sizeof(bh))
			return SOUK_EINVAL; /* a delta never names a delta */
	}
	rc = builder_claim(ctl, kind, &gen, &prev);
	if (rc != 0)
		return rc;
	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		builder_unclaim(ctl, kind);
		return SOUK_ENOMEM;
	}
	b->magic = SHM_BUILDER_MAGIC;
	b->ctl = ctl;
	b->kind = kind;
	b->fd = -1;
	b->base = MAP_FAILED;
	b->t0_ns = souk_now_mono_ns();
	b->prev_gen = prev;
	b->gen = gen;
	if (kind == BUILD_DELTA) {
		b->base_gen = base_gen;
		b->base_checksum = bh.checksum;
		b->base_size = bh.size;
	}
	shm_name_img(ctl->instance, b->gen, b->name, sizeof(b->name));
	b->fd = shm_open(b->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (b->fd < 0 && errno == EEXIST) {
		/* leftover of a build that crashed: never published, remove it */
		shm_unlink(b->name);
		b->fd = shm_open(b->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	}
	if (b->fd < 0) {
		rc = -errno;
		log_shm_err("cannot create image '%s' (%s)", b->name, strerror(-rc));
		goto fail;
	}
	if (fchmod(b->fd, 0640) != 0) {
		rc = -errno;
		goto fail;
	}
	b->used = sizeof(shm_img_hdr_t);
	rc = posix_fallocate(b->fd, 0, (off_t)b->used);
	if (rc != 0) {
		rc = -rc;
		log_shm_err("cannot allocate image '%s' (%s)", b->name, strerror(-rc));
		goto fail;
	}
	b->file_len = b->used;
	b->base =
	    mmap(NULL, SHM_IMAGE_MAX, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, b->fd, 0);
	if (b->base == MAP_FAILED) {
		rc = -errno;
		log_shm_err("cannot map image '%s' (%s)", b->name, strerror(-rc));
		goto fail;
	}
	*out = b;
	return 0;
fail:
	shm_builder_free(&b);
	return rc;
}

int shm_builder_new(shm_ctl_t *ctl, shm_builder_t **out)
{
	return builder_start(ctl, BUILD_FULL, 0, out);
}

int shm_builder_new_delta(shm_ctl_t *ctl, uint64_t base_gen, shm_builder_t **out)
{
	return builder_start(ctl, BUILD_DELTA, base_gen, out);
}

int shm_builder_new_base(shm_ctl_t *ctl, shm_builder_t **out)
{
	return builder_start(ctl, BUILD_BASE, 0, out);
}

void shm_builder_set_seq(shm_builder_t *b, uint64_t seq)
{
	b->seq = seq;
}

uint64_t shm_builder_generation(const shm_builder_t *b)
{
	return b->gen;
}

void shm_builder_free(shm_builder_t **pb)
{
	shm_builder_t *b = *pb;

	if (b == NULL)
		return;
	if (b->base != MAP_FAILED)
		munmap(b->base, SHM_IMAGE_MAX);
	if (b->fd >= 0) {
		close(b->fd);
		shm_unlink(b->name); /* never published */
	}
	builder_unclaim(b->ctl, b->kind);
	b->magic = 0;
	free(b);
	*pb = NULL;
}

/* Grow the file to at least len bytes. posix_fallocate, not ftruncate: the
 * pages are allocated now, so a full tmpfs is an error here rather than a
 * SIGBUS when the section is written. */
static int builder_grow(shm_builder_t *b, size_t len)
{
	if (len <= b->file_len)
		return 0;
	int rc = posix_fallocate(b->fd, (off_t)b->file_len, (off_t)(len - b->file_len));
	if (rc != 0) {
		log_shm_err("cannot grow image '%s' to %zu bytes (%s)", b->name, len,
			    strerror(rc));
		return -rc;
	}
	b->file_len = len;
	return 0;
}

int shm_builder_reserve(shm_builder_t *b, const char *name, size_t align, size_t len, void **out)
{
	size_t nlen, off, table_max = SHM_SECT_MAX * sizeof(shm_sect_t) + 64;
	shm_sect_t *s;
	int rc;

	*out = NULL;
	nlen = name != NULL ? strlen(name) : 0;
	if (nlen == 0 || nlen >= SHM_SECT_NAME_MAX || !is_pow2(align) || align > SHM_SECT_ALIGN_MAX)
		return SOUK_EINVAL;
	if (b->nsect >= SHM_SECT_MAX)
		return SOUK_ETOOBIG;
	for (uint32_t i = 0; i < b->nsect; i++)
		if (strcmp(b->sect[i].name, name) == 0)
			return SOUK_EEXIST;
	off = align_up(b->used, align);
	if (off > SHM_IMAGE_MAX - table_max || len > SHM_IMAGE_MAX - table_max - off)
		return SOUK_ETOOBIG;
	rc = builder_grow(b, off + len);
	if (rc != 0)
		return rc;
	s = &b->sect[b->nsect++];
	memset(s, 0, sizeof(*s));
	memcpy(s->name, name, nlen + 1);
	s->offset = off;
	s->len = len;
	s->align = (uint32_t)align;
	b->used = off + len;
	*out = b->base + off;
	return 0;
}

int shm_builder_add(shm_builder_t *b, const char *name, size_t align, const void *data, size_t len)
{
	void *p;
	int rc = shm_builder_reserve(b, name, align, len, &p);

	if (rc == 0 && len > 0)
		memcpy(p, data, len);
	return rc;
}

/* Copy the sections named prefix* of the current image, a delta over the
 * same base as b, into b (the publisher's sections of a provider that did
 * not change since). The image is soukd's own and was validated when it was
 * built: the structure is checked again, the checksum is not. */
int shm_builder_copy(shm_builder_t *b, const char *prefix, size_t *bytes)
{
	char name[SHM_INSTANCE_MAX + 32];
	shm_image_t view;
	const char *why = NULL;
	struct stat st;
	uint64_t gen;
	void *map = MAP_FAILED;
	size_t plen, total = 0;
	int fd, rc;

	if (!b || b->magic != SHM_BUILDER_MAGIC || !prefix || !bytes)
		return SOUK_EINVAL;
	*bytes = 0;
	if (b->kind != BUILD_DELTA)
		return SOUK_EINVAL;
	gen = atomic_load_explicit(&b->ctl->hdr->generation, memory_order_acquire);
	if (gen == 0)
		return SOUK_ESTALE;
	shm_name_img(b->ctl->instance, gen, name, sizeof(name));
	fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return errno == ENOENT ? SOUK_ESTALE : -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if ((size_t)st.st_size >= sizeof(shm_img_hdr_t) && (size_t)st.st_size <= SHM_IMAGE_MAX)
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	rc = map == MAP_FAILED ? (errno ? -errno : SOUK_ECORRUPT) : 0;
	close(fd);
	if (rc)
		return rc;
	rc = shm_image_check(map, (size_t)st.st_size, gen, 1, &view, &why);
	if (rc == 0 && (!(view.hdr->flags & SHM_IMG_DELTA) || view.hdr->base_gen != b->base_gen))
		rc = SOUK_ESTALE; /* not over the same base: nothing to copy from */
	plen = strlen(prefix);
	for (uint32_t i = 0; rc == 0 && i < view.hdr->nsect; i++) {
		const shm_sect_t *s = &view.sect[i];
		if (strncmp(s->name, prefix, plen) != 0)
			continue;
		rc = shm_builder_add(b, s->name, s->align, view.base + s->offset, (size_t)s->len);
		total += (size_t)s->len;
	}
	munmap(map, (size_t)st.st_size);
	if (rc == 0)
		*bytes = total;
	return rc;
}

/* Write the section table, header and checksum; drop the mapping and fd.
 * The file stays (unlinked only by shm_builder_free while fd >= 0). */
static int builder_seal(shm_builder_t *b, uint64_t created_ms, size_t *out_size)
{
	shm_img_hdr_t *h = (shm_img_hdr_t *)b->base;
	size_t table_off = align_up(b->used, 64);
	size_t size = table_off + (size_t)b->nsect * sizeof(shm_sect_t);
	int rc = builder_grow(b, size);

	if (rc != 0)
		return rc;
	memcpy(b->base + table_off, b->sect, (size_t)b->nsect * sizeof(shm_sect_t));
	memset(h, 0, sizeof(*h));
	h->magic = SHM_IMG_MAGIC;
	h->abi = SHM_ABI_VERSION;
	h->hdr_size = sizeof(*h);
	h->generation = b->gen;
	h->size = size;
	h->created_ms = created_ms;
	h->seq = b->seq;
	h->sect_off = table_off;
	h->nsect = b->nsect;
	if (b->kind == BUILD_DELTA) {
		h->flags = SHM_IMG_DELTA;
		h->base_gen = b->base_gen;
		h->base_checksum = b->base_checksum;
		h->base_size = b->base_size;
	}
	h->checksum = shm_image_checksum(b->base, size);
	/* the image is complete; drop our writable mapping */
	munmap(b->base, SHM_IMAGE_MAX);
	b->base = MAP_FAILED;
	close(b->fd);
	b->fd = -1;
	*out_size = size;
	return 0;
}

static void unlink_gen(const shm_ctl_t *ctl, uint64_t gen)
{
	char name[SHM_INSTANCE_MAX + 32];

	shm_name_img(ctl->instance, gen, name, sizeof(name));
	shm_unlink(name);
}

int shm_builder_publish(shm_builder_t **pb, uint64_t *out_generation)
{
	shm_builder_t *b = *pb;
	shm_ctl_t *ctl = b->ctl;
	shm_ctl_hdr_t *ch = ctl->hdr;
	uint64_t created_ms = souk_now_real_ms(), keep_base, old_base;
	size_t size = 0;
	int rc;

	if (out_generation != NULL)
		*out_generation = 0;
	if (b->kind == BUILD_BASE) {
		rc = SOUK_EINVAL; /* published through a delta over it */
		goto fail;
	}
	if (shm_ctl_generation(ctl) != b->prev_gen) {
		rc = SOUK_ECONFLICT; /* someone else published: not ours to replace */
		goto fail;
	}
	rc = builder_seal(b, created_ms, &size);
	if (rc != 0)
		goto fail;
	keep_base = b->kind == BUILD_DELTA ? b->base_gen : b->gen;

	atomic_store_explicit(&ch->image_size, size, memory_order_relaxed);
	atomic_store_explicit(&ch->seq, b->seq, memory_order_relaxed);
	atomic_store_explicit(&ch->base_generation, keep_base, memory_order_relaxed);
	atomic_store_explicit(&ch->base_size, b->kind == BUILD_DELTA ? b->base_size : size,
			      memory_order_relaxed);
	atomic_store_explicit(&ch->generation, b->gen, memory_order_release);
	atomic_fetch_add_explicit(&ch->publish_count, 1, memory_order_relaxed);
	atomic_store_explicit(&ch->last_publish_ns, souk_now_mono_ns() - b->t0_ns,
			      memory_order_relaxed);
	atomic_store_explicit(&ch->last_publish_ms, created_ms, memory_order_relaxed);

	/* only the new image and its base stay linked */
	pthread_mutex_lock(&ctl->lock);
	old_base = ctl->pub_base;
	ctl->pub_base = keep_base;
	pthread_mutex_unlock(&ctl->lock);
	if (b->prev_gen != 0 && b->prev_gen != keep_base)
		unlink_gen(ctl, b->prev_gen);
	if (old_base != 0 && old_base != keep_base && old_base != b->prev_gen)
		unlink_gen(ctl, old_base);
	if (out_generation != NULL)
		*out_generation = b->gen;
	rc = 0;
fail:
	shm_builder_free(pb);
	return rc;
}

int shm_builder_finish(shm_builder_t **pb, uint64_t *out_generation)
{
	shm_builder_t *b = *pb;
	size_t size = 0;
	int rc;

	if (out_generation != NULL)
		*out_generation = 0;
	if (b->kind != BUILD_BASE) {
		rc = SOUK_EINVAL;
		goto fail;
	}
	rc = builder_seal(b, souk_now_real_ms(), &size);
	if (rc == 0 && out_generation != NULL)
		*out_generation = b->gen;
fail:
	shm_builder_free(pb);
	return rc;
}

int shm_image_discard(shm_ctl_t *ctl, uint64_t generation)
{
	int keep;

	if (!ctl->writer)
		return -EPERM;
	if (generation == 0)
		return SOUK_EINVAL;
	pthread_mutex_lock(&ctl->lock);
	keep = generation == shm_ctl_generation(ctl) || generation == ctl->pub_base;
	pthread_mutex_unlock(&ctl->lock);
	if (!keep)
		unlink_gen(ctl, generation);
	return 0;
}

/* ---- readers -------------------------------------------------------------- */

struct shm_reader {
	uint64_t magic;
	shm_ctl_t *ctl;
	shm_image_t *cur;  /* last good image (one reference) */
	uint64_t seen_gen; /* generation last acted upon (good or refused) */
	unsigned held;	   /* acquire depth */
	shm_slot_t *slot;
};

int shm_reader_new(shm_ctl_t *ctl, shm_reader_t **out)
{
	shm_reader_t *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL)
		return SOUK_ENOMEM;
	r->magic = SHM_READER_MAGIC;
	r->ctl = ctl;
	*out = r;
	return 0;
}

void shm_reader_free(shm_reader_t **pr)
{
	shm_reader_t *r = *pr;

	if (r == NULL)
		return;
	if (r->cur != NULL)
		shm_image_unref(r->cur);
	r->magic = 0;
	free(r);
	*pr = NULL;
}

void shm_reader_set_slot(shm_reader_t *r, shm_slot_t *slot)
{
	r->slot = slot;
	if (r->cur != NULL)
		shm_slot_set_generation(slot, shm_image_generation(r->cur));
}

uint64_t shm_reader_refused(const shm_reader_t *r)
{
	return atomic_load_explicit(&r->ctl->refused, memory_order_relaxed);
}

void shm_reader_stats(const shm_reader_t *r, shm_reader_stats_t *out)
{
	const shm_ctl_t *c = r->ctl;

	out->mapped = atomic_load_explicit(&c->mapped, memory_order_relaxed);
	out->refused = atomic_load_explicit(&c->refused, memory_order_relaxed);
	out->errors = atomic_load_explicit(&c->errors, memory_order_relaxed);
	out->unlink_races = atomic_load_explicit(&c->unlink_races, memory_order_relaxed);
}

/* A refusal that retrying cannot cure. */
static int image_error_permanent(int rc)
{
	return rc == SOUK_ECORRUPT || rc == SOUK_EVERSION || rc == SOUK_ENOENT;
}

/* Open, map and validate image gen: 0, -ENOENT when the file is missing,
 * another error with *why. */
static int image_open(shm_ctl_t *ctl, uint64_t gen, shm_image_t **out, const char **why)
{
	char name[SHM_INSTANCE_MAX + 32];
	shm_image_t *img = NULL;
	struct stat st;
	void *base = MAP_FAILED;
	int fd, rc = 0;

	*out = NULL;
	shm_name_img(ctl->instance, gen, name, sizeof(name));
	fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		*why = rc == -ENOENT ? "image missing" : "cannot open";
		return rc;
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		*why = "cannot stat";
		goto fail;
	}
	if (st.st_size < (off_t)sizeof(shm_img_hdr_t) || (uint64_t)st.st_size > SHM_IMAGE_MAX) {
		rc = SOUK_ECORRUPT;
		*why = "bad file size";
		goto fail;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		*why = "cannot map";
		goto fail;
	}
	img = calloc(1, sizeof(*img));
	if (img == NULL) {
		rc = SOUK_ENOMEM;
		*why = "out of memory";
		goto fail;
	}
	rc = shm_image_check(base, (size_t)st.st_size, gen, 0, img, why);
	if (rc != 0)
		goto fail;
	img->map_len = (size_t)st.st_size;
	atomic_init(&img->refs, 1);
	close(fd);
	atomic_fetch_add_explicit(&ctl->mapped, 1, memory_order_relaxed);
	*out = img;
	return 0;
fail:
	free(img);
	if (base != MAP_FAILED)
		munmap(base, (size_t)st.st_size);
	close(fd);
	return rc;
}

/* Is img the base a delta header names? */
static int base_matches(const shm_image_t *img, const shm_img_hdr_t *d)
{
	return img != NULL && img->base_img == NULL && img->hdr->generation == d->base_gen &&
	       img->hdr->checksum == d->base_checksum && img->size == d->base_size;
}

/* Give delta img its base: a mapping this process holds already, else map
 * and validate it (once per process: it is cached in ctl->latest_base).
 * Called with ctl->lock held; -ENOENT when the base file is missing. */
static int image_attach_base(shm_ctl_t *ctl, shm_image_t *img, const char **why)
{
	const shm_img_hdr_t *d = img->hdr;
	shm_image_t *base = NULL;
	int rc;

	if (base_matches(ctl->latest_base, d)) {
		base = ctl->latest_base;
	} else if (base_matches(ctl->latest, d) ||
		   (ctl->latest != NULL && base_matches(ctl->latest->base_img, d))) {
		/* the full image in use became a base, or the latest delta's */
		base = base_matches(ctl->latest, d) ? ctl->latest : ctl->latest->base_img;
		atomic_fetch_add_explicit(&base->refs, 1, memory_order_relaxed);
		if (ctl->latest_base != NULL)
			shm_image_unref(ctl->latest_base);
		ctl->latest_base = base;
	} else {
		rc = image_open(ctl, d->base_gen, &base, why);
		if (rc == -ENOENT) {
			*why = "base image missing";
			return rc;
		}
		if (rc == SOUK_ECORRUPT || rc == SOUK_EVERSION)
			*why = "base image refused (damaged, truncated or of another version)";
		if (rc != 0)
			return rc;
		if ((base->hdr->flags & SHM_IMG_DELTA) != 0 || !base_matches(base, d)) {
			*why = (base->hdr->flags & SHM_IMG_DELTA) != 0 ? "base is a delta"
									 : "base does not match";
			shm_image_unref(base);
			return SOUK_ECORRUPT;
		}
		if (ctl->latest_base != NULL)
			shm_image_unref(ctl->latest_base);
		ctl->latest_base = base; /* the cache keeps the open's reference */
	}
	atomic_fetch_add_explicit(&base->refs, 1, memory_order_relaxed);
	img->base_img = base;
	return 0;
}

/* Map and validate image *gen and, for a delta, its base (following newer
 * generations when either was unlinked meanwhile). Called with ctl->lock
 * held. */
static int image_map(shm_ctl_t *ctl, uint64_t *gen, shm_image_t **out, const char **why)
{
	shm_image_t *img = NULL;
	int rc;

	*out = NULL;
	for (int tries = 0;; tries++) {
		rc = image_open(ctl, *gen, &img, why);
		if (rc == 0 && (img->hdr->flags & SHM_IMG_DELTA) != 0) {
			rc = image_attach_base(ctl, img, why);
			if (rc != 0) {
				shm_image_unref(img);
				img = NULL;
			}
		}
		if (rc == 0 && shm_image_bind_views(ctl, img) != 0) {
			shm_image_unref(img);
			*why = "out of memory for its views";
			return SOUK_ENOMEM;
		}
		if (rc == 0) {
			*out = img;
			return 0;
		}
		if (rc != -ENOENT)
			return rc;
		/* the image or its base was unlinked: replaced meanwhile? */
		uint64_t g2 = shm_ctl_generation(ctl);
		if (g2 == *gen)
			return SOUK_ENOENT;
		if (tries >= SHM_READER_RETRIES) {
			*why = "replaced too fast, retries exhausted";
			return SOUK_ESTALE;
		}
		atomic_fetch_add_explicit(&ctl->unlink_races, 1, memory_order_relaxed);
		*gen = g2;
	}
}

/* Slow path: the generation moved to g. */
static void reader_switch(shm_reader_t *r, uint64_t g)
{
	shm_ctl_t *ctl = r->ctl;
	shm_image_t *img = NULL;
	const char *why = NULL;
	uint32_t suppressed = 0;
	int rc, settled = 1;

	pthread_mutex_lock(&ctl->lock);
	if (ctl->latest != NULL && shm_image_generation(ctl->latest) >= g) {
		/* another thread of this process validated it (or a newer one) */
		img = ctl->latest;
		g = shm_image_generation(img);
		atomic_fetch_add_explicit(&img->refs, 1, memory_order_relaxed);
	} else if (ctl->bad_gen != g) {
		rc = image_map(ctl, &g, &img, &why);
		if (rc == 0) {
			if (ctl->latest != NULL)
				shm_image_unref(ctl->latest);
			ctl->latest = img;
			atomic_fetch_add_explicit(&img->refs, 1, memory_order_relaxed);
			if (img->base_img == NULL && ctl->latest_base != NULL) {
				/* a full image again: the old base is not needed */
				shm_image_unref(ctl->latest_base);
				ctl->latest_base = NULL;
			}
		} else {
			if (image_error_permanent(rc)) {
				ctl->bad_gen = g;
				atomic_fetch_add_explicit(&ctl->refused, 1, memory_order_relaxed);
			} else {
				settled = 0; /* retry at the next request */
				atomic_fetch_add_explicit(&ctl->errors, 1, memory_order_relaxed);
			}
			if (log_ratelimit_ok(&ctl->rl, &suppressed))
				log_shm_err("refused image '%s' generation %" PRIu64
					    " (%s: %s), keeping generation %" PRIu64 "%s",
					    ctl->instance, g, why != NULL ? why : "error",
					    souk_strerror(rc),
					    r->cur != NULL ? shm_image_generation(r->cur) : 0,
					    suppressed > 0 ? ", earlier messages suppressed" : "");
		}
	}
	pthread_mutex_unlock(&ctl->lock);
	if (settled)
		r->seen_gen = g;
	if (img != NULL) {
		if (r->cur != NULL)
			shm_image_unref(r->cur); /* not held: the request released it */
		r->cur = img;
		shm_slot_set_generation(r->slot, g);
	}
}

int shm_reader_acquire(shm_reader_t *r, const shm_image_t **out)
{
	uint64_t g;

	if (r->held > 0) { /* nested: the request keeps its image */
		if (r->cur == NULL) {
			*out = NULL;
			return SOUK_ENOENT;
		}
		r->held++;
		*out = r->cur;
		return 0;
	}
	g = atomic_load_explicit(&r->ctl->hdr->generation, memory_order_acquire);
	if (__builtin_expect(g != r->seen_gen, 0))
		reader_switch(r, g);
	if (r->cur == NULL) {
		*out = NULL;
		return SOUK_ENOENT;
	}
	r->held = 1;
	*out = r->cur;
	return 0;
}

void shm_reader_release(shm_reader_t *r)
{
	if (r->held > 0)
		r->held--;
}
