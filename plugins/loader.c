/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plugins/loader.c - load and check plug-ins (plugins/loader.h).
 */
#include "plugins/loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "common/error.h"
#include "common/util.h"
#include "plugins/builtin.h"

struct plugin_set {
	size_t count;
	plugin_entry_t e[PLUGIN_MAX];
};

const char *plugin_kind_name(uint32_t kind)
{
	switch (kind) {
	case SOUK_PLUGIN_PAYMENT: return "payment";
	case SOUK_PLUGIN_SHIPPING: return "shipping";
	case SOUK_PLUGIN_TAX: return "tax";
	case SOUK_PLUGIN_NOTIFICATION: return "notification";
	}
	return NULL;
}

bool plugin_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= SOUK_PLUGIN_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-'))
			return false;
	return true;
}

int plugin_check(const souk_plugin_t *p, const char *name, char *why, size_t why_len)
{
	if (p->magic != SOUK_PLUGIN_MAGIC) {
		snprintf(why, why_len, "not a souk plug-in (bad magic 0x%08x, want 0x%08x)",
			 (unsigned)p->magic, (unsigned)SOUK_PLUGIN_MAGIC);
		return SOUK_EINVAL;
	}
	if (p->abi_major != SOUK_PLUGIN_ABI_MAJOR) {
		snprintf(why, why_len,
			 "ABI major %u != host %u (built for another souk; rebuild it against "
			 "this souk's souk/plugin.h)",
			 (unsigned)p->abi_major, (unsigned)SOUK_PLUGIN_ABI_MAJOR);
		return SOUK_EVERSION;
	}
	if (p->abi_minor > SOUK_PLUGIN_ABI_MINOR) {
		snprintf(why, why_len, "ABI minor %u.%u is newer than the host's %u.%u",
			 (unsigned)p->abi_major, (unsigned)p->abi_minor,
			 (unsigned)SOUK_PLUGIN_ABI_MAJOR, (unsigned)SOUK_PLUGIN_ABI_MINOR);
		return SOUK_EVERSION;
	}
	/* every minor of this major starts with the 1.0 layout */
	if (p->size < SOUK_PLUGIN_SIZE_1_0) {
		snprintf(why, why_len, "struct too small (%u bytes, ABI %u.%u needs %zu)",
			 (unsigned)p->size, (unsigned)p->abi_major, (unsigned)p->abi_minor,
			 (size_t)SOUK_PLUGIN_SIZE_1_0);
		return SOUK_EVERSION;
	}
	if (p->name == NULL || !plugin_name_ok(p->name)) {
		snprintf(why, why_len, "bad name (1..%d characters of a-z, 0-9, '_', '-')",
			 SOUK_PLUGIN_NAME_MAX - 1);
		return SOUK_EINVAL;
	}
	if (name != NULL && strcmp(p->name, name) != 0) {
		snprintf(why, why_len, "name mismatch (the struct says '%s')", p->name);
		return SOUK_EINVAL;
	}
	if (plugin_kind_name(p->kind) == NULL) {
		snprintf(why, why_len,
			 "unknown kind %u (payment, shipping, tax or notification)",
			 (unsigned)p->kind);
		return SOUK_EINVAL;
	}
	if (p->version == NULL || p->init == NULL) {
		snprintf(why, why_len, "no %s", p->version == NULL ? "version" : "init function");
		return SOUK_EINVAL;
	}
	return 0;
}

int plugin_split_names(const char *list, char names[][SOUK_PLUGIN_NAME_MAX], size_t max,
		       size_t *n, char *why, size_t why_len)
{
	const char *p = list;
	*n = 0;
	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		size_t len = strcspn(p, " ,\t");
		if (len >= SOUK_PLUGIN_NAME_MAX) {
			snprintf(why, why_len, "name '%.*s...' longer than %d characters", 16, p,
				 SOUK_PLUGIN_NAME_MAX - 1);
			return SOUK_ETOOBIG;
		}
		if (*n == max) {
			snprintf(why, why_len, "more than %zu plug-ins", max);
			return SOUK_ETOOBIG;
		}
		memcpy(names[*n], p, len);
		names[*n][len] = '\0';
		if (!plugin_name_ok(names[*n])) {
			snprintf(why, why_len,
				 "plug-in name '%s' is not a plain name (a-z, 0-9, '_', '-'; no "
				 "'/' or '..': plug-ins load from plugins.dir only)",
				 names[*n]);
			return SOUK_EINVAL;
		}
		++*n;
		p += len;
	}
	return 0;
}

