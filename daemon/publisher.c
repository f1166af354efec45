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
#include "domain/catalog/provider.h"
#include "domain/catalog/category_image.h"
#include "domain/catalog/collection_provider.h"
#include "domain/channel/provider.h"
#include "domain/pricing/provider.h"

#define PUBLISHER_MAGIC 0x50554231u /* "PUB1" */
/* the busy cap never holds a change back longer than this */
#define PUBLISH_GAP_MAX_US 1000000u
/* ... nor a new base (while it waits, deltas go on being published) */
#define REBUILD_GAP_MAX_US 30000000u

/* A base image being built on a worker thread from the providers'
 * snapshots. */
typedef struct {
	pthread_t thread;
	void *snap[PUBLISHER_PROVIDERS_MAX]; /* one per provider, owned */
	size_t nsnap;
	const provider_t *prov;
	uint64_t seq; /* change-log sequence of the snapshots */
	shm_ctl_t *ctl;
	int wfd; /* written once when done */
	/* results, read after join */
	int rc;
	uint64_t gen, us, cpu_us;
	size_t bytes[PUBLISHER_PROVIDERS_MAX];
	uint64_t items; /* entities in the snapshots */
} rebuild_t;

/* A provider as the publisher drives it. */
typedef struct {
	bool dirty;	     /* changed since the last image */
	uint64_t builds;     /* sections built (base or delta) */
	uint64_t copies;     /* ... copied unchanged from the previous image */
	uint64_t bytes;	     /* its sections in the last image (a delta's own) */
	uint64_t base_bytes; /* ... in the current base */
} prov_run_t;

struct publisher {
	uint32_t magic;
	struct event_base *base;
	store_t *store;
	shm_ctl_t *ctl;
	uint32_t coalesce_ms, poll_ms, max_busy_pct;
	uint64_t last_end_ns, last_us; /* the last image: when it was done, and the
					* CPU time reading, rendering and building it took */
	/* CPU time the current base took to build, and the deltas published
	 * over it so far: when the deltas have cost as much as a new base would,
	 * a new base is built (each delta copies every change since the base) */
	uint64_t base_cost_us, delta_cost_us, cost_floor_us;
	/* CPU the last delta spent building the sections that grow with the
	 * changes since the base (providers not `whole`): what a new base
	 * saves, the measure delta_cost_us adds up */
	uint64_t last_grow_us;
	uint64_t base_end_ns; /* when the current base was published */
	uint64_t idle_seq;    /* applied_seq at the previous poll */

	provider_t prov[PUBLISHER_PROVIDERS_MAX];
	prov_run_t run[PUBLISHER_PROVIDERS_MAX];
	size_t nprov;

	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	struct event *ev_sock, *ev_coalesce, *ev_poll;
	bool coalesce_armed;

	uint64_t applied_seq; /* the providers include every change up to this */
	bool dirty;	      /* a provider changed since the last image */
	consumer_t *cons;     /* "publisher": how far the images have come */

	/* base + delta publishing (shm/image.h): base_gen is the base of the
	 * current image */
	uint64_t base_gen;
	uint32_t rebuild_pct, rebuild_min;
	uint64_t rebuild_bytes;
	/* a base rebuild in progress (the providers keep what changed since
	 * its snapshots) */
	bool building;
	rebuild_t rb;
	int pipe_r, pipe_w;
	struct event *ev_rebuilt;

	publisher_stats_t st;
	log_ratelimit_t rl;
};

/* Sum of the providers' weights. */
static void weight_sum(const publisher_t *p, provider_weight_t *w)
{
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < p->nprov; i++) {
		provider_weight_t x = {0};
		p->prov[i].ops->weight(p->prov[i].st, &x);
		w->items += x.items;
		w->served += x.served;
		w->delta_items += x.delta_items;
		w->heap_bytes += x.heap_bytes;
		w->errors += x.errors;
	}
}

/* ---- following the change log --------------------------------------------- */

/* One changed entity of a kind a provider follows. */
typedef struct {
	uint16_t prov, kind; /* provider index, index into its kinds */
	store_id_t id;
} change_t;

