/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * daemon/ctl_client.h - client side of soukd's control socket (see
 * daemon/control.h for the protocol: one request line in, one JSON line
 * back). Used by soukctl and by the test tools.
 *
 * Every wait is bounded by the caller's timeout. Errors: -ENOENT (no
 * socket: soukd is not running), -ECONNREFUSED (a stale socket: soukd is
 * gone), -EACCES (no permission on the socket), -ENAMETOOLONG (path longer
 * than a UNIX socket address), SOUK_ETIMEOUT (no complete answer in time),
 * SOUK_ETOOBIG (answer longer than the buffer), SOUK_ECORRUPT (the answer
 * is not a JSON object), -EPIPE (connection closed before a full line).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CTL_CLIENT_REPLY_MAX (1u << 20) /* longest answer line accepted */

/* Connect to the socket at path; *fd is a blocking socket whose connect and
 * sends are bounded by timeout_ms. */
int ctl_client_connect(const char *path, uint64_t timeout_ms, int *fd);
/* Send len bytes (all of them, or an error). */
int ctl_client_send(int fd, const char *buf, size_t len);
/*
 * Read up to and including one '\n' into buf (cap bytes, NUL-terminated,
 * the newline replaced by NUL); *len = line length. Reads byte runs, so a
 * pipelined second answer may be consumed: use one line per request.
 */
int ctl_client_read_line(int fd, uint64_t timeout_ms, char *buf, size_t cap, size_t *len);

/*
 * One request: connect, send "request\n", read the answer and parse it.
 * On 0, *reply is the answer object (the caller json_decref()s it); its
 * "ok" member says whether soukd carried the command out.
 */
int ctl_client_call(const char *path, const char *request, uint64_t timeout_ms, json_t **reply);

/* Plain words for a client error, e.g. "no control socket". */
const char *ctl_client_strerror(int code);
/* Does the error mean that no soukd is running there (no socket, or a
 * stale one nobody listens on)? */
bool ctl_client_down(int code);
