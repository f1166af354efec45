/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/test_publisher.c - the publisher with a real store, real shared
 * memory and a real libevent loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <jansson.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "config/config.h"
#include "daemon/prov_settings.h"
#include "daemon/publisher.h"
#include "domain/catalog/provider.h"
#include "domain/catalog/sections.h"
#include "shm/settings.h"
#include "shm/shm.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

/* pwrite() that fails LMDB's next meta-page write while the file named by
 * SOUK_FAIL_META_ARM exists (the fail_meta shim, linked in) */
#include "tests/shims/fail_meta.c"

typedef struct {
	char dir[64];
	char db[96];
	char inst[64];
	store_t *s;
	shm_ctl_t *ctl;
	shm_reader_t *r;
	struct event_base *base;
	publisher_t *p;
	int nfd;
} fix_t;

static int setup(void **state)
{
	fix_t *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	if (fixture_tmpdir(f->dir, sizeof(f->dir), "pub") != 0 ||
	    fixture_store_open(f->dir, f->db, sizeof(f->db), &f->s) != 0)
		return -1;
	fixture_instance(f->inst, sizeof(f->inst), "pub");
	if (shm_ctl_create(f->inst, 8, &f->ctl) != 0 || shm_reader_new(f->ctl, &f->r) != 0)
		return -1;
	f->base = event_base_new();
	f->nfd = publisher_notify_open();
	if (!f->base || f->nfd < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fix_t *f = *state;
	publisher_free(&f->p);
	shm_reader_free(&f->r);
	shm_ctl_free(&f->ctl);
	shm_ctl_unlink(f->inst);
	store_close(&f->s);
	event_base_free(f->base);
	close(f->nfd);
	fixture_rm_rf(f->dir);
	free(f);
	return 0;
}

static void product_doc(char *buf, size_t cap, const char *sku, const char *title, int price)
{
	snprintf(buf, cap,
		 "{\"sku\":\"%s\",\"status\":\"active\",\"category\":\"home\","
		 "\"title\":{\"en\":\"%s\"},\"price\":{\"GBP\":%d},\"stock\":1}",
		 sku, title, price);
}

/* Create, update or delete one product; returns its change-log sequence. */
static uint64_t commit(fix_t *f, store_op_t op, store_id_t *id, uint64_t *version, const char *sku,
		       const char *title, int price)
{
	char doc[512], key[64];
	size_t klen = 4 + strlen(sku);
	const char *kp = key;
	store_mut_t m;
	memcpy(key, "sku", 4);
	memcpy(key + 4, sku, strlen(sku));
	product_doc(doc, sizeof(doc), sku, title, price);
	memset(&m, 0, sizeof(m));
	m.op = op;
	m.kind = "product";
	m.id = *id;
	m.expect_version = *version;
	m.doc = doc;
	m.doc_len = strlen(doc);
	m.keys = &kp;
	m.key_lens = &klen;
	m.nkeys = op == STORE_OP_DELETE ? 0 : 1;
	m.actor = "test";
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	assert_int_equal(m.result, 0);
	*id = m.id;
	*version = m.version;
	return m.seq;
}

static uint64_t create(fix_t *f, const char *sku, const char *title, int price, store_id_t *id)
{
	uint64_t v = 0;
	memset(id, 0, sizeof(*id));
	return commit(f, STORE_OP_CREATE, id, &v, sku, title, price);
}

/* Title of a product in the current image, "" when not served. */
static void image_title(fix_t *f, const char *sku, char *out, size_t cap, uint64_t *seq)
{
	const shm_image_t *img;
	catalog_view_t v;
	const char *json;
	size_t len;
	json_error_t e;
	out[0] = '\0';
	assert_int_equal(shm_reader_acquire(f->r, &img), 0);
	assert_int_equal(catalog_view_init(img, &v), 0);
	if (seq)
		*seq = v.seq;
	if (catalog_get_by_sku(&v, sku, strlen(sku), NULL, &json, &len, NULL) == 0) {
		json_t *j = json_loadb(json, len, 0, &e);
		snprintf(out, cap, "%s", json_string_value(json_object_get(j, "title")));
		json_decref(j);
	}
	shm_reader_release(f->r);
}

static uint64_t served(fix_t *f)
{
	const shm_image_t *img;
	catalog_view_t v;
	assert_int_equal(shm_reader_acquire(f->r, &img), 0);
	assert_int_equal(catalog_view_init(img, &v), 0);
	shm_reader_release(f->r);
	return v.count;
}

/* Run the loop until the control segment shows generation > gen; bounded
 * (the bound only keeps a broken build from hanging, it is no speed check). */
static bool run_until_generation(fix_t *f, uint64_t gen)
{
	for (int i = 0; i < 1000 && shm_ctl_generation(f->ctl) <= gen; i++) {
		struct timeval tv = {0, 10000};
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
	}
	return shm_ctl_generation(f->ctl) > gen;
}

static void start(fix_t *f, uint32_t poll_ms)
{
	publisher_opts_t o;
	memset(&o, 0, sizeof(o));
	o.runtime_dir = f->dir;
	o.poll_ms = poll_ms;
	assert_int_equal(publisher_new(f->base, f->s, f->ctl, &o, &f->p), 0);
}

static void test_publisher_full_build_at_start(void **state)
{
	fix_t *f = *state;
	store_id_t id;
	char title[64], sku[16], path[128];
	struct stat st;
	uint64_t seq = 0;
	for (int i = 0; i < 25; i++) {
		snprintf(sku, sizeof(sku), "S%d", i);
		create(f, sku, "Thing", 100 + i, &id);
	}
	start(f, 60000);
	assert_int_equal(served(f), 25);
	image_title(f, "S7", title, sizeof(title), &seq);
	assert_string_equal(title, "Thing");
	assert_int_equal(seq, fixture_last_seq(f->s));
	assert_int_equal(shm_ctl_seq(f->ctl), seq);

	snprintf(path, sizeof(path), "%s/publish.sock", f->dir);
	assert_string_equal(publisher_socket_path(f->p), path);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);

	publisher_stats_t ps;
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.publishes, 1);
	assert_int_equal(ps.served, 25);
	assert_true(ps.catalog_bytes > 0);
}

