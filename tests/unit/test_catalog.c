/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/test_catalog.c - product rendering and the catalog image sections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "domain/catalog/render.h"
#include "domain/catalog/sections.h"
#include "shm/shm.h"

/* ---- helpers --------------------------------------------------------------- */

static void make_id(store_id_t *id, uint32_t n)
{
	memset(id, 0, sizeof(*id));
	/* spread ids so that id order differs from creation order */
	uint32_t h = n * 2654435761u;
	memcpy(id->b, &h, 4);
	memcpy(id->b + 12, &n, 4);
}

static render_product_t *render_doc(uint32_t n, const char *doc, bool archived)
{
	store_rec_t rec;
	render_product_t *p = NULL;
	memset(&rec, 0, sizeof(rec));
	make_id(&rec.id, n);
	rec.version = n + 1;
	rec.seq = 100 + n;
	rec.time_ms = 1764156167123ull; /* 2025-11-26T11:22:47.123Z */
	rec.archived = archived;
	rec.doc = (char *)doc;
	rec.doc_len = strlen(doc);
	assert_int_equal(render_product(&rec, "en", &p), 0);
	return p;
}

static const char *cats[] = {"bags", "christmas", "home", "kitchen", "toys"};

static render_product_t *make_product(uint32_t n, bool archived)
{
	char doc[512];
	snprintf(doc, sizeof(doc),
		 "{\"sku\":\"SKU%05u\",\"status\":\"active\",\"category\":\"%s\","
		 "\"title\":{\"en\":\"Thing %u\",\"fr\":\"Chose %u\"},\"price\":{\"GBP\":%u},"
		 "\"stock\":%u}",
		 n, cats[n % 5], n, n, 100 + n, n % 7);
	return render_doc(n, doc, archived);
}

typedef struct {
	render_product_t **p;
	size_t n;
	void *sec[CATALOG_NSECTIONS];
	size_t len[CATALOG_NSECTIONS];
	catalog_view_t v;
} cat_t;

static void cat_build(cat_t *c, size_t n, size_t archived_every)
{
	const catalog_product_t **arr = calloc(n ? n : 1, sizeof(*arr));
	assert_non_null(arr);
	memset(c, 0, sizeof(*c));
	c->p = calloc(n ? n : 1, sizeof(*c->p));
	assert_non_null(c->p);
	c->n = n;
	for (size_t i = 0; i < n; i++) {
		c->p[i] = make_product((uint32_t)i, archived_every && i % archived_every == 3);
		arr[i] = &c->p[i]->cp;
	}
	assert_int_equal(catalog_build_mem(arr, n, 4242, c->sec, c->len), 0);
	assert_int_equal(catalog_view_init_mem(c->sec, c->len, &c->v), 0);
	free(arr);
}

static void cat_free(cat_t *c)
{
	for (size_t i = 0; i < c->n; i++)
		render_product_free(&c->p[i]);
	free(c->p);
	for (int i = 0; i < CATALOG_NSECTIONS; i++)
		free(c->sec[i]);
}

static json_t *parse(const char *json, size_t len)
{
	json_error_t e;
	json_t *j = json_loadb(json, len, 0, &e);
	assert_non_null(j);
	return j;
}

static const catalog_loc_t *loc_of(const render_product_t *p, const char *locale)
{
	for (uint32_t i = 0; i < p->cp.nloc; i++)
		if (strcmp(p->locs[i].locale, locale) == 0)
			return &p->locs[i];
	return NULL;
}

/* ---- rendering ------------------------------------------------------------- */

static void test_render_locale_fallback(void **state)
{
	(void)state;
	render_product_t *p = render_doc(
	    1,
	    "{\"sku\":\"A1\",\"status\":\"active\",\"category\":\"home\","
	    "\"title\":{\"fr\":\"Tasse\",\"en\":\"Mug\"},\"description\":{\"en\":\"Big mug\"},"
	    "\"price\":{\"GBP\":255}}",
	    false);
	assert_int_equal(p->cp.nloc, 2);
	assert_string_equal(p->locs[p->cp.default_loc].locale, "en");

	json_t *fr = parse(loc_of(p, "fr")->json, loc_of(p, "fr")->json_len);
	assert_string_equal(json_string_value(json_object_get(fr, "locale")), "fr");
	assert_string_equal(json_string_value(json_object_get(fr, "title")), "Tasse");
	/* no French description: falls back to the default locale */
	assert_string_equal(json_string_value(json_object_get(fr, "description")), "Big mug");
	json_t *titles = json_object_get(fr, "titles");
	assert_int_equal(json_object_size(titles), 2);
	assert_string_equal(json_string_value(json_object_get(titles, "en")), "Mug");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(fr, "price"), "GBP")),
			 255);
	assert_string_equal(json_string_value(json_object_get(fr, "updated_at")),
			    "2025-11-26T11:22:47.123Z");
	json_decref(fr);
	render_product_free(&p);

	/* only German: the default rendering exists and falls back to it */
	p = render_doc(2,
		       "{\"sku\":\"A2\",\"status\":\"active\",\"category\":\"home\","
		       "\"title\":{\"de\":\"Becher\",\"nl\":\"Beker\"},\"price\":{\"GBP\":1}}",
		       false);
	assert_int_equal(p->cp.nloc, 3);
	json_t *en = parse(loc_of(p, "en")->json, loc_of(p, "en")->json_len);
	assert_string_equal(json_string_value(json_object_get(en, "locale")), "en");
	/* first locale in byte order */
	assert_string_equal(json_string_value(json_object_get(en, "title")), "Becher");
	json_decref(en);
	render_product_free(&p);

	/* long BCP 47 tags are rendered and found */
	p = render_doc(3,
		       "{\"sku\":\"A3\",\"status\":\"active\",\"category\":\"home\","
		       "\"title\":{\"en\":\"Mug\",\"sr-Latn-RS-x-test1234\":\"Solja\"},"
		       "\"price\":{\"GBP\":1}}",
		       false);
	assert_int_equal(p->cp.nloc, 2);
	const catalog_product_t *arr[1] = {&p->cp};
	void *sec[CATALOG_NSECTIONS];
	size_t len[CATALOG_NSECTIONS];
	catalog_view_t v;
	const char *json;
	size_t jlen;
	assert_int_equal(catalog_build_mem(arr, 1, 1, sec, len), 0);
	assert_int_equal(catalog_view_init_mem(sec, len, &v), 0);
	assert_int_equal(catalog_get(&v, &p->cp.id, "sr-latn-rs-x-test1234", &json, &jlen, NULL),
			 0);
	assert_non_null(strstr(json, "\"title\":\"Solja\""));
	assert_int_equal(catalog_get(&v, &p->cp.id, "sr", &json, &jlen, NULL), 0);
	assert_non_null(strstr(json, "\"title\":\"Solja\"")); /* same primary language */
	for (int i = 0; i < CATALOG_NSECTIONS; i++)
		free(sec[i]);
	render_product_free(&p);
}

