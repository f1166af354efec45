/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * shm/settings.h - worker settings that soukd validated and published in the
 * image, so that souk-fcgi follows a configuration reload without parsing
 * YAML itself.
 *
 * One section, SETTINGS_SECTION, written by soukd's settings provider
 * (daemon/prov_settings.c) into a base and into every delta made after the
 * settings changed since that base; a delta without it is read from its base
 * (shm_image_section). The section is a shm_settings_t: a reader accepts a
 * section at least as large as the fields it knows (size) with its major
 * version, so later fields can be appended without an ABI change; unknown
 * trailing bytes are ignored.
 */
#include <stdint.h>

#include "shm/shm.h"

#define SETTINGS_SECTION "set.workers"
#define SETTINGS_MAGIC	 0x31544553u /* "SET1" */
#define SETTINGS_VERSION 1u

typedef struct {
	uint32_t magic;		      /* SETTINGS_MAGIC */
	uint32_t version;	      /* SETTINGS_VERSION (major) */
	uint32_t size;		      /* bytes of this struct as written */
	uint32_t reserved0;
	uint64_t generation;	      /* settings generation: +1 per change */
	uint64_t max_json_depth;      /* fcgi.max_json_depth */
	uint64_t min_seq_wait_ms;     /* fcgi.min_seq_wait */
	uint64_t request_timeout_ms;  /* fcgi.request_timeout */
	uint64_t max_body;	      /* fcgi.max_body (workers size their
				       * arenas at start: a worker never goes
				       * above the value it started with) */
	uint64_t reserved[9];
} shm_settings_t;

_Static_assert(sizeof(shm_settings_t) == 128, "settings section layout");

/* Add the section holding s (magic, version and size are filled in). */
int settings_build(shm_builder_t *b, const shm_settings_t *s);
/* Check a section's bytes: 0 and *out pointing into data, SOUK_ECORRUPT
 * (too short, bad magic, declared size larger than the section) or
 * SOUK_EVERSION (another major version). */
int settings_check(const void *data, size_t len, const shm_settings_t **out);
/* The settings of an image (a delta's own, else its base's): 0,
 * SOUK_ENOENT when the image has none, or what settings_check says. */
int settings_get(const shm_image_t *img, const shm_settings_t **out);
/* settings_get as a view bound once per image (shm_ctl_add_view): the view
 * is a copy of the image's shm_settings_t; SOUK_ENOENT when it has none. */
extern const shm_view_def_t settings_view_def;
