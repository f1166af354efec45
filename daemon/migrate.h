/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/migrate.h - moving stored documents to their kind's current shape.
 *
 * Each kind declares the version of its documents (model_kind_t.version);
 * the store records the version its documents have (store_kind_version).
 * At start, before the first image is built, soukd moves every current
 * document of a kind whose recorded version is older: the kind's migrate
 * hook, then normalisation through its table (new defaults, enum aliases),
 * written as a new version (history with actor "souk" and the reason, a
 * change-log entry, an audit leaf) when it changed. Batches commit as
 * they go; the new version is recorded once all are moved, so a crash
 * part-way leaves the old version recorded and the next start goes on
 * (documents already moved are unchanged by a second pass). A document the
 * current table refuses keeps its stored form (logged and counted; the
 * renderer keeps serving its last good version). A store recorded at a
 * newer version than the program is refused (SOUK_EVERSION).
 */
#include <stdint.h>

#include "model/model.h"
#include "store/store.h"

#define MIGRATE_ACTOR "souk"
#define MIGRATE_BATCH 256

typedef struct {
	uint64_t kinds;	    /* kinds moved to a newer version */
	uint64_t changed;   /* documents written */
	uint64_t unchanged; /* documents already in the new shape */
	uint64_t refused;   /* documents the current table refuses (kept) */
	uint64_t conflicts; /* changed meanwhile by another writer (next start) */
} migrate_stats_t;

/* One kind: 0 (also when it is current), SOUK_EVERSION, or a store error. */
int migrate_kind(store_t *s, const model_kind_t *k, migrate_stats_t *st);
/* Every kind of the registry, in order. */
int migrate_all(store_t *s, migrate_stats_t *st);
