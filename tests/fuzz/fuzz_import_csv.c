/* SPDX-License-Identifier: Apache-2.0 */
/* tests/fuzz/fuzz_import_csv.c - the CSV import parser on arbitrary bytes,
 * for every kind: the RFC 4180 reader, the header mapping from the kind's
 * table (aliases, locale, price and object-member columns), value parsing
 * (decimals, integers, booleans, JSON cells) and validation must neither
 * crash nor leak, and every record is either a document or an error with a
 * line number. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "daemon/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	const model_kind_t *kind;
	uint64_t last_line;
	size_t records;
} state_t;

static void on_doc(void *arg, uint64_t line, json_t *set, json_t *create, const char *err)
{
	state_t *st = arg;
	char msg[256];
	if (line < st->last_line || line == 0)
		abort(); /* line numbers never go backwards */
	st->last_line = line;
	st->records++;
	if (err) {
		if (set || create)
			abort(); /* an error carries no document */
		return;
	}
	if (!json_is_object(set) || !json_is_object(create))
		abort();
	json_t *doc = json_deep_copy(create);
	json_object_update(doc, set);
	json_object_del(doc, "id");
	json_t *norm = NULL;
	if (import_validate(st->kind, doc, &norm, msg, sizeof(msg)) == 0)
		json_decref(norm);
	char *s = json_dumps(doc, JSON_COMPACT);
	free(s);
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	state_t st;
	import_csv_t r;
	uint64_t line = 0;
	const char *err;
	uint64_t v;

	if (!init) {
		log_init("fuzz_import_csv", LOG_TARGET_STDERR);
		log_set_level(LOG_CRIT);
		init = 1;
	}
	for (size_t k = 0; k < model_nkinds; k++) {
		import_opts_t o = { .kind = model_kinds[k] };
		memset(&st, 0, sizeof(st));
		st.kind = model_kinds[k];
		(void)import_csv_docs((const char *)data, size, &o, on_doc, &st);
	}

	/* the reader alone: terminates, fields stay inside the buffer */
	import_csv_init(&r, (const char *)data, size);
	for (int i = 0; i < 100000; i++) {
		int rc = import_csv_next(&r, &line, &err);
		if (rc == 0)
			break;
		if (rc == 1)
			for (size_t k = 0; k < r.nfields; k++)
				if (r.off[k] + r.len[k] >= r.buf_len || r.buf[r.off[k] + r.len[k]] != '\0')
					abort();
	}
	import_csv_deinit(&r);

	(void)import_parse_decimal((const char *)data, size, 2, &v);
	return 0;
}
