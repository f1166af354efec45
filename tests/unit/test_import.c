/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/test_import.c - catalog import and export (CSV, JSON Lines). */
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
#include "daemon/import.h"
#include "domain/catalog/product.h"
#include "domain/catalog/category.h"
#include "domain/catalog/product_type.h"
#include "domain/inventory/warehouse.h"
#include "domain/pricing/price.h"
#include "common/problem.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

#define DEMO_CSV "data/demo/catalog.csv"

typedef struct {
	char dir[64];
	char db[96];
	store_t *s;
	/* per-line errors reported by the importer */
	uint64_t err_lines[64];
	char err_msgs[64][256];
	size_t nerr;
} fix_t;

static int setup(void **state)
{
	fix_t *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	if (fixture_tmpdir(f->dir, sizeof(f->dir), "import") != 0 ||
	    fixture_store_open(f->dir, f->db, sizeof(f->db), &f->s) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fix_t *f = *state;
	store_close(&f->s);
	fixture_rm_rf(f->dir);
	free(f);
	return 0;
}

static void on_error(void *arg, uint64_t line, const char *msg)
{
	fix_t *f = arg;
	if (f->nerr < 64) {
		f->err_lines[f->nerr] = line;
		snprintf(f->err_msgs[f->nerr], sizeof(f->err_msgs[0]), "%s", msg);
	}
	f->nerr++;
}

static import_opts_t opts_for(fix_t *f, import_format_t fmt)
{
	import_opts_t o;
	memset(&o, 0, sizeof(o));
	o.format = fmt;
	o.on_error = on_error;
	o.error_arg = f;
	o.default_stock = 10;
	return o;
}

/* the stored document of kind whose unique key name has value */
static json_t *get_by_key(store_t *s, const char *kind, const char *name, const char *value)
{
	char key[128];
	size_t nl = strlen(name) + 1, n = strlen(value);
	store_rec_t rec;
	json_error_t e;
	memcpy(key, name, nl);
	memcpy(key + nl, value, n);
	memset(&rec, 0, sizeof(rec));
	if (store_get_by_key(s, kind, key, nl + n, &rec) != 0)
		return NULL;
	json_t *j = json_loadb(rec.doc, rec.doc_len, 0, &e);
	store_rec_deinit(&rec);
	return j;
}

static json_t *get_sku(store_t *s, const char *sku)
{
	return get_by_key(s, "product", "sku", sku);
}

static const char *title_en(json_t *doc)
{
	return json_string_value(json_object_get(json_object_get(doc, "title"), "en"));
}

static json_int_t price(json_t *doc, const char *cur)
{
	return json_integer_value(json_object_get(json_object_get(doc, "price"), cur));
}

/* ---- pieces ---------------------------------------------------------------------- */

static void test_import_parse_decimal_exact(void **state)
{
	uint64_t v = 0;
	(void)state;
	assert_int_equal(import_parse_decimal("0.85", 4, 2, &v), 0);
	assert_int_equal(v, 85);
	assert_int_equal(import_parse_decimal("25.0", 4, 2, &v), 0);
	assert_int_equal(v, 2500);
	assert_int_equal(import_parse_decimal("11062.06", 8, 2, &v), 0);
	assert_int_equal(v, 1106206);
	assert_int_equal(import_parse_decimal(" 7 ", 3, 2, &v), 0);
	assert_int_equal(v, 700);
	assert_int_equal(import_parse_decimal("1.250", 5, 2, &v), 0);
	assert_int_equal(v, 125);
	assert_int_equal(import_parse_decimal("0.29", 4, 2, &v), 0); /* 0.29 is not exact in binary */
	assert_int_equal(v, 29);
	assert_int_equal(import_parse_decimal("100", 3, 0, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(import_parse_decimal("1.5", 3, 3, &v), 0);
	assert_int_equal(v, 1500);
	assert_int_equal(import_parse_decimal("0.855", 5, 2, &v), SOUK_EINVAL);
	assert_int_equal(import_parse_decimal("100.5", 5, 0, &v), SOUK_EINVAL);
	assert_int_equal(import_parse_decimal("-1", 2, 2, &v), SOUK_EINVAL);
	assert_int_equal(import_parse_decimal("", 0, 2, &v), SOUK_EINVAL);
	assert_int_equal(import_parse_decimal("1.", 2, 2, &v), SOUK_EINVAL);
	assert_int_equal(import_parse_decimal(".5", 2, 2, &v), SOUK_EINVAL);
	assert_int_equal(import_parse_decimal("1e3", 3, 2, &v), SOUK_EINVAL);
	assert_int_equal(import_parse_decimal("99999999999999999999", 20, 2, &v), SOUK_EINVAL);
}


static void test_import_csv_reader_quotes_and_line_numbers(void **state)
{
	const char *csv = "\xef\xbb\xbf"
			  "a,b,c\r\n"
			  "1,\"x, y\",\"say \"\"hi\"\"\"\r\n"
			  "\n"
			  "2,\"two\nlines\",z\n"
			  "3,\"open,q\n"
			  "4,ok,\"bad\"x\n"
			  "5,,\n";
	import_csv_t r;
	uint64_t line = 0;
	const char *err;
	(void)state;
	import_csv_init(&r, csv, strlen(csv));
	assert_int_equal(import_csv_next(&r, &line, &err), 1);
	assert_int_equal(line, 1);
	assert_int_equal(r.nfields, 3);
	assert_string_equal(r.buf + r.off[0], "a");
	assert_int_equal(import_csv_next(&r, &line, &err), 1);
	assert_int_equal(line, 2);
	assert_string_equal(r.buf + r.off[1], "x, y");
	assert_string_equal(r.buf + r.off[2], "say \"hi\"");
	assert_int_equal(import_csv_next(&r, &line, &err), 1);
	assert_int_equal(line, 4);
	assert_string_equal(r.buf + r.off[1], "two\nlines");
	/* an unterminated quote spoils only its own line */
	assert_int_equal(import_csv_next(&r, &line, &err), SOUK_EINVAL);
	assert_int_equal(line, 6);
	assert_non_null(err);
	assert_int_equal(import_csv_next(&r, &line, &err), SOUK_EINVAL);
	assert_int_equal(line, 7);
	assert_int_equal(import_csv_next(&r, &line, &err), 1);
	assert_int_equal(line, 8);
	assert_int_equal(r.nfields, 3);
	assert_int_equal(r.len[1], 0);
	assert_int_equal(import_csv_next(&r, &line, &err), 0);
	import_csv_deinit(&r);
}

/* ---- the demo catalog ------------------------------------------------------------- */

static void test_import_demo_csv_creates_all_products(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_AUTO);
	import_stats_t st;
	assert_int_equal(import_file(f->s, DEMO_CSV, &o, &st), 0);
	assert_int_equal(f->nerr, 0);
	assert_int_equal(st.records, 3938);
	assert_int_equal(st.created, 3938);
	assert_int_equal(st.failed, 0);
	assert_int_equal(fixture_last_seq(f->s), 3938);

	json_t *d = get_sku(f->s, "10002");
	assert_non_null(d);
	assert_string_equal(title_en(d), "INFLATABLE POLITICAL GLOBE");
	assert_int_equal(price(d, "GBP"), 85);
	assert_int_equal(json_integer_value(json_object_get(d, "stock")), 73);
	assert_string_equal(json_string_value(json_object_get(d, "status")), "published");
	assert_string_equal(json_string_value(json_object_get(d, "category")), "toys");
	json_decref(d);
	d = get_sku(f->s, "21228");
	assert_string_equal(title_en(d), "POCKET MIRROR \"GLAMOROUS\"");
	json_decref(d);
	d = get_sku(f->s, "21111"); /* runs of spaces collapsed */
	assert_string_equal(title_en(d), "SWISS ROLL TOWEL, CHOCOLATE SPOTS");
	json_decref(d);
	d = get_sku(f->s, "gift_0001_30");
	assert_int_equal(price(d, "GBP"), 2500);
	assert_string_equal(title_en(d), "Dotcomgiftshop Gift Voucher \xc2\xa3"
					 "30.00");
	json_decref(d);
	/* SKUs differing only in case are different products */
	json_t *m = get_sku(f->s, "M"), *lm = get_sku(f->s, "m");
	assert_non_null(m);
	assert_non_null(lm);
	json_decref(m);
	json_decref(lm);

	/* re-import: nothing changes, nothing is written */
	memset(&st, 0, sizeof(st));
	assert_int_equal(import_file(f->s, DEMO_CSV, &o, &st), 0);
	assert_int_equal(st.unchanged, 3938);
	assert_int_equal(st.created + st.updated + st.failed, 0);
	assert_int_equal(fixture_last_seq(f->s), 3938);
}

static void test_import_bad_lines_reported_with_line_numbers(void **state)
{
	fix_t *f = *state;
	const char *csv = "StockCode,Description,MedianUnitPriceGBP,Lines\n"
			  "A1,FIRST THING,1.50,3\n"           /* 2 ok */
			  "A2,SECOND THING,1.505,3\n"         /* 3 bad price */
			  "A3,THIRD THING\n"                  /* 4 missing fields */
			  "A4,\"FOURTH,0.5,1\n"               /* 5 unterminated quote */
			  "A5,FIFTH THING,0.99,x\n"           /* 6 bad count */
			  ",NO SKU,1,1\n"                     /* 7 empty sku */
			  "A7,,1,1\n"                         /* 8 no title */
			  "A8,LAST THING,2,1\n";              /* 9 ok */
	import_opts_t o = opts_for(f, IMPORT_FMT_CSV);
	import_stats_t st;
	assert_int_equal(import_mem(f->s, csv, strlen(csv), &o, &st), 0);
	assert_int_equal(st.created, 2);
	assert_int_equal(st.failed, 6);
	assert_int_equal(f->nerr, 6);
	uint64_t want[] = { 3, 4, 5, 6, 7, 8 };
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(f->err_lines[i], want[i]);
	assert_non_null(strstr(f->err_msgs[0], "price"));
	assert_non_null(strstr(f->err_msgs[5], "title"));
	json_t *d = get_sku(f->s, "A8");
	assert_non_null(d);
	assert_int_equal(price(d, "GBP"), 200);
	json_decref(d);

	/* a bad header stops the import before writing anything */
	f->nerr = 0;
	const char *bad = "sku,colour\nX,red\n";
	uint64_t seq = fixture_last_seq(f->s);
	assert_int_equal(import_mem(f->s, bad, strlen(bad), &o, &st), SOUK_EINVAL);
	assert_int_equal(f->nerr, 1);
	assert_int_equal(f->err_lines[0], 1);
	assert_non_null(strstr(f->err_msgs[0], "colour"));
	assert_int_equal(fixture_last_seq(f->s), seq);
}

static void test_import_csv_prices_in_iso_minor_units(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_CSV);
	import_stats_t st;
	/* IQD has 3 ISO minor units (CLDR shows 0), JPY none, ZWG 2 */
	const char *csv = "StockCode,Description,price_iqd,price_JPY,price_zwg,Lines\n"
			  "C1,LAMP,2.500,1200,3.75,1\n"
			  "C2,LAMP,2.5001,1200,3.75,1\n";
	assert_int_equal(import_mem(f->s, csv, strlen(csv), &o, &st), 0);
	assert_int_equal(st.created, 1);
	assert_int_equal(f->nerr, 1);
	json_t *d = get_sku(f->s, "C1");
	assert_non_null(d);
	assert_int_equal(price(d, "IQD"), 2500);
	assert_int_equal(price(d, "JPY"), 1200);
	assert_int_equal(price(d, "ZWG"), 375);
	json_decref(d);
	/* a column in a code that is no currency is named */
	const char *bad = "StockCode,Description,price_QQQ,Lines\nC3,LAMP,1.00,1\n";
	f->nerr = 0;
	assert_int_equal(import_mem(f->s, bad, strlen(bad), &o, &st), 0);
	assert_int_equal(f->nerr, 1);
	assert_non_null(strstr(f->err_msgs[0], "'QQQ' is not an ISO 4217 currency code"));
}

static void test_import_update_keeps_fields_the_file_lacks(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_CSV);
	import_stats_t st;
	const char *csv1 = "StockCode,Description,MedianUnitPriceGBP,Lines\nB1,MUG,2.00,5\n";
	assert_int_equal(import_mem(f->s, csv1, strlen(csv1), &o, &st), 0);
	assert_int_equal(st.created, 1);

	/* add a French title, a euro price and change the stock through JSON Lines */
	const char *jl = "{\"sku\":\"B1\",\"status\":\"active\",\"category\":\"kitchen\","
			 "\"title\":{\"en\":\"MUG\",\"fr\":\"TASSE\"},"
			 "\"price\":{\"GBP\":200,\"EUR\":240},\"stock\":2}\n";
	import_opts_t oj = opts_for(f, IMPORT_FMT_JSONL);
	assert_int_equal(import_mem(f->s, jl, strlen(jl), &oj, &st), 0);
	assert_int_equal(st.updated, 1);

	/* the CSV changes the GBP price only; Lines does not reset the stock */
	const char *csv2 = "StockCode,Description,MedianUnitPriceGBP,Lines\nB1,MUG,2.10,99\n";
	assert_int_equal(import_mem(f->s, csv2, strlen(csv2), &o, &st), 0);
	assert_int_equal(st.updated, 1);
	json_t *d = get_sku(f->s, "B1");
	assert_int_equal(price(d, "GBP"), 210);
	assert_int_equal(price(d, "EUR"), 240);
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "title"), "fr")),
			    "TASSE");
	assert_int_equal(json_integer_value(json_object_get(d, "stock")), 2);
	json_decref(d);
	assert_int_equal(import_mem(f->s, csv2, strlen(csv2), &o, &st), 0);
	assert_int_equal(st.unchanged, 1);
	assert_int_equal(st.updated, 0);
}

