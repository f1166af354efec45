/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/publisher.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/consumer.h"
#include "daemon/render.h"
#include "shm/catalog.h"

#define PUBLISHER_MAGIC 0x50554231u /* "PUB1" */
#define PRODUCT_KIND	"product"
/* the busy cap never holds a change back longer than this */
#define PUBLISH_GAP_MAX_US 1000000u
/* ... nor a new base (while it waits, deltas go on being published) */
#define REBUILD_GAP_MAX_US 30000000u

/* A set of product ids (open addressing, linear probing). */
typedef struct {
	store_id_t *ids;
	uint8_t *used;
	size_t cap, n;
} idset_t;

/* A base image being built on a worker thread from a snapshot of the
 * rendered table. The products it points to are immutable; while it runs the
 * table defers freeing replaced products (the graveyard). */
typedef struct {
	pthread_t thread;
	const catalog_product_t **arr; /* snapshot, owned */
	size_t n;
	uint64_t seq; /* change-log sequence of the snapshot */
	shm_ctl_t *ctl;
	int wfd; /* written once when done */
	/* results, read after join */
	int rc;
	uint64_t gen, us, cpu_us;
	size_t bytes;
} rebuild_t;

struct publisher {
	uint32_t magic;
	struct event_base *base;
	store_t *store;
	shm_ctl_t *ctl;
	char default_locale[CATALOG_LOCALE_MAX];
	uint32_t coalesce_ms, poll_ms, max_busy_pct;
	uint64_t last_end_ns, last_us; /* the last image: when it was done, and the
					* CPU time reading, rendering and building it took */
	/* CPU time the current base took to build, and the deltas published
	 * over it so far: when the deltas have cost as much as a new base would,
	 * a new base is built (each delta copies every change since the base) */
	uint64_t base_cost_us, delta_cost_us, cost_floor_us;
	uint64_t base_end_ns; /* when the current base was published */
	uint64_t idle_seq;    /* applied_seq at the previous poll */
	publisher_sections_fn sections;
	void *sections_arg;

	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	struct event *ev_sock, *ev_coalesce, *ev_poll;
	bool coalesce_armed;

	/* rendered products by id: open addressing, linear probing */
	render_product_t **slot;
	size_t cap, n;
	uint64_t applied_seq; /* the table includes every change up to this */
	bool dirty;	      /* the table changed since the last image */
	consumer_t *cons;     /* "publisher": how far the images have come */

	size_t served; /* products in the table that are not archived */

	/* base + delta publishing (shm/image.h): base_gen is the base of the
	 * current image; dset the products changed since it (the next delta) */
	uint64_t base_gen;
	idset_t dset;
	uint32_t rebuild_pct, rebuild_min;
	uint64_t rebuild_bytes;
	/* a base rebuild in progress: changes since its snapshot go to dnext
	 * too; replaced products wait in the graveyard */
	bool building;
	rebuild_t rb;
	idset_t dnext;
	render_product_t **grave;
	size_t ngrave, grave_cap;
	int pipe_r, pipe_w;
	struct event *ev_rebuilt;

	publisher_stats_t st;
	log_ratelimit_t rl;
};

/* ---- the table ------------------------------------------------------------ */

static uint64_t id_hash(const store_id_t *id)
{
	uint64_t a, b;
	memcpy(&a, id->b, 8);
	memcpy(&b, id->b + 8, 8);
	uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

static size_t table_find(const publisher_t *p, const store_id_t *id)
{
	size_t mask = p->cap - 1, i = (size_t)id_hash(id) & mask;
	while (p->slot[i] && memcmp(p->slot[i]->cp.id.b, id->b, 16) != 0)
		i = (i + 1) & mask;
	return i;
}

static int table_grow(publisher_t *p)
{
	size_t ncap = p->cap ? p->cap * 2 : 1024;
	render_product_t **old = p->slot;
	size_t ocap = p->cap;
	p->slot = calloc(ncap, sizeof(*p->slot));
	if (!p->slot) {
		p->slot = old;
		return SOUK_ENOMEM;
	}
	p->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i])
			p->slot[table_find(p, &old[i]->cp.id)] = old[i];
	free(old);
	return 0;
}

/* Free a product leaving the table, or keep it until the base being built
 * from a snapshot that may point to it is done. */
static void product_retire(publisher_t *p, render_product_t **r)
{
	if (!*r)
		return;
	if (!(*r)->cp.archived)
		p->served--;
	if (p->building) {
		if (p->ngrave == p->grave_cap) {
			size_t ncap = p->grave_cap ? p->grave_cap * 2 : 256;
			render_product_t **g = realloc(p->grave, ncap * sizeof(*g));
			if (!g) {
				/* cannot defer: wait for the build rather than free under it */
				pthread_join(p->rb.thread, NULL);
				p->rb.thread = 0;
				render_product_free(r);
				return;
			}
			p->grave = g;
			p->grave_cap = ncap;
		}
		p->grave[p->ngrave++] = *r;
		*r = NULL;
		return;
	}
	render_product_free(r);
}