static void test_render_escaping(void **state)
{
	(void)state;
	const char *doc = "{\"sku\":\"Q\\\"1\",\"status\":\"active\",\"category\":\"home\","
			  "\"title\":{\"en\":\"Say \\\"hi\\\"\\\\ \\n\\u0001 </script> \\u00a3\"},"
			  "\"price\":{\"GBP\":1}}";
	render_product_t *p = render_doc(3, doc, false);
	const catalog_loc_t *l = loc_of(p, "en");
	/* valid JSON whose strings read back exactly */
	json_t *j = parse(l->json, l->json_len);
	assert_string_equal(json_string_value(json_object_get(j, "title")),
			    "Say \"hi\"\\ \n\x01 </script> \xc2\xa3");
	assert_string_equal(json_string_value(json_object_get(j, "sku")), "Q\"1");
	assert_int_equal(p->cp.sku_len, 3);
	assert_null(memchr(l->json, '\n', l->json_len)); /* control characters escaped */
	assert_non_null(strstr(l->json, "\\u0001"));
	json_decref(j);
	render_product_free(&p);
}

static void test_render_deterministic(void **state)
{
	(void)state;
	const char *doc =
	    "{\"sku\":\"D1\",\"status\":\"active\",\"category\":\"toys\","
	    "\"title\":{\"en\":\"Ball\",\"es\":\"Pelota\"},\"attributes\":{\"z\":1,\"a\":2},"
	    "\"price\":{\"GBP\":100,\"EUR\":120},\"id\":\"spoofed\",\"seq\":1}";
	render_product_t *a = render_doc(4, doc, false), *b = render_doc(4, doc, false);
	char hex[33];
	assert_int_equal(a->cp.nloc, b->cp.nloc);
	for (uint32_t i = 0; i < a->cp.nloc; i++) {
		assert_int_equal(a->locs[i].json_len, b->locs[i].json_len);
		assert_memory_equal(a->locs[i].json, b->locs[i].json, a->locs[i].json_len);
	}
	/* rendered fields first; stored clashing fields are dropped */
	store_id_hex(&a->cp.id, hex);
	const catalog_loc_t *l = loc_of(a, "en");
	char want[128];
	snprintf(want, sizeof(want), "{\"id\":\"%s\",\"version\":5,\"seq\":104,", hex);
	assert_memory_equal(l->json, want, strlen(want));
	assert_null(strstr(l->json, "spoofed"));
	render_product_free(&a);
	render_product_free(&b);
}

static void test_render_archived_and_invalid(void **state)
{
	(void)state;
	render_product_t *p =
	    render_doc(5,
		       "{\"sku\":\"X\",\"status\":\"active\",\"category\":\"home\","
		       "\"title\":{\"en\":\"x\"},\"price\":{\"GBP\":1}}",
		       true);
	assert_true(p->cp.archived);
	assert_int_equal(p->cp.nloc, 0);
	render_product_free(&p);
	p = render_doc(6, "{\"sku\":\"Y\",\"status\":\"archived\",\"category\":\"home\"}", false);
	assert_true(p->cp.archived);
	render_product_free(&p);

	store_rec_t rec;
	memset(&rec, 0, sizeof(rec));
	rec.doc = "[1,2]";
	rec.doc_len = 5;
	assert_int_equal(render_product(&rec, "en", &p), SOUK_EINVAL);
	assert_null(p);
	rec.doc = "{\"sku\":";
	rec.doc_len = strlen(rec.doc);
	assert_int_equal(render_product(&rec, "en", &p), SOUK_EINVAL);
}

/* ---- catalog sections -------------------------------------------------------- */

static void test_catalog_get_by_id_and_sku(void **state)
{
	cat_t c;
	const char *json;
	size_t len;
	uint64_t version;
	(void)state;
	cat_build(&c, 50, 0);
	assert_int_equal(c.v.count, 50);
	assert_int_equal(c.v.seq, 4242);
	for (uint32_t i = 0; i < 50; i++) {
		store_id_t id;
		char sku[16];
		make_id(&id, i);
		assert_int_equal(catalog_get(&c.v, &id, NULL, &json, &len, &version), 0);
		assert_int_equal(version, i + 1);
		assert_int_equal(json[len], '\0');
		json_t *j = parse(json, len);
		char want[32];
		snprintf(want, sizeof(want), "Thing %u", i);
		assert_string_equal(json_string_value(json_object_get(j, "title")), want);
		json_decref(j);

		snprintf(sku, sizeof(sku), "SKU%05u", i);
		assert_int_equal(
		    catalog_get_by_sku(&c.v, sku, strlen(sku), "FR-ca", &json, &len, NULL), 0);
		j = parse(json, len);
		snprintf(want, sizeof(want), "Chose %u", i);
		assert_string_equal(json_string_value(json_object_get(j, "title")), want);
		assert_string_equal(json_string_value(json_object_get(j, "locale")), "fr");
		json_decref(j);
		/* unknown locale: the default one */
		assert_int_equal(catalog_get(&c.v, &id, "de", &json, &len, NULL), 0);
		assert_non_null(strstr(json, "\"locale\":\"en\""));
	}
	store_id_t missing;
	make_id(&missing, 999);
	assert_int_equal(catalog_get(&c.v, &missing, NULL, &json, &len, NULL), SOUK_ENOENT);
	assert_int_equal(catalog_get_by_sku(&c.v, "NOPE", 4, NULL, &json, &len, NULL), SOUK_ENOENT);
	assert_int_equal(catalog_get_by_sku(&c.v, "", 0, NULL, &json, &len, NULL), SOUK_ENOENT);
	cat_free(&c);
}

typedef struct {
	char ids[2000][33];
	char cats[2000][16];
	size_t n;
} seen_t;

static int collect_cb(const char *json, size_t len, void *arg)
{
	seen_t *s = arg;
	json_t *j = parse(json, len);
	assert_true(s->n < 2000);
	snprintf(s->ids[s->n], 33, "%s", json_string_value(json_object_get(j, "id")));
	snprintf(s->cats[s->n], 16, "%s", json_string_value(json_object_get(j, "category")));
	s->n++;
	json_decref(j);
	return 0;
}

static void list_all(const catalog_view_t *v, const char *category, uint32_t limit, seen_t *s)
{
	char cursor[CATALOG_CURSOR_MAX] = "", next[CATALOG_CURSOR_MAX];
	int pages = 0;
	memset(s, 0, sizeof(*s));
	do {
		size_t before = s->n;
		assert_int_equal(
		    catalog_list(v, category, cursor, limit, NULL, collect_cb, s, next), 0);
		assert_true(s->n - before <= limit);
		if (next[0])
			assert_int_equal(s->n - before, limit);
		memcpy(cursor, next, sizeof(next));
		assert_true(++pages < 5000);
	} while (cursor[0]);
}

static void test_catalog_list_pages_without_duplicates_or_gaps(void **state)
{
	cat_t c;
	seen_t *s = malloc(sizeof(*s));
	(void)state;
	assert_non_null(s);
	cat_build(&c, 1000, 10); /* every 10th (i % 10 == 3) archived */
	assert_int_equal(c.v.count, 900);
	list_all(&c.v, NULL, 7, s);
	assert_int_equal(s->n, 900);
	for (size_t i = 1; i < s->n; i++) {
		int cc = strcmp(s->cats[i - 1], s->cats[i]);
		/* strictly increasing (category, id): no duplicates, stable order */
		assert_true(cc < 0 || (cc == 0 && strcmp(s->ids[i - 1], s->ids[i]) < 0));
	}
	/* every served product appears: compare against the expected set */
	for (uint32_t i = 0; i < 1000; i++) {
		store_id_t id;
		char hex[33];
		bool found = false;
		make_id(&id, i);
		store_id_hex(&id, hex);
		for (size_t k = 0; k < s->n && !found; k++)
			found = strcmp(s->ids[k], hex) == 0;
		assert_int_equal(found, i % 10 != 3);
	}
	/* a page size that divides the total exactly ends with an empty cursor */
	list_all(&c.v, NULL, 100, s);
	assert_int_equal(s->n, 900);
	free(s);
	cat_free(&c);
}

