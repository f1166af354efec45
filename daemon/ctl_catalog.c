/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/ctl_catalog.c - soukctl commands for import and export of any kind
 * (--kind, default product; CSV and JSON Lines, see daemon/import.h). They
 * open the LMDB store directly; a running soukd publishes imported products
 * when its poll finds them in the change log.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "daemon/ctl_table.h"
#include "daemon/import.h"
#include "daemon/publisher.h"
#include "store/store.h"

#define CTL_IMPORT_ERRORS_SHOWN 100

typedef struct {
	const model_kind_t *kind;
	import_format_t format;
	bool dry_run;
	uint64_t batch;
	uint64_t stock;
	bool stock_set;
	const char *file;
} cat_opts_t;

static int parse_format(const char *s, import_format_t *out)
{
	if (strcmp(s, "csv") == 0)
		*out = IMPORT_FMT_CSV;
	else if (strcmp(s, "jsonl") == 0 || strcmp(s, "ndjson") == 0)
		*out = IMPORT_FMT_JSONL;
	else
		return -1;
	return 0;
}

/* argv[-1] is the command word, used as getopt's argv[0]. */
static int cat_parse(int argc, char **argv, bool importing, cat_opts_t *o)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'b' },
		{ "stock", required_argument, NULL, 's' },
		{ "kind", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	memset(o, 0, sizeof(*o));
	o->kind = import_kind(NULL);
	optind = 0;
	opterr = 0;
	argc += 1;
	argv -= 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch == '?' || (!importing && ch != 'f' && ch != 'k')) {
			fprintf(stderr, "soukctl, unknown or misplaced option '%s'\n", argv[optind - 1]);
			return -1;
		}
		switch (ch) {
		case 'f':
			if (parse_format(optarg, &o->format) != 0) {
				fprintf(stderr, "soukctl, bad --format '%s' (csv or jsonl)\n", optarg);
				return -1;
			}
			break;
		case 'k':
			o->kind = import_kind(optarg);
			if (!o->kind) {
				char names[256];
				import_kind_names(names, sizeof(names));
				fprintf(stderr, "soukctl, unknown kind '%s' (kinds: %s)\n", optarg, names);
				return -1;
			}
			break;
		case 'n': o->dry_run = true; break;
		case 'b':
			if (souk_parse_u64(optarg, 1, 100000, &o->batch) != 0) {
				fprintf(stderr, "soukctl, bad --batch '%s' (1..100000)\n", optarg);
				return -1;
			}
			break;
		case 's':
			if (souk_parse_u64(optarg, 0, 1000000000, &o->stock) != 0) {
				fprintf(stderr, "soukctl, bad --stock '%s' (0..1000000000)\n", optarg);
				return -1;
			}
			o->stock_set = true;
			break;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "soukctl, wrong number of arguments\n");
		return -1;
	}
	o->file = argv[optind];
	return 0;
}

typedef struct {
	uint64_t shown, total;
} errs_t;

static void print_error(void *arg, uint64_t line, const char *msg)
{
	errs_t *e = arg;
	e->total++;
	if (e->shown < CTL_IMPORT_ERRORS_SHOWN) {
		e->shown++;
		fprintf(stderr, "soukctl, import, line %llu, %s\n", (unsigned long long)line, msg);
	}
}