static void grave_clear(publisher_t *p)
{
	for (size_t i = 0; i < p->ngrave; i++)
		render_product_free(&p->grave[i]);
	p->ngrave = 0;
}

/* Takes ownership of r, replacing (and retiring) any product with its id. */
static int table_put(publisher_t *p, render_product_t *r)
{
	int rc;
	if ((p->n + 1) * 4 > p->cap * 3) {
		rc = table_grow(p);
		if (rc)
			return rc;
	}
	size_t i = table_find(p, &r->cp.id);
	if (p->slot[i]) {
		product_retire(p, &p->slot[i]);
	} else {
		p->n++;
	}
	p->slot[i] = r;
	if (!r->cp.archived)
		p->served++;
	return 0;
}

static void table_del(publisher_t *p, const store_id_t *id)
{
	if (!p->cap)
		return;
	size_t mask = p->cap - 1, i = table_find(p, id);
	if (!p->slot[i])
		return;
	product_retire(p, &p->slot[i]);
	p->n--;
	/* backward-shift deletion keeps probe chains intact */
	for (size_t j = (i + 1) & mask; p->slot[j]; j = (j + 1) & mask) {
		size_t home = (size_t)id_hash(&p->slot[j]->cp.id) & mask;
		bool movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			p->slot[i] = p->slot[j];
			p->slot[j] = NULL;
			i = j;
		}
	}
}

static void table_clear(publisher_t *p)
{
	for (size_t i = 0; i < p->cap; i++)
		render_product_free(&p->slot[i]);
	souk_free(&p->slot);
	p->cap = p->n = p->served = 0;
}

/* ---- id sets ---------------------------------------------------------------- */

static int idset_grow(idset_t *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 256;
	store_id_t *ids = malloc(ncap * sizeof(*ids));
	uint8_t *used = calloc(ncap, 1);
	if (!ids || !used) {
		free(ids);
		free(used);
		return SOUK_ENOMEM;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->used[i])
			continue;
		size_t j = (size_t)id_hash(&s->ids[i]) & (ncap - 1);
		while (used[j])
			j = (j + 1) & (ncap - 1);
		ids[j] = s->ids[i];
		used[j] = 1;
	}
	free(s->ids);
	free(s->used);
	s->ids = ids;
	s->used = used;
	s->cap = ncap;
	return 0;
}

static int idset_add(idset_t *s, const store_id_t *id)
{
	if ((s->n + 1) * 2 > s->cap) {
		int rc = idset_grow(s);
		if (rc)
			return rc;
	}
	size_t j = (size_t)id_hash(id) & (s->cap - 1);
	while (s->used[j]) {
		if (memcmp(s->ids[j].b, id->b, 16) == 0)
			return 0;
		j = (j + 1) & (s->cap - 1);
	}
	s->ids[j] = *id;
	s->used[j] = 1;
	s->n++;
	return 0;
}

static void idset_clear(idset_t *s)
{
	if (s->cap > 4096) { /* do not keep a large table for a small delta */
		souk_free(&s->ids);
		souk_free(&s->used);
		s->cap = 0;
	} else if (s->cap) {
		memset(s->used, 0, s->cap);
	}
	s->n = 0;
}

static void idset_free(idset_t *s)
{
	souk_free(&s->ids);
	souk_free(&s->used);
	s->cap = s->n = 0;
}

/* Render rec and put it in the table. A version that does not render
 * (validation keeps new writes renderable; older or foreign documents may
 * not be) leaves the last good rendering in the catalog, logged and counted,
 * rather than stopping publishing or hiding a product that was served. */
static int table_render(publisher_t *p, const store_rec_t *rec)
{
	render_product_t *r = NULL;
	int rc = render_product(rec, p->default_locale, &r);
	if (rc == SOUK_ENOMEM)
		return rc;
	if (rc) {
		char hex[33];
		uint32_t suppressed = 0;
		bool kept = p->cap && p->slot[table_find(p, &rec->id)];
		p->st.render_errors++;
		shm_ctl_count_render_failures(p->ctl, 1);
		store_id_hex(&rec->id, hex);
		if (log_ratelimit_ok(&p->rl, &suppressed))
			log_daemon_warn("publisher, product '%s' version %" PRIu64
					" did not render (%s), %s%s",
					hex, rec->version, souk_strerror(rc),
					kept ? "serving its last good rendering"
					     : "left out of the catalog",
					suppressed ? ", more suppressed" : "");
		return 0;
	}
	rc = table_put(p, r);
	if (rc)
		render_product_free(&r);
	return rc;
}

static int scan_cb(const store_rec_t *rec, void *arg)
{
	return table_render(arg, rec);
}

/* ---- following the change log --------------------------------------------- */

typedef struct {
	store_id_t *ids;
	size_t n, cap;
	uint64_t last_seq;
	uint64_t newest_ms;
} changes_t;

