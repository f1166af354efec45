/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/import.c - import and export of any kind (daemon/import.h): one
 * pipeline over the kind's field table, its keys and what it declares for
 * imports (model/import.h). No kind is named here.
 */
#include "daemon/import.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/currency.h"
#include "common/error.h"
#include "common/locale.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"
#include "common/problem.h"
#include "model/import.h"

#define IMPORT_FILE_MAX (1ull << 30)
#define IMPORT_FIELDS_MAX 1024
#define LOCALE_MAX 40
#define PRICE_MAX 1000000000000000ull /* 10^15 minor units */
#define DEFAULT_LOCALE "en" /* model_validate's default (model_opts_t) */

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

/* ---- kinds -------------------------------------------------------------------- */

const model_kind_t *import_kind(const char *name)
{
	return model_kind_find(name ? name : IMPORT_KIND_DEFAULT);
}

void import_kind_names(char *buf, size_t cap)
{
	size_t n = 0;
	if (cap == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < model_nkinds && n < cap; i++) {
		int k = snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", model_kinds[i]->name);
		if (k < 0)
			break;
		n += (size_t)k;
	}
}

/* opts->kind or the default kind; NULL unless it is a registered kind (the
 * store knows no other). */
static const model_kind_t *kind_of(const import_opts_t *o)
{
	const model_kind_t *k = o && o->kind ? o->kind : import_kind(NULL);
	for (size_t i = 0; k && i < model_nkinds; i++)
		if (model_kinds[i] == k)
			return k->magic == MODEL_MAGIC ? k : NULL;
	return NULL;
}

/* The kind's first unique key: what finds a stored entity without an id. */
static const model_key_t *match_key_of(const model_kind_t *k)
{
	for (size_t i = 0; i < k->nkeys; i++)
		if (k->keys[i].flags & MODEL_KEY_UNIQUE)
			return &k->keys[i];
	return NULL;
}

/* ---- validation --------------------------------------------------------------- */

static bool locale_ok(const char *s)
{
	char canon[SOUK_LOCALE_MAX];
	return souk_locale_canon(s, strlen(s), canon) == 0;
}

/* Every field error of a problem on one line: "'a' why; 'b' why". */
static void problem_line(const problem_t *pb, const char *what, char *err, size_t err_len)
{
	size_t n = 0;
	err[0] = '\0';
	if (pb->nerrors == 0)
		snprintf(err, err_len, "%s", pb->detail[0] ? pb->detail : what);
	for (size_t i = 0; i < pb->nerrors && n + 1 < err_len; i++) {
		int k = snprintf(err + n, err_len - n, "%s'%s' %s", i ? "; " : "", pb->errors[i].field,
				 pb->errors[i].detail);
		if (k < 0)
			break;
		n += (size_t)k;
	}
}

int import_validate(const model_kind_t *k, const json_t *doc, json_t **normalized, char *err,
		    size_t err_len)
{
	problem_t pb;
	char what[80];
	int rc;

	*normalized = NULL;
	err[0] = '\0';
	if (!k)
		k = import_kind(NULL);
	if (!k) {
		snprintf(err, err_len, "no such kind");
		return SOUK_EINVAL;
	}
	problem_init(&pb);
	rc = model_validate(k, NULL, doc, false, normalized, &pb);
	if (rc == SOUK_EINVAL) {
		snprintf(what, sizeof(what), "not a valid %s", k->name);
		problem_line(&pb, what, err, err_len);
		return rc;
	}
	if (rc)
		return rc;
	size_t max = k->doc_max && k->doc_max < IMPORT_DOC_MAX ? k->doc_max : IMPORT_DOC_MAX;
	if (model_dumped_len(*normalized) > max) {
		json_decref(*normalized);
		*normalized = NULL;
		snprintf(err, err_len, "the %s document is larger than %zu bytes", k->name, max);
		return SOUK_EINVAL;
	}
	return 0;
}

/* ---- CSV columns from the field table ----------------------------------------- */

#define COL_DEPTH 4 /* object nesting a column may name */

typedef struct {
	const model_field_t *path[COL_DEPTH]; /* top-level field, then members */
	size_t depth;                         /* 0: the id column */
	char sub[LOCALE_MAX];                 /* locale or currency of a map entry */
	bool create_only;                     /* used only when the entity is created */
	char name[64];                        /* as in the header, lower case */
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

static const model_field_t *field_named(const model_field_t *fs, size_t n, const char *name,
					size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(fs[i].name) == len && strncasecmp(fs[i].name, name, len) == 0)
			return &fs[i];
	return NULL;
}

static bool alpha3(const char *s)
{
	return strlen(s) == 3 && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) &&
	       isalpha((unsigned char)s[2]);
}

/* Resolve a column name against fields, appending to c->path: 0, or
 * SOUK_ENOENT when it names none. */
static int resolve(const model_field_t *fs, size_t n, const char *name, col_t *c)
{
	if (c->depth == COL_DEPTH)
		return SOUK_ENOENT;
	const model_field_t *f = field_named(fs, n, name, strlen(name));
	if (f && f->type != MODEL_PRICE_MAP) {
		c->path[c->depth++] = f;
		if (f->type == MODEL_LOCALE_MAP)
			snprintf(c->sub, sizeof(c->sub), "%s", DEFAULT_LOCALE);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		size_t fl = strlen(fs[i].name);
		const char *rest = name + fl;
		f = &fs[i];
		if (strncasecmp(name, f->name, fl) != 0)
			continue;
		if (rest[0] == '.' && f->type == MODEL_OBJECT) {
			c->path[c->depth++] = f;
			if (resolve(f->fields, f->nfields, rest + 1, c) == 0)
				return 0;
			c->depth--;
		} else if (rest[0] == '_' && f->type == MODEL_LOCALE_MAP && rest[1] &&
			   strlen(rest + 1) < LOCALE_MAX && locale_ok(rest + 1)) {
			c->path[c->depth++] = f;
			snprintf(c->sub, sizeof(c->sub), "%s", rest + 1);
			return 0;
		} else if (rest[0] == '_' && f->type == MODEL_PRICE_MAP && alpha3(rest + 1)) {
			c->path[c->depth++] = f;
			for (int k = 0; k < 3; k++)
				c->sub[k] = (char)toupper((unsigned char)rest[1 + k]);
			c->sub[3] = '\0';
			return 0;
		}
	}
	return SOUK_ENOENT;
}