static void test_publisher_datagram_publishes_change(void **state)
{
	fix_t *f = *state;
	store_id_t id;
	uint64_t version = 1, seq, gen, img_seq = 0;
	char title[64];
	create(f, "A1", "Old", 100, &id);
	start(f, 60000); /* the poll stays out of the way */
	image_title(f, "A1", title, sizeof(title), NULL);
	assert_string_equal(title, "Old");

	gen = shm_ctl_generation(f->ctl);
	seq = commit(f, STORE_OP_UPDATE, &id, &version, "A1", "New", 120);
	store_id_t id2;
	uint64_t seq2 = create(f, "A2", "Second", 5, &id2);
	assert_int_equal(publisher_notify(f->nfd, publisher_socket_path(f->p), seq), 0);
	assert_int_equal(publisher_notify(f->nfd, publisher_socket_path(f->p), seq2), 0);
	assert_true(run_until_generation(f, gen));
	image_title(f, "A1", title, sizeof(title), &img_seq);
	assert_string_equal(title, "New");
	image_title(f, "A2", title, sizeof(title), NULL);
	assert_string_equal(title, "Second");
	assert_int_equal(img_seq, seq2);

	publisher_stats_t ps;
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.datagrams, 2);
	assert_int_equal(ps.poll_catchups, 0);
	assert_int_equal(ps.last_changed, 2);

	/* a datagram for something already published publishes nothing */
	gen = shm_ctl_generation(f->ctl);
	assert_int_equal(publisher_notify(f->nfd, publisher_socket_path(f->p), seq), 0);
	for (int i = 0; i < 5; i++) {
		struct timeval tv = {0, 10000};
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
	}
	assert_int_equal(shm_ctl_generation(f->ctl), gen);
}

static void test_publisher_poll_catches_lost_datagram(void **state)
{
	fix_t *f = *state;
	store_id_t id;
	uint64_t version = 1, gen;
	char title[64];
	create(f, "P1", "Before", 100, &id);
	start(f, 20);
	gen = shm_ctl_generation(f->ctl);
	commit(f, STORE_OP_UPDATE, &id, &version, "P1", "After", 100); /* no datagram */
	assert_true(run_until_generation(f, gen));
	image_title(f, "P1", title, sizeof(title), NULL);
	assert_string_equal(title, "After");
	publisher_stats_t ps;
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.datagrams, 0);
	assert_true(ps.poll_catchups >= 1);
}

/* A store that died (failed meta-page write) is a failure the poll reports,
 * not a quiet interval. */
static void test_publisher_poll_reports_dead_store(void **state)
{
	fix_t *f = *state;
	store_id_t id;
	publisher_stats_t ps;
	create(f, "P1", "Before", 100, &id);
	start(f, 20);
	assert_int_equal(fixture_meta_arm(f->dir), 0);
	store_mut_t m = { .op = STORE_OP_CREATE, .kind = "product", .doc = "{}", .doc_len = 2,
			  .actor = "test" };
	assert_int_equal(store_apply(f->s, &m, 1), SOUK_EPANIC);
	assert_int_equal(fixture_meta_disarm(), 1);
	publisher_stats(f->p, &ps);
	uint64_t failures = ps.failures;
	for (int i = 0; i < 1000 && ps.failures == failures; i++) {
		struct timeval tv = {0, 10000};
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
		publisher_stats(f->p, &ps);
	}
	assert_true(ps.failures > failures);
}

static void test_publisher_archive_and_publish_now(void **state)
{
	fix_t *f = *state;
	store_id_t id, id2;
	uint64_t version = 1, gen;
	char title[64];
	create(f, "Z1", "Gone soon", 100, &id);
	create(f, "Z2", "Stays", 100, &id2);
	start(f, 60000);
	assert_int_equal(served(f), 2);
	commit(f, STORE_OP_DELETE, &id, &version, "Z1", "Gone soon", 100);
	gen = shm_ctl_generation(f->ctl);
	assert_int_equal(publisher_publish_now(f->p), 0);
	assert_int_equal(shm_ctl_generation(f->ctl), gen + 1);
	image_title(f, "Z1", title, sizeof(title), NULL);
	assert_string_equal(title, "");
	assert_int_equal(served(f), 1);
	/* publish now with nothing new still makes an image */
	assert_int_equal(publisher_publish_now(f->p), 0);
	assert_int_equal(shm_ctl_generation(f->ctl), gen + 2);
	/* catch-up with nothing new does not */
	assert_int_equal(publisher_catch_up(f->p), 0);
	assert_int_equal(shm_ctl_generation(f->ctl), gen + 2);
	/* the SKU was released: a new product may take it */
	create(f, "Z1", "Reborn", 1, &id);
	assert_int_equal(publisher_catch_up(f->p), 0);
	image_title(f, "Z1", title, sizeof(title), NULL);
	assert_string_equal(title, "Reborn");
}