static int cmd_import(ctl_ctx_t *c, int argc, char **argv)
{
	cat_opts_t o;
	store_t *s = NULL;
	import_stats_t st;
	errs_t errs = { 0, 0 };
	store_opts_t so = { .max_readers = 126 };
	int rc;

	if (cat_parse(argc, argv, true, &o) != 0)
		return CTL_USAGE;
	rc = store_open(c->data_dir, &so, &s);
	if (rc) {
		fprintf(stderr, "soukctl, cannot open store '%s' (%s)\n", c->data_dir, souk_strerror(rc));
		return CTL_FAIL;
	}
	import_opts_t io = {
		.kind = o.kind,
		.format = o.format,
		.batch = (size_t)o.batch,
		.actor = "soukctl",
		.reason = "soukctl import",
		.default_stock = o.stock_set ? o.stock : 100,
		.dry_run = o.dry_run,
		.on_error = print_error,
		.error_arg = &errs,
	};
	memset(&st, 0, sizeof(st));
	rc = import_file(s, o.file, &io, &st);
	/* a running soukd publishes what was written at once, not at its next
	 * poll (a failed send is harmless: the poll catches up) */
	uint64_t last = 0;
	if (!o.dry_run && st.created + st.updated > 0 && c->cfg && c->cfg->paths.runtime_dir &&
	    store_last_seq(s, &last) == 0) {
		char path[PATH_MAX];
		int fd = publisher_notify_open();
		snprintf(path, sizeof(path), "%s/publish.sock", c->cfg->paths.runtime_dir);
		if (fd >= 0) {
			(void)publisher_notify(fd, path, last);
			close(fd);
		}
	}
	store_close(&s);
	if (errs.total > errs.shown)
		fprintf(stderr, "soukctl, import, %llu more errors not shown\n",
			(unsigned long long)(errs.total - errs.shown));
	if (rc)
		fprintf(stderr, "soukctl, import of '%s' stopped (%s)\n", o.file, souk_strerror(rc));
	if (c->json) {
		json_object_set_new(c->out, "file", json_string(o.file));
		json_object_set_new(c->out, "kind", json_string(o.kind->name));
		json_object_set_new(c->out, "dry_run", json_boolean(o.dry_run));
		json_object_set_new(c->out, "records", json_integer((json_int_t)st.records));
		json_object_set_new(c->out, "created", json_integer((json_int_t)st.created));
		json_object_set_new(c->out, "updated", json_integer((json_int_t)st.updated));
		json_object_set_new(c->out, "unchanged", json_integer((json_int_t)st.unchanged));
		json_object_set_new(c->out, "skipped", json_integer((json_int_t)st.skipped));
		json_object_set_new(c->out, "failed", json_integer((json_int_t)st.failed));
		json_object_set_new(c->out, "completed", json_boolean(rc == 0));
	} else {
		bool other = o.kind != import_kind(NULL);
		printf("import '%s'%s%s%s: %llu records, %llu created, %llu updated, %llu unchanged, "
		       "%llu skipped, %llu failed\n",
		       o.file, other ? " of " : "", other ? o.kind->plural : "",
		       o.dry_run ? " (dry run)" : "", (unsigned long long)st.records,
		       (unsigned long long)st.created, (unsigned long long)st.updated,
		       (unsigned long long)st.unchanged, (unsigned long long)st.skipped,
		       (unsigned long long)st.failed);
	}
	return rc || st.failed ? CTL_FAIL : CTL_OK;
}

static int cmd_export(ctl_ctx_t *c, int argc, char **argv)
{
	cat_opts_t o;
	store_t *s = NULL;
	store_opts_t so = { .read_only = true, .max_readers = 126 };
	uint64_t count = 0;
	int rc;

	if (cat_parse(argc, argv, false, &o) != 0)
		return CTL_USAGE;
	if (strcmp(o.file, "-") == 0 && c->json) {
		fprintf(stderr, "soukctl, export to stdout cannot be combined with --json\n");
		return CTL_USAGE;
	}
	rc = store_open(c->data_dir, &so, &s);
	if (rc) {
		fprintf(stderr, "soukctl, cannot open store '%s' (%s)\n", c->data_dir, souk_strerror(rc));
		return CTL_FAIL;
	}
	rc = export_kind_file(s, o.kind, o.file, o.format, &count);
	store_close(&s);
	if (rc) {
		fprintf(stderr, "soukctl, export to '%s' failed (%s)\n", o.file, souk_strerror(rc));
		return CTL_FAIL;
	}
	if (c->json) {
		json_object_set_new(c->out, "file", json_string(o.file));
		json_object_set_new(c->out, "kind", json_string(o.kind->name));
		json_object_set_new(c->out, o.kind->plural, json_integer((json_int_t)count));
	} else if (strcmp(o.file, "-") != 0) {
		printf("exported %llu %s to '%s'\n", (unsigned long long)count, o.kind->plural,
		       o.file);
	}
	return CTL_OK;
}

const ctl_cmd_t ctl_catalog_commands[] = {
	{ "import", cmd_import,
	  "import [--kind NAME] [--format csv|jsonl] [--batch N] [--stock N] [--dry-run] FILE",
	  "create or update entities of a kind (default product) from CSV or JSON Lines "
	  "(FILE '-' = stdin); idempotent by id or unique key (products: SKU)" },
	{ "export", cmd_export, "export [--kind NAME] [--format csv|jsonl] FILE",
	  "write every current entity of a kind (default product) as JSON Lines or CSV "
	  "(FILE '-' = stdout)" },
};
const size_t ctl_catalog_ncommands = SOUK_ARRAY_LEN(ctl_catalog_commands);