/* A directory or file others can write to would let them run code as souk. */
static int check_not_world_writable(const char *path, bool want_dir, char *why, size_t why_len)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		int e = errno;
		snprintf(why, why_len, "%s", e == ENOENT ? "not found" : strerror(e));
		return -e;
	}
	if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		snprintf(why, why_len, "not a %s", want_dir ? "directory" : "regular file");
		return SOUK_EINVAL;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(why, why_len, "world-writable (mode %04o): refused, fix with chmod o-w",
			 (unsigned)(st.st_mode & 07777));
		return SOUK_EPERM;
	}
	return 0;
}

static int add_entry(plugin_set_t *set, const souk_plugin_t *p, void *handle, const char *path,
		     const char *state_dir, char *why, size_t why_len)
{
	if (set->count == PLUGIN_MAX) {
		snprintf(why, why_len, "more than %d plug-ins", PLUGIN_MAX);
		return SOUK_ETOOBIG;
	}
	for (size_t i = 0; i < set->count; i++)
		if (strcmp(set->e[i].p->name, p->name) == 0) {
			snprintf(why, why_len, "duplicate: a %s plug-in named '%s' is already loaded",
				 set->e[i].builtin ? "built-in" : "loaded", p->name);
			return SOUK_EEXIST;
		}
	const souk_plugin_kv_t kv[] = {{"name", p->name}, {"state_dir", state_dir}};
	const souk_plugin_config_t cfg = {.count = SOUK_ARRAY_LEN(kv), .items = kv};
	plugin_entry_t *e = &set->e[set->count];
	memset(e, 0, sizeof(*e));
	int ret = p->init(&cfg, &e->state);
	if (ret != 0) {
		snprintf(why, why_len, "init failed (%s)",
			 ret < 0 ? souk_strerror(ret) : "positive return");
		return SOUK_EINVAL;
	}
	e->p = p;
	e->handle = handle;
	e->builtin = handle == NULL;
	snprintf(e->path, sizeof(e->path), "%s", path ? path : "");
	set->count++;
	return 0;
}

static int load_one(plugin_set_t *set, const char *dir, const char *name, const char *state_dir,
		    char *err, size_t err_len)
{
	char path[4096], why[512];
	void *h;
	const souk_plugin_t *p;
	int ret;

	if (!plugin_name_ok(name)) {
		snprintf(err, err_len,
			 "plug-in '%s': not a plain name (a-z, 0-9, '_', '-'; no '/' or '..')",
			 name);
		return SOUK_EINVAL;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.so", dir, name) >= sizeof(path)) {
		snprintf(err, err_len, "plug-in '%s': path too long", name);
		return SOUK_ETOOBIG;
	}
	if ((ret = check_not_world_writable(path, false, why, sizeof(why))) != 0) {
		snprintf(err, err_len, "plug-in '%s' (%s): %s", name, path, why);
		return ret;
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		const char *de = dlerror();
		snprintf(err, err_len, "plug-in '%s' (%s): cannot load (%s)", name, path,
			 de ? de : "dlopen failed");
		return SOUK_EINVAL;
	}
	dlerror();
	p = dlsym(h, SOUK_PLUGIN_SYMBOL);
	if (p == NULL) {
		snprintf(err, err_len,
			 "plug-in '%s' (%s): not a souk plug-in (no symbol '%s')", name, path,
			 SOUK_PLUGIN_SYMBOL);
		dlclose(h);
		return SOUK_EINVAL;
	}
	if ((ret = plugin_check(p, name, why, sizeof(why))) != 0 ||
	    (ret = add_entry(set, p, h, path, state_dir, why, sizeof(why))) != 0) {
		snprintf(err, err_len, "plug-in '%s' (%s): %s", name, path, why);
		dlclose(h);
		return ret;
	}
	return 0;
}

