/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config/load.c - the YAML loader (libyaml event parser).
 *
 * The file is one YAML document holding a mapping; sections are nested
 * mappings whose dotted paths are items of the schema. The event parser is
 * used (not the document loader) so that aliases are never expanded: any
 * alias, anchor or tag is refused outright, as are tabs, duplicate keys,
 * unknown keys, several documents and files over CFG_FILE_MAX bytes. Every
 * problem is collected (up to CFG_ERRORS_MAX) so one run of
 * `soukd --check-config` shows them all.
 */
#include "config/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/error.h"
#include "common/text.h"
#include "common/util.h"
#include "config/values.h"

#define MAX_SECTIONS 32

typedef struct {
	yaml_parser_t parser;
	const char *file;
	cfg_t *cfg;
	cfg_errors_t *errs;
	unsigned nerr; /* errors seen, including dropped ones */
	bool broken;   /* the YAML itself is unreadable: stop */
	uint32_t column[CFG_ITEMS_MAX];
	struct {
		char name[128];
		uint32_t line;
	} sections[MAX_SECTIONS];
	unsigned nsections;
	bool said_alias, said_anchor, said_tag; /* each reported once */
} ld_t;

static void add_err(ld_t *ld, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_err(ld_t *ld, size_t line, size_t col, const char *fmt, ...)
{
	cfg_error_t *e;
	int off;
	va_list ap;

	ld->nerr++;
	if (ld->errs == NULL)
		return;
	if (ld->errs->count >= CFG_ERRORS_MAX) {
		ld->errs->dropped++;
		return;
	}
	e = &ld->errs->e[ld->errs->count++];
	e->line = (uint32_t)line;
	e->column = (uint32_t)col;
	if (line > 0)
		off = snprintf(e->msg, sizeof(e->msg), "file '%s', line %zu, column %zu, ",
			       ld->file, line, col);
	else
		off = snprintf(e->msg, sizeof(e->msg), "file '%s', ", ld->file);
	if (off < 0 || (size_t)off >= sizeof(e->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg + off, sizeof(e->msg) - (size_t)off, fmt, ap);
	va_end(ap);
}

/* A value as shown in a message: quoted, so quotes are replaced too. */
static void show_value(const char *s, size_t len, char *out, size_t out_len)
{
	souk_text_sanitize(s, len, SOUK_TEXT_QUOTE, 64, out, out_len);
}

/* Levenshtein distance, bounded names only (for "did you mean"). */
static unsigned distance(const char *a, const char *b)
{
	unsigned prev[65], cur[65];
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 100;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			unsigned del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(unsigned) * (lb + 1));
	}
	return prev[lb];
}

static const char *suggest(const char *path)
{
	size_t n;
	const cfg_item_t *schema = cfg_schema(&n);
	const char *best = NULL;
	unsigned best_d = 3; /* at most two edits */
	for (size_t i = 0; i < n; i++) {
		unsigned d = distance(path, schema[i].name);
		if (d < best_d) {
			best_d = d;
			best = schema[i].name;
		}
	}
	return best;
}

/* Is path a section, i.e. the prefix of some item followed by '.'? */
static bool is_section(const char *path)
{
	size_t n, plen = strlen(path);
	const cfg_item_t *schema = cfg_schema(&n);
	for (size_t i = 0; i < n; i++)
		if (strncmp(schema[i].name, path, plen) == 0 && schema[i].name[plen] == '.')
			return true;
	return false;
}

static const char *event_kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_MAPPING_START_EVENT: return "a mapping";
	case YAML_SEQUENCE_START_EVENT: return "a list";
	case YAML_ALIAS_EVENT: return "an alias";
	default: return "a value";
	}
}

