/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "common/error.h"
#include "domain/catalog/provider.h"
#include "model/import.h"
#include "model/model.h"
#include "model/perm.h"

/* Every permission has a distinct stable name that maps back to it. */
static void test_perm_names_round_trip(void **state)
{
	(void)state;
	for (unsigned i = PERM_UNSET + 1; i < PERM__COUNT; i++) {
		const char *n = perm_name((perm_id_t)i);
		assert_string_not_equal(n, "unset");
		assert_int_equal(perm_by_name(n), i);
		for (unsigned j = i + 1; j < PERM__COUNT; j++)
			assert_string_not_equal(n, perm_name((perm_id_t)j));
	}
	assert_int_equal(perm_by_name("catalog.write"), PERM_CATALOG_WRITE);
	assert_int_equal(perm_by_name("no.such"), PERM_UNSET);
	assert_string_equal(perm_name((perm_id_t)PERM__COUNT), "unset");
}

/* Default deny: anonymous holds only public; unset is held by no one. */
static void test_perm_allowed_denies_by_default(void **state)
{
	principal_t anon, admin;
	(void)state;
	principal_anonymous(&anon);
	principal_admin(&admin);
	assert_string_equal(anon.id, "anonymous");
	assert_string_equal(admin.id, "admin");
	assert_string_equal(principal_type_name(admin.type), "admin");
	assert_true(perm_allowed(&anon, PERM_PUBLIC, NULL));
	assert_true(perm_allowed(NULL, PERM_PUBLIC, NULL));
	for (unsigned i = PERM_PUBLIC + 1; i < PERM__COUNT; i++) {
		assert_false(perm_allowed(&anon, (perm_id_t)i, NULL));
		assert_false(perm_allowed(NULL, (perm_id_t)i, NULL));
		assert_true(perm_allowed(&admin, (perm_id_t)i, NULL));
	}
	assert_false(perm_allowed(&admin, PERM_UNSET, NULL));
	assert_false(perm_allowed(&admin, (perm_id_t)PERM__COUNT, NULL));
}

/* A kind that uses every field type, as a domain would declare one. */
static const char *const wh_types[] = {"warehouse", "store", "dropship", NULL};
static const model_field_t addr_fields[] = {
    {.name = "line1", .type = MODEL_TEXT, .flags = MODEL_F_REQUIRED | MODEL_F_PII, .max = 10},
    {.name = "country", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED, .max = 2},
};
static const model_field_t tag_item = {.name = "tag", .type = MODEL_NAME, .max = 8};
static const model_field_t t_fields[] = {
    {.name = "code", .type = MODEL_NAME, .flags = MODEL_F_REQUIRED, .max = 16},
    {.name = "type", .type = MODEL_ENUM, .values = wh_types, .def = "\"warehouse\""},
    {.name = "pickup", .type = MODEL_BOOL, .def = "false"},
    {.name = "priority", .type = MODEL_INTEGER, .min = -5, .max = 5, .def = "0"},
    {.name = "opened_at", .type = MODEL_TIMESTAMP},
    {.name = "seller", .type = MODEL_REF, .ref = "seller"},
    {.name = "fee", .type = MODEL_MONEY, .min = 0, .max = 1000},
    {.name = "tags", .type = MODEL_LIST, .item = &tag_item, .max_items = 3},
    {.name = "address", .type = MODEL_OBJECT, .fields = addr_fields, .nfields = 2},
    {.name = "name",
     .type = MODEL_LOCALE_MAP,
     .max = 20,
     .max_items = 4,
     .flags = MODEL_F_DEFAULT_LOCALE | MODEL_F_REQUIRED},
    {.name = "created_by", .type = MODEL_TEXT, .flags = MODEL_F_READONLY},
};
static const model_kind_t t_kind = {
    .magic = MODEL_MAGIC,
    .name = "testkind",
    .plural = "testkinds",
    .title = "Test",
    .fields = t_fields,
    .nfields = sizeof(t_fields) / sizeof(t_fields[0]),
    .doc_max = 4096,
    .perm_read = PERM_CATALOG_READ,
    .perm_write = PERM_CATALOG_WRITE,
    .perm_history = PERM_CATALOG_HISTORY,
};