/* soukctl import prints the errors on a terminal: a locale key from the
 * file that carries escape sequences or bad UTF-8 arrives neutralised */
static void test_import_locale_errors_have_no_terminal_controls(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_JSONL);
	import_stats_t st;
	const char *jl = "{\"sku\":\"E1\",\"status\":\"active\",\"category\":\"toys\","
			 "\"title\":{\"en\":\"Top\",\"\\u001b]0;owned\\u0007\\u009b31m\":\"x\","
			 "\"english\":\"y\"},\"price\":{\"GBP\":5}}\n";
	assert_int_equal(import_mem(f->s, jl, strlen(jl), &o, &st), 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(f->nerr, 1);
	assert_non_null(strstr(f->err_msgs[0], "'title/?]0;owned??31m' is not a locale tag"));
	assert_non_null(strstr(f->err_msgs[0], "'title/english' is not a locale tag"));
	for (const char *c = f->err_msgs[0]; *c; c++)
		assert_true((unsigned char)*c >= 0x20 && *c != 0x7f && (unsigned char)*c != 0xc2);
}

static void test_import_jsonl_bad_lines_and_dry_run(void **state)
{
	fix_t *f = *state;
	const char *jl =
		"{\"sku\":\"J1\",\"status\":\"active\",\"category\":\"toys\",\"title\":{\"en\":\"Top\"},"
		"\"price\":{\"GBP\":5}}\n"
		"\n"
		"{\"sku\":\"J2\",\n"
		"[1,2]\n"
		"{\"sku\":\"J3\",\"status\":\"active\",\"category\":\"toys\",\"title\":{\"en\":\"T\"},"
		"\"price\":{\"GBP\":5},\"colour\":\"red\"}\n"
		"{\"sku\":\"J4\",\"status\":\"active\",\"category\":\"toys\",\"title\":{\"en\":\"T\"},"
		"\"price\":{\"GBP\":-5}}\n"
		"{\"sku\":\"J5\",\"status\":\"active\",\"category\":\"toys\",\"title\":{\"en\":\"T\"},"
		"\"price\":{\"GBP\":5},\"id\":\"nothex\"}\n";
	import_opts_t o = opts_for(f, IMPORT_FMT_AUTO);
	import_stats_t st;
	o.dry_run = true;
	assert_int_equal(import_mem(f->s, jl, strlen(jl), &o, &st), 0);
	assert_int_equal(st.created, 1);
	assert_int_equal(fixture_last_seq(f->s), 0);
	f->nerr = 0;
	o.dry_run = false;
	assert_int_equal(import_mem(f->s, jl, strlen(jl), &o, &st), 0);
	assert_int_equal(st.created, 1);
	assert_int_equal(st.failed, 5);
	uint64_t want[] = { 3, 4, 5, 6, 7 };
	assert_int_equal(f->nerr, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(f->err_lines[i], want[i]);
	assert_non_null(strstr(f->err_msgs[2], "colour"));
	assert_int_equal(fixture_last_seq(f->s), 1);
}

static void test_import_jsonl_defaults_status_and_category(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_JSONL);
	import_stats_t st;
	const char *create = "{\"sku\":\"K1\",\"title\":{\"en\":\"RED TEAPOT\"},"
			     "\"price\":{\"GBP\":100}}\n";
	assert_int_equal(import_mem(f->s, create, strlen(create), &o, &st), 0);
	assert_int_equal(st.created, 1);
	json_t *d = get_sku(f->s, "K1");
	assert_string_equal(json_string_value(json_object_get(d, "status")), "published");
	assert_string_equal(json_string_value(json_object_get(d, "category")), PRODUCT_CATEGORY_DEFAULT);
	json_decref(d);
	/* set draft and another category, then a line without them keeps both */
	const char *draft = "{\"sku\":\"K1\",\"status\":\"draft\",\"category\":\"gifts\","
			    "\"title\":{\"en\":\"RED TEAPOT\"},\"price\":{\"GBP\":100}}\n";
	assert_int_equal(import_mem(f->s, draft, strlen(draft), &o, &st), 0);
	assert_int_equal(st.updated, 1);
	const char *plain = "{\"sku\":\"K1\",\"title\":{\"en\":\"RED TEAPOT\"},"
			    "\"price\":{\"GBP\":120}}\n";
	assert_int_equal(import_mem(f->s, plain, strlen(plain), &o, &st), 0);
	assert_int_equal(st.updated, 1);
	d = get_sku(f->s, "K1");
	assert_string_equal(json_string_value(json_object_get(d, "status")), "draft");
	assert_string_equal(json_string_value(json_object_get(d, "category")), "gifts");
	assert_int_equal(price(d, "GBP"), 120);
	json_decref(d);
	assert_int_equal(import_mem(f->s, plain, strlen(plain), &o, &st), 0);
	assert_int_equal(st.unchanged, 1);
}

