/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SOUK_PLUGIN_H
#define SOUK_PLUGIN_H
/*
 * souk/plugin.h - the souk plug-in ABI.
 *
 * A plug-in is a shared object <plugins.dir>/<name>.so that exports one
 * object, souk_plugin (SOUK_PLUGIN_SYMBOL), of type const souk_plugin_t.
 * soukd and souk-fcgi load the plug-ins that plugins.load names at start-up
 * and refuse to start when one does not load. The host checks, in order:
 *
 *   magic       == SOUK_PLUGIN_MAGIC
 *   abi_major   == the host's SOUK_PLUGIN_ABI_MAJOR (a new major breaks)
 *   abi_minor   <= the host's SOUK_PLUGIN_ABI_MINOR (a minor only adds
 *                  members at the end; a host reads none it does not know)
 *   size        >= the size of souk_plugin_t at the plug-in's minor
 *   name        == the file name without ".so"
 *   kind        is one of souk_plugin_kind_t
 *
 * then calls init(); a failing init also refuses start-up.
 *
 * Built-in providers (the manual payment provider, the spool notification
 * provider...) are compiled into souk and described by the same struct.
 *
 * Card numbers never reach a plug-in: payment plug-ins get tokens or
 * references from the payment page of their provider, never a PAN, CVC or
 * expiry date. A plug-in must not ask for them.
 *
 * This header needs only the C standard library (C99 or later).
 *
 * Minimal plug-in (build with: cc -shared -fPIC -o hello.so hello.c):
 *
 *   #include <souk/plugin.h>
 *   static int hello_init(const souk_plugin_config_t *cfg, void **state)
 *   { *state = 0; return 0; }
 *   static void hello_fini(void *state) { }
 *   SOUK_PLUGIN_EXPORT const souk_plugin_t souk_plugin = {
 *       SOUK_PLUGIN_HEADER_INIT,
 *       .name = "hello", .version = "1.0",
 *       .kind = SOUK_PLUGIN_NOTIFICATION,
 *       .init = hello_init, .fini = hello_fini,
 *   };
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SOUK_PLUGIN_MAGIC     0x534b504cu /* "SKPL" */
#define SOUK_PLUGIN_ABI_MAJOR 1
#define SOUK_PLUGIN_ABI_MINOR 0
#define SOUK_PLUGIN_SYMBOL    "souk_plugin"
#define SOUK_PLUGIN_NAME_MAX  64 /* name: [a-z0-9_-], 1..63 bytes */

#if defined(__GNUC__)
#define SOUK_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define SOUK_PLUGIN_EXPORT
#endif

typedef enum {
	SOUK_PLUGIN_PAYMENT = 1,
	SOUK_PLUGIN_SHIPPING = 2,
	SOUK_PLUGIN_TAX = 3,
	SOUK_PLUGIN_NOTIFICATION = 4,
} souk_plugin_kind_t;

/*
 * The configuration a plug-in receives: a read-only view of key/value
 * pairs (count entries), valid during init() only; copy what you keep.
 * The host passes at least "name" (the plug-in's name) and "state_dir"
 * (a directory the plug-in may use, which may not exist yet).
 */
typedef struct {
	const char *key;
	const char *value;
} souk_plugin_kv_t;

typedef struct {
	size_t count;
	const souk_plugin_kv_t *items;
} souk_plugin_config_t;

/*
 * Per-kind operations: ops points at the struct of its kind, which begins
 * with its own size so that each kind's interface grows on its own. The
 * domain issues (payment, shipping, tax, notification) define the members
 * after size; until then these hold the size only.
 */
typedef struct {
	uint32_t size; /* sizeof(souk_payment_ops_t) as the plug-in was built */
} souk_payment_ops_t;
typedef struct {
	uint32_t size;
} souk_shipping_ops_t;
typedef struct {
	uint32_t size;
} souk_tax_ops_t;
typedef struct {
	uint32_t size;
} souk_notification_ops_t;

typedef struct souk_plugin {
	uint32_t magic;	    /* SOUK_PLUGIN_MAGIC */
	uint16_t abi_major; /* SOUK_PLUGIN_ABI_MAJOR the plug-in was built with */
	uint16_t abi_minor; /* SOUK_PLUGIN_ABI_MINOR the plug-in was built with */
	uint32_t size;	    /* sizeof(souk_plugin_t) the plug-in was built with */
	uint32_t kind;	    /* souk_plugin_kind_t */
	const char *name;    /* equals the file name without ".so" */
	const char *version; /* the plug-in's own version, free text */
	/* 0 on success, else a negative errno; *state is passed back to fini
	 * and to the ops. Called once, before any op, from one thread. */
	int (*init)(const souk_plugin_config_t *config, void **state);
	/* Releases what init took; called once at exit. May be NULL. */
	void (*fini)(void *state);
	/* The souk_<kind>_ops_t of the plug-in's kind, or NULL. */
	const void *ops;
	/* ABI 1.0 ends here; later minors add members below. */
} souk_plugin_t;

/* Size of souk_plugin_t at ABI 1.0 (what a 1.0 plug-in must provide). */
#define SOUK_PLUGIN_SIZE_1_0 (offsetof(souk_plugin_t, ops) + sizeof(const void *))

/* The first four members of every souk_plugin_t initialiser. */
#define SOUK_PLUGIN_HEADER_INIT                                                                    \
	.magic = SOUK_PLUGIN_MAGIC, .abi_major = SOUK_PLUGIN_ABI_MAJOR,                             \
	.abi_minor = SOUK_PLUGIN_ABI_MINOR, .size = sizeof(souk_plugin_t)

#ifdef __cplusplus
}
#endif
#endif /* SOUK_PLUGIN_H */