/* The build ranks categories by their bytes, then sorts (rank, id): names
 * that are prefixes of others, differ only in case, or are empty keep the
 * byte order of (category, id), whatever order the products come in. */
static void test_catalog_order_with_prefix_and_empty_categories(void **state)
{
	static const char *names[] = {"homeware", "home", "", "Home", "ho", "h", "zz"};
	enum { N = 350 };
	render_product_t *p[N];
	const catalog_product_t *arr[N];
	void *sec[CATALOG_NSECTIONS];
	size_t len[CATALOG_NSECTIONS];
	catalog_view_t v;
	seen_t *s = malloc(sizeof(*s));
	char doc[256];
	(void)state;
	assert_non_null(s);
	for (uint32_t i = 0; i < N; i++) {
		snprintf(doc, sizeof(doc),
			 "{\"sku\":\"P%u\",\"status\":\"active\",\"category\":\"%s\","
			 "\"title\":{\"en\":\"T%u\"}}",
			 i, names[i % 7], i);
		p[i] = render_doc(i, doc, false);
		arr[i] = &p[i]->cp;
	}
	assert_int_equal(catalog_build_mem(arr, N, 1, sec, len), 0);
	assert_int_equal(catalog_view_init_mem(sec, len, &v), 0);
	list_all(&v, NULL, 50, s);
	assert_int_equal(s->n, N);
	for (size_t i = 1; i < s->n; i++) {
		int cc = strcmp(s->cats[i - 1], s->cats[i]);
		assert_true(cc < 0 || (cc == 0 && strcmp(s->ids[i - 1], s->ids[i]) < 0));
	}
	assert_string_equal(s->cats[0], "");
	assert_string_equal(s->cats[N - 1], "zz");
	for (uint32_t i = 0; i < N; i++)
		render_product_free(&p[i]);
	for (int i = 0; i < CATALOG_NSECTIONS; i++)
		free(sec[i]);
	free(s);
}

static void test_catalog_list_category_filter(void **state)
{
	cat_t c;
	seen_t *s = malloc(sizeof(*s));
	(void)state;
	assert_non_null(s);
	cat_build(&c, 500, 0);
	size_t total = 0;
	for (int k = 0; k < 5; k++) {
		list_all(&c.v, cats[k], 13, s);
		assert_int_equal(s->n, 100);
		for (size_t i = 0; i < s->n; i++)
			assert_string_equal(s->cats[i], cats[k]);
		total += s->n;
	}
	assert_int_equal(total, 500);
	list_all(&c.v, "garden", 10, s);
	assert_int_equal(s->n, 0);
	list_all(&c.v, "", 10, s);
	assert_int_equal(s->n, 0);

	char next[CATALOG_CURSOR_MAX];
	assert_int_equal(catalog_list(&c.v, NULL, NULL, 0, NULL, collect_cb, s, next), SOUK_EINVAL);
	assert_int_equal(catalog_list(&c.v, NULL, "zz", 5, NULL, collect_cb, s, next), SOUK_EINVAL);
	assert_int_equal(catalog_list(&c.v, NULL, "ffffffffffffffffffffffffffffffff", 5, NULL,
				      collect_cb, s, next),
			 SOUK_ENOENT);
	free(s);
	cat_free(&c);
}

/* cat_build with product `moved` in category `to` instead of its own. */
static void cat_build_moved(cat_t *c, size_t n, uint32_t moved, const char *to)
{
	const catalog_product_t **arr = calloc(n, sizeof(*arr));
	char doc[512];
	assert_non_null(arr);
	memset(c, 0, sizeof(*c));
	c->p = calloc(n, sizeof(*c->p));
	assert_non_null(c->p);
	c->n = n;
	for (uint32_t i = 0; i < n; i++) {
		if (i == moved) {
			snprintf(doc, sizeof(doc),
				 "{\"sku\":\"SKU%05u\",\"status\":\"active\",\"category\":\"%s\","
				 "\"title\":{\"en\":\"Thing %u\"},\"price\":{\"GBP\":1}}",
				 i, to, i);
			c->p[i] = render_doc(i, doc, false);
		} else {
			c->p[i] = make_product(i, false);
		}
		arr[i] = &c->p[i]->cp;
	}
	assert_int_equal(catalog_build_mem(arr, n, 4243, c->sec, c->len), 0);
	assert_int_equal(catalog_view_init_mem(c->sec, c->len, &c->v), 0);
	free(arr);
}

static uint32_t product_of(const char *hex, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		store_id_t id;
		char h[33];
		make_id(&id, i);
		store_id_hex(&id, h);
		if (strcmp(h, hex) == 0)
			return i;
	}
	fail_msg("no product %s", hex);
	return 0;
}

static size_t count_id(const seen_t *s, const char *hex)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++)
		k += strcmp(s->ids[i], hex) == 0;
	return k;
}

/* The product a cursor names moves to a later category between two pages:
 * the next page still resumes where the first ended. */
static void test_catalog_cursor_survives_category_moves(void **state)
{
	cat_t a, b;
	seen_t *p1 = malloc(sizeof(*p1)), *rest = malloc(sizeof(*rest));
	char next[CATALOG_CURSOR_MAX], cursor[CATALOG_CURSOR_MAX];
	(void)state;
	assert_non_null(p1);
	assert_non_null(rest);
	cat_build(&a, 50, 0); /* 10 products in each of 5 categories */

	/* ?category=home: page 1 of 4, then its last product moves to "toys" */
	memset(p1, 0, sizeof(*p1));
	assert_int_equal(catalog_list(&a.v, "home", NULL, 4, NULL, collect_cb, p1, next), 0);
	assert_int_equal(p1->n, 4);
	assert_int_equal(strlen(next), 110);
	uint32_t moved = product_of(p1->ids[3], 50);
	cat_build_moved(&b, 50, moved, "toys");
	memcpy(cursor, next, sizeof(cursor));
	memset(rest, 0, sizeof(*rest));
	for (int pages = 0; cursor[0] && pages < 10; pages++) {
		assert_int_equal(catalog_list(&b.v, "home", cursor, 4, NULL, collect_cb, rest, next),
				 0);
		memcpy(cursor, next, sizeof(cursor));
	}
	assert_int_equal(rest->n, 6); /* the rest of "home", none again */
	for (size_t i = 0; i < rest->n; i++) {
		assert_int_equal(count_id(p1, rest->ids[i]), 0);
		assert_true(strcmp(rest->ids[i], p1->ids[3]) > 0);
	}
	cat_free(&b);

	/* no filter: the last product of page 1 moves from the first category
	 * to the last; every other product is listed exactly once */
	memset(p1, 0, sizeof(*p1));
	assert_int_equal(catalog_list(&a.v, NULL, NULL, 7, NULL, collect_cb, p1, next), 0);
	assert_string_equal(p1->cats[6], "bags");
	moved = product_of(p1->ids[6], 50);
	cat_build_moved(&b, 50, moved, "toys");
	memcpy(cursor, next, sizeof(cursor));
	memset(rest, 0, sizeof(*rest));
	for (int pages = 0; cursor[0] && pages < 20; pages++) {
		assert_int_equal(catalog_list(&b.v, NULL, cursor, 7, NULL, collect_cb, rest, next),
				 0);
		memcpy(cursor, next, sizeof(cursor));
	}
	assert_int_equal(p1->n + rest->n, 51); /* the moved one again, at its new place */
	for (uint32_t i = 0; i < 50; i++) {
		store_id_t id;
		char h[33];
		make_id(&id, i);
		store_id_hex(&id, h);
		assert_int_equal(count_id(p1, h) + count_id(rest, h), i == moved ? 2 : 1);
	}

	/* a cursor that was altered is refused, not guessed at */
	memset(rest, 0, sizeof(*rest));
	assert_int_equal(catalog_list(&a.v, NULL, NULL, 7, NULL, collect_cb, rest, next), 0);
	next[100] = next[100] == 'B' ? 'C' : 'B'; /* inside the zero padding */
	assert_int_equal(catalog_list(&a.v, NULL, next, 7, NULL, collect_cb, rest, cursor),
			 SOUK_EINVAL);
	next[100] = '\0';
	assert_int_equal(catalog_list(&a.v, NULL, next, 7, NULL, collect_cb, rest, cursor),
			 SOUK_EINVAL);
	cat_free(&b);
	cat_free(&a);
	free(p1);
	free(rest);
}