static void test_publisher_catches_up_after_restart(void **state)
{
	fix_t *f = *state;
	store_id_t id;
	uint64_t version = 1, seq = 0;
	char title[64];
	create(f, "R1", "One", 100, &id);
	start(f, 60000);
	publisher_free(&f->p);
	/* committed while soukd is down */
	commit(f, STORE_OP_UPDATE, &id, &version, "R1", "Two", 100);
	store_id_t id2;
	uint64_t last = create(f, "R2", "Three", 100, &id2);
	start(f, 60000);
	image_title(f, "R1", title, sizeof(title), &seq);
	assert_string_equal(title, "Two");
	image_title(f, "R2", title, sizeof(title), NULL);
	assert_string_equal(title, "Three");
	assert_int_equal(seq, last);
}

static void test_publisher_skips_documents_that_do_not_render(void **state)
{
	fix_t *f = *state;
	store_id_t id;
	store_mut_t m;
	/* an object the renderer cannot use: a SKU longer than the image allows */
	char bad[512];
	char longsku[301];
	memset(longsku, 'x', 300);
	longsku[300] = '\0';
	product_doc(bad, sizeof(bad), longsku, "Bad", 1);
	create(f, "G1", "Good", 100, &id);
	memset(&m, 0, sizeof(m));
	m.op = STORE_OP_CREATE;
	m.kind = "product";
	m.doc = bad;
	m.doc_len = strlen(bad);
	m.actor = "test";
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	assert_int_equal(m.result, 0);
	start(f, 60000);
	assert_int_equal(served(f), 1);
	publisher_stats_t ps;
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.render_errors, 1);
}

/* A version that does not render leaves the product served with its last
 * good rendering, and the failure reaches the control segment (/metrics). */
static void test_publisher_keeps_last_good_rendering(void **state)
{
	fix_t *f = *state;
	store_id_t id;
	store_mut_t m;
	char bad[512], longsku[301], title[64];
	memset(longsku, 'x', 300);
	longsku[300] = '\0';
	create(f, "K1", "Good", 100, &id);
	start(f, 60000);
	image_title(f, "K1", title, sizeof(title), NULL);
	assert_string_equal(title, "Good");

	uint64_t gen = shm_ctl_generation(f->ctl);
	product_doc(bad, sizeof(bad), longsku, "Bad", 1);
	memset(&m, 0, sizeof(m));
	m.op = STORE_OP_UPDATE;
	m.kind = "product";
	m.id = id;
	m.expect_version = 1;
	m.doc = bad;
	m.doc_len = strlen(bad);
	m.actor = "test";
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	assert_int_equal(m.result, 0);
	assert_int_equal(publisher_notify(f->nfd, publisher_socket_path(f->p), m.seq), 0);
	assert_true(run_until_generation(f, gen));

	image_title(f, "K1", title, sizeof(title), NULL);
	assert_string_equal(title, "Good");
	assert_int_equal(served(f), 1);
	publisher_stats_t ps;
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.render_errors, 1);
	shm_ctl_stats_t cs;
	shm_ctl_stats(f->ctl, &cs);
	assert_int_equal(cs.render_failures, 1);
}