static int change_cb(const store_change_t *c, void *arg)
{
	changes_t *ch = arg;
	if (c->seq > ch->last_seq)
		ch->last_seq = c->seq;
	if (c->time_ms > ch->newest_ms)
		ch->newest_ms = c->time_ms;
	if (!c->kind || strcmp(c->kind, PRODUCT_KIND) != 0)
		return 0;
	if (ch->n == ch->cap) {
		size_t ncap = ch->cap ? ch->cap * 2 : 64;
		store_id_t *ids = realloc(ch->ids, ncap * sizeof(*ids));
		if (!ids)
			return SOUK_ENOMEM;
		ch->ids = ids;
		ch->cap = ncap;
	}
	ch->ids[ch->n++] = c->id;
	return 0;
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(store_id_t));
}

/* Bring the table up to the end of the change log. *changed gets how many
 * products were re-rendered. The log and the records are read in one read
 * transaction, so the image shows the catalog exactly as of ch.last_seq
 * (with separate reads a record could be newer than the sequence the image
 * claims, and the version in between would never be published). */
static int apply_changes(publisher_t *p, uint64_t *changed, uint64_t *newest_ms)
{
	changes_t ch = {.last_seq = p->applied_seq};
	store_read_t *rt = NULL;
	int rc = store_read_begin(p->store, &rt);
	if (rc == 0)
		rc = store_read_changes(rt, p->applied_seq, change_cb, &ch);
	if (rc)
		goto fail;
	if (ch.n > 1)
		qsort(ch.ids, ch.n, sizeof(*ch.ids), id_cmp);
	size_t u = 0;
	for (size_t i = 0; i < ch.n; i++)
		if (u == 0 || memcmp(&ch.ids[u - 1], &ch.ids[i], sizeof(store_id_t)) != 0)
			ch.ids[u++] = ch.ids[i];
	for (size_t i = 0; i < u; i++) {
		rc = idset_add(&p->dset, &ch.ids[i]);
		if (rc == 0 && p->building)
			rc = idset_add(&p->dnext, &ch.ids[i]);
		if (rc)
			goto fail;
	}
	for (size_t i = 0; i < u; i++) {
		store_rec_t rec;
		memset(&rec, 0, sizeof(rec));
		rc = store_read_get(rt, PRODUCT_KIND, &ch.ids[i], &rec);
		if (rc == SOUK_ENOENT) {
			table_del(p, &ch.ids[i]);
			continue;
		}
		if (rc)
			goto fail;
		rc = table_render(p, &rec);
		store_rec_deinit(&rec);
		if (rc)
			goto fail;
	}
	/* changes of other kinds move the sequence but need no new image */
	if (u)
		p->dirty = true;
	if (ch.last_seq > p->applied_seq)
		p->applied_seq = ch.last_seq;
	*changed = u;
	*newest_ms = ch.newest_ms;
	rc = 0;
fail:
	store_read_end(&rt);
	free(ch.ids);
	return rc;
}

static void log_failure(publisher_t *p, const char *what, int rc)
{
	uint32_t suppressed = 0;
	p->st.failures++;
	if (log_ratelimit_ok(&p->rl, &suppressed))
		log_daemon_err("publisher, %s failed (%s)%s", what, souk_strerror(rc),
			       suppressed ? ", more suppressed" : "");
}

/* Every product of the table (any order: catalog_build sorts). */
static int table_snapshot(const publisher_t *p, const catalog_product_t ***out, size_t *n)
{
	const catalog_product_t **arr = malloc((p->n ? p->n : 1) * sizeof(*arr));
	size_t k = 0;
	if (!arr)
		return SOUK_ENOMEM;
	for (size_t i = 0; i < p->cap; i++)
		if (p->slot[i])
			arr[k++] = &p->slot[i]->cp;
	*out = arr;
	*n = k;
	return 0;
}

static void published(publisher_t *p, uint64_t gen, uint64_t t0, uint64_t changed,
		      uint64_t newest_ms, size_t bytes)
{
	uint64_t us = (souk_now_mono_ns() - t0) / 1000u;
	p->dirty = false;
	p->st.publishes++;
	p->st.last_generation = gen;
	p->st.base_generation = p->base_gen;
	p->st.delta_products = p->dset.n;
	p->st.last_seq = p->applied_seq;
	p->st.last_publish_ms = souk_now_real_ms();
	p->st.last_duration_us = us;
	if (us > p->st.max_duration_us)
		p->st.max_duration_us = us;
	p->st.total_duration_us += us;
	p->st.last_changed = changed;
	if (newest_ms)
		p->st.last_lag_ms =
		    p->st.last_publish_ms > newest_ms ? p->st.last_publish_ms - newest_ms : 0;
	p->st.catalog_bytes = bytes;
	p->st.products = p->n;
	p->st.served = p->served;
	log_daemon_debug("publisher, published generation %llu over base %llu (seq %llu, %zu "
			 "products, %zu in the delta, %llu us)",
			 (unsigned long long)gen, (unsigned long long)p->base_gen,
			 (unsigned long long)p->applied_seq, p->served, p->dset.n,
			 (unsigned long long)us);
}