/* Drafts are not public: no reading of the image serves them. */
static void test_catalog_drafts_not_served(void **state)
{
	render_product_t *p[2];
	const catalog_product_t *arr[2];
	void *sec[CATALOG_NSECTIONS];
	size_t len[CATALOG_NSECTIONS];
	catalog_view_t v;
	const char *json;
	size_t jl;
	char next[CATALOG_CURSOR_MAX];
	store_id_t id;
	seen_t *s = malloc(sizeof(*s));
	(void)state;
	assert_non_null(s);
	p[0] = render_doc(1, "{\"sku\":\"LIVE\",\"status\":\"active\",\"category\":\"home\","
			     "\"title\":{\"en\":\"x\"},\"price\":{\"GBP\":1}}", false);
	p[1] = render_doc(2, "{\"sku\":\"SOON\",\"status\":\"draft\",\"category\":\"home\","
			     "\"title\":{\"en\":\"y\"},\"price\":{\"GBP\":1}}", false);
	assert_true(p[1]->cp.archived);
	arr[0] = &p[0]->cp;
	arr[1] = &p[1]->cp;
	assert_int_equal(catalog_build_mem(arr, 2, 1, sec, len), 0);
	assert_int_equal(catalog_view_init_mem(sec, len, &v), 0);
	assert_int_equal(v.count, 1);
	make_id(&id, 2);
	assert_int_equal(catalog_get(&v, &id, NULL, &json, &jl, NULL), SOUK_ENOENT);
	assert_int_equal(catalog_get_by_sku(&v, "SOON", 4, NULL, &json, &jl, NULL), SOUK_ENOENT);
	memset(s, 0, sizeof(*s));
	assert_int_equal(catalog_list(&v, NULL, NULL, 10, NULL, collect_cb, s, next), 0);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->cats[0], "home");
	for (int i = 0; i < 2; i++)
		render_product_free(&p[i]);
	for (int i = 0; i < CATALOG_NSECTIONS; i++)
		free(sec[i]);
	free(s);
}

static void test_catalog_archived_hidden(void **state)
{
	cat_t c;
	const char *json;
	size_t len;
	seen_t *s = malloc(sizeof(*s));
	char hex[33], next[CATALOG_CURSOR_MAX];
	(void)state;
	assert_non_null(s);
	cat_build(&c, 20, 10); /* products 3 and 13 archived */
	assert_int_equal(c.v.count, 18);
	store_id_t id;
	make_id(&id, 3);
	assert_int_equal(catalog_get(&c.v, &id, NULL, &json, &len, NULL), SOUK_ENOENT);
	assert_int_equal(catalog_get_by_sku(&c.v, "SKU00003", 8, NULL, &json, &len, NULL),
			 SOUK_ENOENT);
	/* a cursor naming an archived product still resumes after it */
	memset(s, 0, sizeof(*s));
	store_id_hex(&id, hex);
	assert_int_equal(catalog_list(&c.v, NULL, hex, 1000, NULL, collect_cb, s, next), 0);
	assert_string_equal(next, "");
	for (size_t i = 0; i < s->n; i++)
		assert_string_not_equal(s->ids[i], hex);
	assert_true(s->n > 0 && s->n < 18);
	free(s);
	cat_free(&c);
}

static int stop_after_two(const char *json, size_t len, void *arg)
{
	int *n = arg;
	return ++*n > 2 ? 7 : 0;
}

static void test_catalog_list_callback_stop_resumes(void **state)
{
	cat_t c;
	char next[CATALOG_CURSOR_MAX];
	int n = 0;
	seen_t *s = malloc(sizeof(*s));
	(void)state;
	assert_non_null(s);
	cat_build(&c, 30, 0);
	assert_int_equal(catalog_list(&c.v, NULL, NULL, 10, NULL, stop_after_two, &n, next), 7);
	assert_int_equal(strlen(next), 110);
	/* the rest from the cursor: 28 products, the refused one included */
	memset(s, 0, sizeof(*s));
	char cursor[CATALOG_CURSOR_MAX];
	memcpy(cursor, next, sizeof(cursor));
	do {
		assert_int_equal(catalog_list(&c.v, NULL, cursor, 50, NULL, collect_cb, s, next),
				 0);
		memcpy(cursor, next, sizeof(cursor));
	} while (cursor[0]);
	assert_int_equal(s->n, 28);
	free(s);
	cat_free(&c);
}

/* A filter that matches few: each page's walk stops after CATALOG_SCAN_MAX
 * products with a short page and a cursor, and reading on finds every
 * match once. */
static int rare_cb(const catalog_hit_t *h, void *arg)
{
	int *found = arg;
	unsigned num = 0;
	if (h->sku_len != 8 || sscanf(h->sku, "SKU%5u", &num) != 1 || num % 5000 != 7)
		return CATALOG_SKIP;
	found[num / 5000]++;
	return 0;
}

static void test_catalog_list_walk_is_bounded(void **state)
{
	cat_t c;
	char cursor[CATALOG_CURSOR_MAX] = "", next[CATALOG_CURSOR_MAX];
	int found[8] = {0}, pages = 0;
	(void)state;
	cat_build(&c, 3 * CATALOG_SCAN_MAX + 500, 0);
	catalog_scope_t scope = {.channel = NULL, .now_ms = 0};
	do {
		int before = found[0] + found[1] + found[2] + found[3] + found[4] + found[5] +
			     found[6];
		assert_int_equal(catalog_list_in(&c.v, &scope, NULL, cursor[0] ? cursor : NULL, 20,
						 NULL, rare_cb, found, next),
				 0);
		int got = found[0] + found[1] + found[2] + found[3] + found[4] + found[5] + found[6];
		assert_true(got - before < 20); /* every page is a short one here */
		memcpy(cursor, next, sizeof(cursor));
		pages++;
	} while (cursor[0] && pages < 100);
	/* 30,500 products, 10,000 a page at most: at least 4 pages */
	assert_true(pages >= 4);
	for (int i = 0; i < 7; i++)
		assert_int_equal(found[i], 1);
	cat_free(&c);
}

