/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/ctl_print.c - flatten JSON into "key: value" lines.
 */
#include "daemon/ctl_print.h"

#include <stdlib.h>
#include <string.h>

static void print_string(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch == '\r')
			fputs("\\r", f);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
}

static void print_key(FILE *f, const char *key)
{
	print_string(f, key, strlen(key));
	fputc(':', f);
}

static void flat(FILE *f, char *key, size_t klen, size_t cap, const json_t *v)
{
	char num[32];

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *name;
		json_t *child;
		json_object_foreach((json_t *)v, name, child)
		{
			size_t n = strlen(name), at = klen ? klen + 1 : 0;
			if (at + n + 1 > cap)
				continue; /* absurdly deep: skip rather than cut */
			if (klen)
				key[klen] = '.';
			memcpy(key + at, name, n + 1);
			flat(f, key, at + n, cap, child);
			key[klen] = '\0';
		}
		return;
	}
	case JSON_ARRAY:
		for (size_t i = 0; i < json_array_size(v); i++) {
			int n = snprintf(num, sizeof(num), "%s%zu", klen ? "." : "", i);
			if (klen + (size_t)n + 1 > cap)
				continue;
			memcpy(key + klen, num, (size_t)n + 1);
			flat(f, key, klen + (size_t)n, cap, json_array_get(v, i));
			key[klen] = '\0';
		}
		return;
	case JSON_STRING:
		print_key(f, key);
		fputc(' ', f);
		print_string(f, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		print_key(f, key);
		fprintf(f, " %" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		print_key(f, key);
		fprintf(f, " %.17g", json_real_value(v));
		break;
	case JSON_TRUE:
		print_key(f, key);
		fputs(" true", f);
		break;
	case JSON_FALSE:
		print_key(f, key);
		fputs(" false", f);
		break;
	case JSON_NULL: print_key(f, key); break;
	}
	fputc('\n', f);
}

void ctl_print_flat(FILE *f, const char *prefix, const json_t *v)
{
	char key[1024];
	size_t n = prefix ? strlen(prefix) : 0;

	if (v == NULL)
		return;
	if (n >= sizeof(key))
		n = sizeof(key) - 1;
	memcpy(key, prefix ? prefix : "", n);
	key[n] = '\0';
	flat(f, key, n, sizeof(key), v);
}
