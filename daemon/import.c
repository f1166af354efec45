/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/import.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/currency.h"
#include "common/error.h"
#include "common/locale.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"
#include "common/problem.h"
#include "domain/catalog/product.h"

#define PRODUCT_KIND "product"
#define IMPORT_FILE_MAX (1ull << 30)
#define IMPORT_FIELDS_MAX 1024
#define LOCALE_MAX 40
#define SKU_MAX PRODUCT_SKU_MAX
#define PRICE_MAX 1000000000000000ull /* 10^15 minor units */
#define STOCK_MAX 1000000000ull
#define DEFAULT_LOCALE "en"

/* ---- CSV reader ------------------------------------------------------------ */

void import_csv_init(import_csv_t *r, const char *data, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->p = data;
	r->end = data + len;
	r->line = 1;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		r->p += 3;
}

void import_csv_deinit(import_csv_t *r)
{
	free(r->buf);
	free(r->off);
	free(r->len);
	memset(r, 0, sizeof(*r));
}

static int csv_putc(import_csv_t *r, char c)
{
	if (r->buf_len + 1 >= r->buf_cap) {
		size_t ncap = r->buf_cap ? r->buf_cap * 2 : 256;
		char *nb;
		if (ncap > IMPORT_RECORD_MAX + 2)
			ncap = IMPORT_RECORD_MAX + 2;
		if (r->buf_len + 1 >= ncap)
			return SOUK_ETOOBIG;
		nb = realloc(r->buf, ncap);
		if (!nb)
			return SOUK_ENOMEM;
		r->buf = nb;
		r->buf_cap = ncap;
	}
	r->buf[r->buf_len++] = c;
	return 0;
}

static int csv_field_start(import_csv_t *r)
{
	if (r->nfields == r->fields_cap) {
		size_t ncap = r->fields_cap ? r->fields_cap * 2 : 16;
		if (ncap > IMPORT_FIELDS_MAX)
			ncap = IMPORT_FIELDS_MAX;
		if (r->nfields == ncap)
			return SOUK_ETOOBIG;
		size_t *no = realloc(r->off, ncap * sizeof(*no));
		if (!no)
			return SOUK_ENOMEM;
		r->off = no;
		size_t *nl = realloc(r->len, ncap * sizeof(*nl));
		if (!nl)
			return SOUK_ENOMEM;
		r->len = nl;
		r->fields_cap = ncap;
	}
	r->off[r->nfields] = r->buf_len;
	return 0;
}

static int csv_field_end(import_csv_t *r)
{
	size_t start = r->off[r->nfields];
	int rc = csv_putc(r, '\0');
	if (rc)
		return rc;
	r->len[r->nfields] = r->buf_len - 1 - start;
	r->nfields++;
	return 0;
}

static bool at_eol(const import_csv_t *r, const char *p)
{
	return p < r->end && (*p == '\n' || (*p == '\r' && p + 1 < r->end && p[1] == '\n'));
}

static const char *skip_eol(const char *p)
{
	return *p == '\r' ? p + 2 : p + 1;
}

/* Resynchronise after a bad record: continue on the physical line after its
 * start, so that a stray quote spoils one line, not the rest of the file. */
static void csv_resync(import_csv_t *r, const char *start, uint64_t start_line)
{
	const char *nl = memchr(start, '\n', (size_t)(r->end - start));
	r->p = nl ? nl + 1 : r->end;
	r->line = start_line + 1;
}

int import_csv_next(import_csv_t *r, uint64_t *line, const char **err)
{
	const char *p, *start;
	int rc;

	*err = NULL;
	while (r->p < r->end && at_eol(r, r->p)) {
		r->p = skip_eol(r->p);
		r->line++;
	}
	if (r->p >= r->end)
		return 0;
	start = p = r->p;
	*line = r->line;
	r->nfields = 0;
	r->buf_len = 0;
	for (;;) {
		rc = csv_field_start(r);
		if (rc)
			goto bad;
		if (p < r->end && *p == '"') {
			p++;
			for (;;) {
				if (p >= r->end) {
					*err = "unterminated quoted field";
					csv_resync(r, start, *line);
					return SOUK_EINVAL;
				}
				if (*p == '"') {
					if (p + 1 < r->end && p[1] == '"') {
						rc = csv_putc(r, '"');
						p += 2;
					} else {
						p++;
						break;
					}
				} else {
					if (*p == '\n')
						r->line++;
					rc = csv_putc(r, *p++);
				}
				if (rc)
					goto bad;
			}
			if (p < r->end && *p != ',' && !at_eol(r, p)) {
				*err = "unexpected character after a closing quote";
				csv_resync(r, start, *line);
				return SOUK_EINVAL;
			}
		} else {
			while (p < r->end && *p != ',' && !at_eol(r, p)) {
				rc = csv_putc(r, *p++);
				if (rc)
					goto bad;
			}
		}
		rc = csv_field_end(r);
		if (rc)
			goto bad;
		if (p < r->end && *p == ',') {
			p++;
			continue;
		}
		if (p < r->end) {
			p = skip_eol(p);
			r->line++;
		}
		r->p = p;
		return 1;
	}
bad:
	*err = rc == SOUK_ENOMEM ? "out of memory" : "record too long";
	if (rc == SOUK_ENOMEM) {
		r->p = r->end;
		return SOUK_ENOMEM;
	}
	csv_resync(r, start, *line);
	return SOUK_EINVAL;
}