int plugin_load_all(const char *dir, const char *const names[], size_t n, const char *state_dir,
		    plugin_set_t **out, char *err, size_t err_len)
{
	plugin_set_t *set;
	size_t nb;
	const souk_plugin_t *const *b = plugin_builtins(&nb);
	char why[512];
	int ret = 0;

	*out = NULL;
	set = calloc(1, sizeof(*set));
	if (set == NULL) {
		snprintf(err, err_len, "plug-ins: out of memory");
		return SOUK_ENOMEM;
	}
	for (size_t i = 0; i < nb && ret == 0; i++) {
		if ((ret = plugin_check(b[i], NULL, why, sizeof(why))) != 0 ||
		    (ret = add_entry(set, b[i], NULL, NULL, state_dir, why, sizeof(why))) != 0)
			snprintf(err, err_len, "built-in plug-in '%s': %s", b[i]->name, why);
	}
	if (ret == 0 && n > 0 && (ret = check_not_world_writable(dir, true, why, sizeof(why))) != 0)
		snprintf(err, err_len, "plug-in directory '%s' (plugins.dir): %s", dir, why);
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = load_one(set, dir, names[i], state_dir, err, err_len);
	if (ret != 0) {
		plugin_set_free(&set);
		return ret;
	}
	*out = set;
	return 0;
}

int plugin_load_list(const char *dir, const char *list, const char *state_dir,
		     plugin_set_t **out, char *err, size_t err_len)
{
	char names[PLUGIN_MAX][SOUK_PLUGIN_NAME_MAX], why[256];
	const char *ptrs[PLUGIN_MAX];
	size_t n;
	int ret;

	*out = NULL;
	ret = plugin_split_names(list ? list : "", names, PLUGIN_MAX, &n, why, sizeof(why));
	if (ret != 0) {
		snprintf(err, err_len, "plugins.load: %s", why);
		return ret;
	}
	for (size_t i = 0; i < n; i++)
		ptrs[i] = names[i];
	return plugin_load_all(dir, ptrs, n, state_dir, out, err, err_len);
}

size_t plugin_count(const plugin_set_t *set)
{
	return set ? set->count : 0;
}

const plugin_entry_t *plugin_at(const plugin_set_t *set, size_t i)
{
	return set && i < set->count ? &set->e[i] : NULL;
}

const plugin_entry_t *plugin_find(const plugin_set_t *set, const char *name)
{
	for (size_t i = 0; set && i < set->count; i++)
		if (strcmp(set->e[i].p->name, name) == 0)
			return &set->e[i];
	return NULL;
}

json_t *plugin_list_json(const plugin_set_t *set)
{
	json_t *a = json_array();
	for (size_t i = 0; a && set && i < set->count; i++) {
		const plugin_entry_t *e = &set->e[i];
		char abi[16];
		snprintf(abi, sizeof(abi), "%u.%u", (unsigned)e->p->abi_major,
			 (unsigned)e->p->abi_minor);
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "name", e->p->name, "kind",
				      plugin_kind_name(e->p->kind), "version", e->p->version, "abi",
				      abi, "builtin", (int)e->builtin, "path",
				      e->builtin ? "built-in" : e->path);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

void plugin_set_free(plugin_set_t **setp)
{
	plugin_set_t *set = *setp;
	if (set == NULL)
		return;
	for (size_t i = set->count; i-- > 0;) {
		plugin_entry_t *e = &set->e[i];
		if (e->p->fini)
			e->p->fini(e->state);
		if (e->handle)
			dlclose(e->handle);
	}
	free(set);
	*setp = NULL;
}
