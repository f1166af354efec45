/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fail_fsync.so - LD_PRELOAD shim: the Nth call of fsync/fdatasync/msync
 * (N from SOUK_FAIL_FSYNC_AT, counted together) fails with EIO; with
 * SOUK_FAIL_FSYNC_STICKY=1 every later call fails too. Used to check that a
 * commit whose sync fails is reported failed and never appears later.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static atomic_long calls;

static int should_fail(void)
{
	const char *at = getenv("SOUK_FAIL_FSYNC_AT");
	const char *sticky = getenv("SOUK_FAIL_FSYNC_STICKY");
	long n = at ? atol(at) : 0;
	long c = atomic_fetch_add(&calls, 1) + 1;
	if (n <= 0)
		return 0;
	return c == n || (sticky && *sticky == '1' && c > n);
}

int fsync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (should_fail()) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}

int fdatasync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	if (should_fail()) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}

int msync(void *addr, size_t len, int flags)
{
	static int (*real)(void *, size_t, int);
	if (!real)
		real = (int (*)(void *, size_t, int))dlsym(RTLD_NEXT, "msync");
	if (should_fail()) {
		errno = EIO;
		return -1;
	}
	return real(addr, len, flags);
}