/* ---- values ----------------------------------------------------------------- */

int import_parse_decimal(const char *s, size_t len, unsigned exp, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	unsigned frac = 0;
	bool digits = false;

	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > PRICE_MAX)
			return SOUK_EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
		digits = true;
	}
	if (!digits)
		return SOUK_EINVAL;
	if (i < len && s[i] == '.') {
		i++;
		if (i == len)
			return SOUK_EINVAL;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (frac < exp) {
				if (v > PRICE_MAX)
					return SOUK_EINVAL;
				v = v * 10 + (uint64_t)(s[i] - '0');
				frac++;
			} else if (s[i] != '0') {
				return SOUK_EINVAL; /* finer than the currency's minor unit */
			}
		}
	}
	if (i != len)
		return SOUK_EINVAL;
	for (; frac < exp; frac++) {
		if (v > PRICE_MAX)
			return SOUK_EINVAL;
		v *= 10;
	}
	if (v > PRICE_MAX)
		return SOUK_EINVAL;
	*out = v;
	return 0;
}

/* ---- validation --------------------------------------------------------------- */

static bool locale_ok(const char *s)
{
	char canon[SOUK_LOCALE_MAX];
	return souk_locale_canon(s, strlen(s), canon) == 0;
}

int import_product_validate(json_t *doc, json_t **normalized, char *err, size_t err_len)
{
	problem_t pb;
	int rc;

	*normalized = NULL;
	err[0] = '\0';
	problem_init(&pb);
	rc = product_validate(doc, false, normalized, &pb);
	if (rc == SOUK_EINVAL) {
		size_t n = 0;
		if (pb.nerrors == 0)
			snprintf(err, err_len, "%s", pb.detail[0] ? pb.detail : "not a valid product");
		for (size_t i = 0; i < pb.nerrors && n + 1 < err_len; i++) {
			int k = snprintf(err + n, err_len - n, "%s'%s' %s", i ? "; " : "",
					 pb.errors[i].field, pb.errors[i].detail);
			if (k < 0)
				break;
			n += (size_t)k;
		}
		return rc;
	}
	if (rc)
		return rc;
	char *s = json_dumps(*normalized, JSON_COMPACT);
	size_t len = s ? strlen(s) : 0;
	free(s);
	if (!s || len > IMPORT_DOC_MAX) {
		json_decref(*normalized);
		*normalized = NULL;
		if (!s)
			return SOUK_ENOMEM;
		snprintf(err, err_len, "the product document is larger than %u bytes", IMPORT_DOC_MAX);
		return SOUK_EINVAL;
	}
	return 0;
}

/* ---- CSV rows to documents ---------------------------------------------------- */

typedef enum {
	COL_SKU,
	COL_TITLE,
	COL_DESC,
	COL_PRICE,
	COL_STOCK,
	COL_LINES,
	COL_CATEGORY,
	COL_STATUS,
	COL_SELLER,
} col_kind_t;

typedef struct {
	col_kind_t kind;
	char sub[LOCALE_MAX]; /* locale or currency */
	char name[64];        /* as in the header, for messages */
} col_t;

static void lower_copy(char *dst, size_t cap, const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)tolower((unsigned char)s[i]);
	dst[n] = '\0';
}

static void set_sub(char sub[LOCALE_MAX], const char *s)
{
	size_t n = strnlen(s, LOCALE_MAX - 1);
	memcpy(sub, s, n);
	sub[n] = '\0';
}

