/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * plugins/builtin.h - providers compiled into souk, described by the same
 * souk_plugin_t as loaded plug-ins (souk/plugin.h) so that they are listed,
 * initialised and finalised the same way. The domain issues give them ops.
 *
 *   manual  payment: collected outside souk (bank transfer, cash on
 *           delivery); a payment stays "pending" until staff records it.
 *   spool   notification: each message becomes one file in
 *           <state_dir>/spool/notifications/ for an outside mailer.
 */
#include <stddef.h>

#include "souk/plugin.h"

extern const souk_plugin_t plugin_builtin_manual;
extern const souk_plugin_t plugin_builtin_spool;

/* The built-ins, in registration order. */
const souk_plugin_t *const *plugin_builtins(size_t *count);

/* manual: the status of every new payment ("pending"). */
const char *plugin_manual_status(void *state);

/* spool: write msg atomically as a new file in the spool directory (created
 * on first use); 0 or -errno. */
int plugin_spool_write(void *state, const char *msg, size_t len);
/* spool: the directory it writes to. */
const char *plugin_spool_dir(void *state);