/* The sections the caller adds to every image (if any), then publish b as *gen. */
static int add_sections_and_publish(publisher_t *p, shm_builder_t **b, uint64_t *gen)
{
	if (p->sections) {
		int rc = p->sections(p->sections_arg, *b);
		if (rc)
			return rc;
	}
	return shm_builder_publish(b, gen);
}

/* CPU time of the calling thread: what an image cost, whatever else the
 * machine was doing meanwhile (wall time would count other processes' turns). */
static uint64_t thread_cpu_us(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A full image: the first one, or when no base can be used. */
static int publish_full(publisher_t *p, uint64_t changed, uint64_t newest_ms)
{
	uint64_t t0 = souk_now_mono_ns(), c0 = thread_cpu_us(), gen = 0;
	const catalog_product_t **arr = NULL;
	shm_builder_t *b = NULL;
	size_t n = 0, bytes = 0, table_bytes = 0;
	int rc;

	rc = table_snapshot(p, &arr, &n);
	if (rc)
		goto fail;
	for (size_t i = 0; i < p->cap; i++)
		if (p->slot[i])
			table_bytes += render_product_bytes(p->slot[i]);
	rc = shm_builder_new(p->ctl, &b);
	if (rc)
		goto fail;
	shm_builder_set_seq(b, p->applied_seq);
	rc = catalog_build(b, arr, n, p->applied_seq, &bytes);
	if (rc)
		goto fail;
	rc = add_sections_and_publish(p, &b, &gen);
	if (rc)
		goto fail;
	p->base_gen = gen;
	p->base_cost_us = thread_cpu_us() - c0;
	p->base_end_ns = souk_now_mono_ns();
	p->delta_cost_us = 0;
	idset_clear(&p->dset);
	idset_clear(&p->dnext);
	p->st.base_catalog_bytes = bytes;
	p->st.table_bytes = table_bytes;
	published(p, gen, t0, changed, newest_ms, bytes);
	rc = 0;
fail:
	shm_builder_free(&b);
	free(arr);
	if (rc)
		log_failure(p, "full publish", rc);
	return rc;
}

/* A delta over base_gen holding the products of set (those no longer in the
 * table as "gone" tombstones). */
static int publish_delta(publisher_t *p, uint64_t base_gen, const idset_t *set, uint64_t changed,
			 uint64_t newest_ms, size_t *out_bytes)
{
	uint64_t t0 = souk_now_mono_ns(), gen = 0;
	const catalog_product_t **arr = NULL;
	store_id_t *gone = NULL;
	shm_builder_t *b = NULL;
	size_t n = 0, ngone = 0, bytes = 0;
	int rc;

	arr = malloc((set->n ? set->n : 1) * sizeof(*arr));
	gone = malloc((set->n ? set->n : 1) * sizeof(*gone));
	if (!arr || !gone) {
		rc = SOUK_ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < set->cap; i++) {
		if (!set->used[i])
			continue;
		size_t k = table_find(p, &set->ids[i]);
		if (p->slot[k])
			arr[n++] = &p->slot[k]->cp;
		else
			gone[ngone++] = set->ids[i];
	}
	rc = shm_builder_new_delta(p->ctl, base_gen, &b);
	if (rc)
		goto fail;
	shm_builder_set_seq(b, p->applied_seq);
	rc = catalog_build_delta(b, arr, n, gone, ngone, p->served, p->applied_seq, &bytes);
	if (rc)
		goto fail;
	rc = add_sections_and_publish(p, &b, &gen);
	if (rc)
		goto fail;
	p->base_gen = base_gen;
	if (out_bytes)
		*out_bytes = bytes;
	published(p, gen, t0, changed, newest_ms, bytes);
	rc = 0;
fail:
	shm_builder_free(&b);
	free(arr);
	free(gone);
	return rc;
}

/* ---- base rebuilds ------------------------------------------------------------ */

static void *rebuild_main(void *arg)
{
	rebuild_t *rb = arg;
	uint64_t t0 = souk_now_mono_ns(), c0 = thread_cpu_us();
	shm_builder_t *b = NULL;
	uint8_t one = 1;

	rb->rc = shm_builder_new_base(rb->ctl, &b);
	if (rb->rc == 0) {
		shm_builder_set_seq(b, rb->seq);
		rb->rc = catalog_build(b, rb->arr, rb->n, rb->seq, &rb->bytes);
	}
	if (rb->rc == 0)
		rb->rc = shm_builder_finish(&b, &rb->gen);
	shm_builder_free(&b);
	rb->us = (souk_now_mono_ns() - t0) / 1000u;
	rb->cpu_us = thread_cpu_us() - c0;
	while (write(rb->wfd, &one, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Start building a new base from a snapshot of the table on a worker thread;
 * deltas go on being published meanwhile. */
static int rebuild_start(publisher_t *p)
{
	int rc;
	if (p->building)
		return SOUK_EBUSY;
	if (p->pipe_w < 0)
		return SOUK_EINVAL;
	memset(&p->rb, 0, sizeof(p->rb));
	rc = table_snapshot(p, &p->rb.arr, &p->rb.n);
	if (rc)
		return rc;
	p->rb.seq = p->applied_seq;
	p->rb.ctl = p->ctl;
	p->rb.wfd = p->pipe_w;
	idset_clear(&p->dnext);
	p->building = true;
	rc = pthread_create(&p->rb.thread, NULL, rebuild_main, &p->rb);
	if (rc) {
		p->building = false;
		souk_free(&p->rb.arr);
		return -rc;
	}
	p->st.base_rebuilds_started++;
	log_daemon_debug("publisher, building a new base of %zu products (seq %llu)", p->rb.n,
			 (unsigned long long)p->rb.seq);
	return 0;
}

/* Start a base rebuild for a reason counted in *counter (automatic ones;
 * a rebuild already running is fine). */
static void start_rebuild_for(publisher_t *p, uint64_t *counter, const char *why)
{
	int rc = rebuild_start(p);
	if (rc == 0) {
		(*counter)++;
		log_daemon_debug("publisher, new base: %s (%zu products in the delta)", why,
				 p->dset.n);
	} else if (rc != SOUK_EBUSY) {
		log_failure(p, "starting a base rebuild", rc);
	}
}

/* Wait for the worker; the graveyard can go. */
static void rebuild_join(publisher_t *p)
{
	if (p->rb.thread)
		pthread_join(p->rb.thread, NULL);
	p->rb.thread = 0;
	p->building = false;
	souk_free(&p->rb.arr);
	grave_clear(p);
}

/* The worker is done: publish a delta over the new base holding what changed
 * since its snapshot, which makes it current. */
static void rebuild_done(publisher_t *p)
{
	uint64_t gen;
	size_t bytes = 0;
	int rc;

	rebuild_join(p);
	gen = p->rb.gen;
	rc = p->rb.rc;
	if (rc == 0) {
		rc = publish_delta(p, gen, &p->dnext, p->dnext.n, 0, &bytes);
		if (rc)
			shm_image_discard(p->ctl, gen);
	}
	if (rc) {
		p->st.base_rebuild_failures++;
		log_failure(p, "base rebuild", rc);
		idset_clear(&p->dnext);
		return;
	}
	/* the changes since the snapshot are the new delta */
	idset_t t = p->dset;
	p->dset = p->dnext;
	p->dnext = t;
	idset_clear(&p->dnext);
	p->st.delta_products = p->dset.n;
	p->st.base_rebuilds++;
	p->st.last_base_build_us = p->rb.us;
	p->base_cost_us = p->rb.cpu_us;
	p->base_end_ns = souk_now_mono_ns();
	p->delta_cost_us = 0;
	p->st.base_catalog_bytes = p->rb.bytes;
	log_daemon_info("publisher, new base generation %llu of %zu products built in %llu ms",
			(unsigned long long)gen, p->rb.n, (unsigned long long)(p->rb.us / 1000u));
}

static void on_rebuilt(evutil_socket_t fd, short what, void *arg)
{
	publisher_t *p = arg;
	uint8_t buf[16];
	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (p->building)
		rebuild_done(p);
}

/* The busy cap's gap after work that cost cost_us of CPU time: cost x
 * (100 - N) / N, at most max_us; 0 without a cap. */
static uint64_t busy_gap_us(uint32_t max_busy_pct, uint64_t cost_us, uint64_t max_us)
{
	if (max_busy_pct == 0 || max_busy_pct >= 100)
		return 0;
	uint64_t gap = cost_us * (100u - max_busy_pct) / max_busy_pct;
	return gap < max_us ? gap : max_us;
}

uint64_t publisher_rebuild_wait_us(uint32_t max_busy_pct, uint64_t base_cost_us, uint64_t since_us)
{
	uint64_t gap = busy_gap_us(max_busy_pct, base_cost_us, REBUILD_GAP_MAX_US);
	return since_us < gap ? gap - since_us : 0;
}

/* May a new base start for its size or its deltas' cost? Under a stream of
 * writes bases keep to the busy cap too (publisher_rebuild_wait_us);
 * meanwhile deltas go on. */
static bool rebuild_due(const publisher_t *p)
{
	return publisher_rebuild_wait_us(p->max_busy_pct, p->base_cost_us,
					 (souk_now_mono_ns() - p->base_end_ns) / 1000u) == 0;
}

/* Publish what changed: a delta over the current base; start a new base when
 * the delta grew too large. */
static int publish_image(publisher_t *p, uint64_t changed, uint64_t newest_ms)
{
	size_t bytes = 0;
	int rc;

	if (p->base_gen == 0)
		return publish_full(p, changed, newest_ms);
	rc = publish_delta(p, p->base_gen, &p->dset, changed, newest_ms, &bytes);
	if (rc == SOUK_ENOENT || rc == SOUK_EINVAL) {
		/* the base is gone or unusable: start over with a full image */
		log_daemon_warn("publisher, base generation %llu unusable (%s), publishing a full "
				"image",
				(unsigned long long)p->base_gen, souk_strerror(rc));
		if (p->building) {
			rebuild_join(p); /* started from the old state: drop it */
			if (p->rb.rc == 0 && p->rb.gen)
				shm_image_discard(p->ctl, p->rb.gen);
		}
		return publish_full(p, changed, newest_ms);
	}
	if (rc) {
		log_failure(p, "publish", rc);
		return rc;
	}
	if (!p->building) {
		/* both limits grow with the catalog: a base costs in proportion
		 * to it, so a fixed limit would rebuild a large catalog's base
		 * as often as a small one's */
		size_t limit = (size_t)((uint64_t)p->n * p->rebuild_pct / 100u);
		uint64_t blimit = p->st.base_catalog_bytes * p->rebuild_pct / 100u;
		if (limit < p->rebuild_min)
			limit = p->rebuild_min;
		if (blimit < p->rebuild_bytes)
			blimit = p->rebuild_bytes;
		if ((p->dset.n > limit || bytes > blimit) && rebuild_due(p))
			start_rebuild_for(p, &p->st.base_rebuilds_size, "the delta grew too large");
	}
	return 0;
}

int publisher_rebuild_base(publisher_t *p)
{
	if (!p || p->magic != PUBLISHER_MAGIC)
		return SOUK_EINVAL;
	return rebuild_start(p);
}

bool publisher_rebuilding(const publisher_t *p)
{
	return p && p->magic == PUBLISHER_MAGIC && p->building;
}

/* The images include everything up to applied_seq: the publisher's cursor
 * moves there (durable at most once a second; on restart the image is built
 * in full anyway, so the cursor says how far publishing has come and a lost
 * second costs nothing). */
static void mark_published(publisher_t *p)
{
	int rc = consumer_mark(p->cons, p->applied_seq, false);
	if (rc)
		log_failure(p, "recording the publisher's cursor", rc);
}

static int catch_up(publisher_t *p, bool force)
{
	uint64_t changed = 0, newest = 0, c0 = thread_cpu_us();
	int rc = apply_changes(p, &changed, &newest);
	if (rc) {
		log_failure(p, "reading the change log", rc);
		return rc;
	}
	if (!p->dirty && !force) {
		mark_published(p);
		return 0;
	}
	uint64_t base_before = p->base_gen;
	rc = publish_image(p, changed, newest);
	if (rc == 0 && !p->dirty)
		mark_published(p);
	/* only a full image (rare: the base was unusable) moves the base here,
	 * and it is no measure of what the next delta will cost */
	bool full = p->base_gen != base_before;
	p->last_us = full ? 0 : thread_cpu_us() - c0;
	p->last_end_ns = souk_now_mono_ns();
	if (rc == 0 && !full) {
		p->delta_cost_us += p->last_us;
		if (!p->building && p->delta_cost_us >= p->base_cost_us &&
		    p->delta_cost_us >= p->cost_floor_us && rebuild_due(p))
			start_rebuild_for(p, &p->st.base_rebuilds_cost,
					  "the deltas have cost as much as a base");
	}
	return rc;
}

int publisher_catch_up(publisher_t *p)
{
	if (!p || p->magic != PUBLISHER_MAGIC)
		return SOUK_EINVAL;
	return catch_up(p, false);
}

int publisher_publish_now(publisher_t *p)
{
	if (!p || p->magic != PUBLISHER_MAGIC)
		return SOUK_EINVAL;
	return catch_up(p, true);
}

/* ---- events --------------------------------------------------------------- */

/* How long to wait before publishing the changes just announced: the
 * coalescing delay, or longer while the last image's cost x (100 - N) / N has
 * not yet passed since it was done, so that a steady stream of writes keeps
 * publishing to about max_busy_pct of a core (deltas grow with the writes
 * since the base, and each image copies the whole delta). */
uint64_t publisher_delay_us(uint32_t coalesce_ms, uint32_t max_busy_pct, uint64_t last_us,
			    uint64_t since_us)
{
	uint64_t wait = (uint64_t)coalesce_ms * 1000u;
	uint64_t gap = busy_gap_us(max_busy_pct, last_us, PUBLISH_GAP_MAX_US);
	if (since_us < gap && gap - since_us > wait)
		wait = gap - since_us;
	return wait;
}

static uint64_t coalesce_delay_us(const publisher_t *p)
{
	/* before the first catch-up last_us is 0: the coalescing wait alone */
	return publisher_delay_us(p->coalesce_ms, p->max_busy_pct, p->last_us,
				  (souk_now_mono_ns() - p->last_end_ns) / 1000u);
}

static void arm_coalesce(publisher_t *p)
{
	if (p->coalesce_armed)
		return;
	uint64_t us = coalesce_delay_us(p);
	struct timeval tv = {(time_t)(us / 1000000u), (suseconds_t)(us % 1000000u)};
	if (evtimer_add(p->ev_coalesce, &tv) == 0)
		p->coalesce_armed = true;
}

static void on_datagram(evutil_socket_t fd, short what, void *arg)
{
	publisher_t *p = arg;
	uint8_t buf[16];
	bool want = false;
	/* bounded drain: the rest waits for the next callback */
	for (int i = 0; i < 1024; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			break;
		p->st.datagrams++;
		if (n != 8)
			continue;
		uint64_t seq = 0;
		for (int k = 7; k >= 0; k--)
			seq = seq << 8 | buf[k];
		if (seq > p->applied_seq)
			want = true;
	}
	if (want)
		arm_coalesce(p);
}

static void on_coalesce(evutil_socket_t fd, short what, void *arg)
{
	publisher_t *p = arg;
	p->coalesce_armed = false;
	(void)catch_up(p, false);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	publisher_t *p = arg;
	if (p->coalesce_armed)
		return; /* a datagram's publish is on its way */
	uint64_t last = 0;
	consumer_show(p->cons); /* lag grows visibly while publishing fails */
	/* an error is not "nothing changed": catch_up() below reports it */
	if (!p->dirty && store_last_seq(p->store, &last) == 0 && last <= p->applied_seq) {
		/* quiet for a whole interval: fold a delta of some size into a new
		 * base now, so that the next writes publish small deltas */
		mark_published(p); /* a cursor marked while busy becomes durable */
		bool quiet = p->applied_seq == p->idle_seq;
		p->idle_seq = p->applied_seq;
		if (quiet && !p->building && p->base_gen && p->dset.n >= p->rebuild_min)
			start_rebuild_for(p, &p->st.base_rebuilds_idle, "quiet");
		return;
	}
	uint64_t before = p->applied_seq;
	if (catch_up(p, false) == 0 && p->applied_seq > before)
		p->st.poll_catchups++;
}

static int socket_bind(publisher_t *p)
{
	struct sockaddr_un sa;
	struct stat stt;
	int fd, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, p->sock_path, sizeof(sa.sun_path));
	if (lstat(p->sock_path, &stt) == 0) {
		if (!S_ISSOCK(stt.st_mode)) {
			log_daemon_err("publisher, '%s' exists and is not a socket", p->sock_path);
			return SOUK_EEXIST;
		}
		unlink(p->sock_path); /* stale socket of an earlier run */
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(p->sock_path, 0660) != 0) {
		rc = -errno;
		log_daemon_err("publisher, cannot bind '%s' (%s)", p->sock_path, souk_strerror(rc));
		close(fd);
		return rc;
	}
	p->fd = fd;
	return 0;
}

int publisher_new(struct event_base *base, store_t *store, shm_ctl_t *ctl,
		  const publisher_opts_t *opts, publisher_t **out)
{
	publisher_opts_t def;
	publisher_t *p = NULL;
	int rc;

	if (!base || !store || !ctl || !out)
		return SOUK_EINVAL;
	if (!opts) {
		memset(&def, 0, sizeof(def));
		def.coalesce_ms = 2;
		opts = &def;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return SOUK_ENOMEM;
	p->magic = PUBLISHER_MAGIC;
	p->base = base;
	p->store = store;
	p->ctl = ctl;
	p->fd = -1;
	p->pipe_r = p->pipe_w = -1;
	p->rebuild_pct = opts->base_rebuild_pct ? opts->base_rebuild_pct : 5;
	p->rebuild_min = opts->base_rebuild_min ? opts->base_rebuild_min : 256;
	p->rebuild_bytes = opts->base_rebuild_bytes ? opts->base_rebuild_bytes : (4u << 20);
	p->cost_floor_us = opts->base_rebuild_cost_us ? opts->base_rebuild_cost_us : 20000;
	p->coalesce_ms = opts->coalesce_ms;
	p->max_busy_pct = opts->max_busy_pct;
	p->poll_ms = opts->poll_ms ? opts->poll_ms : 1000;
	p->sections = opts->sections;
	p->sections_arg = opts->sections_arg;
	p->rl = (log_ratelimit_t)LOG_RATELIMIT_INIT(60, 10);
	snprintf(p->default_locale, sizeof(p->default_locale), "%s",
		 opts->default_locale && *opts->default_locale ? opts->default_locale
							       : CATALOG_DEFAULT_LOCALE);
	if (opts->socket_path || (opts->runtime_dir && *opts->runtime_dir)) {
		int n = opts->socket_path
			    ? snprintf(p->sock_path, sizeof(p->sock_path), "%s", opts->socket_path)
			    : snprintf(p->sock_path, sizeof(p->sock_path), "%s/publish.sock",
				       opts->runtime_dir);
		if (n < 0 || (size_t)n >= sizeof(p->sock_path)) {
			log_daemon_err("publisher, socket path too long (at most %zu bytes)",
				       sizeof(p->sock_path) - 1);
			rc = SOUK_ECONFIG;
			goto fail;
		}
	}

	/* full build: the seq is read first, so anything committed during the
	 * scan is seen again by the first catch-up */
	uint64_t t0 = souk_now_mono_ms();
	rc = store_last_seq(store, &p->applied_seq);
	if (rc == 0)
		rc = table_grow(p);
	if (rc)
		goto fail;
	rc = store_scan(store, PRODUCT_KIND, scan_cb, p);
	if (rc)
		goto fail;
	rc = publish_image(p, p->n, 0);
	if (rc)
		goto fail;
	consumer_opts_t co = {.name = "publisher", .ctl = ctl, .persist_ms = 1000};
	if ((rc = consumer_new(store, &co, &p->cons)) != 0)
		goto fail;
	mark_published(p);
	log_daemon_info("publisher, full build of %llu products published in %llu ms (seq %llu)",
			(unsigned long long)p->st.served,
			(unsigned long long)(souk_now_mono_ms() - t0),
			(unsigned long long)p->applied_seq);

	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) != 0) {
		rc = -errno;
		goto fail;
	}
	p->pipe_r = pfd[0];
	p->pipe_w = pfd[1];
	p->ev_rebuilt = event_new(base, p->pipe_r, EV_READ | EV_PERSIST, on_rebuilt, p);
	if (!p->ev_rebuilt || event_add(p->ev_rebuilt, NULL) != 0) {
		rc = SOUK_ENOMEM;
		goto fail;
	}
	p->ev_coalesce = evtimer_new(base, on_coalesce, p);
	p->ev_poll = event_new(base, -1, EV_PERSIST, on_poll, p);
	if (!p->ev_coalesce || !p->ev_poll) {
		rc = SOUK_ENOMEM;
		goto fail;
	}
	struct timeval tv = {p->poll_ms / 1000u, (p->poll_ms % 1000u) * 1000u};
	if (event_add(p->ev_poll, &tv) != 0) {
		rc = SOUK_ENOMEM;
		goto fail;
	}
	if (p->sock_path[0]) {
		rc = socket_bind(p);
		if (rc)
			goto fail;
		p->ev_sock = event_new(base, p->fd, EV_READ | EV_PERSIST, on_datagram, p);
		if (!p->ev_sock || event_add(p->ev_sock, NULL) != 0) {
			rc = SOUK_ENOMEM;
			goto fail;
		}
	}
	*out = p;
	return 0;
fail:
	publisher_free(&p);
	return rc;
}

void publisher_free(publisher_t **pp)
{
	publisher_t *p = pp ? *pp : NULL;
	if (!p)
		return;
	if (p->ev_sock)
		event_free(p->ev_sock);
	if (p->ev_coalesce)
		event_free(p->ev_coalesce);
	if (p->ev_poll)
		event_free(p->ev_poll);
	if (p->fd >= 0) {
		close(p->fd);
		unlink(p->sock_path);
	}
	if (p->building) {
		rebuild_join(p);
		if (p->rb.rc == 0 && p->rb.gen)
			shm_image_discard(p->ctl, p->rb.gen);
	}
	if (p->ev_rebuilt)
		event_free(p->ev_rebuilt);
	if (p->pipe_r >= 0)
		close(p->pipe_r);
	if (p->pipe_w >= 0)
		close(p->pipe_w);
	if (p->cons && consumer_flush(p->cons) != 0)
		log_daemon_warn("publisher, cursor not recorded at shutdown (rebuilt in full at "
				"start anyway)");
	consumer_free(&p->cons);
	table_clear(p);
	grave_clear(p);
	free(p->grave);
	idset_free(&p->dset);
	idset_free(&p->dnext);
	p->magic = 0;
	free(p);
	*pp = NULL;
}

void publisher_stats(const publisher_t *p, publisher_stats_t *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (p && p->magic == PUBLISHER_MAGIC)
		*out = p->st;
}

int publisher_set_timing(publisher_t *p, uint32_t coalesce_ms, uint32_t poll_ms,
			 uint32_t max_busy_pct)
{
	if (!p || p->magic != PUBLISHER_MAGIC)
		return SOUK_EINVAL;
	p->coalesce_ms = coalesce_ms;
	p->max_busy_pct = max_busy_pct;
	if (!poll_ms)
		poll_ms = 1000;
	if (poll_ms != p->poll_ms && p->ev_poll) {
		struct timeval tv = {poll_ms / 1000u, (poll_ms % 1000u) * 1000u};
		if (event_add(p->ev_poll, &tv) != 0)
			return SOUK_ENOMEM;
	}
	p->poll_ms = poll_ms;
	return 0;
}

const char *publisher_socket_path(const publisher_t *p)
{
	return p && p->fd >= 0 ? p->sock_path : "";
}

/* ---- worker side ---------------------------------------------------------- */

int publisher_notify_open(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

int publisher_notify(int fd, const char *socket_path, uint64_t seq)
{
	struct sockaddr_un sa;
	uint8_t buf[8];
	if (fd < 0 || !socket_path)
		return SOUK_EINVAL;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return SOUK_EINVAL;
	memcpy(sa.sun_path, socket_path, strlen(socket_path));
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(seq >> (8 * i));
	ssize_t n = sendto(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL,
			   (struct sockaddr *)&sa, sizeof(sa));
	return n == (ssize_t)sizeof(buf) ? 0 : -errno;
}
