/* SPDX-License-Identifier: Apache-2.0 */
/* model/json.c - JSON helpers every kind's writes use: request bodies and
 * merge patches. */
#include "model/model.h"

#include <stdbool.h>
#include <string.h>

#include "common/error.h"

json_t *model_merge_patch(const json_t *target, const json_t *patch)
{
	const char *key;
	json_t *item;
	if (!json_is_object(patch))
		return json_deep_copy(patch);
	json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
	if (out == NULL)
		return NULL;
	json_object_foreach ((json_t *)patch, key, item) {
		if (json_is_null(item)) {
			json_object_del(out, key);
			continue;
		}
		json_t *merged = model_merge_patch(json_object_get(out, key), item);
		if (merged == NULL || json_object_set_new(out, key, merged) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* Nesting depth of a JSON text, counted outside strings; stops early. */
static bool depth_ok(const char *s, size_t len, unsigned max)
{
	unsigned depth = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[') {
			if (++depth > max)
				return false;
		} else if ((c == '}' || c == ']') && depth > 0)
			depth--;
	}
	return true;
}

int model_parse_body(const char *body, size_t len, unsigned max_depth, json_t **out,
		       problem_t *err)
{
	json_error_t je;
	if (len == 0) {
		problem_set(err, 400, PROBLEM_MALFORMED, "Malformed request",
			    "a JSON object body is required");
		return SOUK_EINVAL;
	}
	if (!depth_ok(body, len, max_depth)) {
		problem_set(err, 400, PROBLEM_MALFORMED, "Malformed request",
			    "JSON nesting deeper than %u levels", max_depth);
		return SOUK_EINVAL;
	}
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL) {
		if (json_error_code(&je) == json_error_invalid_utf8)
			problem_set(err, 400, PROBLEM_INVALID_UTF8, "Invalid UTF-8",
				    "the request body is not valid UTF-8 (byte %d)", je.position);
		else
			problem_set(err, 400, PROBLEM_MALFORMED, "Malformed request",
				    "invalid JSON at line %d, column %d: %.120s", je.line,
				    je.column, je.text);
		return SOUK_EINVAL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		problem_set(err, 400, PROBLEM_MALFORMED, "Malformed request",
			    "the body must be a JSON object");
		return SOUK_EINVAL;
	}
	*out = doc;
	return 0;
}