/* Damaged sections: every read fails cleanly (ASan catches any stray read). */
static void check_reads_survive(cat_t *c)
{
	catalog_view_t v;
	const char *json;
	size_t len;
	char next[CATALOG_CURSOR_MAX];
	int n = 0;
	if (catalog_view_init_mem(c->sec, c->len, &v) != 0)
		return;
	for (uint32_t i = 0; i < 40; i++) {
		store_id_t id;
		char sku[16];
		make_id(&id, i);
		int rc = catalog_get(&v, &id, "fr", &json, &len, NULL);
		assert_true(rc == 0 || rc == SOUK_ENOENT || rc == SOUK_ECORRUPT);
		if (rc == 0)
			assert_true(json >= (const char *)c->sec[1] &&
				    json + len < (const char *)c->sec[1] + c->len[1]);
		snprintf(sku, sizeof(sku), "SKU%05u", i);
		rc = catalog_get_by_sku(&v, sku, strlen(sku), NULL, &json, &len, NULL);
		assert_true(rc == 0 || rc == SOUK_ENOENT || rc == SOUK_ECORRUPT);
	}
	int rc = catalog_list(&v, NULL, NULL, 1000, "fr", stop_after_two, &n, next);
	assert_true(rc == 0 || rc == 7 || rc == SOUK_ECORRUPT || rc == SOUK_ENOENT);
	n = 0;
	rc = catalog_list(&v, "home", NULL, 1000, NULL, stop_after_two, &n, next);
	assert_true(rc == 0 || rc == 7 || rc == SOUK_ECORRUPT || rc == SOUK_ENOENT);
}

static void test_catalog_corrupt_sections_fail_cleanly(void **state)
{
	cat_t c;
	const char *json;
	size_t len;
	char next[CATALOG_CURSOR_MAX];
	int n = 0;
	(void)state;
	cat_build(&c, 40, 0);

	/* an order entry pointing past the records */
	uint64_t saved, bad = c.len[1] + 4096;
	memcpy(&saved, c.sec[4], 8);
	memcpy(c.sec[4], &bad, 8);
	assert_int_equal(catalog_list(&c.v, NULL, NULL, 10, NULL, stop_after_two, &n, next),
			 SOUK_ECORRUPT);
	memcpy(c.sec[4], &saved, 8);

	/* a record whose size runs past the section */
	uint32_t size_saved, huge = 0x7fffffff;
	memcpy(&size_saved, (uint8_t *)c.sec[1] + 4, 4);
	memcpy((uint8_t *)c.sec[1] + 4, &huge, 4);
	store_id_t id0;
	const uint8_t *rec0 = (const uint8_t *)c.sec[1] + 8;
	memcpy(id0.b, rec0, 16);
	assert_int_equal(catalog_get(&c.v, &id0, NULL, &json, &len, NULL), SOUK_ECORRUPT);
	memcpy((uint8_t *)c.sec[1] + 4, &size_saved, 4);
	assert_int_equal(catalog_get(&c.v, &id0, NULL, &json, &len, NULL), 0);

	/* a truncated record section */
	catalog_view_t v = c.v;
	v.top.rec_len = 64;
	n = 0;
	assert_int_equal(catalog_list(&v, NULL, NULL, 100, NULL, stop_after_two, &n, next),
			 SOUK_ECORRUPT);

	/* bad meta */
	((uint8_t *)c.sec[0])[0] ^= 0xff;
	assert_int_equal(catalog_view_init_mem(c.sec, c.len, &v), SOUK_ECORRUPT);
	((uint8_t *)c.sec[0])[0] ^= 0xff;

	/* random byte damage anywhere: reads never crash */
	srand(12345);
	for (int round = 0; round < 300; round++) {
		int s = rand() % CATALOG_NSECTIONS;
		size_t pos = (size_t)rand() % c.len[s];
		uint8_t old = ((uint8_t *)c.sec[s])[pos];
		((uint8_t *)c.sec[s])[pos] = (uint8_t)rand();
		check_reads_survive(&c);
		if (round % 3)
			((uint8_t *)c.sec[s])[pos] = old; /* let some damage accumulate */
	}
	cat_free(&c);
}

static void test_catalog_image_roundtrip(void **state)
{
	char inst[64];
	uint32_t rnd = 0;
	shm_ctl_t *ctl = NULL;
	shm_builder_t *b = NULL;
	shm_reader_t *r = NULL;
	const shm_image_t *img;
	catalog_view_t v;
	uint64_t gen;
	size_t bytes = 0;
	(void)state;

	souk_random(&rnd, sizeof(rnd));
	snprintf(inst, sizeof(inst), "souktest-cat-%d-%08x", (int)getpid(), rnd);
	assert_int_equal(shm_ctl_create(inst, 4, &ctl), 0);

	/* an image without a catalog */
	assert_int_equal(shm_builder_new(ctl, &b), 0);
	assert_int_equal(shm_builder_add(b, "other", 8, "12345678", 8), 0);
	assert_int_equal(shm_builder_publish(&b, &gen), 0);
	assert_int_equal(shm_reader_new(ctl, &r), 0);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(catalog_view_init(img, &v), SOUK_ENOENT);
	shm_reader_release(r);

	render_product_t *p[10];
	const catalog_product_t *arr[10];
	for (uint32_t i = 0; i < 10; i++) {
		p[i] = make_product(i, i == 4);
		arr[i] = &p[i]->cp;
	}
	assert_int_equal(shm_builder_new(ctl, &b), 0);
	shm_builder_set_seq(b, 77);
	assert_int_equal(catalog_build(b, arr, 10, 77, &bytes), 0);
	assert_true(bytes > 0);
	assert_int_equal(shm_builder_publish(&b, &gen), 0);
	assert_int_equal(shm_reader_acquire(r, &img), 0);
	assert_int_equal(shm_image_generation(img), gen);
	assert_int_equal(catalog_view_init(img, &v), 0);
	assert_int_equal(v.count, 9);
	assert_int_equal(v.seq, 77);
	const char *json;
	size_t len;
	assert_int_equal(catalog_get_by_sku(&v, "SKU00007", 8, "en", &json, &len, NULL), 0);
	assert_non_null(strstr(json, "\"title\":\"Thing 7\""));
	assert_int_equal(catalog_get_by_sku(&v, "SKU00004", 8, "en", &json, &len, NULL),
			 SOUK_ENOENT);
	shm_reader_release(r);

	for (int i = 0; i < 10; i++)
		render_product_free(&p[i]);
	shm_reader_free(&r);
	shm_ctl_free(&ctl);
	shm_ctl_unlink(inst);
}