static bool has_error(const problem_t *p, const char *field)
{
	for (size_t i = 0; i < p->nerrors; i++)
		if (strcmp(p->errors[i].field, field) == 0)
			return true;
	return false;
}

static int validate(const char *text, bool partial, json_t **out, problem_t *p)
{
	json_error_t e;
	json_t *in = json_loads(text, 0, &e);
	assert_non_null(in);
	problem_init(p);
	int rc = model_validate(&t_kind, NULL, in, partial, out, p);
	json_decref(in);
	return rc;
}

/* A good document comes back normalised: table order, defaults, canonical
 * ids, timestamps in UTC with milliseconds, locale tags canonical. */
static void test_model_validate_normalises_every_type(void **state)
{
	(void)state;
	problem_t p;
	json_t *out = NULL;
	assert_int_equal(
	    validate("{\"name\":{\"EN-gb\":\"Depot\",\"en\":\"Depot\"},\"code\":\"W1\","
		     "\"opened_at\":\"2026-03-01T10:00:00.5+02:00\","
		     "\"seller\":\"00112233445566778899AABBCCDDEEFF\","
		     "\"fee\":{\"amount\":250,\"currency\":\"EUR\"},\"tags\":[\"a\",\"b\"],"
		     "\"address\":{\"country\":\"DE\",\"line1\":\"Hafen 1\"}}",
		     false, &out, &p),
	    0);
	char *s = json_dumps(out, JSON_COMPACT);
	assert_string_equal(
	    s, "{\"code\":\"W1\",\"type\":\"warehouse\",\"pickup\":false,\"priority\":0,"
	       "\"opened_at\":\"2026-03-01T08:00:00.500Z\","
	       "\"seller\":\"00112233445566778899aabbccddeeff\","
	       "\"fee\":{\"amount\":250,\"currency\":\"EUR\"},\"tags\":[\"a\",\"b\"],"
	       "\"address\":{\"line1\":\"Hafen 1\",\"country\":\"DE\"},"
	       "\"name\":{\"en-GB\":\"Depot\",\"en\":\"Depot\"}}");
	free(s);
	json_decref(out);
}

/* Every bad field is named at once, with its path. */
static void test_model_validate_names_every_bad_field(void **state)
{
	(void)state;
	problem_t p;
	json_t *out = NULL;
	assert_int_equal(
	    validate("{\"type\":\"shop\",\"pickup\":1,\"priority\":9,"
		     "\"opened_at\":\"2026-02-30T00:00:00Z\",\"seller\":\"xyz\","
		     "\"fee\":{\"amount\":2.5,\"currency\":\"EUR\"},"
		     "\"tags\":[\"ok\",\"no spaces\"],\"address\":{\"line1\":\"x\",\"zip\":1},"
		     "\"name\":{\"fr\":\"Dépôt\"},\"created_by\":\"me\",\"version\":3,"
		     "\"extra\":true}",
		     false, &out, &p),
	    SOUK_EINVAL);
	static const char *const bad[] = {
	    "code",	  "type",	"pickup", "priority",	 "opened_at",
	    "seller",	  "fee/amount", "tags/1", "address/zip", "address/country",
	    "created_by", "version",	"extra"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!has_error(&p, bad[i]))
			fail_msg("no error for %s", bad[i]);
	}
	/* the default locale check waits until the rest is clean */
	assert_int_equal(validate("{\"code\":\"W1\",\"name\":{\"fr\":\"Dépôt\"}}", false, &out, &p),
			 SOUK_EINVAL);
	assert_true(has_error(&p, "name"));
	/* a fragment needs nothing, gets no defaults, and cannot drop a field */
	assert_int_equal(validate("{\"priority\":-5}", true, &out, &p), 0);
	char *s = json_dumps(out, JSON_COMPACT);
	assert_string_equal(s, "{\"priority\":-5}");
	free(s);
	json_decref(out);
	assert_int_equal(validate("{\"tags\":null}", true, &out, &p), SOUK_EINVAL);
	assert_true(has_error(&p, "tags"));
}

