/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * domain/pricing/sections.h - each channel's prices inside a published
 * image, read per request by the selection rule (select.h).
 *
 * soukd's pricing provider (domain/pricing/provider.c) writes one section
 * per channel, "prc." and 16 hex digits of a hash of the channel code, plus
 * the directory "prc.dir" naming them. A channel's section holds, per SKU,
 * every candidate price it may serve: the prices of its active price lists
 * (with their list's currency, kind, priority, scope and window) and the
 * product's own prices in the channel's currencies (list "@product",
 * lowest priority, no scope: what a list does not override). A price
 * change rewrites only its channel's section; the catalog's sections and
 * the other channels' stay as they are.
 *
 * Layout of a channel's section (offsets from its start, 8-aligned):
 *   struct prc_hdr | shm_hidx sku -> (first candidate << 16 | count) |
 *   prc_cand_t[ncand], grouped by SKU | strings (NUL-terminated) |
 *   pricing_fmt_t[nfmt]: the formatting template of each of the channel's
 *   locales and currencies (format.h), so reads format without ICU |
 *   price_point_t[npoint]: the candidates' recent histories (history.h)
 * Readers check every offset against the section.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/pricing/format.h"
#include "domain/pricing/history.h"
#include "domain/pricing/select.h"
#include "shm/shm.h"

#define PRICING_DIR_SECTION "prc.dir"
#define PRICING_SEC_MAGIC 0x31435250u /* "PRC1" */
#define PRICING_DIR_MAGIC 0x31524450u /* "PDR1" */
#define PRICING_SEC_VERSION 1u
#define PRICING_SECT_NAME_MAX 24      /* "prc." + 16 hex digits + NUL */
#define PRICING_CHANNEL_MAX 40	      /* a channel code and its NUL, padded */
#define PRICING_CHANNELS_MAX 200      /* channel sections in one image */
#define PRICING_SKU_CANDS_MAX 256     /* candidate prices of one SKU in a channel */
#define PRICING_PRODUCT_LIST "@product" /* the product's own prices; no list code has '@' */
#define PRICING_PRODUCT_PRIORITY INT32_MIN

/* A candidate price as the image holds it. */
typedef struct {
	int64_t amount;
	int64_t min_qty;
	int64_t valid_from_ms;
	int64_t valid_until_ms;
	int32_t priority;
	uint32_t list_off; /* string offsets (+1; 0: none) */
	uint32_t customer_off;
	uint32_t group_off;
	uint32_t country_off;
	uint8_t kind; /* price_kind_t */
	char currency[4];
	uint8_t pad[3];
	uint32_t hist_first; /* its history: points [hist_first, +nhist) */
	uint32_t nhist;
} prc_cand_t;

/* A formatting template of one (locale, currency) of a channel. */
typedef struct {
	char locale[40];
	char currency[4];
	uint32_t pad;
	money_fmt_t fmt;
} pricing_fmt_t;
#define PRICING_FMTS_MAX 512

/* ---- building (soukd) ---- */
/* A candidate as the builder takes it (strings copied into the section). */
typedef struct {
	const char *sku;
	const char *list;
	const char *currency;
	const char *customer, *customer_group, *country; /* NULL or "": none */
	price_kind_t kind;
	int32_t priority;
	int64_t amount, min_qty, valid_from_ms, valid_until_ms;
	const price_point_t *hist; /* what it was lately (history.h), oldest first */
	size_t nhist;
} pricing_in_t;

/* The section name of a channel ("prc." + 16 hex). */
void pricing_section_name(const char *channel, char out[PRICING_SECT_NAME_MAX]);
/* One channel's section bytes in heap memory from n candidates (any
 * order; they are grouped by SKU here): free() *sec. A SKU keeps at most
 * PRICING_SKU_CANDS_MAX candidates (*dropped, may be NULL, counts the rest);
 * SOUK_ETOOBIG past 4 GiB of strings. */
int pricing_build_mem(const char *channel, const pricing_in_t *in, size_t n,
		      const pricing_fmt_t *fmts, size_t nfmts, uint64_t seq, void **sec, size_t *len,
		      uint64_t *dropped);
/* Set the sequence of a section built with pricing_build_mem (a base
 * built from a snapshot learns its sequence later). */
void pricing_set_seq(void *sec, uint64_t seq);
/* The directory of the channels that have a section (codes, any order). */
int pricing_dir_mem(const char *const *channels, size_t n, void **sec, size_t *len);

/* ---- reading (workers) ---- */
typedef struct {
	const void *base; /* the section */
	size_t len;
	const void *idx;
	size_t idx_len;
	const prc_cand_t *cands;
	uint32_t ncand;
	const char *str;
	size_t str_len;
	uint64_t seq; /* change-log sequence the section was built at */
	const pricing_fmt_t *fmts;
	uint32_t nfmts;
	const price_point_t *points;
	uint32_t npoints;
} pricing_chan_t;

/* A candidate's history, beside it (pricing_candidates). */
typedef struct {
	const price_point_t *p;
	size_t n;
} pricing_hist_t;

typedef struct {
	uint32_t n;
	char code[PRICING_CHANNELS_MAX][PRICING_CHANNEL_MAX]; /* sorted */
	pricing_chan_t chan[PRICING_CHANNELS_MAX];
} pricing_view_t;

/* Check one channel's section and bind it: 0 or SOUK_ECORRUPT/EVERSION. */
int pricing_chan_init(const void *sec, size_t len, pricing_chan_t *out);
/* An image's prices, bound once per image (no "prc.dir": no channel has
 * prices, an empty view). */
extern const shm_view_def_t pricing_view_def;
/* A channel's prices; NULL when it has none. */
const pricing_chan_t *pricing_channel(const pricing_view_t *v, const char *code);
/* The template for an amount in currency shown in locale; NULL when the
 * channel has none for them. */
const money_fmt_t *pricing_format(const pricing_chan_t *c, const char *locale,
				  const char *currency);
/* The candidates of sku as select.h takes them, into out (cap entries;
 * pointers into the image), and their histories into hist (may be NULL):
 * their number, 0 when the SKU has none, or SOUK_ECORRUPT. */
int pricing_candidates(const pricing_chan_t *c, const char *sku, size_t sku_len,
		       price_cand_t *out, pricing_hist_t *hist, size_t cap);