static void test_catalog_build_rejects_bad_input(void **state)
{
	void *sec[CATALOG_NSECTIONS];
	size_t len[CATALOG_NSECTIONS];
	render_product_t *a = make_product(1, false), *b = make_product(1, false);
	const catalog_product_t *arr[2] = {&a->cp, &b->cp};
	(void)state;
	/* the same id twice */
	assert_int_equal(catalog_build_mem(arr, 2, 1, sec, len), SOUK_EINVAL);
	assert_null(sec[1]);
	/* default locale out of range */
	a->cp.default_loc = 9;
	assert_int_equal(catalog_build_mem(arr, 1, 1, sec, len), SOUK_EINVAL);
	a->cp.default_loc = 0;
	/* an empty catalog is fine */
	assert_int_equal(catalog_build_mem(arr, 0, 1, sec, len), 0);
	catalog_view_t v;
	assert_int_equal(catalog_view_init_mem(sec, len, &v), 0);
	assert_int_equal(v.count, 0);
	char next[CATALOG_CURSOR_MAX];
	int n = 0;
	assert_int_equal(catalog_list(&v, NULL, NULL, 5, NULL, stop_after_two, &n, next), 0);
	assert_int_equal(n, 0);
	for (int i = 0; i < CATALOG_NSECTIONS; i++)
		free(sec[i]);
	render_product_free(&a);
	render_product_free(&b);
}

static void test_catalog_duplicate_sku_keeps_newest(void **state)
{
	void *sec[CATALOG_NSECTIONS];
	size_t len[CATALOG_NSECTIONS];
	catalog_view_t v;
	const char *json;
	size_t jlen;
	uint64_t version;
	const char *doc_old = "{\"sku\":\"DUP\",\"status\":\"active\",\"category\":\"home\","
			      "\"title\":{\"en\":\"Old\"},\"price\":{\"GBP\":1}}";
	const char *doc_new = "{\"sku\":\"DUP\",\"status\":\"active\",\"category\":\"toys\","
			      "\"title\":{\"en\":\"New\"},\"price\":{\"GBP\":1}}";
	render_product_t *a = render_doc(10, doc_old, false), *b = render_doc(20, doc_new, false);
	render_product_t *c = make_product(30, false);
	const catalog_product_t *arr[3] = {&c->cp, &b->cp, &a->cp};
	(void)state;
	assert_true(b->cp.seq > a->cp.seq);
	assert_int_equal(catalog_build_mem(arr, 3, 1, sec, len), 0);
	assert_int_equal(catalog_view_init_mem(sec, len, &v), 0);
	assert_int_equal(catalog_get_by_sku(&v, "DUP", 3, NULL, &json, &jlen, &version), 0);
	assert_non_null(strstr(json, "\"title\":\"New\""));
	assert_int_equal(catalog_get_by_sku(&v, "SKU00030", 8, NULL, &json, &jlen, NULL), 0);
	/* both stay reachable by id */
	assert_int_equal(catalog_get(&v, &a->cp.id, NULL, &json, &jlen, NULL), 0);
	assert_non_null(strstr(json, "\"title\":\"Old\""));
	for (int i = 0; i < CATALOG_NSECTIONS; i++)
		free(sec[i]);
	render_product_free(&a);
	render_product_free(&b);
	render_product_free(&c);
}

/* ---- base + delta ----------------------------------------------------------- */

static render_product_t *make_product_rev(uint32_t n, uint32_t rev, bool archived)
{
	char doc[512];
	snprintf(
	    doc, sizeof(doc),
	    "{\"sku\":\"%s%05u\",\"status\":\"active\",\"category\":\"%s\","
	    "\"title\":{\"en\":\"Thing %u rev %u\",\"fr\":\"Chose %u\"},\"price\":{\"GBP\":%u}}",
	    rev % 3 == 2 ? "NEW" : "SKU", n, cats[(n + rev) % 5], n, rev, n, 100 + n + rev);
	return render_doc(n, doc, archived);
}

typedef struct {
	char buf[65536];
	size_t len;
} text_t;

static int text_cb(const char *json, size_t len, void *arg)
{
	text_t *t = arg;
	assert_true(t->len + len + 1 < sizeof(t->buf));
	memcpy(t->buf + t->len, json, len);
	t->len += len;
	t->buf[t->len++] = '\n';
	return 0;
}

/* Every page of a list, concatenated. */
static void list_pages(const catalog_view_t *v, const char *category, uint32_t limit, text_t *t)
{
	char cursor[CATALOG_CURSOR_MAX] = "", next[CATALOG_CURSOR_MAX];
	t->len = 0;
	for (int pages = 0; pages < 1000; pages++) {
		assert_int_equal(catalog_list(v, category, cursor, limit, "fr", text_cb, t, next),
				 0);
		if (!next[0])
			return;
		memcpy(cursor, next, sizeof(cursor));
	}
	fail_msg("list does not end");
}

/* Same answer (rc and bytes) from both views. */
static void same_get(const catalog_view_t *a, const catalog_view_t *b, const store_id_t *id,
		     const char *sku)
{
	const char *ja = NULL, *jb = NULL;
	size_t la = 0, lb = 0;
	uint64_t va = 0, vb = 0;
	int ra, rb;
	if (id) {
		ra = catalog_get(a, id, "fr", &ja, &la, &va);
		rb = catalog_get(b, id, "fr", &jb, &lb, &vb);
	} else {
		ra = catalog_get_by_sku(a, sku, strlen(sku), NULL, &ja, &la, &va);
		rb = catalog_get_by_sku(b, sku, strlen(sku), NULL, &jb, &lb, &vb);
	}
	assert_int_equal(ra, rb);
	if (ra == 0) {
		assert_int_equal(la, lb);
		assert_memory_equal(ja, jb, la);
		assert_int_equal(va, vb);
	}
}

/* Same answers for the ids and SKUs (both spellings) of products 0..n-1. */
static void same_gets(const catalog_view_t *a, const catalog_view_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		store_id_t id;
		char sku[16];
		make_id(&id, i);
		same_get(a, b, &id, NULL);
		snprintf(sku, sizeof(sku), "SKU%05u", i);
		same_get(a, b, NULL, sku);
		snprintf(sku, sizeof(sku), "NEW%05u", i);
		same_get(a, b, NULL, sku);
	}
}

/* A delta over a base answers exactly like a full build of the final set:
 * updates (also of category and SKU) override the base, archived and gone
 * products are hidden, new ones appear, lists page without duplicates or
 * gaps in the same order. */
