/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * common/error.h - souk error codes.
 *
 * Functions return int: 0 on success, -errno for system errors, and the
 * project codes below (all < -1000) for everything else. souk_strerror()
 * turns any of them into a human string.
 */

enum {
	SOUK_EOK = 0,
	SOUK_EBASE = -1000,
	SOUK_ENOENT = -1001,    /* no such record / key */
	SOUK_EEXIST = -1002,    /* record or unique key exists */
	SOUK_ECONFLICT = -1003, /* stale version (optimistic concurrency) */
	SOUK_EINVAL = -1004,    /* invalid input */
	SOUK_ECONFIG = -1005,   /* configuration error */
	SOUK_ECORRUPT = -1006,  /* damaged data (checksum, magic, format) */
	SOUK_EVERSION = -1007,  /* unsupported ABI or schema version */
	SOUK_ECRYPTO = -1008,   /* OpenSSL failure */
	SOUK_ESTORE = -1009,    /* LMDB failure not mapped to anything else */
	SOUK_EMAPFULL = -1010,  /* LMDB map full (after growth attempts) */
	SOUK_EREADERS = -1011,  /* LMDB reader table full */
	SOUK_ETOOBIG = -1012,   /* input exceeds a size limit */
	SOUK_ESTALE = -1013,    /* a newer generation/image replaced this one */
	SOUK_EBUSY = -1014,     /* resource busy, try again */
	SOUK_ETIMEOUT = -1015,  /* bounded wait expired */
	SOUK_EAUTH = -1016,     /* authentication failed */
	SOUK_EPERM = -1017,     /* not authorised */
	SOUK_EFS = -1018,       /* unsuitable filesystem (network, FUSE) */
	SOUK_ENOMEM = -1019,    /* allocation failed */
	SOUK_EPANIC = -1020,    /* storage environment had a fatal error: restart */
	SOUK_EREUSED = -1021,   /* idempotency key reused for another request */
	SOUK_ELIMIT = -1022,    /* a counter would leave its floor..ceiling range */
	SOUK_ELAST = -1023,
};

/* Human-readable text for any souk return code (project codes or -errno). */
const char *souk_strerror(int code);
