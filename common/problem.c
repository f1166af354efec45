/* SPDX-License-Identifier: Apache-2.0 */
#include "common/problem.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

void problem_init(problem_t *p)
{
	memset(p, 0, sizeof(*p));
}

void problem_set(problem_t *p, int status, const char *slug, const char *title,
		 const char *fmt, ...)
{
	va_list ap;
	p->status = status;
	p->slug = slug;
	p->title = title;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
}

void problem_field(problem_t *p, const char *field, const char *fmt, ...)
{
	va_list ap;
	if (p->status == 0)
		problem_set(p, 422, PROBLEM_VALIDATION, "Validation failed",
			    "the document has invalid fields");
	if (p->nerrors >= PROBLEM_MAX_ERRORS) {
		p->dropped++;
		return;
	}
	problem_field_t *f = &p->errors[p->nerrors++];
	snprintf(f->field, sizeof(f->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
}

char *problem_render(const problem_t *p, const char *instance)
{
	char type[128];
	char *out = NULL;
	json_t *doc = json_object(), *errs = NULL;
	if (doc == NULL)
		return NULL;
	snprintf(type, sizeof(type), "%s%s", PROBLEM_TYPE_BASE,
		 p->slug ? p->slug : PROBLEM_INTERNAL);
	if (json_object_set_new(doc, "type", json_string(type)) != 0 ||
	    json_object_set_new(doc, "title",
				json_string(p->title ? p->title : "Internal error")) != 0 ||
	    json_object_set_new(doc, "status", json_integer(p->status ? p->status : 500)) != 0)
		goto fail;
	/* detail comes from printf of bounded strings; json_string refuses bad
	 * UTF-8, so fall back to a fixed text rather than failing the render */
	json_t *detail = json_string(p->detail);
	if (detail == NULL)
		detail = json_string("see status");
	if (json_object_set_new(doc, "detail", detail) != 0)
		goto fail;
	if (instance != NULL && instance[0] != '\0') {
		json_t *inst = json_string(instance);
		if (inst != NULL && json_object_set_new(doc, "instance", inst) != 0)
			goto fail;
	}
	if (p->nerrors > 0) {
		errs = json_array();
		if (errs == NULL)
			goto fail;
		for (size_t i = 0; i < p->nerrors; i++) {
			json_t *e = json_pack("{s:s?, s:s?}", "field", p->errors[i].field,
					      "detail", p->errors[i].detail);
			if (e == NULL)
				e = json_pack("{s:s, s:s}", "field", "?", "detail", "invalid");
			if (e == NULL || json_array_append_new(errs, e) != 0)
				goto fail;
		}
		if (json_object_set_new(doc, "errors", errs) != 0) {
			errs = NULL;
			goto fail;
		}
		errs = NULL;
	}
	out = json_dumps(doc, JSON_COMPACT);
fail:
	json_decref(errs);
	json_decref(doc);
	return out;
}
