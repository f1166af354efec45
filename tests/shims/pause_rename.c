/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pause_rename.so - LD_PRELOAD shim: a rename() whose source path ends in
 * SOUK_PAUSE_RENAME_SUFFIX creates the file $SOUK_PAUSE_RENAME_DIR/paused,
 * then waits until $SOUK_PAUSE_RENAME_DIR/go exists (at most 60 s) before the
 * real rename. Lets a test act at an exact point of a program (the moment
 * `soukctl restore` puts the restored data file in place) without guessing
 * at timing.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void pause_here(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/paused", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/go", dir);
	for (int i = 0; i < 6000 && access(path, F_OK) != 0; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
}

int rename(const char *from, const char *to)
{
	static int (*real)(const char *, const char *);
	const char *dir = getenv("SOUK_PAUSE_RENAME_DIR");
	const char *suffix = getenv("SOUK_PAUSE_RENAME_SUFFIX");
	if (!real)
		real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	if (dir && suffix && strlen(from) >= strlen(suffix) &&
	    strcmp(from + strlen(from) - strlen(suffix), suffix) == 0)
		pause_here(dir);
	return real(from, to);
}