static void test_catalog_delta_matches_full_build(void **state)
{
	enum { NBASE = 60, NNEW = 10 };
	render_product_t *base[NBASE], *changed[NBASE + NNEW] = {0};
	const catalog_product_t *barr[NBASE], *final[NBASE + NNEW], *carr[NBASE + NNEW];
	store_id_t gone[NBASE];
	size_t nfinal = 0, nchanged = 0, ngone = 0, served = 0;
	void *bsec[CATALOG_NSECTIONS], *dsec[CATALOG_NSECTIONS], *fsec[CATALOG_NSECTIONS];
	size_t blen[CATALOG_NSECTIONS], dlen[CATALOG_NSECTIONS], flen[CATALOG_NSECTIONS];
	catalog_view_t vd, vf;
	text_t *ta = malloc(sizeof(*ta)), *tb = malloc(sizeof(*tb));
	(void)state;
	assert_non_null(ta);
	assert_non_null(tb);

	for (uint32_t i = 0; i < NBASE; i++) {
		base[i] = make_product_rev(i, 0, i % 10 == 3);
		barr[i] = &base[i]->cp;
	}
	assert_int_equal(catalog_build_mem(barr, NBASE, 10, bsec, blen), 0);
	for (uint32_t i = 0; i < NBASE + NNEW; i++) {
		render_product_t *p = NULL;
		if (i < NBASE && i % 13 == 5) {
			make_id(&gone[ngone++], i);
			continue;
		}
		if (i >= NBASE || i % 7 == 1)
			p = make_product_rev(i, 1 + i % 3, false); /* category, sku change */
		else if (i % 11 == 2)
			p = make_product_rev(i, 0, true); /* archived now */
		else if (i % 10 == 3 && i % 4 == 1)
			p = make_product_rev(i, 0, false); /* archived, back again */
		if (p) {
			changed[nchanged] = p;
			carr[nchanged++] = &p->cp;
			final[nfinal++] = &p->cp;
		} else {
			final[nfinal++] = barr[i];
		}
	}
	for (size_t i = 0; i < nfinal; i++)
		served += !final[i]->archived;
	assert_int_equal(
	    catalog_build_delta_mem(carr, nchanged, gone, ngone, served, 20, dsec, dlen), 0);
	assert_int_equal(catalog_build_mem(final, nfinal, 20, fsec, flen), 0);
	assert_int_equal(catalog_view_init_mem_delta(bsec, blen, dsec, dlen, &vd), 0);
	assert_int_equal(catalog_view_init_mem(fsec, flen, &vf), 0);
	/* a delta alone is not a catalog */
	catalog_view_t bad;
	assert_int_equal(catalog_view_init_mem(dsec, dlen, &bad), SOUK_ECORRUPT);
	assert_int_equal(vd.count, vf.count);
	assert_int_equal(vd.seq, 20);

	same_gets(&vd, &vf, NBASE + NNEW + 3);
	/* spot checks of what a user sees */
	const char *json;
	size_t len;
	store_id_t id;
	make_id(&id, 5); /* gone */
	assert_int_equal(catalog_get(&vd, &id, NULL, &json, &len, NULL), SOUK_ENOENT);
	make_id(&id, 13); /* archived in the delta */
	assert_int_equal(catalog_get(&vd, &id, NULL, &json, &len, NULL), SOUK_ENOENT);
	assert_int_equal(catalog_get_by_sku(&vd, "SKU00013", 8, NULL, &json, &len, NULL),
			 SOUK_ENOENT);
	make_id(&id, 1); /* updated: rev 2, new SKU */
	assert_int_equal(catalog_get(&vd, &id, "en", &json, &len, NULL), 0);
	assert_non_null(memmem(json, len, "Thing 1 rev 2", 13));
	assert_int_equal(catalog_get_by_sku(&vd, "SKU00001", 8, NULL, &json, &len, NULL),
			 SOUK_ENOENT);
	assert_int_equal(catalog_get_by_sku(&vd, "NEW00001", 8, NULL, &json, &len, NULL), 0);

	static const uint32_t limits[] = {1, 3, 7, 1000};
	for (size_t li = 0; li < 4; li++) {
		list_pages(&vd, NULL, limits[li], ta);
		list_pages(&vf, NULL, limits[li], tb);
		assert_int_equal(ta->len, tb->len);
		assert_memory_equal(ta->buf, tb->buf, ta->len);
		for (int c = 0; c < 5; c++) {
			list_pages(&vd, cats[c], limits[li], ta);
			list_pages(&vf, cats[c], limits[li], tb);
			assert_int_equal(ta->len, tb->len);
			assert_memory_equal(ta->buf, tb->buf, ta->len);
		}
	}
	/* a cursor naming a product archived in the delta still resumes */
	char next[CATALOG_CURSOR_MAX], cursor[CATALOG_CURSOR_MAX];
	make_id(&id, 13);
	store_id_hex(&id, cursor);
	ta->len = tb->len = 0;
	assert_int_equal(catalog_list(&vd, NULL, cursor, 1000, "fr", text_cb, ta, next), 0);
	assert_int_equal(catalog_list(&vf, NULL, cursor, 1000, "fr", text_cb, tb, next), 0);
	assert_int_equal(ta->len, tb->len);
	assert_memory_equal(ta->buf, tb->buf, ta->len);
	/* one naming a gone product does not */
	make_id(&id, 5);
	store_id_hex(&id, cursor);
	assert_int_equal(catalog_list(&vd, NULL, cursor, 10, "fr", text_cb, ta, next), SOUK_ENOENT);

	/* a changed id listed as gone too is refused */
	make_id(&gone[0], 1);
	void *xsec[CATALOG_NSECTIONS];
	size_t xlen[CATALOG_NSECTIONS];
	assert_int_equal(catalog_build_delta_mem(carr, nchanged, gone, 1, served, 20, xsec, xlen),
			 SOUK_EINVAL);

	for (int i = 0; i < CATALOG_NSECTIONS; i++) {
		free(bsec[i]);
		free(dsec[i]);
		free(fsec[i]);
	}
	for (uint32_t i = 0; i < NBASE; i++)
		render_product_free(&base[i]);
	for (size_t i = 0; i < nchanged; i++)
		render_product_free(&changed[i]);
	free(ta);
	free(tb);
}

/* Damaged delta sections: reads over base + delta never crash. */
static void test_catalog_corrupt_delta_fails_cleanly(void **state)
{
	cat_t c;
	render_product_t *p[6];
	const catalog_product_t *arr[6];
	store_id_t gone;
	void *dsec[CATALOG_NSECTIONS];
	size_t dlen[CATALOG_NSECTIONS];
	(void)state;
	cat_build(&c, 40, 5);
	for (uint32_t i = 0; i < 6; i++) {
		p[i] = make_product_rev(i * 3, 1, i == 2);
		arr[i] = &p[i]->cp;
	}
	make_id(&gone, 1);
	assert_int_equal(catalog_build_delta_mem(arr, 6, &gone, 1, 30, 5, dsec, dlen), 0);
	srand(777);
	for (int round = 0; round < 300; round++) {
		catalog_view_t v;
		int s = rand() % CATALOG_NSECTIONS;
		size_t pos = (size_t)rand() % dlen[s];
		uint8_t old = ((uint8_t *)dsec[s])[pos];
		((uint8_t *)dsec[s])[pos] = (uint8_t)rand();
		if (catalog_view_init_mem_delta(c.sec, c.len, dsec, dlen, &v) == 0) {
			const char *json;
			size_t len;
			char next[CATALOG_CURSOR_MAX];
			text_t *t = malloc(sizeof(*t));
			assert_non_null(t);
			for (uint32_t i = 0; i < 45; i++) {
				store_id_t id;
				char sku[16];
				make_id(&id, i);
				int rc = catalog_get(&v, &id, "fr", &json, &len, NULL);
				assert_true(rc == 0 || rc == SOUK_ENOENT || rc == SOUK_ECORRUPT);
				snprintf(sku, sizeof(sku), "SKU%05u", i);
				rc = catalog_get_by_sku(&v, sku, strlen(sku), NULL, &json, &len,
							NULL);
				assert_true(rc == 0 || rc == SOUK_ENOENT || rc == SOUK_ECORRUPT);
			}
			t->len = 0;
			int rc = catalog_list(&v, NULL, NULL, 1000, "fr", text_cb, t, next);
			assert_true(rc == 0 || rc == SOUK_ECORRUPT);
			free(t);
		}
		if (round % 3)
			((uint8_t *)dsec[s])[pos] = old;
	}
	for (int i = 0; i < CATALOG_NSECTIONS; i++)
		free(dsec[i]);
	for (uint32_t i = 0; i < 6; i++)
		render_product_free(&p[i]);
	cat_free(&c);
}