static int map_header(const import_csv_t *r, col_t *cols, char *err, size_t err_len)
{
	bool has_title = false;
	char name[64];

	for (size_t i = 0; i < r->nfields; i++) {
		lower_copy(name, sizeof(name), r->buf + r->off[i], r->len[i]);
		if (strcmp(name, "title") == 0 || strncmp(name, "title_", 6) == 0)
			has_title = true;
	}
	for (size_t i = 0; i < r->nfields; i++) {
		col_t *c = &cols[i];
		lower_copy(name, sizeof(name), r->buf + r->off[i], r->len[i]);
		memset(c, 0, sizeof(*c));
		snprintf(c->name, sizeof(c->name), "%s", name);
		if (strcmp(name, "sku") == 0 || strcmp(name, "stockcode") == 0) {
			c->kind = COL_SKU;
		} else if (strcmp(name, "title") == 0 || (!has_title && strcmp(name, "description") == 0)) {
			c->kind = COL_TITLE;
			snprintf(c->sub, sizeof(c->sub), "%s", DEFAULT_LOCALE);
		} else if (strncmp(name, "title_", 6) == 0 && locale_ok(name + 6)) {
			c->kind = COL_TITLE;
			set_sub(c->sub, name + 6);
		} else if (strcmp(name, "description") == 0) {
			c->kind = COL_DESC;
			snprintf(c->sub, sizeof(c->sub), "%s", DEFAULT_LOCALE);
		} else if (strncmp(name, "description_", 12) == 0 && locale_ok(name + 12)) {
			c->kind = COL_DESC;
			set_sub(c->sub, name + 12);
		} else if (strcmp(name, "medianunitpricegbp") == 0 || strcmp(name, "unitprice") == 0) {
			c->kind = COL_PRICE;
			snprintf(c->sub, sizeof(c->sub), "GBP");
		} else if (strncmp(name, "price_", 6) == 0 && strlen(name + 6) == 3 &&
			   isalpha((unsigned char)name[6]) && isalpha((unsigned char)name[7]) &&
			   isalpha((unsigned char)name[8])) {
			c->kind = COL_PRICE;
			for (int k = 0; k < 3; k++)
				c->sub[k] = (char)toupper((unsigned char)name[6 + k]);
		} else if (strcmp(name, "stock") == 0) {
			c->kind = COL_STOCK;
		} else if (strcmp(name, "lines") == 0) {
			c->kind = COL_LINES;
		} else if (strcmp(name, "category") == 0) {
			c->kind = COL_CATEGORY;
		} else if (strcmp(name, "status") == 0) {
			c->kind = COL_STATUS;
		} else if (strcmp(name, "seller") == 0) {
			c->kind = COL_SELLER;
		} else {
			snprintf(err, err_len, "unknown column '%.40s'", name);
			return SOUK_EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (cols[j].kind == c->kind && strcmp(cols[j].sub, c->sub) == 0 &&
			    c->kind != COL_STOCK) {
				snprintf(err, err_len, "column '%.40s' given twice", name);
				return SOUK_EINVAL;
			}
	}
	for (size_t i = 0; i < r->nfields; i++)
		if (cols[i].kind == COL_SKU)
			return 0;
	snprintf(err, err_len, "no 'sku' (or 'StockCode') column");
	return SOUK_EINVAL;
}

/* Trimmed copy with runs of white space collapsed into one space. */
static json_t *clean_text(const char *s, size_t n)
{
	char *t = malloc(n + 1);
	size_t k = 0;
	bool space = false;
	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (isspace((unsigned char)s[i])) {
			space = k > 0;
			continue;
		}
		if (space)
			t[k++] = ' ';
		space = false;
		t[k++] = s[i];
	}
	json_t *v = json_stringn(t, k);
	free(t);
	return v;
}

/* One CSV record to (set, create); err set on a bad value. */
static int row_to_docs(const import_csv_t *r, const col_t *cols, size_t ncols,
		       const import_opts_t *o, json_t **set_out, json_t **create_out, char *err,
		       size_t err_len)
{
	json_t *set = json_object(), *create = json_object();
	json_t *title = NULL, *desc = NULL, *price = NULL;
	int rc = SOUK_EINVAL;
	bool have_lines = false;
	uint64_t lines = 0;

	if (!set || !create) {
		rc = SOUK_ENOMEM;
		goto fail;
	}
	if (r->nfields != ncols) {
		snprintf(err, err_len, "%zu fields, the header has %zu", r->nfields, ncols);
		goto fail;
	}
	/* canonical order of the stored document */
	for (size_t i = 0; i < ncols; i++)
		if (cols[i].kind == COL_SKU) {
			json_t *v = clean_text(r->buf + r->off[i], r->len[i]);
			if (!v || json_string_length(v) == 0) {
				json_decref(v);
				snprintf(err, err_len, "empty sku");
				goto fail;
			}
			json_object_set_new(set, "sku", v);
		}
	for (size_t i = 0; i < ncols; i++) {
		const char *s = r->buf + r->off[i];
		size_t n = r->len[i];
		size_t t0 = 0;
		while (t0 < n && isspace((unsigned char)s[t0]))
			t0++;
		if (t0 == n && cols[i].kind != COL_SKU)
			continue; /* an empty cell sets nothing */
		switch (cols[i].kind) {
		case COL_SKU:
			break;
		case COL_STATUS:
		case COL_SELLER:
		case COL_CATEGORY: {
			json_t *v = clean_text(s, n);
			if (!v) {
				snprintf(err, err_len, "column '%s' is not valid UTF-8", cols[i].name);
				goto fail;
			}
			json_object_set_new(set,
					    cols[i].kind == COL_STATUS   ? "status"
					    : cols[i].kind == COL_SELLER ? "seller"
									 : "category",
					    v);
			break;
		}
		case COL_TITLE:
		case COL_DESC: {
			json_t *v = clean_text(s, n);
			if (!v) {
				snprintf(err, err_len, "column '%s' is not valid UTF-8", cols[i].name);
				goto fail;
			}
			json_t **dst = cols[i].kind == COL_TITLE ? &title : &desc;
			if (!*dst)
				*dst = json_object();
			if (!*dst || json_object_set_new(*dst, cols[i].sub, v) != 0) {
				rc = SOUK_ENOMEM;
				goto fail;
			}
			break;
		}
		case COL_PRICE: {
			uint64_t minor;
			int exp = souk_currency_exponent(cols[i].sub);
			if (exp < 0) {
				snprintf(err, err_len, "column '%s', '%s' is not an ISO 4217 currency code",
					 cols[i].name, cols[i].sub);
				goto fail;
			}
			if (import_parse_decimal(s, n, (unsigned)exp, &minor)) {
				snprintf(err, err_len, "column '%s', bad price '%.32s' (a decimal like 2.55)",
					 cols[i].name, s);
				goto fail;
			}
			if (!price)
				price = json_object();
			if (!price || json_object_set_new(price, cols[i].sub,
							  json_integer((json_int_t)minor)) != 0) {
				rc = SOUK_ENOMEM;
				goto fail;
			}
			break;
		}
		case COL_STOCK:
		case COL_LINES: {
			uint64_t v;
			char tmp[32];
			lower_copy(tmp, sizeof(tmp), s, n);
			if (n >= sizeof(tmp) || souk_parse_u64(tmp, 0, STOCK_MAX, &v) != 0) {
				snprintf(err, err_len, "column '%s', bad count '%.32s'", cols[i].name, s);
				goto fail;
			}
			if (cols[i].kind == COL_STOCK) {
				json_object_set_new(set, "stock", json_integer((json_int_t)v));
			} else {
				have_lines = true;
				lines = v;
			}
			break;
		}
		}
	}
	if (title)
		json_object_set(set, "title", title);
	if (desc)
		json_object_set(set, "description", desc);
	if (price)
		json_object_set(set, "price", price);

	/* defaults for a new product */
	json_object_set_new(create, "status", json_string("active"));
	json_object_set_new(create, "seller",
			    json_string(o->seller && *o->seller ? o->seller : IMPORT_SELLER_DEFAULT));
	json_object_set_new(create, "category", json_string(IMPORT_CATEGORY_DEFAULT));
	json_object_set_new(create, "stock",
			    json_integer((json_int_t)(have_lines ? lines : o->default_stock)));
	*set_out = set;
	*create_out = create;
	set = create = NULL;
	rc = 0;
fail:
	json_decref(title);
	json_decref(desc);
	json_decref(price);
	json_decref(set);
	json_decref(create);
	return rc;
}

