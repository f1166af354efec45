/* SPDX-License-Identifier: Apache-2.0 */
#include "common/error.h"

#include <string.h>

const char *souk_strerror(int code)
{
	switch (code) {
	case SOUK_EOK: return "ok";
	case SOUK_ENOENT: return "not found";
	case SOUK_EEXIST: return "already exists";
	case SOUK_ECONFLICT: return "version conflict";
	case SOUK_EINVAL: return "invalid input";
	case SOUK_ECONFIG: return "configuration error";
	case SOUK_ECORRUPT: return "data is damaged";
	case SOUK_EVERSION: return "unsupported version";
	case SOUK_ECRYPTO: return "cryptographic operation failed";
	case SOUK_ESTORE: return "storage error";
	case SOUK_EMAPFULL: return "storage map is full";
	case SOUK_EREADERS: return "too many storage readers";
	case SOUK_ETOOBIG: return "too large";
	case SOUK_ESTALE: return "stale generation";
	case SOUK_EBUSY: return "busy";
	case SOUK_ETIMEOUT: return "timed out";
	case SOUK_EAUTH: return "authentication failed";
	case SOUK_EPERM: return "not permitted";
	case SOUK_EFS: return "unsuitable filesystem";
	case SOUK_ENOMEM: return "out of memory";
	case SOUK_EPANIC: return "storage environment had a fatal error (restart to reopen it)";
	case SOUK_EREUSED: return "idempotency key already used for another request";
	case SOUK_ELIMIT: return "counter would go below its floor or above its ceiling";
	default: break;
	}
	if (code < 0 && code > SOUK_EBASE)
		return strerror(-code);
	return "unknown error";
}