/* A delta published for another provider's change (no "cat.*" section)
 * serves the base's catalog exactly as the base does: gets, lists, cursors
 * and count, with the delta's sequence. Some but not all of the sections
 * is a corrupt catalog. */
static void test_catalog_delta_without_catalog_serves_base(void **state)
{
	enum { N = 30 };
	char inst[64];
	uint32_t rnd = 0;
	shm_ctl_t *ctl = NULL;
	shm_builder_t *b = NULL;
	shm_reader_t *rb = NULL, *rd = NULL;
	const shm_image_t *bimg, *dimg;
	catalog_view_t bv, dv;
	render_product_t *p[N];
	const catalog_product_t *arr[N];
	uint64_t base_gen, gen;
	(void)state;

	souk_random(&rnd, sizeof(rnd));
	snprintf(inst, sizeof(inst), "souktest-catd-%d-%08x", (int)getpid(), rnd);
	assert_int_equal(shm_ctl_create(inst, 4, &ctl), 0);
	for (uint32_t i = 0; i < N; i++) {
		p[i] = make_product(i, i % 7 == 3);
		arr[i] = &p[i]->cp;
	}
	assert_int_equal(shm_builder_new(ctl, &b), 0);
	shm_builder_set_seq(b, 50);
	assert_int_equal(catalog_build(b, arr, N, 50, NULL), 0);
	assert_int_equal(shm_builder_publish(&b, &base_gen), 0);
	assert_int_equal(shm_reader_new(ctl, &rb), 0);
	assert_int_equal(shm_reader_new(ctl, &rd), 0);
	assert_int_equal(shm_reader_acquire(rb, &bimg), 0); /* held to compare */
	assert_int_equal(catalog_view_init(bimg, &bv), 0);

	/* a delta holding only another provider's section */
	assert_int_equal(shm_builder_new_delta(ctl, base_gen, &b), 0);
	shm_builder_set_seq(b, 60);
	assert_int_equal(shm_builder_add(b, "set.other", 8, "12345678", 8), 0);
	assert_int_equal(shm_builder_publish(&b, &gen), 0);
	assert_int_equal(shm_reader_acquire(rd, &dimg), 0);
	assert_int_equal(shm_image_generation(dimg), gen);
	assert_ptr_equal(shm_image_base(dimg), bimg);
	assert_int_equal(catalog_view_init(dimg, &dv), 0);
	assert_ptr_equal(dv.img, dimg);
	assert_int_equal(dv.count, bv.count);
	assert_int_equal(dv.count, N - 4); /* 3, 10, 17 and 24 archived */
	assert_int_equal(bv.seq, 50);
	assert_int_equal(dv.seq, 60);

	same_gets(&bv, &dv, N + 2);
	static text_t ta, tb;
	const char *cat_filter[] = {NULL, "home", "toys"};
	for (size_t c = 0; c < SOUK_ARRAY_LEN(cat_filter); c++) {
		list_pages(&bv, cat_filter[c], 4, &ta);
		list_pages(&dv, cat_filter[c], 4, &tb);
		assert_true(ta.len > 0);
		assert_int_equal(ta.len, tb.len);
		assert_memory_equal(ta.buf, tb.buf, ta.len);
	}
	/* a cursor from the base resumes the same in the delta, and back */
	char next_b[CATALOG_CURSOR_MAX], next_d[CATALOG_CURSOR_MAX], again[CATALOG_CURSOR_MAX];
	ta.len = tb.len = 0;
	assert_int_equal(catalog_list(&bv, NULL, NULL, 5, NULL, text_cb, &ta, next_b), 0);
	assert_int_equal(catalog_list(&dv, NULL, next_b, 5, NULL, text_cb, &tb, next_d), 0);
	ta.len = 0;
	assert_int_equal(catalog_list(&bv, NULL, next_b, 5, NULL, text_cb, &ta, again), 0);
	assert_string_equal(next_d, again);
	assert_int_equal(ta.len, tb.len);
	assert_memory_equal(ta.buf, tb.buf, ta.len);
	shm_reader_release(rd);

	/* a delta with some of the catalog's sections is corrupt */
	const void *meta;
	size_t meta_len;
	assert_int_equal(shm_image_section(bimg, "cat.meta", &meta, &meta_len), 0);
	assert_int_equal(shm_builder_new_delta(ctl, base_gen, &b), 0);
	assert_int_equal(shm_builder_add(b, "cat.meta", 8, meta, meta_len), 0);
	assert_int_equal(shm_builder_publish(&b, &gen), 0);
	assert_int_equal(shm_reader_acquire(rd, &dimg), 0);
	assert_int_equal(shm_image_generation(dimg), gen);
	assert_int_equal(catalog_view_init(dimg, &dv), SOUK_ECORRUPT);
	shm_reader_release(rd);
	/* and so is a full image with some */
	assert_int_equal(shm_builder_new(ctl, &b), 0);
	assert_int_equal(shm_builder_add(b, "cat.order", 8, "\0\0\0\0\0\0\0\0", 8), 0);
	assert_int_equal(shm_builder_publish(&b, &gen), 0);
	assert_int_equal(shm_reader_acquire(rd, &dimg), 0);
	assert_int_equal(shm_image_generation(dimg), gen);
	assert_int_equal(catalog_view_init(dimg, &dv), SOUK_ECORRUPT);
	shm_reader_release(rd);

	shm_reader_release(rb);
	for (uint32_t i = 0; i < N; i++)
		render_product_free(&p[i]);
	shm_reader_free(&rb);
	shm_reader_free(&rd);
	shm_ctl_free(&ctl);
	shm_ctl_unlink(inst);
}

int main(void)
{
	log_init("test_catalog", LOG_TARGET_STDERR);
	log_set_level(LOG_ERR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render_locale_fallback),
	    cmocka_unit_test(test_render_escaping),
	    cmocka_unit_test(test_render_deterministic),
	    cmocka_unit_test(test_render_archived_and_invalid),
	    cmocka_unit_test(test_catalog_get_by_id_and_sku),
	    cmocka_unit_test(test_catalog_list_pages_without_duplicates_or_gaps),
	    cmocka_unit_test(test_catalog_order_with_prefix_and_empty_categories),
	    cmocka_unit_test(test_catalog_list_category_filter),
	    cmocka_unit_test(test_catalog_cursor_survives_category_moves),
	    cmocka_unit_test(test_catalog_drafts_not_served),
	    cmocka_unit_test(test_catalog_archived_hidden),
	    cmocka_unit_test(test_catalog_list_callback_stop_resumes),
	    cmocka_unit_test(test_catalog_list_walk_is_bounded),
	    cmocka_unit_test(test_catalog_corrupt_sections_fail_cleanly),
	    cmocka_unit_test(test_catalog_image_roundtrip),
	    cmocka_unit_test(test_catalog_build_rejects_bad_input),
	    cmocka_unit_test(test_catalog_duplicate_sku_keeps_newest),
	    cmocka_unit_test(test_catalog_delta_matches_full_build),
	    cmocka_unit_test(test_catalog_corrupt_delta_fails_cleanly),
	    cmocka_unit_test(test_catalog_delta_without_catalog_serves_base),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
