/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/control.h - soukd's control socket.
 *
 * A UNIX stream socket (<runtime_dir>/control.sock, mode 0660). Requests are
 * lines, "command [arguments]\n"; each gets one line of JSON back:
 *   {"ok":true, ...fields of the command...}
 *   {"ok":false,"error":"..."}
 * A connection may send several requests. Requests are bounded in size,
 * clients in number and idle time; everything runs non-blocking on the
 * daemon's libevent base. Beyond the file mode, each connection's peer is
 * checked (ctl_peer_allowed()); others are answered "permission denied" and
 * closed.
 *
 * Subsystems add commands with ctl_register(); a handler fills the reply
 * object and returns 0, or returns an error code (then the reply says
 * "ok": false and carries "error", the handler's own text when it set one).
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct event_base;

typedef struct ctl ctl_t;
typedef struct ctl_conn ctl_conn_t;

typedef int (*ctl_handler_t)(ctl_conn_t *conn, const char *args, json_t *reply, void *arg);
typedef void (*ctl_after_t)(void *arg);

#define CTL_REQUEST_MAX	 4096 /* longest request line */
#define CTL_COMMANDS_MAX 64

typedef struct {
	const char *path;	  /* socket path */
	mode_t mode;		  /* 0660 */
	uint32_t max_clients;	  /* more are answered "busy" and closed */
	uint64_t idle_timeout_ms; /* idle connections are closed */
} ctl_opts_t;

/* Who may talk to the control socket, besides its file mode: root, soukd's
 * own user, or a member of the socket's group (primary or supplementary,
 * from SO_PEERCRED and SO_PEERGROUPS). 0 when allowed, SOUK_EPERM if not. */
int ctl_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups, uid_t self_uid,
		     gid_t sock_gid);

/* Create the socket (replacing a stale one; SOUK_EBUSY when another
 * process still answers on it) and start accepting on base. */
int ctl_new(struct event_base *base, const ctl_opts_t *opts, ctl_t **out);
/* Stop accepting, close every connection, remove the socket file. */
void ctl_free(ctl_t **ctl);

/* Add a command; name is a single word. SOUK_EEXIST if taken. */
int ctl_register(ctl_t *ctl, const char *name, const char *help, ctl_handler_t fn, void *arg);
/* New limits for clients and idle time (on reload). */
void ctl_set_limits(ctl_t *ctl, uint32_t max_clients, uint64_t idle_timeout_ms);
/* Run fn(arg) once the reply of the current request has been sent (e.g. stop). */
void ctl_after_reply(ctl_conn_t *conn, ctl_after_t fn, void *arg);
/* Connections open now. */
unsigned ctl_clients(const ctl_t *ctl);
const char *ctl_path(const ctl_t *ctl);