static void test_publisher_refuses_non_socket_path(void **state)
{
	fix_t *f = *state;
	char path[128];
	publisher_opts_t o;
	snprintf(path, sizeof(path), "%s/publish.sock", f->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	memset(&o, 0, sizeof(o));
	o.runtime_dir = f->dir;
	assert_int_equal(publisher_new(f->base, f->s, f->ctl, &o, &f->p), SOUK_EEXIST);
	assert_null(f->p);
	/* a stale socket from an earlier run is replaced */
	unlink(path);
	start(f, 60000);
	publisher_free(&f->p);
	start(f, 60000);
}

typedef struct {
	char prev_cat[32], prev_id[33];
	size_t n;
	bool ordered;
} order_check_t;

static int order_cb(const char *json, size_t len, void *arg)
{
	order_check_t *oc = arg;
	json_error_t e;
	json_t *j = json_loadb(json, len, 0, &e);
	const char *cat = json_string_value(json_object_get(j, "category"));
	const char *id = json_string_value(json_object_get(j, "id"));
	int c = strcmp(oc->prev_cat, cat);
	if (oc->n && (c > 0 || (c == 0 && strcmp(oc->prev_id, id) >= 0)))
		oc->ordered = false;
	snprintf(oc->prev_cat, sizeof(oc->prev_cat), "%s", cat);
	snprintf(oc->prev_id, sizeof(oc->prev_id), "%s", id);
	oc->n++;
	json_decref(j);
	return 0;
}

static void test_publisher_incremental_keeps_list_order(void **state)
{
	fix_t *f = *state;
	static const char *cats[] = {"bags", "home", "kitchen", "toys"};
	enum { N = 120 };
	store_id_t ids[N + 40];
	uint64_t versions[N + 40];
	char titles[N + 40][32];
	bool live[N + 40];
	size_t n = N;
	char sku[32], doc[512], key[48];
	srand(7);
	for (size_t i = 0; i < N; i++) {
		snprintf(sku, sizeof(sku), "O%u", (unsigned)i);
		snprintf(titles[i], sizeof(titles[i]), "t%u", (unsigned)i);
		versions[i] = 0;
		create(f, sku, titles[i], 1, &ids[i]);
		versions[i] = 1;
		live[i] = true;
	}
	start(f, 60000);
	for (int round = 0; round < 30; round++) {
		/* a few changes per round: move categories, archive, create */
		for (int k = 0; k < 3; k++) {
			size_t i = (size_t)rand() % n;
			int what = rand() % 6;
			if (what == 5 && n < N + 40) {
				i = n++;
				snprintf(sku, sizeof(sku), "O%u", (unsigned)i);
				snprintf(titles[i], sizeof(titles[i]), "new%u", (unsigned)i);
				create(f, sku, titles[i], 1, &ids[i]);
				versions[i] = 1;
				live[i] = true;
				continue;
			}
			if (!live[i])
				continue;
			snprintf(sku, sizeof(sku), "O%u", (unsigned)i);
			store_mut_t m;
			size_t klen = 4 + strlen(sku);
			const char *kp = key;
			memcpy(key, "sku", 4);
			memcpy(key + 4, sku, strlen(sku));
			snprintf(titles[i], sizeof(titles[i]), "r%d-%u", round % 100, (unsigned)i);
			snprintf(doc, sizeof(doc),
				 "{\"sku\":\"%s\",\"status\":\"active\",\"category\":\"%s\","
				 "\"title\":{\"en\":\"%s\"},\"price\":{\"GBP\":1}}",
				 sku, cats[rand() % 4], titles[i]);
			memset(&m, 0, sizeof(m));
			m.op = what == 4 ? STORE_OP_DELETE : STORE_OP_UPDATE;
			m.kind = "product";
			m.id = ids[i];
			m.expect_version = versions[i];
			m.doc = doc;
			m.doc_len = strlen(doc);
			m.keys = &kp;
			m.key_lens = &klen;
			m.nkeys = what == 4 ? 0 : 1;
			m.actor = "test";
			assert_int_equal(store_apply(f->s, &m, 1), 0);
			assert_int_equal(m.result, 0);
			versions[i] = m.version;
			if (what == 4)
				live[i] = false;
		}
		assert_int_equal(publisher_catch_up(f->p), 0);

		/* the whole list: strictly ordered, every live product once */
		const shm_image_t *img;
		catalog_view_t v;
		order_check_t oc;
		char cursor[CATALOG_CURSOR_MAX] = "", next[CATALOG_CURSOR_MAX];
		memset(&oc, 0, sizeof(oc));
		oc.ordered = true;
		assert_int_equal(shm_reader_acquire(f->r, &img), 0);
		assert_int_equal(catalog_view_init(img, &v), 0);
		do {
			assert_int_equal(
			    catalog_list(&v, NULL, cursor, 17, NULL, order_cb, &oc, next), 0);
			memcpy(cursor, next, sizeof(next));
		} while (cursor[0]);
		shm_reader_release(f->r);
		size_t want = 0;
		for (size_t i = 0; i < n; i++)
			want += live[i];
		assert_true(oc.ordered);
		assert_int_equal(oc.n, want);
		assert_int_equal(v.count, want);
		for (size_t i = 0; i < n; i++) {
			char title[64];
			snprintf(sku, sizeof(sku), "O%u", (unsigned)i);
			image_title(f, sku, title, sizeof(title), NULL);
			assert_string_equal(title, live[i] ? titles[i] : "");
		}
	}
}

/* Image files of the instance in /dev/shm. */
static int image_files(const fix_t *f)
{
	char prefix[96];
	struct dirent *de;
	DIR *d = opendir("/dev/shm");
	int n = 0;
	assert_non_null(d);
	snprintf(prefix, sizeof(prefix), "%s.img.", f->inst);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* Run the loop until no base is being built (bounded, not a speed check). */
static void run_until_rebuilt(fix_t *f)
{
	for (int i = 0; i < 1000 && publisher_rebuilding(f->p); i++) {
		struct timeval tv = {0, 10000};
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
	}
	assert_false(publisher_rebuilding(f->p));
}

static void test_publisher_base_rebuild_while_deltas_continue(void **state)
{
	fix_t *f = *state;
	enum { N = 40 };
	store_id_t ids[N];
	uint64_t versions[N];
	char sku[16], title[64], want[64];
	publisher_stats_t ps;
	shm_reader_t *old = NULL;
	const shm_image_t *img;
	catalog_view_t ov;

	for (int i = 0; i < N; i++) {
		snprintf(sku, sizeof(sku), "R%d", i);
		create(f, sku, "v0", 1, &ids[i]);
		versions[i] = 1;
	}
	publisher_opts_t o;
	memset(&o, 0, sizeof(o));
	o.poll_ms = 60000;
	o.base_rebuild_min = 4; /* a new base after a few changes */
	assert_int_equal(publisher_new(f->base, f->s, f->ctl, &o, &f->p), 0);
	publisher_stats(f->p, &ps);
	uint64_t base0 = ps.base_generation;
	assert_int_equal(base0, shm_ctl_generation(f->ctl)); /* the first image is full */

	/* deltas: one change each, over the first base */
	commit(f, STORE_OP_UPDATE, &ids[0], &versions[0], "R0", "v1", 1);
	assert_int_equal(publisher_catch_up(f->p), 0);
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.base_generation, base0);
	assert_true(ps.last_generation > base0);
	assert_int_equal(ps.delta_products, 1);
	assert_int_equal(image_files(f), 2);

	/* a reader keeps the (base, delta) pair of this moment */
	assert_int_equal(shm_reader_new(f->ctl, &old), 0);
	assert_int_equal(shm_reader_acquire(old, &img), 0);
	assert_int_equal(catalog_view_init(img, &ov), 0);

	/* a base rebuild starts; deltas go on over the old base meanwhile */
	assert_int_equal(publisher_rebuild_base(f->p), 0);
	assert_true(publisher_rebuilding(f->p));
	assert_int_equal(publisher_rebuild_base(f->p), SOUK_EBUSY);
	commit(f, STORE_OP_UPDATE, &ids[1], &versions[1], "R1", "during", 1);
	commit(f, STORE_OP_DELETE, &ids[2], &versions[2], "R2", "x", 1);
	assert_int_equal(publisher_catch_up(f->p), 0);
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.base_generation, base0);
	image_title(f, "R1", title, sizeof(title), NULL);
	assert_string_equal(title, "during");
	run_until_rebuilt(f);

	/* the new base is current, with what changed during its build on top */
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.base_rebuilds, 1);
	assert_true(ps.base_generation > base0);
	assert_int_equal(ps.delta_products, 2);
	assert_int_equal(shm_ctl_generation(f->ctl), ps.last_generation);
	assert_int_equal(image_files(f), 2);
	image_title(f, "R0", title, sizeof(title), NULL);
	assert_string_equal(title, "v1");
	image_title(f, "R1", title, sizeof(title), NULL);
	assert_string_equal(title, "during");
	image_title(f, "R2", title, sizeof(title), NULL);
	assert_string_equal(title, "");
	assert_int_equal(served(f), N - 1);

	/* the old pair, unlinked by now, still answers as it did */
	const char *json;
	size_t len;
	assert_int_equal(catalog_get_by_sku(&ov, "R1", 2, NULL, &json, &len, NULL), 0);
	assert_non_null(memmem(json, len, "\"v0\"", 4));
	assert_int_equal(catalog_get_by_sku(&ov, "R2", 2, NULL, &json, &len, NULL), 0);
	assert_int_equal(ov.count, N);
	shm_reader_release(old);
	shm_reader_free(&old);

	/* many changes: bases are rebuilt on their own, every state is right */
	for (int round = 0; round < 30; round++) {
		int i = 3 + (round * 7) % (N - 3);
		snprintf(sku, sizeof(sku), "R%d", i);
		snprintf(want, sizeof(want), "r%d", round);
		commit(f, STORE_OP_UPDATE, &ids[i], &versions[i], sku, want, 1);
		assert_int_equal(publisher_catch_up(f->p), 0);
		image_title(f, sku, title, sizeof(title), NULL);
		assert_string_equal(title, want);
		assert_true(image_files(f) <= 3); /* pair + a base being built */
		struct timeval tv = {0, 1000};
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
	}
	run_until_rebuilt(f);
	publisher_stats(f->p, &ps);
	assert_true(ps.base_rebuilds >= 2);
	assert_int_equal(ps.base_rebuild_failures, 0);
	assert_int_equal(image_files(f), 2);
	assert_int_equal(served(f), N - 1);
	/* a clean stop leaves nothing behind */
	publisher_free(&f->p);
	shm_reader_free(&f->r);
	shm_ctl_free(&f->ctl);
	assert_int_equal(shm_ctl_unlink(f->inst), 0);
	assert_int_equal(image_files(f), 0);
	assert_int_equal(shm_ctl_create(f->inst, 8, &f->ctl), 0); /* for teardown */
	assert_int_equal(shm_reader_new(f->ctl, &f->r), 0);
}

