/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/ctl_config.c - soukctl's configuration: which file, the paths it
 * gives (data directory, control socket, shared-memory instance, audit key),
 * and a salvage of those paths from a file that does not validate, so that a
 * typo in /etc/souk/souk.yaml never hides a running soukd from `status`.
 */
#include "daemon/ctl_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/error.h"
#include "common/util.h"

/* Items soukctl needs; everything else in the file is ignored here. */
static const char *const salvage_items[] = {
    "instance",
    "paths.state_dir",
    "paths.runtime_dir",
    "audit.signing_key_file",
};
#define NSALVAGE      (sizeof(salvage_items) / sizeof(salvage_items[0]))
#define SALVAGE_DEPTH 8

/* Append s to b as a double-quoted YAML scalar. */
static int quoted(char *b, size_t cap, size_t *len, const char *s)
{
	for (size_t i = 0;; i++) {
		char ch = s[i];
		const char *add;
		char one[8];
		if (ch == '\0')
			break;
		if (ch == '"' || ch == '\\') {
			snprintf(one, sizeof(one), "\\%c", ch);
			add = one;
		} else if ((unsigned char)ch < 0x20) {
			snprintf(one, sizeof(one), "\\x%02x", (unsigned char)ch);
			add = one;
		} else {
			one[0] = ch;
			one[1] = '\0';
			add = one;
		}
		size_t n = strlen(add);
		if (*len + n + 1 > cap)
			return SOUK_ETOOBIG;
		memcpy(b + *len, add, n + 1);
		*len += n;
	}
	return 0;
}

/*
 * Read the scalar values of salvage_items from the YAML file (as far as it
 * parses) and validate them through the schema by loading a small document
 * made of them alone. Values that do not validate fall back to defaults.
 */