static void test_import_batches_and_duplicate_skus(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_CSV);
	import_stats_t st;
	char *csv = malloc(64 * 1024);
	size_t n = (size_t)snprintf(csv, 64 * 1024, "sku,title,price_gbp,stock\n");
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(csv + n, 64 * 1024 - n, "D%d,Thing %d,%d.%02d,%d\n", i % 600, i,
				      i, i % 100, i);
	o.batch = 64;
	assert_int_equal(import_mem(f->s, csv, n, &o, &st), 0);
	/* 600 distinct SKUs; the second occurrence of each of 400 updates it */
	assert_int_equal(st.created, 600);
	assert_int_equal(st.updated, 400);
	assert_int_equal(st.failed, 0);
	json_t *d = get_sku(f->s, "D5");
	assert_string_equal(title_en(d), "Thing 605");
	assert_int_equal(json_integer_value(json_object_get(d, "stock")), 605);
	json_decref(d);
	free(csv);
}

static int count_lines(const char *path)
{
	FILE *fp = fopen(path, "r");
	int n = 0, c;
	if (!fp)
		return -1;
	while ((c = fgetc(fp)) != EOF)
		n += c == '\n';
	fclose(fp);
	return n;
}

typedef struct {
	store_t *other;
	int compared;
} cmp_t;