/* The publish delay: the coalescing wait, stretched while the last image's
 * cost x (100 - N) / N has not passed, so publishing takes about N% of a core
 * under a steady stream of writes. */
static void test_publisher_delay_caps_busy_share(void **state)
{
	(void)state;
	/* no cap: the coalescing wait alone */
	assert_int_equal(publisher_delay_us(2, 100, 50000, 0), 2000);
	assert_int_equal(publisher_delay_us(2, 0, 50000, 0), 2000);
	/* 25%: an image of 4 ms is followed by 12 ms without publishing */
	assert_int_equal(publisher_delay_us(2, 25, 4000, 0), 12000);
	assert_int_equal(publisher_delay_us(2, 25, 4000, 5000), 7000);
	/* the gap has passed, or is shorter than the coalescing wait */
	assert_int_equal(publisher_delay_us(2, 25, 4000, 12000), 2000);
	assert_int_equal(publisher_delay_us(2, 25, 4000, 11000), 2000);
	assert_int_equal(publisher_delay_us(2, 25, 100, 0), 2000);
	/* 50%: wait as long as the last image took; 5%: 19 times as long */
	assert_int_equal(publisher_delay_us(0, 50, 3000, 1000), 2000);
	assert_int_equal(publisher_delay_us(0, 5, 1000, 0), 19000);
	/* however costly the last image, a change waits at most 1 s for it */
	assert_int_equal(publisher_delay_us(2, 25, 4000000, 0), 1000000);
	assert_int_equal(publisher_delay_us(2, 5, 4000000, 400000), 600000);
}

