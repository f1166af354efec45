/* SPDX-License-Identifier: Apache-2.0 */
#include "model/perm.h"

#include <string.h>

static const char *const perm_names[PERM__COUNT] = {
	[PERM_UNSET] = "unset",
	[PERM_PUBLIC] = "public",
	[PERM_CATALOG_READ] = "catalog.read",
	[PERM_CATALOG_WRITE] = "catalog.write",
	[PERM_CATALOG_HISTORY] = "catalog.history",
	[PERM_INVENTORY_READ] = "inventory.read",
	[PERM_INVENTORY_WRITE] = "inventory.write",
	[PERM_INVENTORY_HISTORY] = "inventory.history",
	[PERM_COUNTER_READ] = "counter.read",
	[PERM_COUNTER_WRITE] = "counter.write",
	[PERM_BATCH_WRITE] = "batch.write",
	[PERM_OPS_READ] = "ops.read",
	[PERM_CHANNEL_READ] = "channel.read",
	[PERM_CHANNEL_WRITE] = "channel.write",
	[PERM_CHANNEL_HISTORY] = "channel.history",
	[PERM_SELLER_READ] = "seller.read",
	[PERM_SELLER_WRITE] = "seller.write",
	[PERM_SELLER_HISTORY] = "seller.history",
	[PERM_PRICING_READ] = "pricing.read",
	[PERM_PRICING_WRITE] = "pricing.write",
	[PERM_PRICING_HISTORY] = "pricing.history",
};

static const char *const principal_names[PRINCIPAL__COUNT] = {
	[PRINCIPAL_ANONYMOUS] = "anonymous", [PRINCIPAL_ADMIN] = "admin",
	[PRINCIPAL_CUSTOMER] = "customer",   [PRINCIPAL_STAFF] = "staff",
	[PRINCIPAL_API_KEY] = "api_key",     [PRINCIPAL_PLUGIN] = "plugin",
};

const char *perm_name(perm_id_t p)
{
	if ((unsigned)p >= PERM__COUNT || perm_names[p] == NULL)
		return "unset";
	return perm_names[p];
}

perm_id_t perm_by_name(const char *name)
{
	for (unsigned i = PERM_UNSET + 1; i < PERM__COUNT; i++)
		if (perm_names[i] != NULL && strcmp(perm_names[i], name) == 0)
			return (perm_id_t)i;
	return PERM_UNSET;
}

const char *principal_type_name(principal_type_t t)
{
	if ((unsigned)t >= PRINCIPAL__COUNT)
		return "unknown";
	return principal_names[t];
}

static void principal_set(principal_t *p, principal_type_t t)
{
	memset(p, 0, sizeof(*p));
	p->type = t;
	strcpy(p->id, principal_names[t]);
}

void principal_anonymous(principal_t *p)
{
	principal_set(p, PRINCIPAL_ANONYMOUS);
}

void principal_admin(principal_t *p)
{
	principal_set(p, PRINCIPAL_ADMIN);
}

bool perm_allowed(const principal_t *p, perm_id_t perm, const perm_scope_t *scope)
{
	(void)scope; /* roles scoped by channel and seller come with identities */
	if (perm == PERM_UNSET || (unsigned)perm >= PERM__COUNT)
		return false;
	if (perm == PERM_PUBLIC)
		return true;
	return p != NULL && p->type == PRINCIPAL_ADMIN;
}
