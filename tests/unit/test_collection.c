/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Collections in the image: the section (build, bind, lookups, damaged
 * bytes refused) and its provider, which evaluates rule collections against
 * the products it is given and moves one product in or out of them on a
 * write without evaluating the others.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/error.h"
#include "domain/catalog/collection_image.h"
#include "domain/catalog/collection_provider.h"

static store_id_t id_of(unsigned n)
{
	store_id_t id;
	memset(&id, 0, sizeof(id));
	id.b[0] = (uint8_t)(n >> 24);
	id.b[1] = (uint8_t)(n >> 16);
	id.b[2] = (uint8_t)(n >> 8);
	id.b[3] = (uint8_t)n;
	id.b[15] = 0x5a;
	return id;
}

static void test_collection_section_build_and_read(void **state)
{
	(void)state;
	store_id_t m[3] = {id_of(9), id_of(2), id_of(5)}, r[2] = {id_of(2), id_of(7)};
	json_t *n1 = json_pack("{s:s,s:s}", "en", "Gifts", "ar", "هدايا");
	json_t *n2 = json_pack("{s:s}", "en", "Cups");
	col_src_t src[] = {
	    {.code = "gifts", .name = n1, .kind = COL_KIND_MANUAL, .members = m, .nmembers = 3},
	    {.code = "cups", .name = n2, .kind = COL_KIND_RULE, .members = r, .nmembers = 2},
	    {.code = "empty", .name = NULL, .kind = COL_KIND_RULE},
	};
	void *sec = NULL;
	size_t len = 0;
	col_view_t v;
	assert_int_equal(col_build_mem(src, 3, 42, &sec, &len), 0);
	assert_int_equal(col_view_init_mem(sec, len, &v), 0);
	assert_int_equal(v.n, 3);
	assert_int_equal(v.seq, 42);
	uint32_t g = col_find(&v, "gifts", 5), c = col_find(&v, "cups", 4);
	assert_int_not_equal(g, COL_IMG_NONE);
	assert_int_equal(col_find(&v, "gift", 4), COL_IMG_NONE);
	assert_int_equal(v.recs[g].kind, COL_KIND_MANUAL);
	/* manual order as listed */
	const store_id_t *gm = &v.members[v.recs[g].members_first];
	assert_memory_equal(gm[0].b, m[0].b, 16);
	assert_memory_equal(gm[2].b, m[2].b, 16);
	/* names by locale list, with the direction */
	const char *loc;
	bool rtl;
	assert_string_equal(col_name(&v, g, "ar,en", 5, &loc, &rtl), "هدايا");
	assert_string_equal(loc, "ar");
	assert_true(rtl);
	assert_string_equal(col_name(&v, g, "fr", 2, &loc, &rtl), "Gifts");
	assert_false(rtl);
	uint32_t e = col_find(&v, "empty", 5);
	assert_string_equal(col_name(&v, e, "en", 2, &loc, NULL), "empty");
	assert_string_equal(loc, "");
	/* membership is per collection */
	assert_int_not_equal(col_member(&v, g, &m[1]), COL_IMG_NONE);
	assert_int_not_equal(col_member(&v, c, &m[1]), COL_IMG_NONE);
	store_id_t seven = id_of(7), eight = id_of(8);
	assert_int_equal(col_member(&v, g, &seven), COL_IMG_NONE);
	assert_int_equal(col_member(&v, e, &seven), COL_IMG_NONE);
	/* resuming: after the product where it is now; a rule collection the
	 * product left resumes above its id, a manual one at its position */
	assert_int_equal(col_resume(&v, g, 0, &m[1]), v.recs[g].members_first + 2);
	assert_int_equal(col_resume(&v, c, 0, &eight), v.recs[c].members_first + 2);
	store_id_t three = id_of(3);
	assert_int_equal(col_resume(&v, c, 0, &three), v.recs[c].members_first + 1);
	assert_int_equal(col_resume(&v, g, 1, &eight), v.recs[g].members_first + 1);
	/* damaged bytes are refused, never read */
	uint8_t *bad = malloc(len);
	memcpy(bad, sec, len);
	bad[0] ^= 1;
	assert_int_equal(col_view_init_mem(bad, len, &v), SOUK_ECORRUPT);
	assert_int_equal(col_view_init_mem(sec, len / 2, &v), SOUK_ECORRUPT);
	memcpy(bad, sec, len);
	((uint32_t *)bad)[1] = 1000; /* more collections than there are */
	assert_int_equal(col_view_init_mem(bad, len, &v), SOUK_ECORRUPT);
	free(bad);
	free(sec);
	/* a code twice, or a product twice in one collection, is refused */
	col_src_t dup[] = {src[1], src[1]};
	assert_int_equal(col_build_mem(dup, 2, 1, &sec, &len), SOUK_EEXIST);
	store_id_t twice[2] = {id_of(1), id_of(1)};
	col_src_t rep = {.code = "x", .kind = COL_KIND_MANUAL, .members = twice, .nmembers = 2};
	assert_int_equal(col_build_mem(&rep, 1, 1, &sec, &len), SOUK_EEXIST);
	json_decref(n1);
	json_decref(n2);
}