typedef struct {
	const publisher_t *p;
	change_t *c;
	size_t n, cap;
	uint64_t last_seq;
	uint64_t newest_ms;
} changes_t;

static int change_add(changes_t *ch, uint16_t prov, uint16_t kind, const store_id_t *id)
{
	if (ch->n == ch->cap) {
		size_t ncap = ch->cap ? ch->cap * 2 : 64;
		change_t *c = realloc(ch->c, ncap * sizeof(*c));
		if (!c)
			return SOUK_ENOMEM;
		ch->c = c;
		ch->cap = ncap;
	}
	ch->c[ch->n++] = (change_t){.prov = prov, .kind = kind, .id = *id};
	return 0;
}

static int change_cb(const store_change_t *c, void *arg)
{
	changes_t *ch = arg;
	if (c->seq > ch->last_seq)
		ch->last_seq = c->seq;
	if (c->time_ms > ch->newest_ms)
		ch->newest_ms = c->time_ms;
	if (!c->kind)
		return 0;
	for (size_t i = 0; i < ch->p->nprov; i++) {
		const char *const *k = ch->p->prov[i].ops->kinds;
		for (size_t j = 0; k && k[j]; j++) {
			if (strcmp(k[j], c->kind) != 0)
				continue;
			int rc = change_add(ch, (uint16_t)i, (uint16_t)j, &c->id);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int change_cmp(const void *a, const void *b)
{
	const change_t *x = a, *y = b;
	if (x->prov != y->prov)
		return x->prov < y->prov ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return memcmp(&x->id, &y->id, sizeof(store_id_t));
}

/* Bring the providers up to the end of the change log. *changed gets how
 * many entities they were given. The log and the records are read in one
 * read transaction, so the image shows everything exactly as of
 * ch.last_seq (with separate reads a record could be newer than the
 * sequence the image claims, and the version in between would never be
 * published). */
static int apply_changes(publisher_t *p, uint64_t *changed, uint64_t *newest_ms)
{
	changes_t ch = {.p = p, .last_seq = p->applied_seq};
	store_read_t *rt = NULL;
	int rc = store_read_begin(p->store, &rt);
	if (rc == 0)
		rc = store_read_changes(rt, p->applied_seq, change_cb, &ch);
	if (rc)
		goto fail;
	if (ch.n > 1)
		qsort(ch.c, ch.n, sizeof(*ch.c), change_cmp);
	size_t u = 0;
	for (size_t i = 0; i < ch.n; i++)
		if (u == 0 || change_cmp(&ch.c[u - 1], &ch.c[i]) != 0)
			ch.c[u++] = ch.c[i];
	for (size_t i = 0; i < u; i++) {
		const provider_t *pv = &p->prov[ch.c[i].prov];
		rc = pv->ops->apply(pv->st, rt, pv->ops->kinds[ch.c[i].kind], &ch.c[i].id);
		if (rc == PROVIDER_UNCHANGED) {
			rc = 0;
			continue; /* its sections stay as they are */
		}
		if (rc)
			goto fail;
		/* an entity that did not render still goes into the next delta
		 * (with its last good state), as it always did */
		p->run[ch.c[i].prov].dirty = true;
		p->dirty = true;
	}
	/* changes of other kinds move the sequence but need no new image */
	if (ch.last_seq > p->applied_seq)
		p->applied_seq = ch.last_seq;
	/* entities, not deliveries: one followed by several providers (a
	 * product: catalog and prices) counts once, at its first provider */
	size_t entities = 0;
	for (size_t i = 0; i < u; i++) {
		const char *kind = p->prov[ch.c[i].prov].ops->kinds[ch.c[i].kind];
		bool first = true;
		for (size_t j = 0; j < ch.c[i].prov && first; j++)
			first = !provider_follows(p->prov[j].ops, kind);
		entities += first;
	}
	*changed = entities;
	*newest_ms = ch.newest_ms;
	rc = 0;
fail:
	store_read_end(&rt);
	free(ch.c);
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

static void published(publisher_t *p, uint64_t gen, uint64_t t0, uint64_t changed,
		      uint64_t newest_ms)
{
	for (size_t i = 0; i < p->nprov; i++)
		if (p->prov[i].ops->published)
			p->prov[i].ops->published(p->prov[i].st, p->ctl);
	uint64_t us = (souk_now_mono_ns() - t0) / 1000u, bytes = 0, base_bytes = 0;
	provider_weight_t w;
	weight_sum(p, &w);
	for (size_t i = 0; i < p->nprov; i++) {
		bytes += p->run[i].bytes;
		base_bytes += p->run[i].base_bytes;
		p->run[i].dirty = false;
	}
	p->dirty = false;
	p->st.publishes++;
	p->st.last_generation = gen;
	p->st.base_generation = p->base_gen;
	p->st.delta_products = w.delta_items;
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
	p->st.base_catalog_bytes = base_bytes;
	p->st.products = w.items;
	p->st.served = w.served;
	p->st.table_bytes = w.heap_bytes;
	p->st.render_errors = w.errors;
	log_daemon_debug("publisher, published generation %llu over base %llu (seq %llu, %llu "
			 "served, %llu in the delta, %llu us)",
			 (unsigned long long)gen, (unsigned long long)p->base_gen,
			 (unsigned long long)p->applied_seq, (unsigned long long)w.served,
			 (unsigned long long)w.delta_items, (unsigned long long)us);
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

/* Every provider's snapshot into snap[]; on failure none is left. */
static int snapshots_take(publisher_t *p, void **snap)
{
	for (size_t i = 0; i < p->nprov; i++) {
		int rc = p->prov[i].ops->snapshot(p->prov[i].st, &snap[i]);
		if (rc) {
			while (i-- > 0) {
				p->prov[i].ops->snapshot_free(p->prov[i].st, snap[i]);
				p->prov[i].ops->rebased(p->prov[i].st, false);
			}
			return rc;
		}
	}
	return 0;
}

static void snapshots_free(publisher_t *p, void **snap)
{
	for (size_t i = 0; i < p->nprov; i++) {
		p->prov[i].ops->snapshot_free(p->prov[i].st, snap[i]);
		snap[i] = NULL;
	}
}

/* A base built from the snapshots was published (ok) or dropped. */
static void rebased_all(publisher_t *p, bool ok)
{
	for (size_t i = 0; i < p->nprov; i++)
		p->prov[i].ops->rebased(p->prov[i].st, ok);
}

/* Every provider's base sections from its snapshot into b. */
static int build_bases(const provider_t *prov, size_t n, void *const *snap, shm_builder_t *b,
		       uint64_t seq, size_t *bytes)
{
	for (size_t i = 0; i < n; i++) {
		bytes[i] = 0;
		int rc = prov[i].ops->build_base(snap[i], b, seq, &bytes[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* A full image: the first one, or when no base can be used. */
static int publish_full(publisher_t *p, uint64_t changed, uint64_t newest_ms)
{
	uint64_t t0 = souk_now_mono_ns(), c0 = thread_cpu_us(), gen = 0;
	void *snap[PUBLISHER_PROVIDERS_MAX] = {0};
	size_t bytes[PUBLISHER_PROVIDERS_MAX] = {0};
	shm_builder_t *b = NULL;
	int rc;

	rc = snapshots_take(p, snap);
	if (rc)
		goto fail;
	rc = shm_builder_new(p->ctl, &b);
	if (rc == 0) {
		shm_builder_set_seq(b, p->applied_seq);
		rc = build_bases(p->prov, p->nprov, snap, b, p->applied_seq, bytes);
	}
	if (rc == 0)
		rc = shm_builder_publish(&b, &gen);
	snapshots_free(p, snap);
	rebased_all(p, rc == 0);
	if (rc)
		goto fail;
	p->base_gen = gen;
	p->base_cost_us = thread_cpu_us() - c0;
	p->base_end_ns = souk_now_mono_ns();
	p->delta_cost_us = 0;
	for (size_t i = 0; i < p->nprov; i++) {
		p->run[i].builds++;
		p->run[i].bytes = p->run[i].base_bytes = bytes[i];
	}
	published(p, gen, t0, changed, newest_ms);
	rc = 0;
fail:
	shm_builder_free(&b);
	if (rc)
		log_failure(p, "full publish", rc);
	return rc;
}

/* A delta over base_gen: each provider's changes since that base, or, with
 * since_snapshot, since the snapshots the base was built from. A provider
 * unchanged since the previous image (a delta over the same base) has its
 * sections copied from it rather than built again. */
static int publish_delta(publisher_t *p, uint64_t base_gen, bool since_snapshot, uint64_t changed,
			 uint64_t newest_ms, size_t *out_bytes)
{
	uint64_t t0 = souk_now_mono_ns(), gen = 0;
	size_t bytes[PUBLISHER_PROVIDERS_MAX] = {0}, total = 0;
	bool copied[PUBLISHER_PROVIDERS_MAX] = {0};
	uint64_t grow_us = 0;
	shm_builder_t *b = NULL;
	int rc;

	rc = shm_builder_new_delta(p->ctl, base_gen, &b);
	if (rc)
		return rc;
	shm_builder_set_seq(b, p->applied_seq);
	for (size_t i = 0; rc == 0 && i < p->nprov; i++) {
		const provider_t *pv = &p->prov[i];
		if (!since_snapshot && !p->run[i].dirty) {
			rc = shm_builder_copy(b, pv->ops->prefix, &bytes[i]);
			if (rc == 0) {
				copied[i] = true;
				continue;
			}
			if (rc != SOUK_ESTALE)
				break;
		}
		uint64_t c0 = pv->ops->whole ? 0 : thread_cpu_us();
		rc = pv->ops->build_delta(pv->st, b, p->applied_seq, since_snapshot, &bytes[i]);
		if (!pv->ops->whole)
			grow_us += thread_cpu_us() - c0;
	}
	if (rc == 0)
		rc = shm_builder_publish(&b, &gen);
	shm_builder_free(&b);
	if (rc)
		return rc;
	p->base_gen = base_gen;
	p->last_grow_us = grow_us;
	for (size_t i = 0; i < p->nprov; i++) {
		if (copied[i])
			p->run[i].copies++;
		else
			p->run[i].builds++;
		p->run[i].bytes = bytes[i];
		if (!p->prov[i].ops->whole)
			total += bytes[i];
	}
	if (out_bytes)
		*out_bytes = total; /* what a new base would fold away */
	published(p, gen, t0, changed, newest_ms);
	return 0;
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
		rb->rc = build_bases(rb->prov, rb->nsnap, rb->snap, b, rb->seq, rb->bytes);
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

/* Start building a new base from the providers' snapshots on a worker
 * thread; deltas go on being published meanwhile. */
static int rebuild_start(publisher_t *p)
{
	provider_weight_t w;
	int rc;
	if (p->building)
		return SOUK_EBUSY;
	if (p->pipe_w < 0)
		return SOUK_EINVAL;
	memset(&p->rb, 0, sizeof(p->rb));
	rc = snapshots_take(p, p->rb.snap);
	if (rc)
		return rc;
	weight_sum(p, &w);
	p->rb.items = w.items;
	p->rb.nsnap = p->nprov;
	p->rb.prov = p->prov;
	p->rb.seq = p->applied_seq;
	p->rb.ctl = p->ctl;
	p->rb.wfd = p->pipe_w;
	p->building = true;
	rc = pthread_create(&p->rb.thread, NULL, rebuild_main, &p->rb);
	if (rc) {
		p->building = false;
		snapshots_free(p, p->rb.snap);
		rebased_all(p, false);
		return -rc;
	}
	p->st.base_rebuilds_started++;
	log_daemon_debug("publisher, building a new base of %llu entities (seq %llu)",
			 (unsigned long long)p->rb.items, (unsigned long long)p->rb.seq);
	return 0;
}

/* Start a base rebuild for a reason counted in *counter (automatic ones;
 * a rebuild already running is fine). */
static void start_rebuild_for(publisher_t *p, uint64_t *counter, const char *why)
{
	int rc = rebuild_start(p);
	if (rc == 0) {
		(*counter)++;
		log_daemon_debug("publisher, new base: %s (%llu entities in the delta)", why,
				 (unsigned long long)p->st.delta_products);
	} else if (rc != SOUK_EBUSY) {
		log_failure(p, "starting a base rebuild", rc);
	}
}

/* Wait for the worker; the snapshots can go (the providers still know what
 * changed since them until rebased). */
static void rebuild_join(publisher_t *p)
{
	if (p->rb.thread)
		pthread_join(p->rb.thread, NULL);
	p->rb.thread = 0;
	p->building = false;
	snapshots_free(p, p->rb.snap);
}

/* A rebuild is dropped: its base (if finished) is removed. */
static void rebuild_abandon(publisher_t *p)
{
	rebuild_join(p);
	if (p->rb.rc == 0 && p->rb.gen)
		shm_image_discard(p->ctl, p->rb.gen);
	rebased_all(p, false);
}

/* The worker is done: publish a delta over the new base holding what changed
 * since its snapshots, which makes it current. */
static void rebuild_done(publisher_t *p)
{
	uint64_t gen;
	int rc;

	rebuild_join(p);
	gen = p->rb.gen;
	rc = p->rb.rc;
	if (rc == 0) {
		rc = publish_delta(p, gen, true, 0, 0, NULL);
		if (rc)
			shm_image_discard(p->ctl, gen);
	}
	rebased_all(p, rc == 0);
	if (rc) {
		p->st.base_rebuild_failures++;
		log_failure(p, "base rebuild", rc);
		return;
	}
	uint64_t base_bytes = 0;
	for (size_t i = 0; i < p->nprov; i++) {
		p->run[i].builds++;
		p->run[i].base_bytes = p->rb.bytes[i];
		base_bytes += p->rb.bytes[i];
	}
	provider_weight_t w;
	weight_sum(p, &w);
	p->st.delta_products = w.delta_items;
	p->st.base_rebuilds++;
	p->st.last_base_build_us = p->rb.us;
	p->base_cost_us = p->rb.cpu_us;
	p->base_end_ns = souk_now_mono_ns();
	p->delta_cost_us = 0;
	p->st.base_catalog_bytes = base_bytes;
	log_daemon_info("publisher, new base generation %llu of %llu entities built in %llu ms",
			(unsigned long long)gen, (unsigned long long)p->rb.items,
			(unsigned long long)(p->rb.us / 1000u));
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
/* Publish what changed: a delta over the current base; start a new base when
 * the delta grew too large. */
static int publish_image(publisher_t *p, uint64_t changed, uint64_t newest_ms)
{
	size_t bytes = 0;
	int rc;

	if (p->base_gen == 0)
		return publish_full(p, changed, newest_ms);
	rc = publish_delta(p, p->base_gen, false, changed, newest_ms, &bytes);
	if (rc == SOUK_ENOENT || rc == SOUK_EINVAL) {
		/* the base is gone or unusable: start over with a full image */
		log_daemon_warn("publisher, base generation %llu unusable (%s), publishing a full "
				"image",
				(unsigned long long)p->base_gen, souk_strerror(rc));
		if (p->building)
			rebuild_abandon(p); /* started from the old state: drop it */
		return publish_full(p, changed, newest_ms);
	}
	if (rc) {
		log_failure(p, "publish", rc);
		return rc;
	}
	if (!p->building) {
		/* both limits grow with the state: a base costs in proportion
		 * to it, so a fixed limit would rebuild a large catalog's base
		 * as often as a small one's */
		provider_weight_t w;
		weight_sum(p, &w);
		uint64_t limit = w.items * p->rebuild_pct / 100u;
		uint64_t blimit = p->st.base_catalog_bytes * p->rebuild_pct / 100u;
		if (limit < p->rebuild_min)
			limit = p->rebuild_min;
		if (blimit < p->rebuild_bytes)
			blimit = p->rebuild_bytes;
		if ((w.delta_items > limit || bytes > blimit) && rebuild_due(p))
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
		p->delta_cost_us += p->last_grow_us;
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
		if (quiet && !p->building && p->base_gen && p->st.delta_products >= p->rebuild_min)
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
	if (!p) {
		for (size_t i = 0; i < opts->nproviders && opts->providers; i++)
			opts->providers[i].ops->free(opts->providers[i].st);
		return SOUK_ENOMEM;
	}
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
	p->rl = (log_ratelimit_t)LOG_RATELIMIT_INIT(60, 10);

	/* the providers: given ones are ours from here on */
	for (size_t i = 0; i < opts->nproviders && opts->providers; i++) {
		if (p->nprov == PUBLISHER_PROVIDERS_MAX || !opts->providers[i].ops) {
			if (opts->providers[i].ops)
				opts->providers[i].ops->free(opts->providers[i].st);
			rc = SOUK_EINVAL;
			continue;
		}
		p->prov[p->nprov++] = opts->providers[i];
	}
	if (p->nprov < opts->nproviders) {
		log_daemon_err("publisher, at most %d section providers", PUBLISHER_PROVIDERS_MAX);
		rc = SOUK_EINVAL;
		goto fail;
	}
	if (p->nprov == 0) { /* what every mall has: its catalog and its channels */
		catalog_provider_opts_t co = {.default_locale = opts->default_locale, .ctl = ctl};
		if ((rc = catalog_provider_new(&co, &p->prov[0])) != 0)
			goto fail;
		p->nprov = 1;
		if ((rc = channel_provider_new(NULL, &p->prov[1])) != 0)
			goto fail;
		p->nprov = 2;
		if ((rc = pricing_provider_new(&p->prov[2])) != 0)
			goto fail;
		p->nprov = 3;
		if ((rc = category_provider_new(&p->prov[3])) != 0)
			goto fail;
		p->nprov = 4;
		if ((rc = collection_provider_new(&p->prov[4])) != 0)
			goto fail;
		p->nprov = 5;
	}
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

	/* full build in one read transaction, from its sequence on */
	uint64_t t0 = souk_now_mono_ms();
	store_read_t *rt = NULL;
	rc = store_read_begin(store, &rt);
	if (rc == 0)
		rc = store_read_last_seq(rt, &p->applied_seq);
	for (size_t i = 0; rc == 0 && i < p->nprov; i++)
		rc = p->prov[i].ops->load(p->prov[i].st, rt);
	store_read_end(&rt);
	if (rc)
		goto fail;
	provider_weight_t w;
	weight_sum(p, &w);
	rc = publish_image(p, w.items, 0);
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
	if (p->building)
		rebuild_abandon(p);
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
	for (size_t i = 0; i < p->nprov; i++)
		p->prov[i].ops->free(p->prov[i].st);
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

int publisher_provider_stats(const publisher_t *p, size_t i, publisher_provider_stats_t *out)
{
	if (!p || p->magic != PUBLISHER_MAGIC || !out)
		return SOUK_EINVAL;
	if (i >= p->nprov)
		return SOUK_ENOENT;
	provider_weight_t w = {0};
	p->prov[i].ops->weight(p->prov[i].st, &w);
	memset(out, 0, sizeof(*out));
	out->name = p->prov[i].ops->name;
	out->builds = p->run[i].builds;
	out->copies = p->run[i].copies;
	out->bytes = p->run[i].bytes;
	out->base_bytes = p->run[i].base_bytes;
	out->items = w.items;
	out->delta_items = w.delta_items;
	return 0;
}

provider_t *publisher_provider(publisher_t *p, const char *name)
{
	if (!p || p->magic != PUBLISHER_MAGIC || !name)
		return NULL;
	for (size_t i = 0; i < p->nprov; i++)
		if (strcmp(p->prov[i].ops->name, name) == 0)
			return &p->prov[i];
	return NULL;
}

int publisher_provider_changed(publisher_t *p, const char *name)
{
	if (!p || p->magic != PUBLISHER_MAGIC || !name)
		return SOUK_EINVAL;
	for (size_t i = 0; i < p->nprov; i++) {
		if (strcmp(p->prov[i].ops->name, name) != 0)
			continue;
		p->run[i].dirty = true;
		p->dirty = true;
		if (p->ev_coalesce)
			arm_coalesce(p);
		return 0;
	}
	return SOUK_ENOENT;
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
