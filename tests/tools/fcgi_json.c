/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcgi_json - print one value of a JSON document read from stdin (tests).
 *
 *   fcgi_json PATH     PATH is dot-separated keys and array indexes,
 *                      e.g. "items.0.id"; "" is the whole document;
 *                      a trailing "#" prints the size of an array/object.
 * Strings print raw, other values as compact JSON. Exit 1 when the path
 * does not exist or stdin is not JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

int main(int argc, char **argv)
{
	json_error_t e;
	if (argc != 2) {
		fprintf(stderr, "usage: fcgi_json PATH < doc.json\n");
		return 2;
	}
	json_t *root = json_loadf(stdin, JSON_DECODE_ANY, &e);
	if (root == NULL) {
		fprintf(stderr, "fcgi_json, stdin is not JSON (%s)\n", e.text);
		return 1;
	}
	char *path = strdup(argv[1]);
	size_t plen = strlen(path);
	int count = plen > 0 && path[plen - 1] == '#';
	if (count)
		path[--plen] = '\0';
	json_t *cur = root;
	char *save = NULL;
	for (char *tok = strtok_r(path, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save)) {
		if (json_is_array(cur)) {
			char *end;
			long i = strtol(tok, &end, 10);
			cur = *end == '\0' && i >= 0 ? json_array_get(cur, (size_t)i) : NULL;
		} else {
			cur = json_object_get(cur, tok);
		}
	}
	int rc = 0;
	if (cur == NULL) {
		rc = 1;
	} else if (count) {
		printf("%zu\n", json_is_array(cur) ? json_array_size(cur) : json_object_size(cur));
	} else if (json_is_string(cur)) {
		printf("%s\n", json_string_value(cur));
	} else {
		char *s = json_dumps(cur, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%s\n", s ? s : "");
		free(s);
	}
	free(path);
	json_decref(root);
	return rc;
}
