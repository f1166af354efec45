/* SPDX-License-Identifier: Apache-2.0 */
/*
 * slow_fsync.so - LD_PRELOAD shim: every fsync/fdatasync waits
 * SOUK_SLOW_FSYNC_US microseconds before doing the real call, so that a disk
 * that flushes in a fraction of a millisecond behaves like one that takes
 * milliseconds (a SATA SSD honouring flushes, a network block device). Used by
 * `make bench` to show what group commit does where a flush costs what it
 * costs on most servers; the flush itself still happens.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void wait_flush(void)
{
	const char *v = getenv("SOUK_SLOW_FSYNC_US");
	long us = v ? atol(v) : 0;
	if (us <= 0)
		return;
	if (us > 1000000)
		us = 1000000;
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int fsync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	wait_flush();
	return real(fd);
}

int fdatasync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	wait_flush();
	return real(fd);
}