int import_csv_docs(const char *data, size_t len, const import_opts_t *opts,
		    import_csv_doc_fn cb, void *arg)
{
	import_opts_t def;
	import_csv_t r;
	col_t *cols = NULL;
	size_t ncols = 0;
	uint64_t line = 0;
	const char *perr;
	char err[256];
	int rc;

	if (!opts) {
		memset(&def, 0, sizeof(def));
		opts = &def;
	}
	import_csv_init(&r, data, len);
	for (;;) {
		rc = import_csv_next(&r, &line, &perr);
		if (rc == 1)
			break;
		if (rc == 0) {
			cb(arg, 1, NULL, NULL, "empty file (a header line is needed)");
			rc = SOUK_EINVAL;
			goto out;
		}
		if (rc == SOUK_ENOMEM)
			goto out;
		cb(arg, line, NULL, NULL, perr);
		rc = SOUK_EINVAL;
		goto out;
	}
	ncols = r.nfields;
	cols = calloc(ncols, sizeof(*cols));
	if (!cols) {
		rc = SOUK_ENOMEM;
		goto out;
	}
	rc = map_header(&r, cols, err, sizeof(err));
	if (rc) {
		cb(arg, line, NULL, NULL, err);
		goto out;
	}
	for (;;) {
		json_t *set = NULL, *create = NULL;
		rc = import_csv_next(&r, &line, &perr);
		if (rc == 0)
			break;
		if (rc == SOUK_ENOMEM)
			goto out;
		if (rc < 0) {
			cb(arg, line, NULL, NULL, perr);
			continue;
		}
		err[0] = '\0';
		rc = row_to_docs(&r, cols, ncols, opts, &set, &create, err, sizeof(err));
		if (rc == SOUK_ENOMEM)
			goto out;
		cb(arg, line, set, create, rc ? err : NULL);
		json_decref(set);
		json_decref(create);
	}
	rc = 0;
out:
	free(cols);
	import_csv_deinit(&r);
	return rc;
}

/* ---- applying to the store ------------------------------------------------------ */

typedef struct {
	uint64_t line;
	store_op_t op;
	store_id_t id;
	uint64_t expect_version;
	char *doc;
	size_t doc_len;
	char key[4 + SKU_MAX + 1];
	size_t key_len;
	const char *keyp;
} pending_t;

typedef struct {
	store_t *s;
	const import_opts_t *o;
	import_stats_t *st;
	pending_t *pend;
	store_mut_t *muts;
	size_t npend, batch;
	int fatal; /* an error that stops the import */
} importer_t;

