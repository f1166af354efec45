/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fail_meta.so - LD_PRELOAD shim: fails LMDB's meta-page write, the last
 * step of a commit. mdb_txn_commit() writes the dirty pages, syncs them,
 * then mdb_env_write_meta() pwrite()s the new meta record into page 0 or 1
 * of data.mdb (a write of a few dozen bytes below 2 x page size, on the
 * O_DSYNC descriptor). When that write fails LMDB flags the environment
 * fatal: the commit returns the error and every later transaction begins
 * with MDB_PANIC until the process closes the environment.
 *
 *   SOUK_FAIL_META_ARM=FILE  while FILE exists, the next meta-page write
 *                            fails with EIO and FILE is removed (one shot)
 *   SOUK_HOLD_TICK=FILE      while FILE exists, sigtimedwait() (the main
 *                            thread's once-a-second housekeeping tick in
 *                            souk-fcgi) waits before its real call, at most
 *                            60 s; FILE.held is created once a call waits.
 *                            Lets a test talk to a worker whose store died
 *                            before the worker's tick notices and exits.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool is_data_mdb(int fd)
{
	char link[64], path[4096];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n < 9)
		return false;
	path[n] = 0;
	return strcmp(path + n - 9, "/data.mdb") == 0;
}

static bool is_meta_write(int fd, size_t len, off_t off)
{
	long ps = sysconf(_SC_PAGESIZE);
	/* the meta record, not the two meta pages written when a new
	 * environment is made (those are whole pages at offset 0) */
	return off >= 0 && len < (size_t)ps && (uint64_t)off + len <= 2u * (uint64_t)ps &&
	       is_data_mdb(fd);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	const char *arm = getenv("SOUK_FAIL_META_ARM");
	if (!real)
		real = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
	if (arm && *arm && is_meta_write(fd, len, off) && unlink(arm) == 0) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, len, off);
}

int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
	static int (*real)(const sigset_t *, siginfo_t *, const struct timespec *);
	const char *hold = getenv("SOUK_HOLD_TICK");
	if (!real)
		real = (int (*)(const sigset_t *, siginfo_t *, const struct timespec *))dlsym(
			RTLD_NEXT, "sigtimedwait");
	if (hold && *hold && access(hold, F_OK) == 0) {
		char held[4200];
		snprintf(held, sizeof(held), "%s.held", hold);
		int fd = open(held, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		struct timespec step = { 0, 10000000 };
		for (int i = 0; i < 6000 && access(hold, F_OK) == 0; i++)
			nanosleep(&step, NULL);
	}
	return real(set, info, ts);
}