static bool col_same(const col_t *a, const col_t *b)
{
	if (a->depth != b->depth || a->create_only != b->create_only || strcmp(a->sub, b->sub) != 0)
		return false;
	for (size_t i = 0; i < a->depth; i++)
		if (a->path[i] != b->path[i])
			return false;
	return true;
}

static bool col_fills(const col_t *c, const char *field)
{
	return c->depth > 0 && strcmp(c->path[0]->name, field) == 0;
}

static const model_import_alias_t *alias_of(const model_kind_t *k, const char *name)
{
	for (size_t i = 0; k->import && i < k->import->naliases; i++)
		if (strcasecmp(k->import->aliases[i].column, name) == 0)
			return &k->import->aliases[i];
	return NULL;
}

static int map_header(const model_kind_t *k, const import_csv_t *r, col_t *cols, char *err,
		      size_t err_len)
{
	bool generic[IMPORT_FIELDS_MAX];
	char name[64];

	/* first what the table says, which decides the aliases that hold only
	 * when no other column fills their field */
	for (size_t i = 0; i < r->nfields; i++) {
		col_t *c = &cols[i];
		memset(c, 0, sizeof(*c));
		lower_copy(name, sizeof(name), r->buf + r->off[i], r->len[i]);
		snprintf(c->name, sizeof(c->name), "%s", name);
		generic[i] = strcmp(name, "id") != 0 && resolve(k->fields, k->nfields, name, c) == 0;
	}
	for (size_t i = 0; i < r->nfields; i++) {
		col_t *c = &cols[i];
		const model_import_alias_t *a = alias_of(k, c->name);
		for (size_t j = 0; a && a->unless && j < r->nfields; j++)
			if (j != i && generic[j] && col_fills(&cols[j], a->unless))
				a = NULL;
		if (a) {
			col_t ac;
			memset(&ac, 0, sizeof(ac));
			memcpy(ac.name, c->name, sizeof(ac.name));
			if (resolve(k->fields, k->nfields, a->as, &ac) != 0) {
				snprintf(err, err_len, "column '%.40s' stands for '%s', which %s lacks",
					 c->name, a->as, k->name);
				return SOUK_EINVAL;
			}
			ac.create_only = (a->flags & MODEL_IMPORT_CREATE_ONLY) != 0;
			*c = ac;
		} else if (!generic[i] && strcmp(c->name, "id") != 0) {
			snprintf(err, err_len, "unknown column '%.40s' (not a field of %s)", c->name,
				 k->name);
			return SOUK_EINVAL;
		}
		for (size_t d = 0; d < c->depth; d++)
			if (c->path[d]->flags & MODEL_F_READONLY) {
				snprintf(err, err_len, "column '%.40s' is a read-only field", c->name);
				return SOUK_EINVAL;
			}
		for (size_t j = 0; j < i; j++)
			if (col_same(&cols[j], c)) {
				snprintf(err, err_len, "column '%.40s' given twice", c->name);
				return SOUK_EINVAL;
			}
	}
	/* without its key column a kind's records could neither be found nor
	 * be valid */
	const model_key_t *mk = match_key_of(k);
	const model_field_t *kf = mk ? field_named(k->fields, k->nfields, mk->field,
						   strlen(mk->field))
				     : NULL;
	if (!kf || !(kf->flags & MODEL_F_REQUIRED))
		return 0;
	for (size_t i = 0; i < r->nfields; i++)
		if (cols[i].depth == 0 || (col_fills(&cols[i], kf->name) && !cols[i].create_only))
			return 0;
	snprintf(err, err_len, "no '%s' column", kf->name);
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

/* The value of cell s (n bytes, NUL-terminated) of column c, or NULL with
 * the reason in why. */
static json_t *cell_value(const col_t *c, const char *s, size_t n, char *why, size_t why_len)
{
	const model_field_t *f = c->path[c->depth - 1];
	char tmp[32];
	switch (f->type) {
	case MODEL_PRICE_MAP: {
		uint64_t minor;
		int exp = souk_currency_exponent(c->sub);
		if (exp < 0) {
			snprintf(why, why_len, "'%s' is not an ISO 4217 currency code", c->sub);
			return NULL;
		}
		if (import_parse_decimal(s, n, (unsigned)exp, &minor)) {
			snprintf(why, why_len,
				 "bad price '%.32s' (a decimal like 2.55, at most %d decimals)", s, exp);
			return NULL;
		}
		return json_integer((json_int_t)minor);
	}
	case MODEL_INTEGER: {
		char *end;
		long long v;
		lower_copy(tmp, sizeof(tmp), s, n);
		errno = 0;
		v = strtoll(tmp, &end, 10);
		if (n >= sizeof(tmp) || tmp[0] == '\0' || *end != '\0' || errno != 0 ||
		    isspace((unsigned char)tmp[0])) {
			snprintf(why, why_len, "bad integer '%.32s'", s);
			return NULL;
		}
		return json_integer((json_int_t)v);
	}
	case MODEL_BOOL:
		lower_copy(tmp, sizeof(tmp), s, n);
		if (strcmp(tmp, "true") == 0 || strcmp(tmp, "yes") == 0 || strcmp(tmp, "1") == 0)
			return json_true();
		if (strcmp(tmp, "false") == 0 || strcmp(tmp, "no") == 0 || strcmp(tmp, "0") == 0)
			return json_false();
		snprintf(why, why_len, "bad boolean '%.32s' (true, false, yes, no, 1 or 0)", s);
		return NULL;
	case MODEL_LIST:
	case MODEL_MAP:
	case MODEL_MONEY:
	case MODEL_OBJECT: {
		json_error_t je;
		json_t *v = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
		if (!v)
			snprintf(why, why_len, "not JSON (column %d, %.80s)", je.column, je.text);
		return v;
	}
	default: {
		json_t *v = clean_text(s, n);
		if (!v)
			snprintf(why, why_len, "not valid UTF-8");
		return v;
	}
	}
}

/* Member name of o as an object, created when absent; NULL when it holds
 * something else (or out of memory). */
static json_t *child_object(json_t *o, const char *name)
{
	json_t *c = json_object_get(o, name);
	if (c)
		return json_is_object(c) ? c : NULL;
	c = json_object();
	if (!c || json_object_set_new(o, name, c) != 0)
		return NULL;
	return c;
}

/* Put v (stolen) where column c says, below dst. */
static int put_value(json_t *dst, const col_t *c, json_t *v)
{
	json_t *o = dst;
	for (size_t i = 0; o && i + 1 < c->depth; i++)
		o = child_object(o, c->path[i]->name);
	if (o && c->sub[0])
		o = child_object(o, c->path[c->depth - 1]->name);
	if (!o) {
		json_decref(v);
		return SOUK_EEXIST;
	}
	return json_object_set_new(o, c->sub[0] ? c->sub : c->path[c->depth - 1]->name, v) ? SOUK_ENOMEM
											      : 0;
}

static void add_err(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_err(char *err, size_t err_len, const char *fmt, ...)
{
	size_t n = strlen(err);
	va_list ap;
	if (n && n + 2 < err_len) {
		memcpy(err + n, "; ", 3);
		n += 2;
	}
	if (n + 1 >= err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, err_len - n, fmt, ap);
	va_end(ap);
}

/* What a new entity gets when the file leaves it out: the kind's create
 * defaults (model/import.h), those of CSV records with csv. */
static json_t *defaults_new(const model_kind_t *k, const import_opts_t *o, bool csv)
{
	json_t *d = json_object();
	for (size_t i = 0; d && k->import && i < k->import->ndefaults; i++) {
		const model_import_default_t *df = &k->import->defaults[i];
		json_t *v;
		if ((df->flags & MODEL_IMPORT_D_CSV) && !csv)
			continue;
		if ((df->flags & MODEL_IMPORT_D_SELLER) && o->seller && *o->seller)
			v = json_string(o->seller);
		else if (df->flags & MODEL_IMPORT_D_COUNT)
			v = json_integer((json_int_t)o->default_stock);
		else
			v = json_loads(df->json, JSON_DECODE_ANY, NULL);
		if (!v || json_object_set_new(d, df->field, v) != 0) {
			json_decref(d);
			return NULL;
		}
	}
	return d;
}

/* Append the errors partial validation finds in the good cells of a line
 * that has bad ones: the line names every bad field at once. */
static void good_cells_errors(const model_kind_t *k, const json_t *set, char *err,
			      size_t err_len)
{
	json_t *frag = json_copy((json_t *)set), *norm = NULL;
	problem_t pb;
	char more[512];
	if (!frag)
		return;
	json_object_del(frag, "id");
	problem_init(&pb);
	if (model_validate(k, NULL, frag, true, &norm, &pb) == SOUK_EINVAL) {
		problem_line(&pb, "", more, sizeof(more));
		if (more[0])
			add_err(err, err_len, "%s", more);
	}
	json_decref(norm);
	json_decref(frag);
}

/* One CSV record to (set, create); err names every bad cell. */
static int row_to_docs(const model_kind_t *k, const import_csv_t *r, const col_t *cols,
		       size_t ncols, const json_t *defaults, json_t **set_out, json_t **create_out,
		       char *err, size_t err_len)
{
	json_t *set = json_object(), *create = json_deep_copy(defaults);
	char why[200];
	int rc = SOUK_EINVAL;

	err[0] = '\0';
	if (!set || !create) {
		rc = SOUK_ENOMEM;
		goto fail;
	}
	if (r->nfields != ncols) {
		snprintf(err, err_len, "%zu fields, the header has %zu", r->nfields, ncols);
		goto fail;
	}
	for (size_t i = 0; i < ncols; i++) {
		const col_t *c = &cols[i];
		const char *s = r->buf + r->off[i];
		size_t n = r->len[i], t0 = 0;
		json_t *v;
		while (t0 < n && isspace((unsigned char)s[t0]))
			t0++;
		if (t0 == n)
			continue; /* an empty cell sets nothing */
		why[0] = '\0';
		v = c->depth ? cell_value(c, s, n, why, sizeof(why)) : clean_text(s, n);
		if (!v) {
			add_err(err, err_len, "column '%s', %s", c->name, why[0] ? why : "not valid UTF-8");
			continue;
		}
		if (c->depth == 0) {
			json_object_set_new(set, "id", v);
			continue;
		}
		rc = put_value(c->create_only ? create : set, c, v);
		if (rc == SOUK_ENOMEM)
			goto fail;
		if (rc)
			add_err(err, err_len, "column '%s' conflicts with another column", c->name);
		rc = SOUK_EINVAL;
	}
	if (err[0]) {
		good_cells_errors(k, set, err, err_len);
		goto fail;
	}
	*set_out = set;
	*create_out = create;
	return 0;
fail:
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
	json_t *defaults = NULL;
	size_t ncols = 0;
	uint64_t line = 0;
	const char *perr;
	char err[512];
	int rc;

	if (!opts) {
		memset(&def, 0, sizeof(def));
		opts = &def;
	}
	const model_kind_t *k = kind_of(opts);
	if (!k) {
		cb(arg, 1, NULL, NULL, "not a registered kind");
		return SOUK_EINVAL;
	}
	defaults = defaults_new(k, opts, true);
	if (!defaults)
		return SOUK_ENOMEM;
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
	rc = map_header(k, &r, cols, err, sizeof(err));
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
		rc = row_to_docs(k, &r, cols, ncols, defaults, &set, &create, err, sizeof(err));
		if (rc == SOUK_ENOMEM)
			goto out;
		cb(arg, line, set, create, rc ? err : NULL);
		json_decref(set);
		json_decref(create);
	}
	rc = 0;
out:
	json_decref(defaults);
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
	char *kbuf;                     /* the bytes of the keys below */
	const char *kp[MODEL_KEY_VALUES_MAX]; /* unique keys, then index keys */
	size_t klen[MODEL_KEY_VALUES_MAX];
	size_t nunique, nindex;
	char *why; /* the kind's checks refused it (model_kind_t.check_txn) */
} pending_t;

/* Mutations the kind's checks against other entities refused, retried
 * once the file is read: a row may name an entity a later row creates (a
 * category before its parent). */
typedef struct {
	pending_t *v;
	size_t n, cap;
} deferred_t;

typedef struct {
	store_t *s;
	const model_kind_t *k;
	const model_key_t *mkey;  /* the kind's first unique key, or NULL */
	const import_opts_t *o;
	import_stats_t *st;
	json_t *jdefaults;        /* create defaults of JSON lines */
	pending_t *pend;
	store_mut_t *muts;
	store_work_t *work; /* with the kind's checks: one unit per mutation */
	size_t npend, batch;
	deferred_t deferred;
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

static void pending_free(pending_t *p)
{
	souk_free(&p->doc);
	souk_free(&p->kbuf);
	souk_free(&p->why);
}

static void pending_clear(importer_t *im)
{
	for (size_t i = 0; i < im->npend; i++)
		pending_free(&im->pend[i]);
	im->npend = 0;
}

/* Keep a refused mutation for the retry (it owns its buffers); false when
 * out of memory. */
static bool defer(deferred_t *d, pending_t *p)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		pending_t *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return false;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = *p;
	memset(p, 0, sizeof(*p));
	return true;
}

typedef struct {
	const model_kind_t *k;
	store_mut_t *m;
	pending_t *p;
} checked_put_t;

/* The kind's checks and the put, in one unit (as the API writes). */
static int checked_put(store_txn_t *t, void *arg)
{
	checked_put_t *a = arg;
	problem_t pb;
	json_error_t je;
	char why[512];
	souk_free(&a->p->why); /* a unit may run again */
	json_t *doc = json_loadb(a->m->doc, a->m->doc_len, 0, &je);
	if (!doc)
		return SOUK_ENOMEM;
	problem_init(&pb);
	int rc = a->k->check_txn(a->k, t, doc, a->m->op == STORE_OP_UPDATE ? &a->m->id : NULL,
				 &pb);
	json_decref(doc);
	if (rc)
		return rc;
	if (pb.status) {
		problem_line(&pb, "refused by the checks of its kind", why, sizeof(why));
		a->p->why = strdup(why);
		return a->p->why ? SOUK_EINVAL : SOUK_ENOMEM;
	}
	return store_txn_put(t, a->m);
}

/* One durable transaction for the pending mutations. */
static int flush(importer_t *im)
{
	int rc;
	if (im->npend == 0)
		return 0;
	memset(im->muts, 0, im->npend * sizeof(*im->muts));
	for (size_t i = 0; i < im->npend; i++) {
		pending_t *p = &im->pend[i];
		store_mut_t *m = &im->muts[i];
		m->op = p->op;
		m->kind = im->k->name;
		m->id = p->id;
		m->expect_version = p->expect_version;
		m->doc = p->doc;
		m->doc_len = p->doc_len;
		m->doc_is_json_object = true; /* json_dumps of a validated object */
		m->keys = p->kp;
		m->key_lens = p->klen;
		m->nkeys = p->nunique;
		m->index_keys = p->kp + p->nunique;
		m->index_key_lens = p->klen + p->nunique;
		m->nindex = p->nindex;
		m->actor = im->o->actor ? im->o->actor : "import";
		m->reason = im->o->reason ? im->o->reason : "import";
	}
	checked_put_t *args = NULL;
	if (im->k->check_txn) {
		args = calloc(im->npend, sizeof(*args));
		if (!args)
			return SOUK_ENOMEM;
		memset(im->work, 0, im->npend * sizeof(*im->work));
		for (size_t i = 0; i < im->npend; i++) {
			args[i] = (checked_put_t){ im->k, &im->muts[i], &im->pend[i] };
			im->work[i].fn = checked_put;
			im->work[i].arg = &args[i];
			im->work[i].actor = im->muts[i].actor;
		}
		rc = store_apply_work(im->s, im->work, im->npend);
	} else {
		rc = store_apply(im->s, im->muts, im->npend);
	}
	for (size_t i = 0; i < im->npend; i++) {
		int r = rc ? rc : im->muts[i].result;
		if (args && rc == 0 && im->work[i].result != 0 && r == 0)
			r = im->work[i].result; /* the unit stopped before its put */
		if (rc == 0 && r == SOUK_EINVAL && im->pend[i].why) {
			if (!defer(&im->deferred, &im->pend[i]))
				rc = SOUK_ENOMEM;
			continue;
		}
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
	free(args);
	pending_clear(im);
	return rc;
}

/* Retry what the checks refused, in file order, while a pass stores any of
 * it (each pass settles at least one more level of a tree); then report
 * what is left with its reason. */
static int retry_deferred(importer_t *im)
{
	int rc = 0;
	for (;;) {
		deferred_t d = im->deferred;
		uint64_t before = im->st->created + im->st->updated;
		if (d.n == 0)
			return 0;
		memset(&im->deferred, 0, sizeof(im->deferred));
		for (size_t i = 0; i < d.n; i++) {
			if (rc) {
				pending_free(&d.v[i]);
				continue;
			}
			im->pend[im->npend] = d.v[i];
			souk_free(&im->pend[im->npend].why);
			im->npend++;
			if (im->npend == im->batch)
				rc = flush(im);
		}
		free(d.v);
		if (rc == 0)
			rc = flush(im);
		if (rc)
			return rc;
		if (im->st->created + im->st->updated == before)
			break;
	}
	for (size_t i = 0; i < im->deferred.n; i++) {
		pending_t *p = &im->deferred.v[i];
		im->st->failed++;
		report(im, p->line, "%s", p->why);
		pending_free(p);
	}
	free(im->deferred.v);
	memset(&im->deferred, 0, sizeof(im->deferred));
	return 0;
}

/* Does a pending mutation touch the entity with this id or unique key? */
static bool pending_has(const importer_t *im, const store_id_t *id, const char *key,
			size_t key_len)
{
	for (size_t i = 0; i < im->npend; i++) {
		const pending_t *p = &im->pend[i];
		if (id && memcmp(&p->id, id, sizeof(*id)) == 0)
			return true;
		for (size_t k = 0; key_len && k < p->nunique; k++)
			if (p->klen[k] == key_len && memcmp(p->kp[k], key, key_len) == 0)
				return true;
	}
	return false;
}

static int pending_keys(pending_t *p, const model_keys_t *keys)
{
	size_t total = 0, n = 0;
	for (size_t i = 0; i < keys->nunique; i++)
		total += keys->unique_len[i];
	for (size_t i = 0; i < keys->nindex; i++)
		total += keys->index_len[i];
	p->kbuf = malloc(total ? total : 1);
	if (!p->kbuf)
		return SOUK_ENOMEM;
	p->nunique = keys->nunique;
	p->nindex = keys->nindex;
	for (size_t i = 0; i < keys->nunique + keys->nindex; i++) {
		bool u = i < keys->nunique;
		const char *src = u ? keys->unique[i] : keys->index[i - keys->nunique];
		size_t len = u ? keys->unique_len[i] : keys->index_len[i - keys->nunique];
		memcpy(p->kbuf + n, src, len);
		p->kp[i] = p->kbuf + n;
		p->klen[i] = len;
		n += len;
	}
	return 0;
}

/* Merge src into dst along the field table: locale maps and price maps per
 * entry, objects per member; anything else replaces. */
static void merge_fields(const model_field_t *fs, size_t n, json_t *dst, json_t *src)
{
	const char *key;
	json_t *v;
	json_object_foreach(src, key, v)
	{
		const model_field_t *f = field_named(fs, n, key, strlen(key));
		json_t *cur = json_object_get(dst, key);
		if (f && json_is_object(v) && json_is_object(cur) && f->type == MODEL_OBJECT)
			merge_fields(f->fields, f->nfields, cur, v);
		else if (f && json_is_object(v) && json_is_object(cur) &&
			 (f->type == MODEL_LOCALE_MAP || f->type == MODEL_PRICE_MAP))
			json_object_update(cur, v);
		else
			json_object_set(dst, key, v);
	}
}

/* The unique key mk (name \0 value) of kind k that the fragment frag holds,
 * normalised as the store holds it; *len 0 when it holds none. SOUK_EINVAL
 * with err when a value is not valid. */
static int fragment_key(const model_kind_t *k, const model_key_t *mk, const json_t *frag,
			char *key, size_t cap, size_t *len, char *err, size_t err_len)
{
	model_keys_t keys;
	problem_t pb;
	json_t *norm = NULL;
	int rc;

	*len = 0;
	problem_init(&pb);
	rc = model_validate(k, NULL, frag, true, &norm, &pb);
	if (rc == SOUK_EINVAL)
		problem_line(&pb, "bad key", err, err_len);
	if (rc)
		return rc;
	rc = model_keys(k, norm, &keys);
	json_decref(norm);
	if (rc == SOUK_ETOOBIG) {
		snprintf(err, err_len, "'%s' is too long for a key", mk->field);
		return SOUK_EINVAL;
	}
	if (rc)
		return rc;
	for (size_t i = 0; i < keys.nunique; i++)
		if (strcmp(keys.unique[i], mk->name) == 0 && keys.unique_len[i] <= cap) {
			memcpy(key, keys.unique[i], keys.unique_len[i]);
			*len = keys.unique_len[i];
		}
	return 0;
}

/* The unique key (name \0 value) of the match key in set, normalised as the
 * store holds it; *len 0 when set lacks it. SOUK_EINVAL with err when its
 * value is not valid. */
static int match_key(importer_t *im, json_t *set, char *key, size_t cap, size_t *len, char *err,
		     size_t err_len)
{
	json_t *v, *frag;
	int rc;

	*len = 0;
	if (!im->mkey || !(v = json_object_get(set, im->mkey->field)))
		return 0;
	frag = json_object();
	if (!frag || json_object_set(frag, im->mkey->field, v) != 0) {
		json_decref(frag);
		return SOUK_ENOMEM;
	}
	/* a composite key's further parts, a part the line leaves out at its
	 * default (a price's min_qty 1), as a create would store it */
	for (size_t i = 0; im->mkey->also != NULL && im->mkey->also[i] != NULL; i++) {
		const char *part = im->mkey->also[i];
		json_t *pv = json_object_get(set, part), *def = NULL;
		for (size_t j = 0; pv == NULL && j < im->k->nfields; j++)
			if (strcmp(im->k->fields[j].name, part) == 0 && im->k->fields[j].def)
				pv = def = json_loads(im->k->fields[j].def, JSON_DECODE_ANY, NULL);
		rc = pv != NULL ? json_object_set(frag, part, pv) : 0;
		json_decref(def);
		if (rc != 0) {
			json_decref(frag);
			return SOUK_ENOMEM;
		}
	}
	rc = fragment_key(im->k, im->mkey, frag, key, cap, len, err, err_len);
	json_decref(frag);
	return rc;
}

/* The first unique lookup key of a single field of k: what an operator
 * types to name one of its entities (a product's sku), or NULL. */
static const model_key_t *lookup_key_of(const model_kind_t *k)
{
	for (size_t i = 0; i < k->nkeys; i++)
		if ((k->keys[i].flags & MODEL_KEY_UNIQUE) && (k->keys[i].flags & MODEL_KEY_LOOKUP) &&
		    !k->keys[i].also)
			return &k->keys[i];
	return NULL;
}

static bool is_hex_id(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return n == 32;
}

/* One reference value v at path: the id of the entity of f->ref whose
 * lookup key it is, in *out (new), or *out NULL when v is left as it is
 * (an id, or a kind without a lookup key: validation judges it). */
static int resolve_ref(importer_t *im, const model_field_t *f, const char *path, const json_t *v,
		       json_t **out, char *err, size_t err_len)
{
	const model_kind_t *rk = f->ref ? model_kind_find(f->ref) : NULL;
	const model_key_t *lk = rk ? lookup_key_of(rk) : NULL;
	const char *val = json_string_value(v);
	char key[STORE_KEY_MAX], hex[33];
	size_t key_len = 0;
	store_rec_t rec;
	int rc;

	*out = NULL;
	if (!lk || !val || is_hex_id(val))
		return 0;
	json_t *frag = json_object();
	if (!frag || json_object_set(frag, lk->field, (json_t *)v) != 0) {
		json_decref(frag);
		return SOUK_ENOMEM;
	}
	rc = fragment_key(rk, lk, frag, key, sizeof(key), &key_len, err, err_len);
	json_decref(frag);
	if (rc && rc != SOUK_EINVAL)
		return rc;
	for (int pass = 0; pass < 2; pass++) {
		memset(&rec, 0, sizeof(rec));
		rc = key_len ? store_get_by_key(im->s, rk->name, key, key_len, &rec) : SOUK_ENOENT;
		if (rc == 0 && rec.archived)
			rc = SOUK_ENOENT;
		if (rc == 0)
			store_id_hex(&rec.id, hex);
		store_rec_deinit(&rec);
		/* an entity of this very kind an earlier line of the file made */
		if (rc != SOUK_ENOENT || pass || rk != im->k || im->npend == 0)
			break;
		if ((rc = flush(im)) != 0)
			return rc;
		rc = SOUK_ENOENT;
	}
	if (rc == SOUK_ENOENT) {
		snprintf(err, err_len, "'%s' names no %s with %s '%.64s'", path, rk->name, lk->field,
			 val);
		return SOUK_EINVAL;
	}
	if (rc)
		return rc;
	*out = json_string(hex);
	return *out ? 0 : SOUK_ENOMEM;
}

/* Every reference in obj (fields fs) that names its entity by the
 * referenced kind's lookup key instead of its id becomes that entity's
 * id, as it is stored: a variant's product by the product's sku. Lists of
 * references and references inside objects and lists of objects too. */
static int resolve_refs(importer_t *im, const model_field_t *fs, size_t n, json_t *obj,
			const char *prefix, char *err, size_t err_len)
{
	char path[160];
	for (size_t i = 0; i < n; i++) {
		const model_field_t *f = &fs[i];
		json_t *v = json_object_get(obj, f->name), *el, *id;
		size_t j;
		int rc = 0;
		if (!v || (f->flags & MODEL_F_READONLY))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "/" : "", f->name);
		if (f->type == MODEL_REF) {
			rc = resolve_ref(im, f, path, v, &id, err, err_len);
			if (rc == 0 && id)
				rc = json_object_set_new(obj, f->name, id) ? SOUK_ENOMEM : 0;
		} else if (f->type == MODEL_OBJECT && json_is_object(v)) {
			rc = resolve_refs(im, f->fields, f->nfields, v, path, err, err_len);
		} else if (f->type == MODEL_LIST && f->item && json_is_array(v)) {
			json_array_foreach(v, j, el)
			{
				char ep[sizeof(path) + 24];
				snprintf(ep, sizeof(ep), "%s/%zu", path, j);
				if (f->item->type == MODEL_REF) {
					rc = resolve_ref(im, f->item, ep, el, &id, err, err_len);
					if (rc == 0 && id)
						rc = json_array_set_new(v, j, id) ? SOUK_ENOMEM : 0;
				} else if (f->item->type == MODEL_OBJECT && json_is_object(el)) {
					rc = resolve_refs(im, f->item->fields, f->item->nfields, el, ep,
							  err, err_len);
				}
				if (rc)
					break;
			}
		}
		if (rc)
			return rc;
	}
	return 0;
}

static void fail_line(importer_t *im, uint64_t line, const char *msg)
{
	im->st->failed++;
	report(im, line, "%s", msg);
}

/* Queue one entity: set = fields from the file (and "id"), create = what a
 * new one gets besides; replace (JSON Lines): set is the whole document, a
 * field of create it lacks keeps its stored value. */
static void import_one(importer_t *im, uint64_t line, json_t *set, const json_t *create,
		       bool replace)
{
	const model_kind_t *k = im->k;
	store_rec_t rec;
	store_id_t want;
	model_keys_t keys;
	json_t *existing = NULL, *doc = NULL, *norm = NULL, *jid;
	char err[512], key[STORE_KEY_MAX], label[80];
	size_t key_len = 0;
	bool have_id = false;
	int rc;

	memset(&rec, 0, sizeof(rec));
	im->st->records++;
	if ((jid = json_object_get(set, "id")) != NULL) {
		if (!json_is_string(jid) || store_id_parse(json_string_value(jid), &want) != 0) {
			fail_line(im, line, "'id' must be 32 hex characters");
			return;
		}
		have_id = true;
		json_object_del(set, "id");
	}
	rc = resolve_refs(im, k->fields, k->nfields, set, "", err, sizeof(err));
	if (rc == 0)
		rc = match_key(im, set, key, sizeof(key), &key_len, err, sizeof(err));
	if (rc == SOUK_EINVAL) {
		fail_line(im, line, err);
		return;
	}
	if (rc) {
		im->fatal = rc;
		return;
	}
	if (pending_has(im, have_id ? &want : NULL, key, key_len)) {
		rc = flush(im); /* the same entity again: let the first one land */
		if (rc) {
			im->fatal = rc;
			return;
		}
	}
	rc = SOUK_ENOENT;
	if (have_id)
		rc = store_get(im->s, k->name, &want, &rec);
	if (rc == SOUK_ENOENT && key_len) {
		store_rec_deinit(&rec);
		memset(&rec, 0, sizeof(rec));
		rc = store_get_by_key(im->s, k->name, key, key_len, &rec);
	}
	if (rc && rc != SOUK_ENOENT) {
		im->st->failed++;
		report(im, line, "cannot read the stored %s (%s)", k->name, souk_strerror(rc));
		if (rc != SOUK_EINVAL)
			im->fatal = rc;
		goto out;
	}
	if (rc == 0) {
		size_t nl = key_len ? strlen(key) + 1 : 0; /* name \0 value */
		if (key_len)
			snprintf(label, sizeof(label), "'%.*s'",
				 (int)(key_len - nl < 64 ? key_len - nl : 64), key + nl);
		else
			store_id_hex(&rec.id, label);
	}
	if (rc == 0 && rec.archived) {
		im->st->skipped++;
		report(im, line, "%s %s is archived, left alone", k->name, label);
		goto out;
	}
	if (rc == 0) {
		json_error_t jerr;
		existing = json_loadb(rec.doc, rec.doc_len, 0, &jerr);
		if (!json_is_object(existing)) {
			im->st->failed++;
			report(im, line, "the stored %s %s is not a JSON object", k->name, label);
			goto out;
		}
		if (replace) {
			const char *f;
			json_t *v;
			doc = json_copy(set);
			json_object_foreach((json_t *)create, f, v)
			{
				json_t *kept = json_object_get(existing, f);
				if (doc && !json_object_get(set, f) && kept)
					json_object_set(doc, f, kept);
			}
		} else {
			doc = json_deep_copy(existing);
			if (doc)
				merge_fields(k->fields, k->nfields, doc, set);
		}
	} else {
		doc = create ? json_deep_copy(create) : json_object();
		if (doc)
			merge_fields(k->fields, k->nfields, doc, set);
	}
	if (!doc) {
		im->fatal = SOUK_ENOMEM;
		goto out;
	}
	rc = import_validate(k, doc, &norm, err, sizeof(err));
	if (rc == SOUK_ENOMEM) {
		im->fatal = rc;
		goto out;
	}
	if (rc) {
		fail_line(im, line, err);
		goto out;
	}
	/* as the API: archiving is a delete, never a write */
	const char *status = json_string_value(json_object_get(norm, "status"));
	if ((k->flags & MODEL_K_STATUS) && status && strcmp(status, "archived") == 0) {
		fail_line(im, line, "'status' cannot be archived (archive with a delete)");
		goto out;
	}
	/* canonical order, NFC text, defaults: as the API stores it */
	if (existing && json_equal(existing, norm)) {
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
	rc = model_keys(k, norm, &keys);
	if (rc) {
		if (rc == SOUK_ETOOBIG)
			fail_line(im, line, "a key value is too long for the store");
		else
			im->fatal = rc;
		goto out;
	}
	pending_t *p = &im->pend[im->npend];
	memset(p, 0, sizeof(*p));
	p->line = line;
	p->doc = json_dumps(norm, JSON_COMPACT);
	if (!p->doc || pending_keys(p, &keys) != 0) {
		souk_free(&p->doc);
		im->fatal = SOUK_ENOMEM;
		goto out;
	}
	p->doc_len = strlen(p->doc);
	if (existing) {
		p->op = STORE_OP_UPDATE;
		p->id = rec.id;
		p->expect_version = rec.version;
	} else {
		p->op = STORE_OP_CREATE;
		if (have_id) {
			p->id = want;
		} else if (store_id_new(&p->id) != 0) {
			souk_free(&p->doc);
			souk_free(&p->kbuf);
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
	json_decref(norm);
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
	import_one(im, line, set, create, false);
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
				report(im, line, "a %s must be a JSON object", im->k->name);
			else
				report(im, line, "invalid JSON, column %d (%s)", jerr.column, jerr.text);
			json_decref(doc);
			continue;
		}
		import_one(im, line, doc, im->jdefaults, true);
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
	im.k = kind_of(opts);
	im.o = opts;
	im.st = stats;
	if (!im.k)
		return SOUK_EINVAL;
	im.mkey = match_key_of(im.k);
	im.batch = opts->batch ? opts->batch : IMPORT_BATCH_DEFAULT;
	if (im.batch > 100000)
		im.batch = 100000;
	im.pend = calloc(im.batch, sizeof(*im.pend));
	im.muts = calloc(im.batch, sizeof(*im.muts));
	im.work = calloc(im.batch, sizeof(*im.work));
	im.jdefaults = defaults_new(im.k, opts, false);
	if (!im.pend || !im.muts || !im.work || !im.jdefaults) {
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
	if (rc == 0 && !im.fatal)
		rc = retry_deferred(&im);
	if (rc == 0)
		rc = im.fatal;
out:
	pending_clear(&im);
	for (size_t i = 0; i < im.deferred.n; i++)
		pending_free(&im.deferred.v[i]);
	free(im.deferred.v);
	json_decref(im.jdefaults);
	free(im.pend);
	free(im.muts);
	free(im.work);
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
	if (!kind_of(opts)) {
		memset(stats, 0, sizeof(*stats));
		log_msg(LOG_ERR, "import", "import, not a registered kind");
		return SOUK_EINVAL;
	}
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

/* What the first pass found at a field path: the entries of a map in use,
 * whether a JSON-text field is present at all. */
typedef struct {
	const model_field_t *path[COL_DEPTH];
	size_t depth;
	strset_t subs;
	bool seen;
} survey_t;

typedef struct {
	FILE *f;
	const model_kind_t *k;
	import_format_t fmt;
	uint64_t count;
	survey_t *sv;
	size_t nsv;
	col_t *cols; /* CSV columns, in table order */
	size_t ncols;
	bool survey; /* CSV first pass: collect columns */
	int err;
} exporter_t;

static survey_t *survey_at(exporter_t *ex, const model_field_t *const *path, size_t depth,
			   bool add)
{
	for (size_t i = 0; i < ex->nsv; i++)
		if (ex->sv[i].depth == depth &&
		    memcmp(ex->sv[i].path, path, depth * sizeof(*path)) == 0)
			return &ex->sv[i];
	if (!add)
		return NULL;
	survey_t *n = realloc(ex->sv, (ex->nsv + 1) * sizeof(*n));
	if (!n) {
		ex->err = SOUK_ENOMEM;
		return NULL;
	}
	ex->sv = n;
	n = &ex->sv[ex->nsv++];
	memset(n, 0, sizeof(*n));
	memcpy(n->path, path, depth * sizeof(*path));
	n->depth = depth;
	return n;
}

/* A column is a JSON text: lists, maps, money, and objects nested too deep. */
static bool json_column(const model_field_t *f, size_t depth)
{
	return f->type == MODEL_LIST || f->type == MODEL_MAP || f->type == MODEL_MONEY ||
	       (f->type == MODEL_OBJECT && depth + 1 >= COL_DEPTH);
}

static void survey_doc(exporter_t *ex, const model_field_t *fs, size_t n, const json_t *obj,
		       const model_field_t **path, size_t depth)
{
	const char *key;
	json_t *v, *e;
	for (size_t i = 0; i < n && !ex->err; i++) {
		const model_field_t *f = &fs[i];
		survey_t *s;
		if ((f->flags & MODEL_F_READONLY) || !(v = json_object_get(obj, f->name)))
			continue;
		path[depth] = f;
		if (f->type == MODEL_LOCALE_MAP || f->type == MODEL_PRICE_MAP) {
			if ((s = survey_at(ex, path, depth + 1, true)) != NULL)
				json_object_foreach(v, key, e) strset_add(&s->subs, key);
		} else if (json_column(f, depth)) {
			if ((s = survey_at(ex, path, depth + 1, true)) != NULL)
				s->seen = true;
		} else if (f->type == MODEL_OBJECT && json_is_object(v)) {
			survey_doc(ex, f->fields, f->nfields, v, path, depth + 1);
		}
	}
}

static int col_add(exporter_t *ex, const model_field_t *const *path, size_t depth,
		   const char *sub)
{
	col_t *n = realloc(ex->cols, (ex->ncols + 1) * sizeof(*n));
	if (!n)
		return ex->err = SOUK_ENOMEM;
	ex->cols = n;
	n = &ex->cols[ex->ncols++];
	memset(n, 0, sizeof(*n));
	memcpy(n->path, path, depth * sizeof(*path));
	n->depth = depth;
	snprintf(n->sub, sizeof(n->sub), "%s", sub ? sub : "");
	return 0;
}

/* The columns, in table order: the inverse of the import's mapping. */
static void build_cols(exporter_t *ex, const model_field_t *fs, size_t n,
		       const model_field_t **path, size_t depth)
{
	for (size_t i = 0; i < n && !ex->err; i++) {
		const model_field_t *f = &fs[i];
		survey_t *s;
		if (f->flags & MODEL_F_READONLY)
			continue;
		path[depth] = f;
		s = survey_at(ex, path, depth + 1, false);
		if (f->type == MODEL_LOCALE_MAP || f->type == MODEL_PRICE_MAP) {
			for (size_t k = 0; s && k < s->subs.n; k++)
				col_add(ex, path, depth + 1, s->subs.v[k]);
		} else if (json_column(f, depth)) {
			if (s && s->seen)
				col_add(ex, path, depth + 1, NULL);
		} else if (f->type == MODEL_OBJECT) {
			build_cols(ex, f->fields, f->nfields, path, depth + 1);
		} else {
			col_add(ex, path, depth + 1, NULL);
		}
	}
}

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

/* minor units as a decimal in the currency's ISO 4217 digits */
static void format_price(char *buf, size_t cap, uint64_t x, const char *cur)
{
	int e = souk_currency_exponent(cur);
	unsigned exp = e < 0 || e > 4 ? 2 : (unsigned)e; /* validated when stored */
	uint64_t div = 1;
	for (unsigned i = 0; i < exp; i++)
		div *= 10;
	if (exp)
		snprintf(buf, cap, "%llu.%0*llu", (unsigned long long)(x / div), (int)exp,
			 (unsigned long long)(x % div));
	else
		snprintf(buf, cap, "%llu", (unsigned long long)x);
}

static void csv_header(exporter_t *ex)
{
	for (size_t i = 0; i < ex->ncols; i++) {
		const col_t *c = &ex->cols[i];
		char name[256];
		size_t n = 0;
		for (size_t d = 0; d < c->depth && n < sizeof(name); d++)
			n += (size_t)snprintf(name + n, sizeof(name) - n, "%s%s", d ? "." : "",
					      c->path[d]->name);
		if (c->sub[0] && n < sizeof(name))
			n += (size_t)snprintf(name + n, sizeof(name) - n, "_%s", c->sub);
		csv_put(ex->f, name, strlen(name), i == 0);
	}
	fputc('\n', ex->f);
}

static int csv_row(exporter_t *ex, const json_t *doc)
{
	char buf[48];
	for (size_t i = 0; i < ex->ncols; i++) {
		const col_t *c = &ex->cols[i];
		const model_field_t *f = c->path[c->depth - 1];
		const json_t *v = doc;
		for (size_t d = 0; v && d < c->depth; d++)
			v = json_object_get(v, c->path[d]->name);
		if (c->sub[0])
			v = json_object_get(v, c->sub);
		if (!v || json_is_null(v)) {
			if (i)
				fputc(',', ex->f);
		} else if (json_is_string(v)) {
			csv_put(ex->f, json_string_value(v), json_string_length(v), i == 0);
		} else if (f->type == MODEL_PRICE_MAP && json_is_integer(v) &&
			   json_integer_value(v) >= 0) {
			format_price(buf, sizeof(buf), (uint64_t)json_integer_value(v), c->sub);
			csv_put(ex->f, buf, strlen(buf), i == 0);
		} else if (json_is_integer(v)) {
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
			csv_put(ex->f, buf, strlen(buf), i == 0);
		} else if (json_is_boolean(v)) {
			csv_put(ex->f, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5,
				i == 0);
		} else {
			char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			if (!s)
				return SOUK_ENOMEM;
			csv_put(ex->f, s, strlen(s), i == 0);
			free(s);
		}
	}
	fputc('\n', ex->f);
	return 0;
}

static int export_cb(const store_rec_t *rec, void *arg)
{
	exporter_t *ex = arg;
	json_error_t jerr;
	const model_field_t *path[COL_DEPTH];
	const char *k;
	json_t *v;

	if (rec->archived)
		return 0;
	json_t *doc = json_loadb(rec->doc, rec->doc_len, 0, &jerr);
	if (!json_is_object(doc)) {
		char hex[33];
		store_id_hex(&rec->id, hex);
		log_msg(LOG_WARNING, "import", "export, %s '%s' is not a JSON object, skipped",
			ex->k->name, hex);
		json_decref(doc);
		return 0;
	}
	if (ex->survey) {
		survey_doc(ex, ex->k->fields, ex->k->nfields, doc, path, 0);
		json_decref(doc);
		return ex->err ? 1 : 0;
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
	} else if ((ex->err = csv_row(ex, doc)) != 0) {
		json_decref(doc);
		return 1;
	}
	json_decref(doc);
	ex->count++;
	return ferror(ex->f) ? (ex->err = -EIO, 1) : 0;
}

int export_kind_stream(store_t *s, const model_kind_t *k, FILE *f, import_format_t format,
		       uint64_t *count)
{
	exporter_t ex;
	import_opts_t ko = {.kind = k};
	int rc;
	if (!s || !f || !(k = kind_of(&ko)))
		return SOUK_EINVAL;
	memset(&ex, 0, sizeof(ex));
	ex.f = f;
	ex.k = k;
	ex.fmt = format == IMPORT_FMT_CSV ? IMPORT_FMT_CSV : IMPORT_FMT_JSONL;
	if (ex.fmt == IMPORT_FMT_CSV) {
		const model_field_t *path[COL_DEPTH];
		ex.survey = true;
		rc = store_scan(s, k->name, export_cb, &ex);
		if (rc == 0 && !ex.err)
			build_cols(&ex, k->fields, k->nfields, path, 0);
		if (rc || ex.err) {
			rc = ex.err ? ex.err : rc;
			goto out;
		}
		ex.survey = false;
		csv_header(&ex);
	}
	rc = store_scan(s, k->name, export_cb, &ex);
	if (ex.err)
		rc = ex.err;
	if (rc == 0 && fflush(f) != 0)
		rc = -errno;
out:
	if (count)
		*count = ex.count;
	free(ex.sv);
	free(ex.cols);
	return rc;
}

int export_stream(store_t *s, FILE *f, import_format_t format, uint64_t *count)
{
	return export_kind_stream(s, NULL, f, format, count);
}

int export_kind_file(store_t *s, const model_kind_t *k, const char *path, import_format_t format,
		     uint64_t *count)
{
	char tmp[4096];
	FILE *f = NULL;
	int fd = -1, rc;
	import_opts_t ko = {.kind = k};

	if (!s || !path || !kind_of(&ko))
		return SOUK_EINVAL;
	if (format == IMPORT_FMT_AUTO)
		format = ends_with(path, ".csv") ? IMPORT_FMT_CSV : IMPORT_FMT_JSONL;
	if (strcmp(path, "-") == 0)
		return export_kind_stream(s, k, stdout, format, count);
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
	rc = export_kind_stream(s, k, f, format, count);
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

int export_file(store_t *s, const char *path, import_format_t format, uint64_t *count)
{
	return export_kind_file(s, NULL, path, format, count);
}