static int compare_cb(const store_rec_t *rec, void *arg)
{
	cmp_t *c = arg;
	store_rec_t o;
	json_error_t e;
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_get(c->other, "product", &rec->id, &o), 0);
	json_t *a = json_loadb(rec->doc, rec->doc_len, 0, &e);
	json_t *b = json_loadb(o.doc, o.doc_len, 0, &e);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	store_rec_deinit(&o);
	c->compared++;
	return 0;
}

/* A product the API accepts near the document limit (large attributes)
 * exports and imports back unchanged. */
static void test_import_large_product_roundtrip(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_AUTO);
	import_stats_t st;
	char path[128], db2[128], key[] = "sku\0BIG1";
	store_t *s2 = NULL;
	uint64_t count = 0;
	json_error_t je;
	json_t *doc = json_loads("{\"sku\":\"BIG1\",\"seller\":\"s1\",\"category\":\"home\","
				 "\"title\":{\"en\":\"Big\"},\"price\":{\"GBP\":1}}",
				 0, &je);
	json_t *attrs = json_object(), *norm = NULL;
	char big[PRODUCT_ATTR_STRING_MAX + 1];
	memset(big, 'a', PRODUCT_ATTR_STRING_MAX);
	big[PRODUCT_ATTR_STRING_MAX] = '\0';
	for (int i = 0; i < PRODUCT_ATTRS_MAX / 2; i++) { /* 32 x 24 KiB: 768 KiB */
		json_t *arr = json_array();
		for (int k = 0; k < 24; k++)
			json_array_append_new(arr, json_string(big));
		char name[16];
		snprintf(name, sizeof(name), "a%d", i);
		json_object_set_new(attrs, name, arr);
	}
	json_object_set_new(doc, "attributes", attrs);
	problem_t pb;
	problem_init(&pb);
	assert_int_equal(product_validate(doc, false, &norm, &pb), 0); /* the API's check */
	char *s = json_dumps(norm, JSON_COMPACT);
	assert_true(strlen(s) > (512u << 10));
	const char *kp = key;
	size_t klen = sizeof(key) - 1;
	store_mut_t m = {.op = STORE_OP_CREATE, .kind = "product", .doc = s, .doc_len = strlen(s),
			 .keys = &kp, .key_lens = &klen, .nkeys = 1, .actor = "test"};
	assert_int_equal(store_apply(f->s, &m, 1), 0);
	assert_int_equal(m.result, 0);

	snprintf(path, sizeof(path), "%s/big.jsonl", f->dir);
	assert_int_equal(export_file(f->s, path, IMPORT_FMT_AUTO, &count), 0);
	assert_int_equal(count, 1);
	snprintf(db2, sizeof(db2), "%s/db2", f->dir);
	store_opts_t so = {.map_size = 64u << 20};
	assert_int_equal(store_open(db2, &so, &s2), 0);
	f->nerr = 0;
	assert_int_equal(import_file(s2, path, &o, &st), 0);
	assert_int_equal(f->nerr, 0);
	assert_int_equal(st.created, 1);
	json_t *back = get_sku(s2, "BIG1");
	assert_non_null(back);
	assert_true(json_equal(back, norm));
	json_decref(back);
	store_close(&s2);
	free(s);
	json_decref(norm);
	json_decref(doc);
}

static void test_import_export_roundtrip(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_AUTO);
	import_stats_t st;
	char path[128], path2[128], db2[128], db3[128];
	uint64_t count = 0;
	store_t *s2 = NULL, *s3 = NULL;

	assert_int_equal(import_file(f->s, DEMO_CSV, &o, &st), 0);
	const char *jl = "{\"sku\":\"ML1\",\"status\":\"draft\",\"seller\":\"s1\",\"category\":\"home\","
			 "\"title\":{\"en\":\"Lamp, \\\"big\\\"\",\"de\":\"Lampe\"},"
			 "\"description\":{\"en\":\"two\\nlines\"},"
			 "\"price\":{\"GBP\":1999,\"JPY\":3500},\"stock\":4,"
			 "\"attributes\":{\"colour\":\"red\"}}\n";
	assert_int_equal(import_mem(f->s, jl, strlen(jl), &o, &st), 0);
	assert_int_equal(st.created, 1);

	snprintf(path, sizeof(path), "%s/out.jsonl", f->dir);
	assert_int_equal(export_file(f->s, path, IMPORT_FMT_AUTO, &count), 0);
	assert_int_equal(count, 3939);
	assert_int_equal(count_lines(path), 3939);

	/* JSON Lines into an empty store: same ids, same documents */
	snprintf(db2, sizeof(db2), "%s/db2", f->dir);
	store_opts_t so = { .map_size = 64u << 20 };
	assert_int_equal(store_open(db2, &so, &s2), 0);
	assert_int_equal(import_file(s2, path, &o, &st), 0);
	assert_int_equal(st.created, 3939);
	assert_int_equal(st.failed, 0);
	cmp_t c = { s2, 0 };
	assert_int_equal(store_scan(f->s, "product", compare_cb, &c), 0);
	assert_int_equal(c.compared, 3939);
	store_close(&s2);

	/* CSV into another store: the same documents, attributes aside */
	snprintf(path2, sizeof(path2), "%s/out.csv", f->dir);
	assert_int_equal(export_file(f->s, path2, IMPORT_FMT_AUTO, &count), 0);
	assert_int_equal(count, 3939);
	snprintf(db3, sizeof(db3), "%s/db3", f->dir);
	assert_int_equal(store_open(db3, &so, &s3), 0);
	f->nerr = 0;
	assert_int_equal(import_file(s3, path2, &o, &st), 0);
	assert_int_equal(f->nerr, 0);
	assert_int_equal(st.created, 3939);
	json_t *a = get_sku(f->s, "85123A"), *b = get_sku(s3, "85123A");
	assert_non_null(a);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	a = get_sku(s3, "ML1");
	assert_string_equal(title_en(a), "Lamp, \"big\"");
	assert_int_equal(price(a, "JPY"), 3500);
	assert_int_equal(price(a, "GBP"), 1999);
	assert_string_equal(json_string_value(json_object_get(a, "status")), "draft");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(a, "description"), "en")),
		"two lines"); /* CSV text is single-spaced */
	json_decref(a);
	store_close(&s3);
}