static int salvage(const char *path, cfg_t **out)
{
	char *vals[NSALVAGE] = {0}, *text = NULL, *doc = NULL;
	char *keys[SALVAGE_DEPTH] = {0};
	bool want_key[SALVAGE_DEPTH] = {0};
	int depth = -1, skip = 0, ret;
	size_t tlen = 0;
	yaml_parser_t p;
	yaml_event_t ev;
	bool done = false;

	*out = NULL;
	ret = souk_read_file(path, CFG_FILE_MAX, &text, &tlen);
	if (ret != 0)
		return ret;
	if (!yaml_parser_initialize(&p)) {
		free(text);
		return SOUK_ENOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, tlen);
	while (!done && yaml_parser_parse(&p, &ev)) {
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
		case YAML_DOCUMENT_END_EVENT: done = true; break;
		case YAML_SEQUENCE_START_EVENT: skip++; break;
		case YAML_SEQUENCE_END_EVENT:
			if (skip > 0 && --skip == 0 && depth >= 0)
				want_key[depth] = true;
			break;
		case YAML_MAPPING_START_EVENT:
			if (skip > 0) {
				skip++;
				break;
			}
			if (depth + 1 >= SALVAGE_DEPTH || (depth >= 0 && want_key[depth])) {
				done = true; /* too deep, or a mapping as a key */
				break;
			}
			depth++;
			want_key[depth] = true;
			free(keys[depth]);
			keys[depth] = NULL;
			break;
		case YAML_MAPPING_END_EVENT:
			if (skip > 0) {
				skip--;
				break;
			}
			if (depth < 0) {
				done = true;
				break;
			}
			free(keys[depth]);
			keys[depth] = NULL;
			depth--;
			if (depth >= 0)
				want_key[depth] = true;
			break;
		case YAML_SCALAR_EVENT:
			if (skip > 0 || depth < 0)
				break;
			if (want_key[depth]) {
				free(keys[depth]);
				keys[depth] = strdup((const char *)ev.data.scalar.value);
				want_key[depth] = false;
				break;
			}
			want_key[depth] = true;
			{
				char name[256] = "";
				size_t n = 0;
				for (int i = 0; i <= depth && keys[i] != NULL; i++)
					n += (size_t)snprintf(name + n, sizeof(name) - n, "%s%s",
							      i ? "." : "", keys[i]);
				for (size_t i = 0; n < sizeof(name) && i < NSALVAGE; i++)
					if (strcmp(name, salvage_items[i]) == 0 &&
					    strlen((const char *)ev.data.scalar.value) < 1024) {
						free(vals[i]);
						vals[i] =
						    strdup((const char *)ev.data.scalar.value);
					}
			}
			break;
		default: break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	for (int i = 0; i < SALVAGE_DEPTH; i++)
		free(keys[i]);
	free(text);

	/* validate each value on its own, so one bad value spoils no other */
	cfg_t *cfg = NULL;
	ret = cfg_defaults(&cfg);
	for (size_t i = 0; ret == 0 && i < NSALVAGE; i++) {
		const char *dot = strchr(salvage_items[i], '.');
		size_t cap = 4096, len = 0;
		cfg_t *one = NULL;
		if (vals[i] == NULL)
			continue;
		doc = malloc(cap);
		if (doc == NULL) {
			ret = SOUK_ENOMEM;
			break;
		}
		if (dot)
			len = (size_t)snprintf(doc, cap, "%.*s:\n  %s: \"",
					       (int)(dot - salvage_items[i]), salvage_items[i],
					       dot + 1);
		else
			len = (size_t)snprintf(doc, cap, "%s: \"", salvage_items[i]);
		if (quoted(doc, cap - 3, &len, vals[i]) == 0) {
			memcpy(doc + len, "\"\n", 3);
			if (cfg_load_buffer(doc, strlen(doc), path, &one, NULL) == 0)
				cfg_item_copy(cfg, one, cfg_item_find(salvage_items[i]));
			cfg_free(&one);
		}
		free(doc);
		doc = NULL;
	}
	for (size_t i = 0; i < NSALVAGE; i++)
		free(vals[i]);
	if (ret != 0) {
		cfg_free(&cfg);
		return ret;
	}
	*out = cfg;
	return 0;
}

/* Commands that reach soukd and go on with salvaged paths. */
static bool online(const ctl_cmd_t *cmd)
{
	static const char *const names[] = {"status", "reload", "publish", "stats", "plugins"};
	for (size_t i = 0; i < SOUK_ARRAY_LEN(names); i++)
		if (strcmp(cmd->name, names[i]) == 0)
			return true;
	return false;
}

static cfg_errors_t setup_errs;

int ctl_setup(ctl_ctx_t *c, const ctl_cmd_t *cmd, bool data_given, cfg_t **out)
{
	cfg_t *cfg = NULL;
	bool from_file = true;
	int ret;

	*out = NULL;
	if (strcmp(cmd->name, "check-config") == 0)
		return CTL_OK;
	ret = cfg_load(c->config_file, &cfg, &setup_errs);
	if ((ret == -ENOENT || ret == -EACCES) && !c->config_explicit) {
		/* no file at the default place: the defaults are the configuration;
		 * one we may not read (not in the souk group): say so, go on */
		if (ret == -EACCES)
			fprintf(stderr,
				"soukctl, warning: cannot read '%s' (%s); using the defaults "
				"(name a file with -c)\n",
				c->config_file, souk_strerror(ret));
		from_file = false;
		ret = cfg_defaults(&cfg);
		if (ret != 0) {
			fprintf(stderr, "soukctl, cannot set up defaults (%s)\n",
				souk_strerror(ret));
			return CTL_FAIL;
		}
	} else if (ret != 0) {
		if (!online(cmd) || salvage(c->config_file, &cfg) != 0) {
			cfg_errors_print(&setup_errs, stderr);
			if (setup_errs.count == 0)
				fprintf(stderr, "config, file '%s', cannot load (%s)\n",
					c->config_file, souk_strerror(ret));
			return CTL_USAGE;
		}
		c->cfg_errors = &setup_errs;
	}
	c->cfg = cfg;
	if (!data_given)
		c->data_dir = cfg->paths.state_dir;
	c->instance = cfg->instance;
	/* the key of a configuration actually written down, not the default path */
	c->audit_key =
	    from_file && cfg->audit.signing_key_file[0] ? cfg->audit.signing_key_file : NULL;
	if ((size_t)snprintf(c->control_socket, sizeof(c->control_socket), "%s/control.sock",
			     cfg->paths.runtime_dir) >= sizeof(c->control_socket)) {
		fprintf(stderr, "soukctl, control socket path under '%s' is too long\n",
			cfg->paths.runtime_dir);
		cfg_free(&cfg);
		c->cfg = NULL;
		return CTL_USAGE;
	}
	*out = cfg;
	return CTL_OK;
}