/* Next event; on a YAML syntax error records it and marks the load broken. */
static int next(ld_t *ld, yaml_event_t *ev)
{
	if (ld->broken)
		return SOUK_ECONFIG;
	if (!yaml_parser_parse(&ld->parser, ev)) {
		const yaml_parser_t *p = &ld->parser;
		const char *problem = p->problem ? p->problem : "unknown error";
		if (p->error == YAML_MEMORY_ERROR)
			add_err(ld, 0, 0, "out of memory while parsing");
		else if (p->context != NULL)
			add_err(ld, p->problem_mark.line + 1, p->problem_mark.column + 1,
				"invalid YAML (%s %s)", problem, p->context);
		else
			add_err(ld, p->problem_mark.line + 1, p->problem_mark.column + 1,
				"invalid YAML (%s)", problem);
		ld->broken = true;
		return SOUK_ECONFIG;
	}
	/* Aliases and anchors are refused wherever they appear (alias bombs). */
	const yaml_char_t *anchor = NULL, *tag = NULL;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		if (!ld->said_alias)
			add_err(ld, ev->start_mark.line + 1, ev->start_mark.column + 1,
				"aliases are not allowed (write the value out)");
		ld->said_alias = true;
		break;
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	default: break;
	}
	if (anchor != NULL && !ld->said_anchor)
		add_err(ld, ev->start_mark.line + 1, ev->start_mark.column + 1,
			"anchors are not allowed (write the value out)");
	if (tag != NULL && !ld->said_tag)
		add_err(ld, ev->start_mark.line + 1, ev->start_mark.column + 1,
			"tags are not allowed");
	ld->said_anchor |= anchor != NULL;
	ld->said_tag |= tag != NULL;
	return 0;
}

/* Skip the rest of a node whose first event is ev (already consumed). */
static int skip_node(ld_t *ld, const yaml_event_t *first)
{
	int depth;
	yaml_event_t ev;

	if (first->type != YAML_MAPPING_START_EVENT && first->type != YAML_SEQUENCE_START_EVENT)
		return 0;
	depth = 1;
	while (depth > 0) {
		if (next(ld, &ev) != 0)
			return SOUK_ECONFIG;
		if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)
			depth++;
		else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
			depth--;
		else if (ev.type == YAML_STREAM_END_EVENT || ev.type == YAML_NO_EVENT)
			depth = 0;
		yaml_event_delete(&ev);
	}
	return 0;
}

static void apply_scalar(ld_t *ld, const cfg_item_t *it, const yaml_mark_t *key,
			 const yaml_event_t *val)
{
	char why[256], shown[80];
	const char *s = (const char *)val->data.scalar.value;
	size_t len = val->data.scalar.length;
	size_t idx = cfg_item_index(it);

	if (val->data.scalar.anchor != NULL || val->data.scalar.tag != NULL)
		return; /* already reported */
	if (cfg_item_parse(ld->cfg, it, s, len, why, sizeof(why)) != 0) {
		show_value(s, len, shown, sizeof(shown));
		add_err(ld, key->line + 1, key->column + 1, "item '%s', value '%s' (%s)", it->name,
			shown, why);
	}
	ld->cfg->line[idx] = (uint32_t)key->line + 1;
	ld->column[idx] = (uint32_t)key->column + 1;
}

static int section_seen(ld_t *ld, const char *path, uint32_t line, uint32_t *first)
{
	for (unsigned i = 0; i < ld->nsections; i++)
		if (strcmp(ld->sections[i].name, path) == 0) {
			*first = ld->sections[i].line;
			return 1;
		}
	if (ld->nsections < MAX_SECTIONS && strlen(path) < sizeof(ld->sections[0].name)) {
		snprintf(ld->sections[ld->nsections].name, sizeof(ld->sections[0].name), "%s",
			 path);
		ld->sections[ld->nsections++].line = line;
	}
	return 0;
}