static void report(importer_t *im, uint64_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(importer_t *im, uint64_t line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* names and values from the file: no terminal controls on the way out */
	souk_text_sanitize(msg, strlen(msg), 0, 0, msg, sizeof(msg));
	if (im->o->on_error)
		im->o->on_error(im->o->error_arg, line, msg);
	else
		log_msg(LOG_ERR, "import", "import, line %llu, %s", (unsigned long long)line, msg);
}

static void pending_clear(importer_t *im)
{
	for (size_t i = 0; i < im->npend; i++)
		souk_free(&im->pend[i].doc);
	im->npend = 0;
}

/* One durable transaction for the pending mutations. */
static int flush(importer_t *im)
{
	int rc;
	if (im->npend == 0)
		return 0;
	memset(im->muts, 0, im->npend * sizeof(*im->muts));
	size_t key_lens[IMPORT_BATCH_DEFAULT * 4];
	size_t *klen = im->npend <= SOUK_ARRAY_LEN(key_lens) ? key_lens : NULL;
	if (!klen)
		klen = calloc(im->npend, sizeof(*klen));
	if (!klen) {
		rc = SOUK_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < im->npend; i++) {
		pending_t *p = &im->pend[i];
		store_mut_t *m = &im->muts[i];
		m->op = p->op;
		m->kind = PRODUCT_KIND;
		m->id = p->id;
		m->expect_version = p->expect_version;
		m->doc = p->doc;
		m->doc_len = p->doc_len;
		m->doc_is_json_object = true; /* json_dumps of a validated object */
		p->keyp = p->key;
		klen[i] = p->key_len;
		m->keys = &p->keyp;
		m->key_lens = &klen[i];
		m->nkeys = 1;
		m->actor = im->o->actor ? im->o->actor : "import";
		m->reason = im->o->reason ? im->o->reason : "catalog import";
	}
	rc = store_apply(im->s, im->muts, im->npend);
	for (size_t i = 0; i < im->npend; i++) {
		int r = rc ? rc : im->muts[i].result;
		if (r == 0) {
			if (im->pend[i].op == STORE_OP_CREATE)
				im->st->created++;
			else
				im->st->updated++;
		} else {
			im->st->failed++;
			report(im, im->pend[i].line, "not stored (%s)", souk_strerror(r));
		}
	}
	if (klen != key_lens)
		free(klen);
out:
	pending_clear(im);
	return rc;
}

static bool pending_has(const importer_t *im, const char *key, size_t key_len)
{
	for (size_t i = 0; i < im->npend; i++)
		if (im->pend[i].key_len == key_len && memcmp(im->pend[i].key, key, key_len) == 0)
			return true;
	return false;
}

static const char *const doc_order[] = { "sku",	  "status", "seller", "category", "title",
					 "description", "price",  "stock",  "attributes" };

/* a's fields, else b's, in the canonical order; then a's other fields. */
static json_t *doc_merge_new(json_t *a, json_t *b)
{
	json_t *o = json_object();
	const char *k;
	json_t *v;
	if (!o)
		return NULL;
	for (size_t i = 0; i < SOUK_ARRAY_LEN(doc_order); i++) {
		v = json_object_get(a, doc_order[i]);
		if (!v && b)
			v = json_object_get(b, doc_order[i]);
		if (v)
			json_object_set(o, doc_order[i], v);
	}
	json_object_foreach(a, k, v)
	{
		if (!json_object_get(o, k))
			json_object_set(o, k, v);
	}
	return o;
}

/* Existing document with the fields of set applied (texts and prices merged
 * per locale / currency). */
static json_t *doc_merge_update(json_t *existing, json_t *set)
{
	json_t *o = json_deep_copy(existing);
	const char *k;
	json_t *v;
	if (!o)
		return NULL;
	json_object_foreach(set, k, v)
	{
		json_t *cur = json_object_get(o, k);
		if ((strcmp(k, "title") == 0 || strcmp(k, "description") == 0 ||
		     strcmp(k, "price") == 0) &&
		    json_is_object(v) && json_is_object(cur)) {
			json_object_update(cur, v);
		} else {
			json_object_set(o, k, v);
		}
	}
	return o;
}

/* Queue one product: set = fields from the file, create = defaults for a new
 * product (CSV) or NULL with replace (JSON Lines). */
static void import_one(importer_t *im, uint64_t line, json_t *set, json_t *create, bool replace,
		       const store_id_t *want_id)
{
	store_rec_t rec;
	json_t *existing = NULL, *doc = NULL;
	char err[512], key[4 + SKU_MAX + 1];
	size_t key_len;
	int rc;

	memset(&rec, 0, sizeof(rec));
	im->st->records++;
	json_t *jsku = json_object_get(set, "sku");
	if (!json_is_string(jsku) ||
	    !product_sku_valid(json_string_value(jsku), json_string_length(jsku)) ||
	    strlen(json_string_value(jsku)) != json_string_length(jsku)) {
		im->st->failed++;
		report(im, line, "'sku' must be 1 to %d characters of A-Z a-z 0-9 . _ - and single "
				 "inner spaces", PRODUCT_SKU_MAX);
		return;
	}
	memcpy(key, "sku", 4);
	memcpy(key + 4, json_string_value(jsku), json_string_length(jsku));
	key_len = 4 + json_string_length(jsku);
	if (pending_has(im, key, key_len)) {
		rc = flush(im); /* the same SKU again: let the first one land */
		if (rc) {
			im->fatal = rc;
			return;
		}
	}
	rc = im->o->dry_run && pending_has(im, key, key_len)
		     ? SOUK_ENOENT
		     : store_get_by_key(im->s, PRODUCT_KIND, key, key_len, &rec);
	if (rc && rc != SOUK_ENOENT) {
		im->st->failed++;
		report(im, line, "cannot read the stored product (%s)", souk_strerror(rc));
		if (rc != SOUK_EINVAL)
			im->fatal = rc;
		return;
	}
	if (rc == 0 && rec.archived) {
		im->st->skipped++;
		report(im, line, "product '%s' is archived, left alone", json_string_value(jsku));
		goto out;
	}
	if (rc == 0) {
		json_error_t jerr;
		existing = json_loadb(rec.doc, rec.doc_len, 0, &jerr);
		if (!json_is_object(existing)) {
			im->st->failed++;
			report(im, line, "the stored product '%s' is not a JSON object",
			       json_string_value(jsku));
			goto out;
		}
		if (replace) {
			/* a line without status, seller or category keeps the stored ones */
			static const char *const kept[] = { "status", "seller", "category" };
			json_t *keep = json_object();
			for (size_t k = 0; keep && k < SOUK_ARRAY_LEN(kept); k++) {
				json_t *v = json_object_get(existing, kept[k]);
				if (v)
					json_object_set(keep, kept[k], v);
			}
			doc = keep ? doc_merge_new(set, keep) : NULL;
			json_decref(keep);
		} else {
			doc = doc_merge_update(existing, set);
		}
	} else {
		doc = doc_merge_new(set, create);
	}
	if (!doc) {
		im->fatal = SOUK_ENOMEM;
		goto out;
	}
	json_t *norm = NULL;
	rc = import_product_validate(doc, &norm, err, sizeof(err));
	if (rc == SOUK_ENOMEM) {
		im->fatal = rc;
		goto out;
	}
	if (rc) {
		im->st->failed++;
		report(im, line, "%s", err);
		goto out;
	}
	json_decref(doc);
	doc = norm; /* canonical order, NFC text, defaults: as the API stores it */
	if (existing && json_equal(existing, doc)) {
		im->st->unchanged++;
		goto out;
	}
	if (im->o->dry_run) {
		if (existing)
			im->st->updated++;
		else
			im->st->created++;
		goto out;
	}
	pending_t *p = &im->pend[im->npend];
	memset(p, 0, sizeof(*p));
	p->line = line;
	p->doc = json_dumps(doc, JSON_COMPACT);
	if (!p->doc) {
		im->fatal = SOUK_ENOMEM;
		goto out;
	}
	p->doc_len = strlen(p->doc);
	memcpy(p->key, key, key_len);
	p->key_len = key_len;
	if (existing) {
		p->op = STORE_OP_UPDATE;
		p->id = rec.id;
		p->expect_version = rec.version;
	} else {
		p->op = STORE_OP_CREATE;
		if (want_id) {
			p->id = *want_id;
		} else if (store_id_new(&p->id) != 0) {
			souk_free(&p->doc);
			im->fatal = SOUK_ECRYPTO;
			goto out;
		}
	}
	im->npend++;
	if (im->npend == im->batch) {
		rc = flush(im);
		if (rc)
			im->fatal = rc;
	}
out:
	json_decref(existing);
	json_decref(doc);
	store_rec_deinit(&rec);
}

static void csv_doc_cb(void *arg, uint64_t line, json_t *set, json_t *create, const char *err)
{
	importer_t *im = arg;
	if (im->fatal)
		return;
	if (err) {
		if (line > 1 || set) {
			im->st->records++;
			im->st->failed++;
		}
		report(im, line, "%s", err);
		return;
	}
	import_one(im, line, set, create, false, NULL);
}

static int import_jsonl(importer_t *im, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	uint64_t line = 0;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end && !im->fatal) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *b = p;
		line++;
		p = nl ? nl + 1 : end;
		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (b == e)
			continue;
		if ((size_t)(e - b) > IMPORT_RECORD_MAX) {
			im->st->records++;
			im->st->failed++;
			report(im, line, "line longer than %u bytes", IMPORT_RECORD_MAX);
			continue;
		}
		json_error_t jerr;
		json_t *doc = json_loadb(b, (size_t)(e - b), JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(doc)) {
			im->st->records++;
			im->st->failed++;
			if (doc)
				report(im, line, "a product must be a JSON object");
			else
				report(im, line, "invalid JSON, column %d (%s)", jerr.column, jerr.text);
			json_decref(doc);
			continue;
		}
		store_id_t id, *want = NULL;
		json_t *jid = json_object_get(doc, "id");
		if (jid) {
			if (!json_is_string(jid) || store_id_parse(json_string_value(jid), &id) != 0) {
				im->st->records++;
				im->st->failed++;
				report(im, line, "'id' must be 32 hex characters");
				json_decref(doc);
				continue;
			}
			want = &id;
			json_object_del(doc, "id");
		}
		/* a new product without status or category: active, and the
		 * default category */
		json_t *create = json_object();
		if (create) {
			json_object_set_new(create, "status", json_string("active"));
			json_object_set_new(create, "seller",
					    json_string(im->o->seller && *im->o->seller
								? im->o->seller
								: IMPORT_SELLER_DEFAULT));
			json_object_set_new(create, "category",
					    json_string(IMPORT_CATEGORY_DEFAULT));
		}
		import_one(im, line, doc, create, true, want);
		json_decref(create);
		json_decref(doc);
	}
	return im->fatal;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