/* ---- other kinds: warehouses --------------------------------------------------------- */

static json_t *get_code(store_t *s, const char *code)
{
	return get_by_key(s, "warehouse", "code", code);
}

static const char *addr(json_t *doc, const char *member)
{
	return json_string_value(json_object_get(json_object_get(doc, "address"), member));
}

#define WH_CSV                                                                              \
	"Code,name,type,pickup,address.line1,address.city,Address.Country,seller\n"          \
	"W1,Main  Depot,warehouse,yes,1 High St,Leeds,GB,\n"                                 \
	"W2,Corner Shop,store,0,2 Low Rd,York,GB,s1\n"                                       \
	"W3,,castle,no,,Hull,GB,\n"                                                          \
	"W4,North Dock,dropship,FALSE,4 Quay,Hull,GB,s2\n"

static void test_import_warehouses_from_csv(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_CSV);
	import_stats_t st;
	o.kind = &warehouse_kind;
	assert_int_equal(import_mem(f->s, WH_CSV, strlen(WH_CSV), &o, &st), 0);
	assert_int_equal(st.records, 4);
	assert_int_equal(st.created, 3);
	assert_int_equal(st.failed, 1);
	/* the bad line is named with its number and every bad field */
	assert_int_equal(f->nerr, 1);
	assert_int_equal(f->err_lines[0], 4);
	assert_non_null(strstr(f->err_msgs[0], "'name'"));
	assert_non_null(strstr(f->err_msgs[0], "'type'"));
	assert_non_null(strstr(f->err_msgs[0], "'address/line1'"));
	assert_int_equal(fixture_last_seq(f->s), 3);

	json_t *d = get_code(f->s, "W1");
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "name")), "Main Depot");
	assert_true(json_is_true(json_object_get(d, "pickup")));
	assert_null(json_object_get(d, "seller")); /* an empty cell sets nothing */
	assert_string_equal(addr(d, "line1"), "1 High St");
	assert_string_equal(addr(d, "city"), "Leeds");
	assert_string_equal(addr(d, "country"), "GB");
	json_decref(d);
	d = get_code(f->s, "W2");
	assert_string_equal(json_string_value(json_object_get(d, "type")), "store");
	assert_true(json_is_false(json_object_get(d, "pickup")));
	assert_string_equal(json_string_value(json_object_get(d, "seller")), "s1");
	json_decref(d);
	/* the products are another kind: none was written */
	assert_null(get_sku(f->s, "W1"));

	/* re-import: all unchanged, nothing written */
	f->nerr = 0;
	assert_int_equal(import_mem(f->s, WH_CSV, strlen(WH_CSV), &o, &st), 0);
	assert_int_equal(st.unchanged, 3);
	assert_int_equal(st.created + st.updated, 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(fixture_last_seq(f->s), 3);

	/* an update names only what changes: the rest of the address is kept */
	const char *move = "code,address.city,pickup\nW1,Bradford,\nW2,,true\n";
	assert_int_equal(import_mem(f->s, move, strlen(move), &o, &st), 0);
	assert_int_equal(st.updated, 2);
	d = get_code(f->s, "W1");
	assert_string_equal(addr(d, "city"), "Bradford");
	assert_string_equal(addr(d, "line1"), "1 High St");
	assert_true(json_is_true(json_object_get(d, "pickup")));
	json_decref(d);

	/* header errors (a product column, no key column), then a line with a
	 * bad cell and a bad value */
	f->nerr = 0;
	const char *bad = "code,name,sku\nW9,X,1\n";
	assert_int_equal(import_mem(f->s, bad, strlen(bad), &o, &st), SOUK_EINVAL);
	assert_non_null(strstr(f->err_msgs[0], "unknown column 'sku'"));
	const char *nokey = "name,address.city\nX,Y\n";
	assert_int_equal(import_mem(f->s, nokey, strlen(nokey), &o, &st), SOUK_EINVAL);
	assert_non_null(strstr(f->err_msgs[1], "no 'code' column"));
	const char *badbool = "code,pickup,type\nW1,maybe,hut\n";
	assert_int_equal(import_mem(f->s, badbool, strlen(badbool), &o, &st), 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(f->err_lines[2], 2);
	assert_non_null(strstr(f->err_msgs[2], "column 'pickup', bad boolean 'maybe'"));
	assert_non_null(strstr(f->err_msgs[2], "'type'")); /* the other bad field too */
}

static void test_import_warehouses_from_jsonl(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_AUTO);
	import_stats_t st;
	o.kind = &warehouse_kind;
	const char *jl =
		"{\"code\":\"J1\",\"name\":\"Paris\",\"address\":{\"line1\":\"1 rue\",\"city\":\"Paris\","
		"\"country\":\"FR\"}}\n"
		"{\"code\":\"J2\",\"name\":\"\",\"type\":\"hut\",\"address\":{\"city\":\"Lyon\","
		"\"country\":\"FR\"}}\n"
		"{\"code\":\"J3\",\"name\":\"Lille\",\"type\":\"store\",\"pickup\":true,"
		"\"address\":{\"line1\":\"3 place\",\"city\":\"Lille\",\"country\":\"FR\"}}\n";
	assert_int_equal(import_mem(f->s, jl, strlen(jl), &o, &st), 0);
	assert_int_equal(st.created, 2);
	assert_int_equal(st.failed, 1);
	assert_int_equal(f->nerr, 1);
	assert_int_equal(f->err_lines[0], 2);
	assert_non_null(strstr(f->err_msgs[0], "'name'"));
	assert_non_null(strstr(f->err_msgs[0], "'type'"));
	assert_non_null(strstr(f->err_msgs[0], "'address/line1'"));
	json_t *d = get_code(f->s, "J1");
	assert_non_null(d);
	/* the table's defaults, as an API create gives them */
	assert_string_equal(json_string_value(json_object_get(d, "type")), "warehouse");
	assert_true(json_is_false(json_object_get(d, "pickup")));
	json_decref(d);
	f->nerr = 0;
	assert_int_equal(import_mem(f->s, jl, strlen(jl), &o, &st), 0);
	assert_int_equal(st.unchanged, 2);
	assert_int_equal(st.created + st.updated, 0);
	assert_int_equal(fixture_last_seq(f->s), 2);
}