static void test_collection_cursor_round_trip(void **state)
{
	(void)state;
	char c[COL_CURSOR_MAX];
	uint32_t pos = 0;
	store_id_t id = id_of(77), back;
	col_cursor_make(4294967295u, &id, c);
	assert_int_equal(col_cursor_parse(c, strlen(c), &pos, &back), 0);
	assert_int_equal(pos, 4294967295u);
	assert_memory_equal(back.b, id.b, 16);
	static const char *const bad[] = {
	    "",
	    ".",
	    "x",
	    "1.",
	    ".0000004d00000000000000000000005a",
	    "4294967296.0000004d00000000000000000000005a",
	    "-1.0000004d00000000000000000000005a",
	    "1.0000004d00000000000000000000005",
	    "1.0000004d00000000000000000000005az",
	    "1.0000004d0000000000000000000000zz",
	    "12345678901.0000004d00000000000000000000005a",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(col_cursor_parse(bad[i], strlen(bad[i]), &pos, &back),
				 SOUK_EINVAL);
}

/* ---- the provider ---- */

typedef struct {
	provider_t pv;
	col_view_t v;
	void *sec;
} pfix_t;

static void put(pfix_t *f, const char *kind, unsigned n, const char *doc)
{
	store_id_t id = id_of(n);
	assert_int_equal(collection_provider_put(f->pv.st, kind, &id, doc, doc ? strlen(doc) : 0),
			 0);
}

static void product(pfix_t *f, unsigned n, const char *cat, const char *colour, long gbp)
{
	char doc[256];
	snprintf(doc, sizeof(doc),
		 "{\"sku\":\"P%u\",\"status\":\"published\",\"category\":\"%s\","
		 "\"attributes\":{\"colour\":\"%s\"},\"price\":{\"GBP\":%ld}}",
		 n, cat, colour, gbp);
	put(f, "product", n, doc);
}

static void build(pfix_t *f)
{
	size_t len;
	free(f->sec);
	f->sec = NULL;
	assert_int_equal(collection_provider_section(f->pv.st, 1, &f->sec, &len), 0);
	assert_int_equal(col_view_init_mem(f->sec, len, &f->v), 0);
}

/* "n,n,..." of the members of code in the last build ("-" when absent) */
static const char *members(pfix_t *f, const char *code)
{
	static char out[512];
	uint32_t i = col_find(&f->v, code, strlen(code));
	size_t o = 0;
	if (i == COL_IMG_NONE)
		return "-";
	out[0] = '\0';
	for (uint32_t k = 0; k < f->v.recs[i].nmembers; k++) {
		const uint8_t *b = f->v.members[f->v.recs[i].members_first + k].b;
		unsigned n =
		    (unsigned)b[0] << 24 | (unsigned)b[1] << 16 | (unsigned)b[2] << 8 | b[3];
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%u", k ? "," : "", n);
	}
	return out;
}

static int pfix_setup(void **state)
{
	pfix_t *f = calloc(1, sizeof(*f));
	if (!f || collection_provider_new(&f->pv) != 0)
		return -1;
	*state = f;
	return 0;
}

static int pfix_teardown(void **state)
{
	pfix_t *f = *state;
	f->pv.ops->free(f->pv.st);
	free(f->sec);
	free(f);
	return 0;
}

static char manual_doc[256];

static const char *manual(unsigned a, unsigned b)
{
	char x[33], y[33];
	store_id_t ia = id_of(a), ib = id_of(b);
	store_id_hex(&ia, x);
	store_id_hex(&ib, y);
	snprintf(manual_doc, sizeof(manual_doc),
		 "{\"code\":\"picks\",\"name\":{\"en\":\"Picks\"},\"status\":\"active\","
		 "\"kind\":\"manual\",\"products\":[\"%s\",\"%s\"]}",
		 x, y);
	return manual_doc;
}

static void test_collection_provider_rules_follow_products(void **state)
{
	pfix_t *f = *state;
	put(f, "category", 100,
	    "{\"code\":\"home\",\"name\":{\"en\":\"Home\"},\"status\":\"active\"}");
	put(f, "category", 101,
	    "{\"code\":\"kitchen\",\"name\":{\"en\":\"Kitchen\"},\"parent\":\"home\","
	    "\"status\":\"active\"}");
	put(f, "category", 102,
	    "{\"code\":\"garden\",\"name\":{\"en\":\"Garden\"},\"status\":\"active\"}");
	product(f, 1, "kitchen", "red", 500);
	product(f, 2, "home", "blue", 1500);
	product(f, 3, "garden", "red", 700);
	product(f, 4, "nowhere", "red", 100);
	put(f, "collection", 200,
	    "{\"code\":\"home-all\",\"name\":{\"en\":\"Home\"},\"status\":\"active\",\"kind\":"
	    "\"rule\","
	    "\"rule\":{\"category\":\"home\"}}");
	put(f, "collection", 201,
	    "{\"code\":\"red-cheap\",\"name\":{\"en\":\"Red\"},\"status\":\"active\",\"kind\":"
	    "\"rule\","
	    "\"rule\":{\"attributes\":{\"colour\":\"red\"},\"price_max\":600,\"currency\":\"GBP\"}"
	    "}");
	put(f, "collection", 202,
	    "{\"code\":\"lost\",\"name\":{\"en\":\"Lost\"},\"status\":\"active\",\"kind\":\"rule\","
	    "\"rule\":{\"category\":\"missing\"}}");
	put(f, "collection", 203,
	    "{\"code\":\"soon\",\"name\":{\"en\":\"Soon\"},\"status\":\"draft\",\"kind\":\"rule\","
	    "\"rule\":{\"category\":\"home\"}}");
	put(f, "collection", 204, manual(3, 1));
	build(f);
	assert_string_equal(members(f, "home-all"), "1,2");
	assert_string_equal(members(f, "red-cheap"), "1,4");
	assert_string_equal(members(f, "lost"), "");	 /* its category is not live */
	assert_string_equal(members(f, "soon"), "-");	 /* drafts are not served */
	assert_string_equal(members(f, "picks"), "3,1"); /* as listed */

	/* a product write evaluates that product only */
	uint64_t e0 = collection_provider_evaluations(f->pv.st);
	product(f, 3, "kitchen", "red", 550); /* moves in to both */
	assert_int_equal(collection_provider_evaluations(f->pv.st), e0 + 1);
	build(f);
	assert_int_equal(collection_provider_evaluations(f->pv.st), e0 + 1);
	assert_string_equal(members(f, "home-all"), "1,2,3");
	assert_string_equal(members(f, "red-cheap"), "1,3,4");
	product(f, 1, "kitchen", "blue", 500); /* leaves red-cheap only */
	put(f, "product", 2, "{\"sku\":\"P2\",\"status\":\"archived\",\"category\":\"home\"}");
	put(f, "product", 4, NULL); /* gone */
	build(f);
	assert_string_equal(members(f, "home-all"), "1,3");
	assert_string_equal(members(f, "red-cheap"), "3");
	assert_int_equal(collection_provider_evaluations(f->pv.st), e0 + 2);

	/* a category change: every rule again (the kitchen leaves home) */
	put(f, "category", 101,
	    "{\"code\":\"kitchen\",\"name\":{\"en\":\"Kitchen\"},\"parent\":\"garden\","
	    "\"status\":\"active\"}");
	build(f);
	assert_string_equal(members(f, "home-all"), "");
	/* the missing category appears: its collection matches */
	put(f, "category", 103,
	    "{\"code\":\"missing\",\"name\":{\"en\":\"M\"},\"status\":\"active\"}");
	product(f, 5, "missing", "green", 1);
	build(f);
	assert_string_equal(members(f, "lost"), "5");
	/* the draft is published; the manual collection is archived */
	put(f, "collection", 203,
	    "{\"code\":\"soon\",\"name\":{\"en\":\"Soon\"},\"status\":\"active\",\"kind\":\"rule\","
	    "\"rule\":{\"category\":\"garden\"}}");
	put(f, "collection", 204, NULL);
	build(f);
	assert_string_equal(members(f, "soon"), "1,3");
	assert_string_equal(members(f, "picks"), "-");
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* 20,000 products and four rule collections: a product write costs one
 * evaluation, whatever the catalog's size; the build times are printed
 * (figures, not assertions: tests never depend on machine speed). */
static void test_collection_provider_large_catalog(void **state)
{
	pfix_t *f = *state;
	enum { N = 20000 };
	static const char *const cats[] = {"home", "kitchen", "garden", "toys"};
	put(f, "category", 900000, "{\"code\":\"home\",\"status\":\"active\"}");
	put(f, "category", 900001,
	    "{\"code\":\"kitchen\",\"parent\":\"home\",\"status\":\"active\"}");
	put(f, "category", 900002, "{\"code\":\"garden\",\"status\":\"active\"}");
	put(f, "category", 900003, "{\"code\":\"toys\",\"status\":\"active\"}");
	double t0 = now_ms();
	for (unsigned i = 1; i <= N; i++)
		product(f, i, cats[i % 4], i % 3 ? "red" : "blue", (long)(i % 1000));
	double load = now_ms() - t0;
	put(f, "collection", 800000,
	    "{\"code\":\"home\",\"name\":{\"en\":\"Home\"},\"status\":\"active\",\"kind\":\"rule\","
	    "\"rule\":{\"category\":\"home\"}}");
	put(f, "collection", 800001,
	    "{\"code\":\"red\",\"name\":{\"en\":\"Red\"},\"status\":\"active\",\"kind\":\"rule\","
	    "\"rule\":{\"attributes\":{\"colour\":\"red\"}}}");
	put(f, "collection", 800002,
	    "{\"code\":\"cheap\",\"name\":{\"en\":\"Cheap\"},\"status\":\"active\",\"kind\":"
	    "\"rule\","
	    "\"rule\":{\"price_max\":99,\"currency\":\"GBP\"}}");
	put(f, "collection", 800003,
	    "{\"code\":\"toys\",\"name\":{\"en\":\"Toys\"},\"status\":\"active\",\"kind\":\"rule\","
	    "\"rule\":{\"category\":\"toys\",\"attributes\":{\"colour\":\"blue\"}}}");
	t0 = now_ms();
	build(f);
	double full = now_ms() - t0;
	uint32_t h = col_find(&f->v, "home", 4);
	assert_int_equal(f->v.recs[h].nmembers, N / 2); /* home and kitchen */
	uint64_t e0 = collection_provider_evaluations(f->pv.st);
	t0 = now_ms();
	product(f, 4, "garden", "red", 5); /* leaves home */
	double one = now_ms() - t0;
	t0 = now_ms();
	build(f);
	double rebuild = now_ms() - t0;
	assert_int_equal(collection_provider_evaluations(f->pv.st), e0 + 1);
	assert_int_equal(f->v.recs[col_find(&f->v, "home", 4)].nmembers, N / 2 - 1);
	print_message("collections, %d products, 4 rules, %u members: products taken in %.1f ms, "
		      "first build %.1f ms, one product %.3f ms, section again %.1f ms\n",
		      N, f->v.nmembers, load, full, one, rebuild);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_collection_section_build_and_read),
	    cmocka_unit_test(test_collection_cursor_round_trip),
	    cmocka_unit_test_setup_teardown(test_collection_provider_rules_follow_products,
					    pfix_setup, pfix_teardown),
	    cmocka_unit_test_setup_teardown(test_collection_provider_large_catalog, pfix_setup,
					    pfix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