/* Every registered kind's table is sound, and names and plurals find it. */
static void test_model_kinds_are_sound(void **state)
{
	(void)state;
	char why[200];
	assert_true(model_nkinds > 0);
	for (size_t i = 0; i < model_nkinds; i++) {
		const model_kind_t *k = model_kinds[i];
		if (model_kind_check(k, why, sizeof(why)) != 0)
			fail_msg("%s", why);
		assert_ptr_equal(model_kind_find(k->name), k);
		assert_ptr_equal(model_kind_by_plural(k->plural, strlen(k->plural)), k);
	}
	assert_int_equal(model_kind_check(&t_kind, why, sizeof(why)), 0);
	assert_null(model_kind_find("no_such_kind"));
	/* a broken table is refused with the reason */
	model_kind_t bad = t_kind;
	bad.perm_write = PERM_UNSET;
	assert_int_equal(model_kind_check(&bad, why, sizeof(why)), SOUK_EINVAL);
	assert_non_null(strstr(why, "permission"));
	static const model_key_t badkey[] = {{.name = "x", .field = "address"}};
	bad = t_kind;
	bad.keys = badkey;
	bad.nkeys = 1;
	assert_int_equal(model_kind_check(&bad, why, sizeof(why)), SOUK_EINVAL);
	/* a kind's image provider must follow it */
	assert_ptr_equal(model_kind_find("product")->image, &catalog_provider_ops);
	bad = t_kind;
	bad.image = &catalog_provider_ops; /* follows products, not this kind */
	assert_int_equal(model_kind_check(&bad, why, sizeof(why)), SOUK_EINVAL);
	assert_non_null(strstr(why, "image provider catalog"));
	/* an import default must name a field of the kind */
	static const model_import_default_t baddef[] = {{.field = "colour", .json = "\"red\""}};
	static const model_import_t badimp = {.defaults = baddef, .ndefaults = 1};
	bad = t_kind;
	bad.import = &badimp;
	assert_int_equal(model_kind_check(&bad, why, sizeof(why)), SOUK_EINVAL);
	assert_non_null(strstr(why, "colour"));
}

/* A product holds its sku as a unique key and seller and category as
 * secondary keys, each encoded name \0 value. */
static void test_model_keys_of_a_product(void **state)
{
	(void)state;
	const model_kind_t *k = model_kind_find("product");
	assert_non_null(k);
	json_error_t e;
	json_t *doc =
	    json_loads("{\"sku\":\"A 1\",\"seller\":\"s1\",\"category\":\"home\"}", 0, &e);
	model_keys_t keys;
	assert_int_equal(model_keys(k, doc, &keys), 0);
	assert_int_equal(keys.nunique, 1);
	assert_int_equal(keys.unique_len[0], 7);
	assert_memory_equal(keys.unique[0], "sku\0A 1", 7);
	assert_int_equal(keys.nindex, 2);
	assert_memory_equal(keys.index[0], "seller\0s1", 9);
	assert_memory_equal(keys.index[1], "category\0home", 13);
	json_object_del(doc, "seller");
	assert_int_equal(model_keys(k, doc, &keys), 0);
	assert_int_equal(keys.nindex, 1);
	json_decref(doc);
}

/* A key over a list holds one value per element: a channel claims its code
 * and each of its hostnames. */
static void test_model_keys_over_a_list(void **state)
{
	(void)state;
	const model_kind_t *k = model_kind_find("channel");
	assert_non_null(k);
	json_error_t e;
	json_t *doc = json_loads("{\"code\":\"uk\",\"status\":\"active\","
				 "\"hostnames\":[\"a.example\",\"b.example\"]}",
				 0, &e);
	model_keys_t keys;
	assert_int_equal(model_keys(k, doc, &keys), 0);
	assert_int_equal(keys.nunique, 3);
	assert_int_equal(keys.nindex, 1);
	assert_int_equal(keys.unique_len[2], strlen("hostname") + 1 + strlen("b.example"));
	assert_memory_equal(keys.unique[2], "hostname\0b.example", keys.unique_len[2]);
	json_decref(doc);
}

