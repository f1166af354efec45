#include "daemon/publisher.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/render.h"
#include "shm/catalog.h"

#define PUBLISHER_MAGIC 0x50554231u /* "PUB1" */
#define PRODUCT_KIND "product"

typedef struct {
	store_id_t id;
	render_product_t *p; /* valid while id is not in the changed list */
} ord_t;

struct publisher {
	uint32_t magic;
	struct event_base *base;
	store_t *store;
	shm_ctl_t *ctl;
	char default_locale[CATALOG_LOCALE_MAX];
	uint32_t coalesce_ms, poll_ms;
	publisher_sections_fn sections;
	void *sections_arg;

	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	struct event *ev_sock, *ev_coalesce, *ev_poll;
	bool coalesce_armed;

	/* rendered products by id: open addressing, linear probing */
	render_product_t **slot;
	size_t cap, n;
	uint64_t applied_seq;   /* the table includes every change up to this */
	bool dirty;             /* the table changed since the last image */

	/* products in image order (category, id), kept across publishes so an
	 * incremental publish merges the few changed ones instead of sorting */
	ord_t *ord;
	size_t nord;
	bool ord_valid;
	store_id_t *changed;    /* ids re-rendered since ord was last updated */
	size_t nchanged, changed_cap;

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

/* Takes ownership of r, replacing (and freeing) any product with its id. */
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
		render_product_free(&p->slot[i]);
	} else {
		p->n++;
	}
	p->slot[i] = r;
	return 0;
}

static void table_del(publisher_t *p, const store_id_t *id)
{
	if (!p->cap)
		return;
	size_t mask = p->cap - 1, i = table_find(p, id);
	if (!p->slot[i])
		return;
	render_product_free(&p->slot[i]);
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
	p->cap = p->n = 0;
}

/* Render rec and put it in the table; a document that does not render is
 * dropped from the catalog (logged, counted) rather than stopping publishing. */