static int import_run(store_t *s, const char *data, size_t len, const import_opts_t *opts,
		      import_format_t fmt, import_stats_t *stats)
{
	importer_t im;
	int rc;

	memset(&im, 0, sizeof(im));
	memset(stats, 0, sizeof(*stats));
	im.s = s;
	im.o = opts;
	im.st = stats;
	im.batch = opts->batch ? opts->batch : IMPORT_BATCH_DEFAULT;
	if (im.batch > 100000)
		im.batch = 100000;
	im.pend = calloc(im.batch, sizeof(*im.pend));
	im.muts = calloc(im.batch, sizeof(*im.muts));
	if (!im.pend || !im.muts) {
		rc = SOUK_ENOMEM;
		goto out;
	}
	if (fmt == IMPORT_FMT_CSV) {
		rc = import_csv_docs(data, len, opts, csv_doc_cb, &im);
		if (rc == 0)
			rc = im.fatal;
	} else {
		rc = import_jsonl(&im, data, len);
	}
	if (rc == 0 && !im.fatal)
		rc = flush(&im);
	if (rc == 0)
		rc = im.fatal;
out:
	pending_clear(&im);
	free(im.pend);
	free(im.muts);
	return rc;
}

int import_mem(store_t *s, const char *data, size_t len, const import_opts_t *opts,
	       import_stats_t *stats)
{
	import_opts_t def;
	import_stats_t st;
	if (!s || (!data && len))
		return SOUK_EINVAL;
	if (!opts) {
		memset(&def, 0, sizeof(def));
		opts = &def;
	}
	if (!stats)
		stats = &st;
	import_format_t fmt = opts->format;
	if (fmt == IMPORT_FMT_AUTO) {
		/* a first line that opens a JSON object means JSON Lines */
		size_t i = 0;
		while (i < len && isspace((unsigned char)data[i]))
			i++;
		fmt = i < len && data[i] == '{' ? IMPORT_FMT_JSONL : IMPORT_FMT_CSV;
	}
	return import_run(s, data ? data : "", len, opts, fmt, stats);
}