/* every warehouse of one store has the same document under its code in the other */
static int compare_code_cb(const store_rec_t *rec, void *arg)
{
	cmp_t *c = arg;
	json_error_t e;
	json_t *a = json_loadb(rec->doc, rec->doc_len, 0, &e);
	json_t *b = get_code(c->other, json_string_value(json_object_get(a, "code")));
	assert_non_null(b);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	c->compared++;
	return 0;
}

static void test_import_warehouse_export_roundtrip(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_AUTO);
	import_stats_t st;
	char path[128], db[128];
	uint64_t count = 0;
	o.kind = &warehouse_kind;
	assert_int_equal(import_mem(f->s, WH_CSV, strlen(WH_CSV), &o, &st), 0);
	const char *jl = "{\"code\":\"Q1\",\"name\":\"Quay, \\\"west\\\"\",\"type\":\"store\","
			 "\"seller\":\"s9\",\"pickup\":true,\"address\":{\"line1\":\"9 Quay\","
			 "\"line2\":\"Unit 4\",\"city\":\"Hull\",\"postal_code\":\"HU1 1AA\","
			 "\"region\":\"East Riding\",\"country\":\"GB\"}}\n";
	assert_int_equal(import_mem(f->s, jl, strlen(jl), &o, &st), 0);
	assert_int_equal(st.created, 1);

	for (int csv = 0; csv < 2; csv++) {
		store_t *s2 = NULL;
		store_opts_t so = {.map_size = 16u << 20};
		snprintf(path, sizeof(path), "%s/wh.%s", f->dir, csv ? "csv" : "jsonl");
		assert_int_equal(export_kind_file(f->s, &warehouse_kind, path, IMPORT_FMT_AUTO, &count),
				 0);
		assert_int_equal(count, 4);
		assert_int_equal(count_lines(path), 4 + csv); /* CSV has its header */
		snprintf(db, sizeof(db), "%s/wh%d", f->dir, csv);
		assert_int_equal(store_open(db, &so, &s2), 0);
		f->nerr = 0;
		assert_int_equal(import_file(s2, path, &o, &st), 0);
		assert_int_equal(f->nerr, 0);
		assert_int_equal(st.created, 4);
		cmp_t c = {s2, 0};
		assert_int_equal(store_scan(f->s, "warehouse", compare_code_cb, &c), 0);
		assert_int_equal(c.compared, 4);
		/* and back again: nothing to change */
		assert_int_equal(import_file(s2, path, &o, &st), 0);
		assert_int_equal(st.unchanged, 4);
		store_close(&s2);
	}
	/* the CSV columns come from the table, in its order */
	FILE *fp = fopen(path, "r");
	char head[256];
	assert_non_null(fgets(head, sizeof(head), fp));
	fclose(fp);
	assert_string_equal(head, "code,name,type,seller,pickup,address.line1,address.line2,"
				  "address.city,address.postal_code,address.region,address.country\n");
}

/* A record's id finds its entity before the unique key does: an exported
 * line with another code renames that warehouse; a CSV id column does the
 * same; an id the store does not hold creates the entity under it. */
static void test_import_matches_by_id_first(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_AUTO);
	import_stats_t st;
	store_rec_t rec;
	store_id_t id;
	o.kind = &warehouse_kind;
	const char *jl = "{\"id\":\"00112233445566778899aabbccddeeff\",\"code\":\"A1\",\"name\":\"A\","
			 "\"address\":{\"line1\":\"1 St\",\"city\":\"Leeds\",\"country\":\"GB\"}}\n";
	assert_int_equal(import_mem(f->s, jl, strlen(jl), &o, &st), 0);
	assert_int_equal(st.created, 1);
	assert_int_equal(store_id_parse("00112233445566778899aabbccddeeff", &id), 0);
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(store_get(f->s, "warehouse", &id, &rec), 0);
	store_rec_deinit(&rec);

	const char *rename = "{\"id\":\"00112233445566778899aabbccddeeff\",\"code\":\"A2\","
			     "\"name\":\"A\",\"address\":{\"line1\":\"1 St\",\"city\":\"Leeds\","
			     "\"country\":\"GB\"}}\n";
	assert_int_equal(import_mem(f->s, rename, strlen(rename), &o, &st), 0);
	assert_int_equal(st.updated, 1);
	assert_null(get_code(f->s, "A1")); /* the key moved with the entity */
	json_t *d = get_code(f->s, "A2");
	assert_non_null(d);
	json_decref(d);

	const char *csv = "id,code,name\n00112233445566778899AABBCCDDEEFF,A3,Renamed\n";
	assert_int_equal(import_mem(f->s, csv, strlen(csv), &o, &st), 0);
	assert_int_equal(st.updated, 1);
	d = get_code(f->s, "A3");
	assert_string_equal(json_string_value(json_object_get(d, "name")), "Renamed");
	assert_string_equal(addr(d, "city"), "Leeds");
	json_decref(d);
	assert_int_equal(fixture_last_seq(f->s), 3);
}

static void test_import_unknown_kind_refused(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_CSV);
	import_stats_t st;
	char names[128];
	uint64_t count = 0;
	assert_null(import_kind("nope"));
	assert_ptr_equal(import_kind("warehouse"), &warehouse_kind);
	assert_ptr_equal(import_kind(NULL), &product_kind);
	import_kind_names(names, sizeof(names));
	/* every registered kind, in registry order */
	char want[128] = "";
	for (size_t i = 0; i < model_nkinds; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", i ? ", " : "",
			 model_kinds[i]->name);
	assert_string_equal(names, want);
	assert_non_null(strstr(names, "warehouse"));
	/* a table the registry does not hold has no place in the store */
	model_kind_t stray = warehouse_kind;
	stray.name = "stray";
	o.kind = &stray;
	assert_int_equal(import_mem(f->s, WH_CSV, strlen(WH_CSV), &o, &st), SOUK_EINVAL);
	assert_int_equal(st.records, 0);
	assert_int_equal(fixture_last_seq(f->s), 0);
	assert_int_equal(export_kind_stream(f->s, &stray, stderr, IMPORT_FMT_JSONL, &count),
			 SOUK_EINVAL);
}

