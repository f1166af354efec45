/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fail_setsockopt.so - LD_PRELOAD shim: setsockopt(SO_RCVTIMEO) fails with
 * ENOMEM. Used to check that souk-fcgi ends a request whose timeout cannot
 * be set (and says so) instead of serving it without one.
 */
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	static int (*real)(int, int, int, const void *, socklen_t);
	if (level == SOL_SOCKET && name == SO_RCVTIMEO) {
		errno = ENOMEM;
		return -1;
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "setsockopt");
	return real(fd, level, name, val, len);
}