static int read_all(const char *path, char **out, size_t *len)
{
	if (strcmp(path, "-") != 0)
		return souk_read_file(path, IMPORT_FILE_MAX, out, len);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return SOUK_ENOMEM;
	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= IMPORT_FILE_MAX) {
				free(buf);
				return SOUK_ETOOBIG;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return SOUK_ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(STDIN_FILENO, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;
			free(buf);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int import_file(store_t *s, const char *path, const import_opts_t *opts, import_stats_t *stats)
{
	import_opts_t o;
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (!s || !path)
		return SOUK_EINVAL;
	if (opts)
		o = *opts;
	else
		memset(&o, 0, sizeof(o));
	if (o.format == IMPORT_FMT_AUTO) {
		if (ends_with(path, ".csv"))
			o.format = IMPORT_FMT_CSV;
		else if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson") ||
			 ends_with(path, ".json"))
			o.format = IMPORT_FMT_JSONL;
	}
	rc = read_all(path, &data, &len);
	if (rc) {
		log_msg(LOG_ERR, "import", "import, cannot read '%s' (%s)", path, souk_strerror(rc));
		return rc;
	}
	rc = import_mem(s, data, len, &o, stats);
	free(data);
	return rc;
}

/* ---- export ---------------------------------------------------------------------- */

#define EXPORT_COLS_MAX 64

typedef struct {
	char v[EXPORT_COLS_MAX][LOCALE_MAX];
	size_t n;
} strset_t;

static void strset_add(strset_t *s, const char *v)
{
	size_t i = 0;
	if (strlen(v) >= LOCALE_MAX)
		return;
	while (i < s->n && strcmp(s->v[i], v) < 0)
		i++;
	if ((i < s->n && strcmp(s->v[i], v) == 0) || s->n == EXPORT_COLS_MAX)
		return;
	memmove(s->v[i + 1], s->v[i], (s->n - i) * LOCALE_MAX);
	snprintf(s->v[i], LOCALE_MAX, "%s", v);
	s->n++;
}

typedef struct {
	FILE *f;
	import_format_t fmt;
	uint64_t count;
	strset_t titles, descs, curs;
	bool survey; /* CSV first pass: collect columns */
	int err;
} exporter_t;

static void csv_put(FILE *f, const char *s, size_t n, bool first)
{
	bool quote = n && (isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]));
	if (!first)
		fputc(',', f);
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
	if (!quote) {
		fwrite(s, 1, n, f);
		return;
	}
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

static void csv_put_json_str(FILE *f, json_t *v)
{
	if (json_is_string(v))
		csv_put(f, json_string_value(v), json_string_length(v), false);
	else
		fputc(',', f);
}

static void csv_put_price(FILE *f, json_t *v, const char *cur)
{
	char buf[48];
	int e = souk_currency_exponent(cur);
	unsigned exp = e < 0 || e > 4 ? 2 : (unsigned)e; /* validated when stored */
	fputc(',', f);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return;
	uint64_t x = (uint64_t)json_integer_value(v), div = 1;
	for (unsigned i = 0; i < exp; i++)
		div *= 10;
	if (exp)
		snprintf(buf, sizeof(buf), "%llu.%0*llu", (unsigned long long)(x / div), (int)exp,
			 (unsigned long long)(x % div));
	else
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)x);
	fputs(buf, f);
}

