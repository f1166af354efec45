/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shm/ctl.c - control segment: create/attach, publisher figures, worker slots.
 * The protocol is described in shm/image.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "shm/internal.h"

#define SHM_DIR "/dev/shm"

int shm_instance_valid(const char *instance)
{
	size_t n = 0;

	if (instance == NULL)
		return 0;
	for (; instance[n] != '\0'; n++) {
		char c = instance[n];
		if (n >= SHM_INSTANCE_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return n > 0;
}

int shm_name_ctl(const char *instance, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/%s.ctl", instance);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int shm_name_img(const char *instance, uint64_t gen, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/%s.img.%" PRIu64, instance, gen);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static size_t ctl_size(uint32_t nslots)
{
	return sizeof(shm_ctl_hdr_t) + (size_t)nslots * sizeof(shm_slot_seg_t);
}

/* Parse "<digits>" fully; 0 on success. */
static int parse_gen(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int shm_images_unlink(const char *instance, uint64_t keep, uint64_t keep2, uint64_t *max_gen)
{
	char prefix[SHM_INSTANCE_MAX + 8], name[NAME_MAX + 2];
	size_t plen;
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (max_gen != NULL)
		*max_gen = 0;
	snprintf(prefix, sizeof(prefix), "%s.img.", instance);
	plen = strlen(prefix);
	d = opendir(SHM_DIR);
	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		uint64_t g;
		if (strncmp(de->d_name, prefix, plen) != 0 || parse_gen(de->d_name + plen, &g) != 0)
			continue;
		if (max_gen != NULL && g > *max_gen)
			*max_gen = g;
		if ((keep != 0 && g == keep) || (keep2 != 0 && g == keep2))
			continue;
		snprintf(name, sizeof(name), "/%s", de->d_name);
		if (shm_unlink(name) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static int ctl_map(shm_ctl_t *c, size_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_SHARED, c->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	c->hdr = p;
	c->slots = (shm_slot_seg_t *)((uint8_t *)p + sizeof(shm_ctl_hdr_t));
	c->map_len = size;
	return 0;
}

/* Check a mapped header against the file size; 0 or an error + reason. */
static int ctl_check(const shm_ctl_hdr_t *h, size_t file_size, const char **why)
{
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != SHM_CTL_MAGIC) {
		*why = "bad magic";
		return SOUK_ECORRUPT;
	}
	if (h->abi != SHM_ABI_VERSION) {
		*why = "unsupported ABI version";
		return SOUK_EVERSION;
	}
	if (h->nslots == 0 || h->nslots > SHM_SLOTS_MAX || h->size != ctl_size(h->nslots) ||
	    h->size != file_size) {
		*why = "size mismatch";
		return SOUK_ECORRUPT;
	}
	return 0;
}

static shm_ctl_t *ctl_alloc(const char *instance)
{
	shm_ctl_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->magic = SHM_CTL_OBJ_MAGIC;
	snprintf(c->instance, sizeof(c->instance), "%s", instance);
	c->fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	c->rl = (log_ratelimit_t)LOG_RATELIMIT_INIT(10, 5);
	return c;
}

/* Open (creating when absent) and lock the segment file; 0 or error. */
static int ctl_open_locked(shm_ctl_t *c, const char *name, int excl)
{
	int fd = shm_open(name, O_RDWR | O_CREAT | (excl ? O_EXCL : 0) | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		return e == EWOULDBLOCK ? SOUK_EBUSY : -e;
	}
	if (fchmod(fd, 0640) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	c->fd = fd;
	return 0;
}

int shm_ctl_create(const char *instance, uint32_t nslots, shm_ctl_t **out)
{
	char name[SHM_INSTANCE_MAX + 16];
	const char *why = NULL;
	shm_ctl_t *c = NULL;
	struct stat st;
	uint64_t max_gen = 0;
	size_t size;
	int rc;

	*out = NULL;
	if (!shm_instance_valid(instance) || nslots == 0 || nslots > SHM_SLOTS_MAX)
		return SOUK_EINVAL;
	shm_name_ctl(instance, name, sizeof(name));
	c = ctl_alloc(instance);
	if (c == NULL)
		return SOUK_ENOMEM;
	c->writer = 1;
	rc = ctl_open_locked(c, name, 0);
	if (rc == SOUK_EBUSY) {
		log_shm_err("control segment '%s' is held by another publisher", name);
		goto fail;
	}
	if (rc != 0)
		goto fail;
	if (fstat(c->fd, &st) != 0) {
		rc = -errno;
		goto fail;
	}
	if (st.st_size > 0 && (size_t)st.st_size >= sizeof(shm_ctl_hdr_t)) {
		/* take over an existing segment: attached workers keep working */
		rc = ctl_map(c, (size_t)st.st_size, PROT_READ | PROT_WRITE);
		if (rc != 0)
			goto fail;
		if (ctl_check(c->hdr, (size_t)st.st_size, &why) == 0) {
			if (c->hdr->nslots != nslots)
				log_shm_warn("control segment '%s' keeps %u slots (%u requested, "
					     "restart workers to resize after unlink)",
					     name, c->hdr->nslots, nslots);
			atomic_store_explicit(&c->hdr->publisher_pid, (uint64_t)getpid(),
					      memory_order_relaxed);
			uint64_t cur = shm_ctl_generation(c), cur_base = cur;
			shm_img_hdr_t ih;
			if (cur != 0 && shm_image_peek(instance, cur, &ih) == 0 &&
			    (ih.flags & SHM_IMG_DELTA) != 0)
				cur_base = ih.base_gen;
			c->pub_base = cur_base;
			c->gen_hi = cur;
			/* keep the current image and its base; anything newer was
			 * never published (a crashed build) */
			shm_images_unlink(instance, cur, cur_base, NULL);
			shm_ctl_reap(c);
			log_shm_info("took over control segment '%s' (generation %" PRIu64 ")",
				     name, shm_ctl_generation(c));
			*out = c;
			return 0;
		}
		log_shm_warn("replacing control segment '%s' (%s)", name, why);
		munmap(c->hdr, c->map_len);
		c->hdr = NULL;
	}
	if (st.st_size != 0) {
		/* incompatible or damaged: a new file, so that processes still
		 * mapping the old one never see a resized segment */
		close(c->fd);
		c->fd = -1;
		shm_unlink(name);
		rc = ctl_open_locked(c, name, 1);
		if (rc != 0)
			goto fail;
	}
	/* generations continue above any leftover image so names never repeat */
	shm_images_unlink(instance, 0, 0, &max_gen);
	c->gen_hi = max_gen;
	size = ctl_size(nslots);
	if (ftruncate(c->fd, (off_t)size) != 0) {
		rc = -errno;
		goto fail;
	}
	rc = ctl_map(c, size, PROT_READ | PROT_WRITE);
	if (rc != 0)
		goto fail;
	c->hdr->abi = SHM_ABI_VERSION;
	c->hdr->nslots = nslots;
	c->hdr->size = size;
	c->hdr->created_ms = souk_now_real_ms();
	atomic_store_explicit(&c->hdr->generation, max_gen, memory_order_relaxed);
	atomic_store_explicit(&c->hdr->publisher_pid, (uint64_t)getpid(), memory_order_relaxed);
	__atomic_store_n(&c->hdr->magic, SHM_CTL_MAGIC, __ATOMIC_RELEASE);
	*out = c;
	return 0;
fail:
	shm_ctl_free(&c);
	return rc;
}

int shm_ctl_attach(const char *instance, shm_ctl_t **out)
{
	char name[SHM_INSTANCE_MAX + 16];
	const char *why = NULL;
	shm_ctl_t *c = NULL;
	struct stat st;
	int rc;

	*out = NULL;
	if (!shm_instance_valid(instance))
		return SOUK_EINVAL;
	shm_name_ctl(instance, name, sizeof(name));
	c = ctl_alloc(instance);
	if (c == NULL)
		return SOUK_ENOMEM;
	c->fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (c->fd < 0 && errno == EACCES) {
		c->readonly = 1;
		c->fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	}
	if (c->fd < 0) {
		rc = errno == ENOENT ? SOUK_ENOENT : -errno;
		goto fail;
	}
	if (fstat(c->fd, &st) != 0) {
		rc = -errno;
		goto fail;
	}
	if ((size_t)st.st_size < sizeof(shm_ctl_hdr_t)) {
		rc = SOUK_ENOENT; /* being created by soukd: not ready yet */
		goto fail;
	}
	rc = ctl_map(c, (size_t)st.st_size, c->readonly ? PROT_READ : PROT_READ | PROT_WRITE);
	if (rc != 0)
		goto fail;
	if (__atomic_load_n(&c->hdr->magic, __ATOMIC_ACQUIRE) == 0) {
		rc = SOUK_ENOENT; /* sized but not initialised yet */
		goto fail;
	}
	rc = ctl_check(c->hdr, (size_t)st.st_size, &why);
	if (rc != 0)
		goto fail_log;
	*out = c;
	return 0;
fail_log:
	log_shm_err("cannot attach control segment '%s' (%s)", name, why);
fail:
	shm_ctl_free(&c);
	return rc;
}

void shm_ctl_free(shm_ctl_t **pc)
{
	shm_ctl_t *c = *pc;

	if (c == NULL)
		return;
	if (c->latest != NULL)
		shm_image_unref(c->latest);
	if (c->latest_base != NULL)
		shm_image_unref(c->latest_base);
	if (c->hdr != NULL)
		munmap(c->hdr, c->map_len);
	if (c->fd >= 0)
		close(c->fd);
	pthread_mutex_destroy(&c->lock);
	c->magic = 0;
	free(c);
	*pc = NULL;
}

int shm_ctl_replaced(const shm_ctl_t *ctl)
{
	char name[SHM_INSTANCE_MAX + 16], path[SHM_INSTANCE_MAX + 32];
	struct stat mine, now;

	if (fstat(ctl->fd, &mine) != 0)
		return -errno;
	if (mine.st_nlink == 0)
		return 1;
	shm_name_ctl(ctl->instance, name, sizeof(name));
	snprintf(path, sizeof(path), SHM_DIR "%s", name);
	if (stat(path, &now) != 0)
		return errno == ENOENT ? 1 : -errno;
	return now.st_ino != mine.st_ino || now.st_dev != mine.st_dev;
}

void shm_ctl_forget_images(shm_ctl_t *ctl)
{
	pthread_mutex_lock(&ctl->lock);
	if (ctl->latest != NULL)
		shm_image_unref(ctl->latest);
	if (ctl->latest_base != NULL)
		shm_image_unref(ctl->latest_base);
	ctl->latest = NULL;
	ctl->latest_base = NULL;
	pthread_mutex_unlock(&ctl->lock);
}

uint64_t shm_ctl_generation(const shm_ctl_t *ctl)
{
	return atomic_load_explicit(&ctl->hdr->generation, memory_order_acquire);
}

uint64_t shm_ctl_seq(const shm_ctl_t *ctl)
{
	return atomic_load_explicit(&ctl->hdr->seq, memory_order_relaxed);
}

int shm_ctl_unlink(const char *instance)
{
	char name[SHM_INSTANCE_MAX + 16];
	int n, rc = 0;

	if (!shm_instance_valid(instance))
		return SOUK_EINVAL;
	shm_name_ctl(instance, name, sizeof(name));
	if (shm_unlink(name) != 0)
		rc = errno == ENOENT ? SOUK_ENOENT : -errno;
	n = shm_images_unlink(instance, 0, 0, NULL);
	if (rc == SOUK_ENOENT && n > 0)
		rc = 0;
	return rc;
}

/* ---- slots ---------------------------------------------------------------- */

#define OWNER_PID(o) ((uint32_t)((o)&0xffffffffu))
#define OWNER_TAG(o) ((o) >> 32)

/* Is the process owning a slot (pid, start time) gone? */
static int slot_owner_dead(uint32_t pid, uint64_t start)
{
	char state = 0;
	uint64_t now_start = 0;
	int rc;

	if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
		return 1;
	rc = souk_proc_stat(pid, &state, &now_start);
	if (rc != 0)
		return 0; /* exists but /proc unreadable: keep it */
	if (state == 'Z' || state == 'X')
		return 1;
	return start != 0 && start != now_start;
}

static void slot_reset(shm_slot_seg_t *s)
{
	for (unsigned i = 0; i < SHM_SLOT_COUNTERS; i++)
		atomic_store_explicit(&s->counters[i], 0, memory_order_relaxed);
	atomic_store_explicit(&s->generation, 0, memory_order_relaxed);
	atomic_store_explicit(&s->start_time, 0, memory_order_relaxed);
}

/* Move a slot from owner value o to free; 1 when done. */
static int slot_free(shm_slot_seg_t *s, uint64_t o)
{
	uint64_t busy = (OWNER_TAG(o) << 32) | SHM_SLOT_BUSY;

	if (!atomic_compare_exchange_strong_explicit(&s->owner, &o, busy, memory_order_acq_rel,
						     memory_order_relaxed))
		return 0;
	slot_reset(s);
	atomic_store_explicit(&s->owner, OWNER_TAG(o) << 32, memory_order_release);
	return 1;
}

int shm_ctl_reap(shm_ctl_t *ctl)
{
	int n = 0;

	if (ctl->readonly)
		return 0;
	for (uint32_t i = 0; i < ctl->hdr->nslots; i++) {
		shm_slot_seg_t *s = &ctl->slots[i];
		uint64_t o = atomic_load_explicit(&s->owner, memory_order_acquire);
		uint32_t pid = OWNER_PID(o);
		uint64_t start;

		if (pid == 0 || pid == SHM_SLOT_BUSY)
			continue;
		start = atomic_load_explicit(&s->start_time, memory_order_acquire);
		if (slot_owner_dead(pid, start) && slot_free(s, o)) {
			log_shm_info("reclaimed slot %u of dead process %u", i, pid);
			n++;
		}
	}
	return n;
}

int shm_slot_claim(shm_ctl_t *ctl, shm_slot_t **out)
{
	uint32_t pid = (uint32_t)getpid();
	uint64_t start = 0;
	char state;

	*out = NULL;
	if (ctl->readonly)
		return -EACCES;
	if (souk_proc_stat(pid, &state, &start) != 0 || start == 0)
		start = 1; /* no /proc: liveness then rests on the pid alone */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < ctl->hdr->nslots; i++) {
			shm_slot_seg_t *s = &ctl->slots[i];
			uint64_t o = atomic_load_explicit(&s->owner, memory_order_acquire);
			uint64_t mine;

			if (OWNER_PID(o) != 0)
				continue;
			mine = (((OWNER_TAG(o) + 1) & 0xffffffffu) << 32) | pid;
			if (!atomic_compare_exchange_strong_explicit(
				&s->owner, &o, mine, memory_order_acq_rel, memory_order_relaxed))
				continue;
			for (unsigned k = 0; k < SHM_SLOT_COUNTERS; k++)
				atomic_store_explicit(&s->counters[k], 0, memory_order_relaxed);
			atomic_store_explicit(&s->generation, 0, memory_order_relaxed);
			atomic_store_explicit(&s->start_time, start, memory_order_release);
			*out = s;
			return 0;
		}
		if (pass == 0 && shm_ctl_reap(ctl) == 0)
			break;
	}
	log_shm_err("no free worker slot in '%s' (%u slots)", ctl->instance, ctl->hdr->nslots);
	return SOUK_EBUSY;
}

void shm_slot_release(shm_ctl_t *ctl, shm_slot_t **pslot)
{
	shm_slot_seg_t *s = *pslot;
	uint64_t o;

	if (s == NULL)
		return;
	(void)ctl;
	o = atomic_load_explicit(&s->owner, memory_order_acquire);
	if (OWNER_PID(o) == (uint32_t)getpid())
		slot_free(s, o);
	*pslot = NULL;
}

void shm_slot_count(shm_slot_t *slot, unsigned i, uint64_t delta)
{
	if (slot != NULL && i < SHM_SLOT_COUNTERS)
		atomic_fetch_add_explicit(&slot->counters[i], delta, memory_order_relaxed);
}

void shm_slot_set_generation(shm_slot_t *slot, uint64_t generation)
{
	if (slot != NULL)
		atomic_store_explicit(&slot->generation, generation, memory_order_relaxed);
}

uint64_t shm_ctl_counter_sum(const shm_ctl_t *ctl, unsigned i)
{
	uint64_t sum = 0;

	if (i >= SHM_SLOT_COUNTERS)
		return 0;
	for (uint32_t k = 0; k < ctl->hdr->nslots; k++) {
		const shm_slot_seg_t *s = &ctl->slots[k];
		uint32_t pid = OWNER_PID(atomic_load_explicit(&s->owner, memory_order_acquire));
		if (pid == 0 || pid == SHM_SLOT_BUSY)
			continue;
		sum += atomic_load_explicit(&s->counters[i], memory_order_relaxed);
	}
	return sum;
}

int shm_ctl_slot_info(const shm_ctl_t *ctl, uint32_t i, shm_slot_info_t *out)
{
	const shm_slot_seg_t *s;
	uint32_t pid;

	if (i >= ctl->hdr->nslots)
		return SOUK_EINVAL;
	s = &ctl->slots[i];
	pid = OWNER_PID(atomic_load_explicit(&s->owner, memory_order_acquire));
	if (pid == 0 || pid == SHM_SLOT_BUSY)
		return SOUK_ENOENT;
	out->pid = pid;
	out->start_time = atomic_load_explicit(&s->start_time, memory_order_acquire);
	out->generation = atomic_load_explicit(&s->generation, memory_order_relaxed);
	return 0;
}

void shm_ctl_set_settings_gen(shm_ctl_t *ctl, uint64_t gen)
{
	atomic_store_explicit(&ctl->hdr->settings_gen, gen, memory_order_release);
}

uint64_t shm_ctl_settings_gen(const shm_ctl_t *ctl)
{
	return atomic_load_explicit(&ctl->hdr->settings_gen, memory_order_acquire);
}

void shm_ctl_count_render_failures(shm_ctl_t *ctl, uint64_t n)
{
	atomic_fetch_add_explicit(&ctl->hdr->render_failures, n, memory_order_relaxed);
}

int shm_ctl_consumer_set(shm_ctl_t *ctl, const char *name, uint64_t cursor, uint64_t log_seq)
{
	size_t len = name ? strlen(name) : 0;
	if (!ctl || len == 0 || len > SHM_CONSUMER_NAME_MAX)
		return SOUK_EINVAL;
	shm_ctl_hdr_t *h = ctl->hdr;
	shm_consumer_seg_t *free_e = NULL;
	for (unsigned i = 0; i < SHM_CONSUMERS_MAX; i++) {
		shm_consumer_seg_t *e = &h->consumers[i];
		if (!atomic_load_explicit(&e->used, memory_order_acquire)) {
			if (!free_e)
				free_e = e;
			continue;
		}
		if (strcmp(e->name, name) == 0) {
			free_e = NULL;
			atomic_store_explicit(&e->cursor, cursor, memory_order_relaxed);
			goto seq;
		}
	}
	if (!free_e)
		return SOUK_ETOOBIG;
	/* only soukd writes the table (one thread registers), so a free
	 * entry stays free until it is published here */
	memset(free_e->name, 0, sizeof(free_e->name));
	memcpy(free_e->name, name, len);
	atomic_store_explicit(&free_e->cursor, cursor, memory_order_relaxed);
	atomic_store_explicit(&free_e->used, 1, memory_order_release);
seq:
	if (log_seq)
		atomic_store_explicit(&h->log_seq, log_seq, memory_order_relaxed);
	return 0;
}

void shm_ctl_consumers(const shm_ctl_t *ctl, shm_consumer_info_t *out, size_t cap, size_t *n,
		       uint64_t *log_seq)
{
	const shm_ctl_hdr_t *h = ctl->hdr;
	size_t k = 0;
	for (unsigned i = 0; i < SHM_CONSUMERS_MAX && k < cap; i++) {
		const shm_consumer_seg_t *e = &h->consumers[i];
		if (!atomic_load_explicit(&e->used, memory_order_acquire))
			continue;
		memcpy(out[k].name, e->name, sizeof(out[k].name));
		out[k].name[SHM_CONSUMER_NAME_MAX] = 0;
		out[k].cursor = atomic_load_explicit(&e->cursor, memory_order_relaxed);
		k++;
	}
	*n = k;
	if (log_seq)
		*log_seq = atomic_load_explicit(&h->log_seq, memory_order_relaxed);
}

void shm_ctl_stats(const shm_ctl_t *ctl, shm_ctl_stats_t *out)
{
	const shm_ctl_hdr_t *h = ctl->hdr;

	memset(out, 0, sizeof(*out));
	out->generation = atomic_load_explicit(&h->generation, memory_order_acquire);
	out->seq = atomic_load_explicit(&h->seq, memory_order_relaxed);
	out->publish_count = atomic_load_explicit(&h->publish_count, memory_order_relaxed);
	out->last_publish_ns = atomic_load_explicit(&h->last_publish_ns, memory_order_relaxed);
	out->last_publish_ms = atomic_load_explicit(&h->last_publish_ms, memory_order_relaxed);
	out->image_size = atomic_load_explicit(&h->image_size, memory_order_relaxed);
	out->publisher_pid = atomic_load_explicit(&h->publisher_pid, memory_order_relaxed);
	out->base_generation = atomic_load_explicit(&h->base_generation, memory_order_relaxed);
	out->base_size = atomic_load_explicit(&h->base_size, memory_order_relaxed);
	out->render_failures = atomic_load_explicit(&h->render_failures, memory_order_relaxed);
	out->nslots = h->nslots;
	for (uint32_t k = 0; k < h->nslots; k++) {
		uint32_t pid =
		    OWNER_PID(atomic_load_explicit(&ctl->slots[k].owner, memory_order_relaxed));
		if (pid != 0 && pid != SHM_SLOT_BUSY)
			out->slots_used++;
	}
}
