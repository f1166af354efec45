/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * model/perm.h - permissions and principals.
 *
 * A permission is a stable name ("catalog.write") with an enum value; kinds
 * declare the permissions that read, write and see the history of their
 * entities, routes declare the one they need (fcgi/routes.c). PERM_UNSET is
 * zero so that a table entry that forgot its permission is caught: the route
 * macro refuses it at compile time, the kind table test at check time.
 *
 * A principal is who makes a request: anonymous, the bootstrap admin (the
 * configured secret), and later customers, staff, API keys and plug-in
 * callbacks. Its id is the audit actor and the history's "who". Whether a
 * principal holds a permission is answered by one function
 * (perm_allowed), which the identity issue extends with roles and scopes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	PERM_UNSET = 0,        /* never valid in a table */
	PERM_PUBLIC,           /* anyone, anonymous included */
	PERM_CATALOG_READ,     /* staff reads of catalog data (drafts, archived) */
	PERM_CATALOG_WRITE,    /* create, update, archive, revert catalog entities */
	PERM_CATALOG_HISTORY,  /* version history of catalog entities */
	PERM_INVENTORY_READ,   /* stock locations and levels */
	PERM_INVENTORY_WRITE,
	PERM_INVENTORY_HISTORY,
	PERM_COUNTER_READ,     /* platform counters (usage limits, stock) */
	PERM_COUNTER_WRITE,
	PERM_BATCH_WRITE,      /* atomic multi-entity batches (units of work) */
	PERM_OPS_READ,         /* /metrics, status */
	PERM_CHANNEL_READ,     /* storefront settings */
	PERM_CHANNEL_WRITE,
	PERM_CHANNEL_HISTORY,
	PERM_SELLER_READ,      /* marketplace sellers */
	PERM_SELLER_WRITE,
	PERM_SELLER_HISTORY,
	PERM_PRICING_READ,     /* price lists and prices */
	PERM_PRICING_WRITE,
	PERM_PRICING_HISTORY,
	PERM__COUNT,
} perm_id_t;

/* Stable name of a permission ("catalog.write"), "unset" for PERM_UNSET. */
const char *perm_name(perm_id_t p);
/* PERM_* for a name, PERM_UNSET when unknown. */
perm_id_t perm_by_name(const char *name);

typedef enum {
	PRINCIPAL_ANONYMOUS = 0,
	PRINCIPAL_ADMIN,    /* the bootstrap admin secret: every permission */
	PRINCIPAL_CUSTOMER, /* reserved for the identity issue */
	PRINCIPAL_STAFF,
	PRINCIPAL_API_KEY,
	PRINCIPAL_PLUGIN,
	PRINCIPAL__COUNT,
} principal_type_t;

#define PRINCIPAL_ID_MAX 63

typedef struct {
	principal_type_t type;
	char id[PRINCIPAL_ID_MAX + 1]; /* audit actor: "anonymous", "admin", ... */
} principal_t;

/* Stable name of a principal type ("anonymous", "admin", ...). */
const char *principal_type_name(principal_type_t t);
/* Fill p as the anonymous principal. */
void principal_anonymous(principal_t *p);
/* Fill p as the bootstrap admin. */
void principal_admin(principal_t *p);

/* Scope of the entity a permission is asked for (channel, seller); NULL
 * fields mean unscoped. The identity issue checks role scopes against it. */
typedef struct {
	const char *channel;
	const char *seller;
} perm_scope_t;

/* Does p hold permission perm for an object in scope (may be NULL)?
 * PERM_PUBLIC: everyone; PERM_UNSET: no one. */
bool perm_allowed(const principal_t *p, perm_id_t perm, const perm_scope_t *scope);