static int export_cb(const store_rec_t *rec, void *arg)
{
	exporter_t *ex = arg;
	json_error_t jerr;
	const char *k;
	json_t *v;

	if (rec->archived)
		return 0;
	json_t *doc = json_loadb(rec->doc, rec->doc_len, 0, &jerr);
	if (!json_is_object(doc)) {
		char hex[33];
		store_id_hex(&rec->id, hex);
		log_msg(LOG_WARNING, "import", "export, product '%s' is not a JSON object, skipped",
			hex);
		json_decref(doc);
		return 0;
	}
	if (ex->survey) {
		json_object_foreach(json_object_get(doc, "title"), k, v) strset_add(&ex->titles, k);
		json_object_foreach(json_object_get(doc, "description"), k, v)
			strset_add(&ex->descs, k);
		json_object_foreach(json_object_get(doc, "price"), k, v) strset_add(&ex->curs, k);
		json_decref(doc);
		return 0;
	}
	if (ex->fmt == IMPORT_FMT_JSONL) {
		char hex[33];
		json_t *o = json_object();
		store_id_hex(&rec->id, hex);
		json_object_set_new(o, "id", json_string(hex));
		json_object_foreach(doc, k, v) json_object_set(o, k, v);
		char *s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		if (!s) {
			json_decref(doc);
			ex->err = SOUK_ENOMEM;
			return 1;
		}
		fputs(s, ex->f);
		fputc('\n', ex->f);
		free(s);
	} else {
		json_t *sku = json_object_get(doc, "sku");
		csv_put(ex->f, json_string_value(sku) ? json_string_value(sku) : "",
			json_string_value(sku) ? json_string_length(sku) : 0, true);
		csv_put_json_str(ex->f, json_object_get(doc, "status"));
		csv_put_json_str(ex->f, json_object_get(doc, "seller"));
		csv_put_json_str(ex->f, json_object_get(doc, "category"));
		for (size_t i = 0; i < ex->titles.n; i++)
			csv_put_json_str(ex->f,
					 json_object_get(json_object_get(doc, "title"), ex->titles.v[i]));
		for (size_t i = 0; i < ex->descs.n; i++)
			csv_put_json_str(ex->f, json_object_get(json_object_get(doc, "description"),
								ex->descs.v[i]));
		for (size_t i = 0; i < ex->curs.n; i++)
			csv_put_price(ex->f, json_object_get(json_object_get(doc, "price"), ex->curs.v[i]),
				      ex->curs.v[i]);
		fputc(',', ex->f);
		v = json_object_get(doc, "stock");
		if (json_is_integer(v))
			fprintf(ex->f, "%lld", (long long)json_integer_value(v));
		fputc('\n', ex->f);
	}
	json_decref(doc);
	ex->count++;
	return ferror(ex->f) ? (ex->err = -EIO, 1) : 0;
}

int export_stream(store_t *s, FILE *f, import_format_t format, uint64_t *count)
{
	exporter_t ex;
	int rc;
	if (!s || !f)
		return SOUK_EINVAL;
	memset(&ex, 0, sizeof(ex));
	ex.f = f;
	ex.fmt = format == IMPORT_FMT_CSV ? IMPORT_FMT_CSV : IMPORT_FMT_JSONL;
	if (ex.fmt == IMPORT_FMT_CSV) {
		ex.survey = true;
		rc = store_scan(s, PRODUCT_KIND, export_cb, &ex);
		if (rc)
			return ex.err ? ex.err : rc;
		ex.survey = false;
		fputs("sku,status,seller,category", f);
		for (size_t i = 0; i < ex.titles.n; i++)
			fprintf(f, ",title_%s", ex.titles.v[i]);
		for (size_t i = 0; i < ex.descs.n; i++)
			fprintf(f, ",description_%s", ex.descs.v[i]);
		for (size_t i = 0; i < ex.curs.n; i++)
			fprintf(f, ",price_%s", ex.curs.v[i]);
		fputs(",stock\n", f);
	}
	rc = store_scan(s, PRODUCT_KIND, export_cb, &ex);
	if (ex.err)
		rc = ex.err;
	if (rc == 0 && fflush(f) != 0)
		rc = -errno;
	if (count)
		*count = ex.count;
	return rc;
}

int export_file(store_t *s, const char *path, import_format_t format, uint64_t *count)
{
	char tmp[4096];
	FILE *f = NULL;
	int fd = -1, rc;

	if (!s || !path)
		return SOUK_EINVAL;
	if (format == IMPORT_FMT_AUTO)
		format = ends_with(path, ".csv") ? IMPORT_FMT_CSV : IMPORT_FMT_JSONL;
	if (strcmp(path, "-") == 0)
		return export_stream(s, stdout, format, count);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return SOUK_EINVAL;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0640) != 0 || !(f = fdopen(fd, "w"))) {
		rc = -errno;
		close(fd);
		goto fail;
	}
	rc = export_stream(s, f, format, count);
	if (rc == 0 && fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc)
		goto fail;
	if (rename(tmp, path) != 0) {
		rc = -errno;
		goto fail;
	}
	return 0;
fail:
	unlink(tmp);
	log_msg(LOG_ERR, "import", "export, cannot write '%s' (%s)", path, souk_strerror(rc));
	return rc;
}