/* ---- composite keys: prices are matched by their tier ---------------------------- */

/* A price file names no id: each line finds its stored price by its tier
 * (list, sku, min_qty; an empty min_qty is the default 1), so a re-import
 * changes nothing and a new amount updates the tier's price. */
static void test_import_prices_match_by_tier(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_CSV);
	import_stats_t st;
	o.kind = &price_kind;
	const char *csv = "list,sku,amount,min_qty\n"
			  "uk,A 1,1000,\n"
			  "uk,A 1,900,10\n"
			  "uk,A 2,500,1\n"
			  "eu,A 1,1100,\n";
	assert_int_equal(import_mem(f->s, csv, strlen(csv), &o, &st), 0);
	assert_int_equal(st.created, 4);
	assert_int_equal(st.failed, 0);
	assert_int_equal(fixture_last_seq(f->s), 4);
	assert_int_equal(import_mem(f->s, csv, strlen(csv), &o, &st), 0);
	assert_int_equal(st.unchanged, 4);
	assert_int_equal(st.created + st.updated + st.failed, 0);
	assert_int_equal(fixture_last_seq(f->s), 4);
	const char *cheaper = "sku,list,amount\nA 1,uk,950\n";
	assert_int_equal(import_mem(f->s, cheaper, strlen(cheaper), &o, &st), 0);
	assert_int_equal(st.updated, 1);
	assert_int_equal(st.created, 0);
	json_t *d = get_by_key(f->s, "price", "tier", "uk\x1f" "A 1\x1f" "1");
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "amount")), 950);
	json_decref(d);
	d = get_by_key(f->s, "price", "tier", "uk\x1f" "A 1\x1f" "10");
	assert_int_equal(json_integer_value(json_object_get(d, "amount")), 900);
	json_decref(d);
}

/* Imports run the kinds' checks against other entities as the API does: a
 * category names a live parent and makes no cycle, a product a live type
 * its attributes fit. A row naming an entity a later row creates (children
 * before their parents, across batches) is stored once the file is read;
 * what never fits is reported with its reason and stores nothing. */
static void test_import_runs_the_checks_of_the_write(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_JSONL);
	import_stats_t st;
	o.kind = &category_kind;
	o.batch = 2;
	const char *cats =
	    "{\"code\":\"cups\",\"name\":{\"en\":\"Cups\"},\"parent\":\"kitchen\"}\n"
	    "{\"code\":\"mugs\",\"name\":{\"en\":\"Mugs\"},\"parent\":\"cups\"}\n"
	    "{\"code\":\"lost\",\"name\":{\"en\":\"Lost\"},\"parent\":\"nowhere\"}\n"
	    "{\"code\":\"kitchen\",\"name\":{\"en\":\"Kitchen\"},\"parent\":\"home\"}\n"
	    "{\"code\":\"ying\",\"name\":{\"en\":\"Y\"},\"parent\":\"yang\"}\n"
	    "{\"code\":\"yang\",\"name\":{\"en\":\"Y\"},\"parent\":\"ying\"}\n"
	    "{\"code\":\"home\",\"name\":{\"en\":\"Home\"}}\n";
	assert_int_equal(import_mem(f->s, cats, strlen(cats), &o, &st), 0);
	assert_int_equal(st.created, 4);
	assert_int_equal(st.failed, 3);
	assert_int_equal(f->nerr, 3);
	/* reported in file order of the final pass, with the line and why */
	assert_int_equal(f->err_lines[0], 3);
	assert_non_null(strstr(f->err_msgs[0], "'parent'"));
	assert_non_null(strstr(f->err_msgs[0], "nowhere"));
	assert_int_equal(f->err_lines[1], 5);
	assert_int_equal(f->err_lines[2], 6);
	json_t *d = get_by_key(f->s, "category", "code", "mugs");
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "parent")), "cups");
	json_decref(d);
	assert_null(get_by_key(f->s, "category", "code", "lost"));
	assert_null(get_by_key(f->s, "category", "code", "ying"));
	/* the same file again: what is stored is unchanged, the rest still fails */
	f->nerr = 0;
	assert_int_equal(import_mem(f->s, cats, strlen(cats), &o, &st), 0);
	assert_int_equal(st.unchanged, 4);
	assert_int_equal(st.failed, 3);

	/* products against their type */
	o = opts_for(f, IMPORT_FMT_JSONL);
	o.kind = &product_type_kind;
	const char *types = "{\"code\":\"mug\",\"name\":{\"en\":\"Mug\"},\"attributes\":[{\"code\":"
			    "\"capacity_ml\",\"name\":{\"en\":\"Capacity\"},\"type\":\"number\","
			    "\"unit\":\"ml\"}]}\n";
	assert_int_equal(import_mem(f->s, types, strlen(types), &o, &st), 0);
	assert_int_equal(st.created, 1);
	f->nerr = 0;
	o = opts_for(f, IMPORT_FMT_JSONL);
	const char *prods =
	    "{\"sku\":\"P1\",\"title\":{\"en\":\"P1\"},\"price\":{\"GBP\":1},\"type\":\"mug\","
	    "\"attributes\":{\"capacity_ml\":350}}\n"
	    "{\"sku\":\"P2\",\"title\":{\"en\":\"P2\"},\"price\":{\"GBP\":1},\"type\":\"tumbler\"}\n"
	    "{\"sku\":\"P3\",\"title\":{\"en\":\"P3\"},\"price\":{\"GBP\":1},\"type\":\"mug\","
	    "\"attributes\":{\"capacity_ml\":\"big\"}}\n";
	assert_int_equal(import_mem(f->s, prods, strlen(prods), &o, &st), 0);
	assert_int_equal(st.created, 1);
	assert_int_equal(st.failed, 2);
	assert_int_equal(f->nerr, 2);
	assert_int_equal(f->err_lines[0], 2);
	assert_non_null(strstr(f->err_msgs[0], "'type'"));
	assert_int_equal(f->err_lines[1], 3);
	assert_non_null(strstr(f->err_msgs[1], "capacity_ml"));
	assert_null(get_sku(f->s, "P2"));
	json_t *p1 = get_sku(f->s, "P1");
	assert_non_null(p1);
	json_decref(p1);
}

