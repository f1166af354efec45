/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shm/hash.c - 64-bit hash for image checksums and hash indexes.
 *
 * XXH64 from Debian's libxxhash (see shm/image.h for why this checksum was
 * chosen). Reads are native-endian in the library too; images never leave
 * the host.
 */
#include <xxhash.h>

#include "shm/shm.h"

uint64_t shm_hash64(const void *data, size_t len, uint64_t seed)
{
	return XXH64(data, len, seed);
}