/* The mapping-start event of prefix was consumed; read keys until its end. */
static int parse_mapping(ld_t *ld, const char *prefix)
{
	yaml_event_t key, val;
	char path[128];
	int ret = 0;

	for (;;) {
		if (next(ld, &key) != 0)
			return SOUK_ECONFIG;
		if (key.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&key);
			return 0;
		}
		if (key.type != YAML_SCALAR_EVENT) {
			if (key.type != YAML_ALIAS_EVENT)
				add_err(ld, key.start_mark.line + 1, key.start_mark.column + 1,
					"keys must be plain names, found %s", event_kind(&key));
			ret = skip_node(ld, &key);
			yaml_event_delete(&key);
			if (ret != 0 || next(ld, &val) != 0)
				return SOUK_ECONFIG;
			ret = skip_node(ld, &val);
			yaml_event_delete(&val);
			if (ret != 0)
				return ret;
			continue;
		}
		const char *k = (const char *)key.data.scalar.value;
		yaml_mark_t km = key.start_mark;
		char shown[80];
		bool dotted = strchr(k, '.') != NULL;
		bool bad_key =
		    strlen(k) != key.data.scalar.length || strchr(k, '.') != NULL || *k == '\0';
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", k);
		if (strlen(prefix) + 1 + key.data.scalar.length >= sizeof(path))
			bad_key = true;
		show_value(k, key.data.scalar.length, shown, sizeof(shown));
		yaml_event_delete(&key);

		if (next(ld, &val) != 0)
			return SOUK_ECONFIG;
		const cfg_item_t *it = bad_key ? NULL : cfg_item_find(path);
		uint32_t line = (uint32_t)km.line + 1, col = (uint32_t)km.column + 1, first;

		if (it != NULL) {
			size_t idx = cfg_item_index(it);
			if (ld->cfg->line[idx] != 0) {
				add_err(ld, line, col,
					"item '%s', duplicate key (first set at line %u)", it->name,
					ld->cfg->line[idx]);
			} else if (val.type == YAML_ALIAS_EVENT) {
				ld->cfg->line[idx] = line; /* reported by next() */
			} else if (val.type != YAML_SCALAR_EVENT) {
				add_err(ld, line, col,
					"item '%s', wrong type (expected a single value, found %s)",
					it->name, event_kind(&val));
				ld->cfg->line[idx] = line;
			} else {
				apply_scalar(ld, it, &km, &val);
			}
			ret = skip_node(ld, &val);
		} else if (!bad_key && is_section(path)) {
			if (section_seen(ld, path, line, &first)) {
				add_err(ld, line, col,
					"section '%s', duplicate key (first at line %u)", path,
					first);
				ret = skip_node(ld, &val);
			} else if (val.type == YAML_SCALAR_EVENT && val.data.scalar.length == 0 &&
				   val.data.scalar.plain_implicit) {
				/* "log:" with every item commented out: an empty section */
			} else if (val.type != YAML_MAPPING_START_EVENT) {
				add_err(ld, line, col,
					"section '%s', wrong type (expected a mapping of items, "
					"found %s)",
					path, event_kind(&val));
				ret = skip_node(ld, &val);
			} else {
				ret = parse_mapping(ld, path);
			}
		} else if (dotted) {
			add_err(ld, line, col,
				"key '%s', dotted keys are not allowed (nest the item under its "
				"section, indented)",
				shown);
			ret = skip_node(ld, &val);
		} else {
			const char *hint = bad_key ? NULL : suggest(path);
			if (hint != NULL)
				add_err(ld, line, col, "unknown item '%s%s%s' (did you mean '%s'?)",
					prefix, *prefix ? "." : "", shown, hint);
			else
				add_err(ld, line, col, "unknown item '%s%s%s'", prefix,
					*prefix ? "." : "", shown);
			ret = skip_node(ld, &val);
		}
		yaml_event_delete(&val);
		if (ret != 0)
			return ret;
	}
}

/* Checks that involve more than one item. */
static void cross_checks(ld_t *ld)
{
	cfg_t *c = ld->cfg;
	if (c->store.map_max != 0 && c->store.map_max < c->store.map_size) {
		const cfg_item_t *it = cfg_item_find("store.map_max");
		const cfg_item_t *sz = cfg_item_find("store.map_size");
		size_t idx = cfg_item_index(it);
		char v[32], s[32];
		cfg_item_format(c, it, v, sizeof(v));
		cfg_item_format(c, sz, s, sizeof(s));
		if (c->line[idx] == 0) { /* default ceiling, raised map_size */
			it = sz;
			idx = cfg_item_index(sz);
			add_err(ld, c->line[idx], ld->column[idx],
				"item '%s', value '%s' (must not exceed store.map_max '%s')",
				it->name, s, v);
		} else {
			add_err(ld, c->line[idx], ld->column[idx],
				"item '%s', value '%s' (must be 0 or at least store.map_size '%s')",
				it->name, v, s);
		}
	}
}

/* Tabs are not YAML indentation; libyaml's message for them is obscure. */
static bool find_tab(const char *buf, size_t len, size_t *line, size_t *col)
{
	size_t l = 1, c = 1;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\t') {
			*line = l;
			*col = c;
			return true;
		}
		if (buf[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			c++;
		}
	}
	return false;
}