/* A composite key joins several fields: a variant's product and its options
 * (a map, in its canonical form, so member order does not matter) claim one
 * unique key, and the same combination in another order is the same key. */
static const model_field_t v_fields[] = {
    {.name = "product", .type = MODEL_REF, .flags = MODEL_F_REQUIRED, .ref = "product"},
    {.name = "options", .type = MODEL_MAP, .max = 32, .max_items = 8, .max_key = 32},
    {.name = "sku", .type = MODEL_NAME, .max = 16},
    {.name = "rank", .type = MODEL_INTEGER, .min = 0, .max = 100},
    {.name = "tags", .type = MODEL_LIST, .item = &tag_item, .max_items = 3},
};
static const char *const v_combo[] = {"options", NULL};
static const char *const v_sku_rank[] = {"rank", NULL};
static const model_key_t v_keys[] = {
    {.name = "combo", .field = "product", .flags = MODEL_KEY_UNIQUE, .also = v_combo},
    {.name = "sku", .field = "sku", .flags = MODEL_KEY_UNIQUE | MODEL_KEY_LOOKUP},
    {.name = "sku_rank", .field = "sku", .flags = 0, .also = v_sku_rank},
};
static const model_kind_t v_kind = {
    .magic = MODEL_MAGIC,
    .name = "vkind",
    .plural = "vkinds",
    .title = "Variant",
    .fields = v_fields,
    .nfields = sizeof(v_fields) / sizeof(v_fields[0]),
    .keys = v_keys,
    .nkeys = sizeof(v_keys) / sizeof(v_keys[0]),
    .doc_max = 4096,
    .perm_read = PERM_CATALOG_READ,
    .perm_write = PERM_CATALOG_WRITE,
    .perm_history = PERM_CATALOG_HISTORY,
};

static void keys_of(const char *text, model_keys_t *keys)
{
	json_error_t e;
	json_t *in = json_loads(text, 0, &e), *norm = NULL;
	problem_t p;
	assert_non_null(in);
	problem_init(&p);
	assert_int_equal(model_validate(&v_kind, NULL, in, false, &norm, &p), 0);
	assert_int_equal(model_keys(&v_kind, norm, keys), 0);
	json_decref(norm);
	json_decref(in);
}