static void test_publisher_rebuild_wait_arithmetic(void **state)
{
	(void)state;
	/* no cap: a base may start at once */
	assert_int_equal(publisher_rebuild_wait_us(0, 500000, 0), 0);
	assert_int_equal(publisher_rebuild_wait_us(100, 500000, 0), 0);
	/* 25%: a base of 0.5 s is followed by 1.5 s without a new one */
	assert_int_equal(publisher_rebuild_wait_us(25, 500000, 0), 1500000);
	assert_int_equal(publisher_rebuild_wait_us(25, 500000, 1000000), 500000);
	assert_int_equal(publisher_rebuild_wait_us(25, 500000, 1500000), 0);
	assert_int_equal(publisher_rebuild_wait_us(25, 500000, 9000000), 0);
	/* unlike a delta's, the wait may pass 1 s, but never 30 s */
	assert_int_equal(publisher_rebuild_wait_us(25, 4000000, 0), 12000000);
	assert_int_equal(publisher_rebuild_wait_us(5, 4000000, 10000000), 20000000);
	assert_int_equal(publisher_rebuild_wait_us(5, 60000000, 0), 30000000);
}

/* The cap delays a publish, never drops it: with the smallest share the
 * change is still published by the datagram, not left to the poll. */
static void test_publisher_busy_cap_still_publishes(void **state)
{
	fix_t *f = *state;
	store_id_t id;
	uint64_t version = 1, seq, gen;
	char title[64];
	create(f, "B1", "Old", 100, &id);
	start(f, 60000);
	assert_int_equal(publisher_set_timing(f->p, 2, 60000, 5), 0);
	for (int i = 0; i < 3; i++) {
		char t[16];
		snprintf(t, sizeof(t), "New %d", i);
		gen = shm_ctl_generation(f->ctl);
		seq = commit(f, STORE_OP_UPDATE, &id, &version, "B1", t, 120 + i);
		assert_int_equal(publisher_notify(f->nfd, publisher_socket_path(f->p), seq), 0);
		assert_true(run_until_generation(f, gen));
		image_title(f, "B1", title, sizeof(title), NULL);
		assert_string_equal(title, t);
	}
	publisher_stats_t ps;
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.poll_catchups, 0);
	assert_int_equal(ps.datagrams, 3);
}

/* A delta of some size left behind by a burst of writes is folded into a
 * new base once no change has come for a poll interval; a small one is not. */
static void test_publisher_quiet_folds_delta_into_base(void **state)
{
	fix_t *f = *state;
	enum { N = 12 };
	store_id_t ids[N];
	char sku[16], title[64];
	publisher_stats_t ps;
	publisher_opts_t o;
	memset(&o, 0, sizeof(o));
	o.poll_ms = 20;
	o.base_rebuild_pct = 100;	     /* no rebuild for size */
	o.base_rebuild_min = 8;		     /* ...and none under 8 changes */
	o.base_rebuild_cost_us = 1000000000; /* nor for cost */
	create(f, "Q", "q", 1, &ids[0]);
	assert_int_equal(publisher_new(f->base, f->s, f->ctl, &o, &f->p), 0);
	publisher_stats(f->p, &ps);
	uint64_t base0 = ps.base_generation;

	/* 4 changes: a small delta stays a delta however long it is quiet */
	for (int i = 1; i <= 4; i++) {
		snprintf(sku, sizeof(sku), "Q%d", i);
		create(f, sku, "small", 1, &ids[i]);
	}
	assert_int_equal(publisher_catch_up(f->p), 0);
	for (int i = 0; i < 10; i++) {
		struct timeval tv = {0, 20000};
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
	}
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.base_rebuilds_idle, 0);
	assert_int_equal(ps.base_generation, base0);
	assert_int_equal(ps.delta_products, 4);

	/* 8 more: the delta (12) is folded into a new base when quiet */
	for (int i = 5; i < N; i++) {
		snprintf(sku, sizeof(sku), "Q%d", i);
		create(f, sku, "burst", 1, &ids[i]);
	}
	assert_int_equal(publisher_catch_up(f->p), 0);
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.delta_products, N - 1);
	for (int i = 0; i < 1000 && ps.base_rebuilds == 0; i++) {
		struct timeval tv = {0, 20000};
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
		publisher_stats(f->p, &ps);
	}
	assert_int_equal(ps.base_rebuilds_idle, 1);
	assert_int_equal(ps.base_rebuilds, 1);
	assert_true(ps.base_generation > base0);
	assert_int_equal(ps.delta_products, 0);
	assert_int_equal(served(f), N);
	image_title(f, "Q9", title, sizeof(title), NULL);
	assert_string_equal(title, "burst");
	image_title(f, "Q2", title, sizeof(title), NULL);
	assert_string_equal(title, "small");
}

/* Each delta copies every change since its base: once the deltas have cost
 * as much CPU time as the base did, a new base is built, even while the
 * delta is far below the size limits. */
static void test_publisher_delta_cost_starts_a_base(void **state)
{
	fix_t *f = *state;
	store_id_t id;
	uint64_t version = 1;
	char title[64], t[32];
	publisher_stats_t ps;
	publisher_opts_t o;
	memset(&o, 0, sizeof(o));
	o.poll_ms = 60000;
	o.base_rebuild_pct = 100;
	o.base_rebuild_min = 1000;
	o.base_rebuild_cost_us = 1; /* no floor: a tiny catalog's base is cheap */
	create(f, "C", "c0", 1, &id);
	for (int i = 0; i < 30; i++) {
		store_id_t other;
		char sku[16];
		snprintf(sku, sizeof(sku), "C%d", i);
		create(f, sku, "other", 1, &other);
	}
	assert_int_equal(publisher_new(f->base, f->s, f->ctl, &o, &f->p), 0);
	/* one product changed again and again: the delta stays one product, the
	 * deltas' cost adds up (bounded: each publish costs some CPU time) */
	int i;
	publisher_stats(f->p, &ps);
	for (i = 1; i <= 5000 && ps.base_rebuilds_started == 0; i++) {
		snprintf(t, sizeof(t), "c%d", i);
		commit(f, STORE_OP_UPDATE, &id, &version, "C", t, 1);
		assert_int_equal(publisher_catch_up(f->p), 0);
		publisher_stats(f->p, &ps);
		assert_true(ps.delta_products <= 1);
	}
	assert_int_equal(ps.base_rebuilds_cost, 1);
	assert_int_equal(ps.base_rebuilds_size, 0);
	run_until_rebuilt(f);
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.base_rebuilds, 1);
	image_title(f, "C", title, sizeof(title), NULL);
	assert_string_equal(title, t);
	assert_int_equal(served(f), 31);
}