/* A kind's keys may hold more values than it declares keys: a channel with
 * sixteen hostnames claims each, its code and its status index, and every
 * one is stored with the import's write. */
static void test_import_channel_with_every_hostname(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_AUTO);
	import_stats_t st;
	o.kind = model_kind_find("channel");
	assert_non_null(o.kind);
	char line[1024] = "{\"code\":\"uk\",\"name\":\"UK\",\"hostnames\":[";
	for (int i = 0; i < 16; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s\"h%d.example\"",
			 i ? "," : "", i);
	snprintf(line + strlen(line), sizeof(line) - strlen(line),
		 "],\"currencies\":{\"default\":\"GBP\",\"allowed\":[\"GBP\"]},"
		 "\"locales\":{\"default\":\"en\"}}\n");
	assert_int_equal(import_mem(f->s, line, strlen(line), &o, &st), 0);
	if (f->nerr > 0)
		fail_msg("line %llu: %s", (unsigned long long)f->err_lines[0], f->err_msgs[0]);
	assert_int_equal(st.created, 1);
	assert_int_equal(st.failed, 0);
	for (int i = 0; i < 16; i++) {
		char host[32];
		snprintf(host, sizeof(host), "h%d.example", i);
		json_t *d = get_by_key(f->s, "channel", "hostname", host);
		if (d == NULL)
			fail_msg("no channel answers %s", host);
		json_decref(d);
	}
	json_t *d = get_by_key(f->s, "channel", "code", "uk");
	assert_non_null(d);
	json_decref(d);
	assert_int_equal(import_mem(f->s, line, strlen(line), &o, &st), 0);
	assert_int_equal(st.unchanged, 1);
}

/* A reference may name its entity by the referenced kind's lookup key: a
 * variants file names its products by SKU, stored as the products' ids; a
 * SKU no product has is that line's error, with the field and the value. */
static void test_import_refs_by_lookup_key(void **state)
{
	fix_t *f = *state;
	import_opts_t o = opts_for(f, IMPORT_FMT_JSONL);
	import_stats_t st;
	const char *prods =
	    "{\"sku\":\"MUG\",\"title\":{\"en\":\"Mug\"},\"price\":{\"GBP\":500}}\n"
	    "{\"sku\":\"CUP 2\",\"title\":{\"en\":\"Cup\"},\"price\":{\"GBP\":300}}\n";
	assert_int_equal(import_mem(f->s, prods, strlen(prods), &o, &st), 0);
	assert_int_equal(st.created, 2);
	char mug_id[33], cup_id[33];
	store_rec_t rec;
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(store_get_by_key(f->s, "product", "sku\0MUG", 7, &rec), 0);
	store_id_hex(&rec.id, mug_id);
	store_rec_deinit(&rec);
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(store_get_by_key(f->s, "product", "sku\0CUP 2", 9, &rec), 0);
	store_id_hex(&rec.id, cup_id);
	store_rec_deinit(&rec);

	o = opts_for(f, IMPORT_FMT_CSV);
	o.kind = model_kind_find("variant");
	assert_non_null(o.kind);
	char csv[512];
	snprintf(csv, sizeof(csv),
		 "product,sku,options\n"
		 "MUG,MUG-R,\"{\"\"colour\"\":\"\"red\"\"}\"\n"
		 "  CUP 2 ,CUP-B,\"{\"\"colour\"\":\"\"blue\"\"}\"\n"
		 "BOWL,BOWL-G,\"{\"\"colour\"\":\"\"green\"\"}\"\n"
		 "%s,MUG-B,\"{\"\"colour\"\":\"\"blue\"\"}\"\n",
		 mug_id);
	assert_int_equal(import_mem(f->s, csv, strlen(csv), &o, &st), 0);
	assert_int_equal(st.created, 3);
	assert_int_equal(st.failed, 1);
	assert_int_equal(f->nerr, 1);
	assert_int_equal(f->err_lines[0], 4);
	assert_string_equal(f->err_msgs[0], "'product' names no product with sku 'BOWL'");
	static const char *const want[] = {"MUG-R", "CUP-B", "MUG-B"};
	for (size_t i = 0; i < 3; i++) {
		json_t *v = get_by_key(f->s, "variant", "sku", want[i]);
		assert_non_null(v);
		assert_string_equal(json_string_value(json_object_get(v, "product")),
				    i == 1 ? cup_id : mug_id);
		json_decref(v);
	}
	assert_null(get_by_key(f->s, "variant", "sku", "BOWL-G"));

	/* JSON Lines alike, and again: nothing changes */
	f->nerr = 0;
	o.format = IMPORT_FMT_JSONL;
	const char *jl = "{\"product\":\"MUG\",\"sku\":\"MUG-R\",\"options\":{\"colour\":\"red\"}}\n"
			 "{\"product\":\"NONE\",\"sku\":\"N-1\",\"options\":{\"colour\":\"red\"}}\n";
	assert_int_equal(import_mem(f->s, jl, strlen(jl), &o, &st), 0);
	assert_int_equal(st.unchanged, 1);
	assert_int_equal(st.failed, 1);
	assert_int_equal(f->err_lines[0], 2);
	assert_string_equal(f->err_msgs[0], "'product' names no product with sku 'NONE'");
}

int main(void)
{
	log_init("test_import", LOG_TARGET_STDERR);
	log_set_level(LOG_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import_parse_decimal_exact),
		cmocka_unit_test(test_import_csv_reader_quotes_and_line_numbers),
		cmocka_unit_test_setup_teardown(test_import_demo_csv_creates_all_products, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_import_bad_lines_reported_with_line_numbers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_csv_prices_in_iso_minor_units, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_import_update_keeps_fields_the_file_lacks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_import_locale_errors_have_no_terminal_controls,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_jsonl_bad_lines_and_dry_run, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_import_jsonl_defaults_status_and_category, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_import_batches_and_duplicate_skus, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_import_export_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_large_product_roundtrip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_import_warehouses_from_csv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_prices_match_by_tier, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_channel_with_every_hostname, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_import_warehouses_from_jsonl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_warehouse_export_roundtrip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_import_matches_by_id_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_unknown_kind_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_refs_by_lookup_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_runs_the_checks_of_the_write, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