static void test_model_composite_keys(void **state)
{
	(void)state;
	char why[200];
	assert_int_equal(model_kind_check(&v_kind, why, sizeof(why)), 0);
	model_keys_t a, b;
	keys_of("{\"product\":\"0123456789abcdef0123456789abcdef\",\"sku\":\"V-1\",\"rank\":7,"
		"\"options\":{\"size\":\"M\",\"colour\":\"red\"}}",
		&a);
	keys_of("{\"options\":{\"colour\":\"red\",\"size\":\"M\"},\"rank\":7,\"sku\":\"V-2\","
		"\"product\":\"0123456789ABCDEF0123456789abcdef\"}",
		&b);
	static const char want[] = "combo\0"
				   "0123456789abcdef0123456789abcdef\x1f"
				   "{\"colour\":\"red\",\"size\":\"M\"}";
	assert_int_equal(a.nunique, 2);
	assert_int_equal(a.unique_len[0], sizeof(want) - 1);
	assert_memory_equal(a.unique[0], want, sizeof(want) - 1);
	assert_int_equal(b.unique_len[0], a.unique_len[0]);
	assert_memory_equal(b.unique[0], a.unique[0], a.unique_len[0]);
	/* the secondary composite key: a name and an integer */
	assert_int_equal(a.nindex, 1);
	assert_int_equal(a.index_len[0], sizeof("sku_rank\0V-1\x1f" "7") - 1);
	assert_memory_equal(a.index[0], "sku_rank\0V-1\x1f" "7", a.index_len[0]);
	/* another combination is another key */
	keys_of("{\"product\":\"0123456789abcdef0123456789abcdef\","
		"\"options\":{\"colour\":\"red\",\"size\":\"L\"}}",
		&b);
	assert_int_equal(b.nunique, 1);
	assert_false(b.unique_len[0] == a.unique_len[0] &&
		     memcmp(b.unique[0], a.unique[0], a.unique_len[0]) == 0);
	/* a document lacking a part holds no such key */
	keys_of("{\"product\":\"0123456789abcdef0123456789abcdef\",\"sku\":\"V-3\"}", &b);
	assert_int_equal(b.nunique, 1);
	assert_memory_equal(b.unique[0], "sku\0V-3", 7);
	assert_int_equal(b.nindex, 0);
	/* text holding the separator is no key value (validation refuses it) */
	json_t *raw = json_pack("{s:s,s:{s:s}}", "product", "0123456789abcdef0123456789abcdef",
				"options", "size", "M");
	assert_int_equal(model_keys(&v_kind, raw, &b), 0);
	json_object_set_new(raw, "product", json_string("a\x1f" "b"));
	assert_int_equal(model_keys(&v_kind, raw, &b), SOUK_EINVAL);
	json_decref(raw);

	/* what the table check refuses */
	static const char *const on_list[] = {"tags", NULL};
	static const char *const on_missing[] = {"colour", NULL};
	static const char *const twice[] = {"sku", NULL};
	static const char *const none[] = {NULL};
	const struct {
		model_key_t key;
		const char *says;
	} bad[] = {
	    {{.name = "k", .field = "sku", .flags = MODEL_KEY_UNIQUE | MODEL_KEY_LOOKUP,
	      .also = v_sku_rank},
	     "lookup"},
	    {{.name = "k", .field = "sku", .also = on_list}, "no scalar, object or map"},
	    {{.name = "k", .field = "sku", .also = on_missing}, "names no field colour"},
	    {{.name = "k", .field = "sku", .also = twice}, "twice"},
	    {{.name = "k", .field = "sku", .also = none}, "no further field"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		model_kind_t k = v_kind;
		k.keys = &bad[i].key;
		k.nkeys = 1;
		assert_int_equal(model_kind_check(&k, why, sizeof(why)), SOUK_EINVAL);
		if (strstr(why, bad[i].says) == NULL)
			fail_msg("case %zu: '%s' does not say '%s'", i, why, bad[i].says);
	}
}

/* A price claims its tier (list, sku, min_qty) as one unique key and is
 * indexed by list and by sku. */
static void test_model_keys_of_a_price(void **state)
{
	(void)state;
	const model_kind_t *k = model_kind_find("price");
	assert_non_null(k);
	json_error_t e;
	json_t *doc = json_loads("{\"list\":\"uk\",\"sku\":\"A 1\",\"amount\":900,\"min_qty\":10}", 0,
				 &e);
	model_keys_t keys;
	assert_int_equal(model_keys(k, doc, &keys), 0);
	static const char tier[] = "tier\0uk\x1f" "A 1\x1f" "10";
	assert_int_equal(keys.nunique, 1);
	assert_int_equal(keys.unique_len[0], sizeof(tier) - 1);
	assert_memory_equal(keys.unique[0], tier, sizeof(tier) - 1);
	assert_int_equal(keys.nindex, 2);
	assert_memory_equal(keys.index[0], "list\0uk", 7);
	assert_memory_equal(keys.index[1], "sku\0A 1", 7);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_perm_names_round_trip),
	    cmocka_unit_test(test_perm_allowed_denies_by_default),
	    cmocka_unit_test(test_model_validate_normalises_every_type),
	    cmocka_unit_test(test_model_validate_names_every_bad_field),
	    cmocka_unit_test(test_model_kinds_are_sound),
	    cmocka_unit_test(test_model_keys_of_a_product),
	    cmocka_unit_test(test_model_keys_over_a_list),
	    cmocka_unit_test(test_model_composite_keys),
	    cmocka_unit_test(test_model_keys_of_a_price),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
