/* SPDX-License-Identifier: Apache-2.0 */
#include "shm/settings.h"

#include <string.h>

#include "common/error.h"

int settings_build(shm_builder_t *b, const shm_settings_t *s)
{
	shm_settings_t w;
	if (!b || !s)
		return SOUK_EINVAL;
	w = *s;
	w.magic = SETTINGS_MAGIC;
	w.version = SETTINGS_VERSION;
	w.size = (uint32_t)sizeof(w);
	w.reserved0 = 0;
	memset(w.reserved, 0, sizeof(w.reserved));
	return shm_builder_add(b, SETTINGS_SECTION, 8, &w, sizeof(w));
}

int settings_check(const void *data, size_t len, const shm_settings_t **out)
{
	const shm_settings_t *s = data;
	if (!data || len < sizeof(*s) || ((uintptr_t)data & 7u) != 0)
		return SOUK_ECORRUPT;
	if (s->magic != SETTINGS_MAGIC)
		return SOUK_ECORRUPT;
	if (s->version != SETTINGS_VERSION)
		return SOUK_EVERSION;
	if (s->size < sizeof(*s) || s->size > len)
		return SOUK_ECORRUPT;
	*out = s;
	return 0;
}

int settings_get(const shm_image_t *img, const shm_settings_t **out)
{
	const void *data = NULL;
	size_t len = 0;
	int rc = shm_image_section(img, SETTINGS_SECTION, &data, &len);
	if (rc)
		return rc;
	return settings_check(data, len, out);
}

static int settings_view_bind(const shm_image_t *img, void *view)
{
	const shm_settings_t *s = NULL;
	int rc = settings_get(img, &s);
	if (rc == 0)
		memcpy(view, s, sizeof(*s));
	return rc;
}

const shm_view_def_t settings_view_def = {"worker settings", sizeof(shm_settings_t),
					  settings_view_bind};