/* Products <prefix><from> .. <prefix><to - 1>, all titled title. */
static void create_range(fix_t *f, const char *prefix, int from, int to, const char *title)
{
	store_id_t id;
	char sku[16];
	for (int i = from; i < to; i++) {
		snprintf(sku, sizeof(sku), "%s%d", prefix, i);
		create(f, sku, title, 1, &id);
	}
}

/* Options where only the delta's size (pct of the products or the base's
 * bytes, at least one product) starts a new base: no poll, no cost trigger. */
static publisher_opts_t size_only_opts(uint32_t pct)
{
	publisher_opts_t o;
	memset(&o, 0, sizeof(o));
	o.poll_ms = 60000;
	o.base_rebuild_pct = pct;
	o.base_rebuild_min = 1;
	o.base_rebuild_cost_us = 1000000000;
	return o;
}

/* The size limits of a delta grow with the catalog: a delta past the fixed
 * byte limit (base_rebuild_bytes) but within base_rebuild_pct of the base's
 * bytes stays a delta; one past the percentage starts a new base. */
static void test_publisher_size_limit_follows_the_catalog(void **state)
{
	fix_t *f = *state;
	enum { BASE = 40 };
	publisher_stats_t ps;
	publisher_opts_t o = size_only_opts(50);
	o.base_rebuild_bytes = 200; /* less than two products */
	create_range(f, "B", 0, BASE, "base");
	assert_int_equal(publisher_new(f->base, f->s, f->ctl, &o, &f->p), 0);
	publisher_stats(f->p, &ps);
	assert_true(ps.base_catalog_bytes > 20 * 200);
	create_range(f, "D", 0, 5, "delta");
	assert_int_equal(publisher_catch_up(f->p), 0);
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.delta_products, 5);
	assert_true(ps.catalog_bytes > 200);
	assert_int_equal(ps.base_rebuilds_started, 0);
	create_range(f, "D", 5, 30, "delta");
	assert_int_equal(publisher_catch_up(f->p), 0);
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.base_rebuilds_size, 1);
	run_until_rebuilt(f);
	assert_int_equal(served(f), BASE + 30);
}

/* Under the busy cap a base the delta's size calls for waits, but it comes:
 * deltas go on meanwhile, and every product is served from the new base. */
static void test_publisher_capped_rebuild_still_comes(void **state)
{
	fix_t *f = *state;
	enum { BASE = 40 };
	publisher_stats_t ps;
	publisher_opts_t o = size_only_opts(10);
	o.max_busy_pct = 5; /* a base's CPU time x 19 between bases */
	create_range(f, "B", 0, BASE, "base");
	assert_int_equal(publisher_new(f->base, f->s, f->ctl, &o, &f->p), 0);
	create_range(f, "D", 0, 10, "delta");
	int extra = 0;
	uint64_t t0 = souk_now_mono_ns();
	for (;;) {
		assert_int_equal(publisher_catch_up(f->p), 0);
		publisher_stats(f->p, &ps);
		if (ps.base_rebuilds_size == 1)
			break;
		assert_int_equal(ps.base_rebuilds_started, 0);
		assert_true(souk_now_mono_ns() - t0 < 10000000000ull);
		usleep(2000);
		create_range(f, "E", extra, extra + 1, "more");
		extra++;
	}
	run_until_rebuilt(f);
	assert_int_equal(publisher_catch_up(f->p), 0);
	publisher_stats(f->p, &ps);
	assert_int_equal(ps.base_rebuilds, 1);
	assert_int_equal(served(f), BASE + 10 + extra);
}

/* ---- section providers -------------------------------------------------- */

static void start_with_settings(fix_t *f, const cfg_t *cfg)
{
	provider_t prov[2];
	catalog_provider_opts_t co = {.ctl = f->ctl};
	assert_int_equal(catalog_provider_new(&co, &prov[0]), 0);
	assert_int_equal(settings_provider_new(cfg, &prov[1]), 0);
	publisher_opts_t o;
	memset(&o, 0, sizeof(o));
	o.runtime_dir = f->dir;
	o.poll_ms = 60000;
	o.providers = prov;
	o.nproviders = 2;
	assert_int_equal(publisher_new(f->base, f->s, f->ctl, &o, &f->p), 0);
}

/* The worker settings in the current image (what souk-fcgi reads). */
static uint64_t image_depth(fix_t *f)
{
	const shm_image_t *img;
	const shm_settings_t *st = NULL;
	assert_int_equal(shm_reader_acquire(f->r, &img), 0);
	assert_int_equal(settings_get(img, &st), 0);
	uint64_t d = st->max_json_depth;
	shm_reader_release(f->r);
	return d;
}