static int load(ld_t *ld, const char *buf, size_t len)
{
	yaml_event_t ev;
	size_t tl, tc;
	int ret = SOUK_ECONFIG;

	if (len > CFG_FILE_MAX) {
		add_err(ld, 0, 0, "file is too large (%zu bytes, limit %d)", len, CFG_FILE_MAX);
		return SOUK_ECONFIG;
	}
	if (memchr(buf, '\0', len) != NULL) {
		add_err(ld, 0, 0, "file contains a NUL byte (not a text file)");
		return SOUK_ECONFIG;
	}
	if (find_tab(buf, len, &tl, &tc)) {
		add_err(ld, tl, tc, "tab character (indent with spaces)");
		return SOUK_ECONFIG;
	}
	if (!yaml_parser_initialize(&ld->parser))
		return SOUK_ENOMEM;
	yaml_parser_set_input_string(&ld->parser, (const unsigned char *)buf, len);

	if (next(ld, &ev) != 0) /* stream start */
		goto done;
	yaml_event_delete(&ev);
	if (next(ld, &ev) != 0)
		goto done;
	if (ev.type != YAML_DOCUMENT_START_EVENT) {
		add_err(ld, 0, 0, "file is empty (expected a mapping of items)");
		yaml_event_delete(&ev);
		goto done;
	}
	yaml_event_delete(&ev);
	if (next(ld, &ev) != 0)
		goto done;
	if (ev.type != YAML_MAPPING_START_EVENT) {
		add_err(ld, ev.start_mark.line + 1, ev.start_mark.column + 1,
			"the document must be a mapping of items, found %s", event_kind(&ev));
		yaml_event_delete(&ev);
		goto done;
	}
	yaml_event_delete(&ev);
	if (parse_mapping(ld, "") != 0)
		goto done;
	if (next(ld, &ev) != 0) /* document end */
		goto done;
	yaml_event_delete(&ev);
	if (next(ld, &ev) != 0)
		goto done;
	if (ev.type != YAML_STREAM_END_EVENT) {
		add_err(ld, ev.start_mark.line + 1, ev.start_mark.column + 1,
			"more than one YAML document (only one is allowed)");
		yaml_event_delete(&ev);
		goto done;
	}
	yaml_event_delete(&ev);
	cross_checks(ld);
	ret = ld->nerr == 0 ? 0 : SOUK_ECONFIG;
done:
	yaml_parser_delete(&ld->parser);
	if (ld->nerr > 0)
		ret = SOUK_ECONFIG;
	return ret;
}

int cfg_load_buffer(const char *buf, size_t len, const char *name, cfg_t **out, cfg_errors_t *errs)
{
	ld_t *ld = NULL;
	cfg_t *cfg = NULL;
	int ret;

	*out = NULL;
	if (errs != NULL)
		memset(errs, 0, sizeof(*errs));
	if (name == NULL)
		name = "(buffer)";
	ret = cfg_new_defaults(name, &cfg);
	if (ret != 0)
		goto fail;
	ld = calloc(1, sizeof(*ld));
	if (ld == NULL) {
		ret = SOUK_ENOMEM;
		goto fail;
	}
	ld->file = name;
	ld->cfg = cfg;
	ld->errs = errs;
	ret = load(ld, buf, len);
	if (ret != 0)
		goto fail;
	free(ld);
	*out = cfg;
	return 0;
fail:
	free(ld);
	cfg_free(&cfg);
	return ret;
}

int cfg_load(const char *path, cfg_t **out, cfg_errors_t *errs)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	*out = NULL;
	if (errs != NULL)
		memset(errs, 0, sizeof(*errs));
	ret = souk_read_file(path, CFG_FILE_MAX, &buf, &len);
	if (ret != 0) {
		if (errs != NULL) {
			errs->count = 1;
			errs->e[0].line = 0;
			if (ret == SOUK_ETOOBIG)
				snprintf(errs->e[0].msg, sizeof(errs->e[0].msg),
					 "file '%s', file is too large (limit %d bytes)", path,
					 CFG_FILE_MAX);
			else
				snprintf(errs->e[0].msg, sizeof(errs->e[0].msg),
					 "file '%s', cannot read (%s)", path, souk_strerror(ret));
		}
		return ret == SOUK_ETOOBIG ? SOUK_ECONFIG : ret;
	}
	ret = cfg_load_buffer(buf, len, path, out, errs);
	free(buf);
	return ret;
}

void cfg_errors_print(const cfg_errors_t *errs, FILE *f)
{
	for (unsigned i = 0; i < errs->count; i++)
		fprintf(f, "config, %s\n", errs->e[i].msg);
	if (errs->dropped > 0)
		fprintf(f, "config, %u more errors not shown\n", errs->dropped);
}
