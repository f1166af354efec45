/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * plugins/loader.h - load, check and hold plug-ins (souk/plugin.h).
 *
 * A plug-in set holds the built-in providers (plugins/builtin.c) and the
 * shared objects named by plugins.load, each checked against the host's ABI
 * and initialised. soukd and souk-fcgi build one at start-up and refuse to
 * start when it fails; the error names the file and the reason:
 *   plug-in 'pay' (/usr/lib/souk/plugins/pay.so): ABI major 2 != host 1 ...
 */
#include <stdbool.h>
#include <stddef.h>

#include "souk/plugin.h"

#define PLUGIN_MAX 32 /* built-in and loaded together */

typedef struct {
	const souk_plugin_t *p;
	void *state;	/* from init() */
	void *handle;	/* dlopen handle; NULL for a built-in */
	bool builtin;
	char path[4096]; /* the .so it came from; "" for a built-in */
} plugin_entry_t;

typedef struct plugin_set plugin_set_t;

/*
 * Check a plug-in's struct against the host ABI; size is how many bytes of
 * it may be read (the host cannot know more for a loaded object, so it is
 * p->size once magic checked). name: the name it must carry, or NULL.
 * 0, or SOUK_EVERSION / SOUK_EINVAL with why filled.
 */
int plugin_check(const souk_plugin_t *p, const char *name, char *why, size_t why_len);

/* A plug-in name is 1..63 bytes of [a-z0-9_-] (no '/', no ".."). */
bool plugin_name_ok(const char *name);

/*
 * Split a plugins.load value ("a, b c") into names (each at most
 * SOUK_PLUGIN_NAME_MAX - 1 bytes); 0 or SOUK_EINVAL/SOUK_ETOOBIG with why.
 */
int plugin_split_names(const char *list, char names[][SOUK_PLUGIN_NAME_MAX], size_t max,
		       size_t *n, char *why, size_t why_len);

/*
 * Register the built-ins, then dlopen <dir>/<name>.so (RTLD_NOW |
 * RTLD_LOCAL) for each name, check and init it. dir must be a directory
 * that is not world-writable (checked only when n > 0), and so must each
 * file. state_dir is passed to init() as "state_dir". On failure every
 * plug-in already set up is finalised, *out stays NULL and err holds one
 * line naming the plug-in, its file and the reason.
 */
int plugin_load_all(const char *dir, const char *const names[], size_t n, const char *state_dir,
		    plugin_set_t **out, char *err, size_t err_len);
/* The same with the names as one plugins.load string. */
int plugin_load_list(const char *dir, const char *list, const char *state_dir,
		     plugin_set_t **out, char *err, size_t err_len);

size_t plugin_count(const plugin_set_t *set);
const plugin_entry_t *plugin_at(const plugin_set_t *set, size_t i);
const plugin_entry_t *plugin_find(const plugin_set_t *set, const char *name);
const char *plugin_kind_name(uint32_t kind);

/* [{"name","kind","version","abi":"1.0","builtin":bool,"path"}...] */
struct json_t;
struct json_t *plugin_list_json(const plugin_set_t *set);

/* fini() every plug-in (last loaded first), dlclose, free. */
void plugin_set_free(plugin_set_t **set);