static void prov_stats(fix_t *f, const char *name, publisher_provider_stats_t *out)
{
	for (size_t i = 0; publisher_provider_stats(f->p, i, out) == 0; i++)
		if (strcmp(out->name, name) == 0)
			return;
	fail_msg("no provider %s", name);
}

/* A settings change publishes the settings alone: the catalog's delta is
 * carried over unchanged, not rebuilt; a product change does not rebuild
 * the settings; a new base holds both as they are. */
static void test_publisher_providers_change_independently(void **state)
{
	fix_t *f = *state;
	cfg_t *cfg = NULL;
	store_id_t id;
	uint64_t version = 1;
	char title[64];
	publisher_provider_stats_t cat, set, cat2, set2;

	assert_int_equal(cfg_defaults(&cfg), 0);
	cfg->fcgi.max_json_depth = 20;
	create(f, "P1", "One", 100, &id);
	start_with_settings(f, cfg);
	assert_int_equal(image_depth(f), 20);
	uint64_t sgen = shm_ctl_settings_gen(f->ctl); /* announced for the workers */
	assert_true(sgen != 0);
	assert_int_equal(served(f), 1);

	/* a product change: a delta with the catalog's sections only */
	uint64_t gen = shm_ctl_generation(f->ctl);
	uint64_t seq = commit(f, STORE_OP_UPDATE, &id, &version, "P1", "Two", 100);
	assert_int_equal(publisher_notify(f->nfd, publisher_socket_path(f->p), seq), 0);
	assert_true(run_until_generation(f, gen));
	image_title(f, "P1", title, sizeof(title), NULL);
	assert_string_equal(title, "Two");
	assert_int_equal(image_depth(f), 20); /* read from the base */
	prov_stats(f, "catalog", &cat);
	prov_stats(f, "settings", &set);
	assert_int_equal(cat.delta_items, 1);

	/* a settings change: the catalog delta is copied, not built */
	cfg->fcgi.max_json_depth = 7;
	assert_true(settings_provider_update(publisher_provider(f->p, "settings"), cfg));
	assert_false(settings_provider_update(publisher_provider(f->p, "settings"), cfg));
	gen = shm_ctl_generation(f->ctl);
	assert_int_equal(publisher_provider_changed(f->p, "settings"), 0);
	assert_int_equal(publisher_provider_changed(f->p, "nosuch"), SOUK_ENOENT);
	assert_true(run_until_generation(f, gen));
	assert_int_equal(image_depth(f), 7);
	assert_true(shm_ctl_settings_gen(f->ctl) != sgen); /* a new generation announced */
	sgen = shm_ctl_settings_gen(f->ctl);
	image_title(f, "P1", title, sizeof(title), NULL);
	assert_string_equal(title, "Two");
	prov_stats(f, "catalog", &cat2);
	prov_stats(f, "settings", &set2);
	assert_int_equal(cat2.builds, cat.builds);
	assert_int_equal(cat2.copies, cat.copies + 1);
	assert_true(cat2.bytes > 0);
	assert_int_equal(set2.builds, set.builds + 1);

	/* a product change: the settings (changed since the base) are copied */
	gen = shm_ctl_generation(f->ctl);
	seq = commit(f, STORE_OP_UPDATE, &id, &version, "P1", "Three", 100);
	assert_int_equal(publisher_notify(f->nfd, publisher_socket_path(f->p), seq), 0);
	assert_true(run_until_generation(f, gen));
	image_title(f, "P1", title, sizeof(title), NULL);
	assert_string_equal(title, "Three");
	assert_int_equal(image_depth(f), 7);
	assert_int_equal(shm_ctl_settings_gen(f->ctl), sgen); /* unchanged settings */
	prov_stats(f, "catalog", &cat);
	prov_stats(f, "settings", &set);
	assert_int_equal(cat.builds, cat2.builds + 1);
	assert_int_equal(set.builds, set2.builds);
	assert_int_equal(set.copies, set2.copies + 1);

	/* a new base holds both as they are; the next delta has neither */
	assert_int_equal(publisher_rebuild_base(f->p), 0);
	run_until_rebuilt(f);
	assert_int_equal(image_depth(f), 7);
	image_title(f, "P1", title, sizeof(title), NULL);
	assert_string_equal(title, "Three");
	prov_stats(f, "catalog", &cat);
	assert_int_equal(cat.delta_items, 0);
	assert_int_equal(cat.bytes, 0);
	cfg_free(&cfg);
}

int main(void)
{
	log_init("test_publisher", LOG_TARGET_STDERR);
	log_set_level(LOG_CRIT);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_publisher_full_build_at_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_publisher_datagram_publishes_change, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_publisher_poll_catches_lost_datagram, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_publisher_archive_and_publish_now, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_publisher_catches_up_after_restart, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_publisher_skips_documents_that_do_not_render,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_publisher_keeps_last_good_rendering, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_publisher_refuses_non_socket_path, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_publisher_incremental_keeps_list_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_publisher_base_rebuild_while_deltas_continue,
					    setup, teardown),
	    cmocka_unit_test(test_publisher_delay_caps_busy_share),
	    cmocka_unit_test_setup_teardown(test_publisher_busy_cap_still_publishes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_publisher_quiet_folds_delta_into_base, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_publisher_delta_cost_starts_a_base, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_publisher_size_limit_follows_the_catalog, setup,
					    teardown),
	    cmocka_unit_test(test_publisher_rebuild_wait_arithmetic),
	    cmocka_unit_test_setup_teardown(test_publisher_poll_reports_dead_store, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_publisher_capped_rebuild_still_comes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_publisher_providers_change_independently, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
