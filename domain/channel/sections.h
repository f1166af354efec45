/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/channel/sections.h - the storefronts inside a published image, and
 * how a request finds its own.
 *
 * soukd's channel provider (domain/channel/provider.c) writes one section,
 * CHANNEL_SECTION, from every channel record and the configured default
 * (config channels.default): a header, one fixed-size record per channel
 * (archived ones left out, disabled ones kept and marked) in code order, and
 * every hostname of an active channel sorted, for a binary search. A delta
 * made after no channel change carries none: readers take the base's
 * (shm_image_section). Offsets only; every count is checked at bind.
 *
 * Resolution (channel_resolve), fixed and documented in docs/channels.md:
 *   1. X-Souk-Channel: the code of an active channel, else "unknown channel";
 *   2. the request's host (Host without port, ASCII lower-cased, a trailing
 *      dot dropped) among the active channels' hostnames;
 *   3. the configured default channel (channels.default), when it is active;
 *   4. the only active channel, when there is exactly one.
 * Otherwise no channel matches, and with several channels the request is
 * refused: never another channel's data. A mall without any channel record
 * serves its catalog without channel rules (CHANNEL_NONE).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/locale.h"
#include "domain/channel/channel.h"
#include "shm/shm.h"
#include "store/store.h"

#define CHANNEL_SECTION "chn.list"
#define CHANNEL_SEC_MAGIC 0x314e4843u /* "CHN1" */
#define CHANNEL_SEC_VERSION 1u
#define CHANNEL_IMAGE_MAX 256 /* channels in one image */
#define CHANNEL_NO_DEFAULT UINT32_MAX
#define CHANNEL_HOST_MAX 254 /* a hostname and its NUL */
/* a channel's locales as one priority list: default then fallbacks, ',' between */
#define CHANNEL_LOCALE_LIST_MAX ((CHANNEL_LOCALES_MAX + 1) * SOUK_LOCALE_MAX)

/* rounding modes as common/money.h numbers them (souk_round_t) */
#include "common/money.h"
#define CHANNEL_ROUND_HALF_EVEN SOUK_ROUND_HALF_EVEN
#define CHANNEL_ROUND_HALF_UP SOUK_ROUND_HALF_UP
#define CHANNEL_ROUND_HALF_DOWN SOUK_ROUND_HALF_DOWN
#define CHANNEL_ROUND_UP SOUK_ROUND_UP
#define CHANNEL_ROUND_DOWN SOUK_ROUND_DOWN

typedef struct {
	uint32_t magic;	      /* CHANNEL_SEC_MAGIC */
	uint32_t version;     /* CHANNEL_SEC_VERSION */
	uint32_t rec_size;    /* sizeof(channel_rec_t) as written */
	uint32_t count;	      /* records */
	uint32_t nhosts;      /* host entries after the records */
	uint32_t default_idx; /* configured default, CHANNEL_NO_DEFAULT when none
			       * (or not an active channel) */
	uint64_t seq;	      /* change-log sequence the channels are as of */
} channel_hdr_t;

typedef struct {
	char code[CHANNEL_CODE_MAX + 1];
	uint8_t active;		  /* status "active" (else disabled) */
	uint8_t prices_include_tax;
	uint8_t tax_per_unit;	  /* calculation "unit" (else "line") */
	uint8_t rounding;	  /* souk_round_t, the channel's default */
	uint8_t ncurrencies;	  /* currencies[0] is the default */
	uint8_t nlocales;	  /* locales[0] is the default, then the fallbacks */
	uint8_t most_stock;	  /* allocation "most_stock" (else "priority") */
	uint8_t auto_confirm;
	store_id_t id;
	uint64_t version;
	uint32_t reservation_ttl_s;
	uint32_t unpaid_ttl_s;
	char currencies[CHANNEL_CURRENCIES_MAX][4];
	uint8_t currency_rounding[CHANNEL_CURRENCIES_MAX]; /* per currency, with overrides */
	char locales[CHANNEL_LOCALES_MAX + 1][SOUK_LOCALE_MAX];
	char locale_list[CHANNEL_LOCALE_LIST_MAX]; /* "de,fr,en" */
	uint32_t locale_list_len;
	uint32_t reserved[7];
} channel_rec_t;

typedef struct {
	char host[CHANNEL_HOST_MAX];
	uint16_t channel; /* record index */
} channel_host_t;

/* ---- building (soukd) ---- */
/* A channel as the builder takes it: its record and its hostnames. */
typedef struct {
	channel_rec_t rec;
	char hosts[CHANNEL_HOSTS_MAX][CHANNEL_HOST_MAX];
	uint32_t nhosts;
} channel_src_t;

/* Parse one stored channel document (normalised by the channel kind);
 * SOUK_EINVAL when it does not hold what the kind guarantees. */
struct json_t;
int channel_src_from_doc(const struct json_t *doc, const store_id_t *id, uint64_t version,
			 channel_src_t *out);
/* Write the section for n channels (any order; sorted by code here) with
 * default_code ("" or NULL: none) to b. Hostnames of disabled channels are
 * left out; a hostname claimed twice (the store's unique key prevents it)
 * keeps the channel with the lower code. *bytes gets the section size. */
int channel_build(shm_builder_t *b, const channel_src_t *const *src, size_t n,
		  const char *default_code, uint64_t seq, size_t *bytes);
/* The section's bytes in heap memory (tests), free() it. */
int channel_build_mem(const channel_src_t *const *src, size_t n, const char *default_code,
		      uint64_t seq, void **sec, size_t *len);

/* ---- reading (workers) ---- */
typedef struct {
	const channel_hdr_t *hdr; /* NULL: the image has no channel section */
	const channel_rec_t *recs;
	const channel_host_t *hosts;
	uint32_t count, nhosts, nactive;
	uint32_t only_active; /* index of the one active channel when nactive == 1 */
} channel_view_t;

/* Check a section's bytes and bind a view over them: 0, SOUK_ECORRUPT or
 * SOUK_EVERSION. */
int channel_view_init_mem(const void *sec, size_t len, channel_view_t *out);
/* channel_view_init_mem over an image's section as a view bound once per
 * image; an image without the section binds an empty view (no channels). */
extern const shm_view_def_t channel_view_def;

typedef enum {
	CHANNEL_FOUND = 0,    /* *out is the request's channel */
	CHANNEL_NONE,	      /* the mall has no channels: serve without */
	CHANNEL_UNKNOWN,      /* X-Souk-Channel names no active channel */
	CHANNEL_NO_MATCH,     /* several channels, no header, host or default */
} channel_match_t;

/* The request's channel (see the rules above). header and host may be NULL;
 * host may carry a port ("shop.example:8080") and any case. */
channel_match_t channel_resolve(const channel_view_t *v, const char *header, const char *host,
				const channel_rec_t **out);
/* A record by code (any status); NULL when none. */
const channel_rec_t *channel_find(const channel_view_t *v, const char *code, size_t len);
/* Is currency (3 letters) one of the channel's? */
bool channel_has_currency(const channel_rec_t *c, const char *currency);
/* The locale a channel serves a request in: the first of the request's
 * priority list (souk_accept_language form, may be NULL) that the channel
 * offers, by RFC 4647 lookup, else its default; its index in c->locales. */
size_t channel_pick_locale(const channel_rec_t *c, const char *list, size_t list_len);