static int table_render(publisher_t *p, const store_rec_t *rec)
{
	render_product_t *r = NULL;
	int rc = render_product(rec, p->default_locale, &r);
	if (rc == SOUK_ENOMEM)
		return rc;
	if (rc) {
		char hex[33];
		uint32_t suppressed = 0;
		p->st.render_errors++;
		store_id_hex(&rec->id, hex);
		if (log_ratelimit_ok(&p->rl, &suppressed))
			log_daemon_warn("publisher, product '%s' left out of the catalog (%s)%s", hex,
					souk_strerror(rc), suppressed ? ", more suppressed" : "");
		table_del(p, &rec->id);
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
 * products were re-rendered. */
static int apply_changes(publisher_t *p, uint64_t *changed, uint64_t *newest_ms)
{
	changes_t ch = { .last_seq = p->applied_seq };
	int rc = store_changes(p->store, p->applied_seq, change_cb, &ch);
	if (rc)
		goto fail;
	if (ch.n > 1)
		qsort(ch.ids, ch.n, sizeof(*ch.ids), id_cmp);
	size_t u = 0;
	for (size_t i = 0; i < ch.n; i++)
		if (u == 0 || memcmp(&ch.ids[u - 1], &ch.ids[i], sizeof(store_id_t)) != 0)
			ch.ids[u++] = ch.ids[i];
	if (u && p->ord_valid) {
		if (p->nchanged + u > p->changed_cap) {
			size_t ncap = (p->nchanged + u) * 2;
			store_id_t *nc = realloc(p->changed, ncap * sizeof(*nc));
			if (!nc) {
				p->ord_valid = false; /* fall back to a full sort */
			} else {
				p->changed = nc;
				p->changed_cap = ncap;
			}
		}
		if (p->ord_valid) {
			memcpy(p->changed + p->nchanged, ch.ids, u * sizeof(*ch.ids));
			p->nchanged += u;
		}
	}
	for (size_t i = 0; i < u; i++) {
		store_rec_t rec;
		memset(&rec, 0, sizeof(rec));
		rc = store_get(p->store, PRODUCT_KIND, &ch.ids[i], &rec);
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
	free(ch.ids);
	return rc;
}

static int ord_cmp(const void *a, const void *b)
{
	const catalog_product_t *x = &((const ord_t *)a)->p->cp, *y = &((const ord_t *)b)->p->cp;
	size_t n = x->category_len < y->category_len ? x->category_len : y->category_len;
	int c = n ? memcmp(x->category, y->category, n) : 0;
	if (c == 0)
		c = x->category_len < y->category_len ? -1 : x->category_len > y->category_len;
	return c ? c : memcmp(x->id.b, y->id.b, 16);
}

static bool id_in(const store_id_t *sorted, size_t n, const store_id_t *id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(sorted[mid].b, id->b, 16);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Bring ord up to date with the table: a full sort after a full build or
 * many changes, otherwise drop the changed ids and merge them back in. */
static int ord_update(publisher_t *p)
{
	ord_t *next = NULL, *add = NULL;
	size_t nadd = 0, k = 0;

	if (!p->ord_valid || p->nchanged > p->n / 8 + 16) {
		next = malloc((p->n ? p->n : 1) * sizeof(*next));
		if (!next)
			return SOUK_ENOMEM;
		for (size_t i = 0; i < p->cap; i++)
			if (p->slot[i]) {
				next[k].id = p->slot[i]->cp.id;
				next[k++].p = p->slot[i];
			}
		if (k > 1)
			qsort(next, k, sizeof(*next), ord_cmp);
		goto done;
	}
	if (p->nchanged > 1)
		qsort(p->changed, p->nchanged, sizeof(*p->changed), id_cmp);
	next = malloc((p->n ? p->n : 1) * sizeof(*next));
	add = malloc((p->nchanged ? p->nchanged : 1) * sizeof(*add));
	if (!next || !add) {
		free(next);
		free(add);
		return SOUK_ENOMEM;
	}
	for (size_t i = 0; i < p->nchanged; i++) {
		if (i && memcmp(&p->changed[i - 1], &p->changed[i], sizeof(store_id_t)) == 0)
			continue;
		size_t slot = table_find(p, &p->changed[i]);
		if (p->slot[slot]) {
			add[nadd].id = p->changed[i];
			add[nadd++].p = p->slot[slot];
		}
	}
	if (nadd > 1)
		qsort(add, nadd, sizeof(*add), ord_cmp);
	size_t a = 0;
	for (size_t i = 0; i < p->nord; i++) {
		if (id_in(p->changed, p->nchanged, &p->ord[i].id))
			continue; /* its pointer may be stale; re-added from the table */
		while (a < nadd && ord_cmp(&add[a], &p->ord[i]) < 0)
			next[k++] = add[a++];
		next[k++] = p->ord[i];
	}
	while (a < nadd)
		next[k++] = add[a++];
	free(add);
done:
	if (k != p->n) {
		/* cannot happen unless the bookkeeping is wrong: rebuild */
		free(next);
		p->ord_valid = false;
		p->nchanged = 0;
		return ord_update(p);
	}
	free(p->ord);
	p->ord = next;
	p->nord = k;
	p->ord_valid = true;
	p->nchanged = 0;
	return 0;
}

static int publish_image(publisher_t *p, uint64_t changed, uint64_t newest_ms)
{
	uint64_t t0 = souk_now_mono_ns(), gen = 0;
	const catalog_product_t **arr = NULL;
	shm_builder_t *b = NULL;
	size_t n = 0, served = 0, table_bytes = 0, bytes = 0;
	int rc;

	rc = ord_update(p);
	if (rc)
		goto fail;
	arr = malloc((p->nord ? p->nord : 1) * sizeof(*arr));
	if (!arr) {
		rc = SOUK_ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < p->nord; i++) {
		arr[n++] = &p->ord[i].p->cp;
		served += !p->ord[i].p->cp.archived;
		table_bytes += render_product_bytes(p->ord[i].p);
	}
	rc = shm_builder_new(p->ctl, &b);
	if (rc)
		goto fail;
	shm_builder_set_seq(b, p->applied_seq);
	rc = catalog_build(b, arr, n, p->applied_seq, &bytes);
	if (rc)
		goto fail;
	if (p->sections) {
		rc = p->sections(p->sections_arg, b);
		if (rc)
			goto fail;
	}
	rc = shm_builder_publish(&b, &gen);
	if (rc)
		goto fail;

	uint64_t us = (souk_now_mono_ns() - t0) / 1000u;
	p->dirty = false;
	p->st.publishes++;
	p->st.last_generation = gen;
	p->st.last_seq = p->applied_seq;
	p->st.last_publish_ms = souk_now_real_ms();
	p->st.last_duration_us = us;
	if (us > p->st.max_duration_us)
		p->st.max_duration_us = us;
	p->st.total_duration_us += us;
	p->st.last_changed = changed;
	if (newest_ms)
		p->st.last_lag_ms = p->st.last_publish_ms > newest_ms
					    ? p->st.last_publish_ms - newest_ms
					    : 0;
	p->st.catalog_bytes = bytes;
	p->st.products = n;
	p->st.served = served;
	p->st.table_bytes = table_bytes;
	log_daemon_debug("publisher, published generation %llu (seq %llu, %zu products, %llu us)",
			 (unsigned long long)gen, (unsigned long long)p->applied_seq, served,
			 (unsigned long long)us);
	rc = 0;
fail:
	shm_builder_free(&b);
	free(arr);
	if (rc) {
		uint32_t suppressed = 0;
		p->st.failures++;
		if (log_ratelimit_ok(&p->rl, &suppressed))
			log_daemon_err("publisher, publish failed (%s)%s", souk_strerror(rc),
				       suppressed ? ", more suppressed" : "");
	}
	return rc;
}

static int catch_up(publisher_t *p, bool force)
{
	uint64_t changed = 0, newest = 0;
	int rc = apply_changes(p, &changed, &newest);
	if (rc) {
		uint32_t suppressed = 0;
		p->st.failures++;
		if (log_ratelimit_ok(&p->rl, &suppressed))
			log_daemon_err("publisher, reading the change log failed (%s)%s",
				       souk_strerror(rc), suppressed ? ", more suppressed" : "");
		return rc;
	}
	if (!p->dirty && !force)
		return 0;
	return publish_image(p, changed, newest);
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

static void arm_coalesce(publisher_t *p)
{
	if (p->coalesce_armed)
		return;
	struct timeval tv = { p->coalesce_ms / 1000u, (p->coalesce_ms % 1000u) * 1000u };
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
	if (!p->dirty && store_last_seq(p->store) <= p->applied_seq)
		return;
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
	p->coalesce_ms = opts->coalesce_ms;
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
	p->applied_seq = store_last_seq(store);
	rc = table_grow(p);
	if (rc)
		goto fail;
	rc = store_scan(store, PRODUCT_KIND, scan_cb, p);
	if (rc)
		goto fail;
	rc = publish_image(p, p->n, 0);
	if (rc)
		goto fail;
	log_daemon_info("publisher, full build of %llu products published in %llu ms (seq %llu)",
			(unsigned long long)p->st.served, (unsigned long long)(souk_now_mono_ms() - t0),
			(unsigned long long)p->applied_seq);

	p->ev_coalesce = evtimer_new(base, on_coalesce, p);
	p->ev_poll = event_new(base, -1, EV_PERSIST, on_poll, p);
	if (!p->ev_coalesce || !p->ev_poll) {
		rc = SOUK_ENOMEM;
		goto fail;
	}
	struct timeval tv = { p->poll_ms / 1000u, (p->poll_ms % 1000u) * 1000u };
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
	table_clear(p);
	free(p->ord);
	free(p->changed);
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

int publisher_set_timing(publisher_t *p, uint32_t coalesce_ms, uint32_t poll_ms)
{
	if (!p || p->magic != PUBLISHER_MAGIC)
		return SOUK_EINVAL;
	p->coalesce_ms = coalesce_ms;
	if (!poll_ms)
		poll_ms = 1000;
	if (poll_ms != p->poll_ms && p->ev_poll) {
		struct timeval tv = { poll_ms / 1000u, (poll_ms % 1000u) * 1000u };
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
	ssize_t n = sendto(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa,
			   sizeof(sa));
	return n == (ssize_t)sizeof(buf) ? 0 : -errno;
}
