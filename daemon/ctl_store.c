/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/ctl_store.c - soukctl commands that open the LMDB store directly
 * (offline or beside running processes): info, backup, restore, audit.
 * The audit commands take their key from audit.signing_key_file unless
 * --key is given.
 */
#include "daemon/ctl_table.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/ctl_print.h"
#include "store/store.h"

static int open_store(ctl_ctx_t *c, bool read_only, store_t **s)
{
	store_opts_t o = { .read_only = read_only, .max_readers = 126 };
	int rc = store_open(c->data_dir, &o, s);
	if (rc)
		fprintf(stderr, "soukctl, cannot open store '%s' (%s)\n", c->data_dir, souk_strerror(rc));
	return rc;
}

static void hex32(const uint8_t h[32], char out[65])
{
	souk_hex(h, 32, out);
}

/* Parse the command's own options; returns the index of the first
 * positional argument or -1 on a usage error. */
typedef struct {
	const char *checkpoint, *key, *out;
	bool force;
	uint64_t older_than_s;
} cmd_opts_t;

static int parse_opts(int argc, char **argv, cmd_opts_t *o, const char *allowed)
{
	static const struct option longopts[] = {
		{ "checkpoint", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "older-than", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 0; /* GNU: full reset */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch == '?' || !strchr(allowed, ch)) {
			fprintf(stderr, "soukctl, unknown or misplaced option '%s'\n", argv[optind - 1]);
			return -1;
		}
		switch (ch) {
		case 'C': o->checkpoint = optarg; break;
		case 'k': o->key = optarg; break;
		case 'o': o->out = optarg; break;
		case 'f': o->force = true; break;
		case 't':
			if (souk_parse_u64(optarg, 0, UINT64_MAX / 1000, &o->older_than_s) != 0) {
				fprintf(stderr, "soukctl, bad --older-than '%s' (seconds)\n", optarg);
				return -1;
			}
			break;
		}
	}
	return optind;
}

/* argv[0] is the command name for getopt; positional args follow options */
#define OPTS(allowed, min, max)                                                         \
	cmd_opts_t o = { 0 };                                                           \
	int first = parse_opts(argc + 1, argv - 1, &o, allowed);                        \
	if (first < 0)                                                                  \
		return CTL_USAGE;                                                       \
	int npos = argc + 1 - first;                                                    \
	char **pos = argv - 1 + first;                                                  \
	if (npos < (min) || npos > (max)) {                                             \
		fprintf(stderr, "soukctl, wrong number of arguments\n");                \
		return CTL_USAGE;                                                       \
	}                                                                               \
	(void)pos;

static int cmd_info(ctl_ctx_t *c, int argc, char **argv)
{
	store_t *s = NULL;
	store_info_t info;
	uint8_t root[32];
	uint64_t size;
	uint32_t ver = 0;
	char rh[65];
	int rc;
	OPTS("", 0, 0);
	if (open_store(c, true, &s))
		return CTL_FAIL;
	if ((rc = store_info(s, &info)) || (rc = store_schema_version(s, &ver)) ||
	    (rc = store_audit_root(s, &size, root))) {
		fprintf(stderr, "soukctl, info failed (%s)\n", souk_strerror(rc));
		store_close(&s);
		return CTL_FAIL;
	}
	hex32(root, rh);
	json_t *obj = c->json ? c->out : json_object();
	json_object_set_new(obj, "path", json_string(c->data_dir));
	json_object_set_new(obj, "schema_version", json_integer(ver));
	json_object_set_new(obj, "map_size", json_integer((json_int_t)info.map_size));
	json_object_set_new(obj, "used_bytes", json_integer((json_int_t)info.used_bytes));
	json_object_set_new(obj, "readers_used", json_integer(info.readers_used));
	json_object_set_new(obj, "max_readers", json_integer(info.max_readers));
	json_object_set_new(obj, "last_seq", json_integer((json_int_t)info.last_seq));
	json_object_set_new(obj, "audit_size", json_integer((json_int_t)size));
	json_object_set_new(obj, "audit_root", json_string(rh));
	if (!c->json) {
		ctl_print_flat(stdout, NULL, obj);
		json_decref(obj);
	}
	store_close(&s);
	return CTL_OK;
}

static int cmd_backup(ctl_ctx_t *c, int argc, char **argv)
{
	store_t *s = NULL;
	OPTS("", 1, 1);
	if (open_store(c, true, &s))
		return CTL_FAIL;
	uint64_t seq = 0;
	int rc = store_last_seq(s, &seq);
	if (rc == 0)
		rc = store_backup(s, pos[0]);
	store_close(&s);
	if (rc) {
		fprintf(stderr, "soukctl, backup to '%s' failed (%s)\n", pos[0], souk_strerror(rc));
		return CTL_FAIL;
	}
	if (c->json) {
		json_object_set_new(c->out, "backup", json_string(pos[0]));
		json_object_set_new(c->out, "last_seq_at_start", json_integer((json_int_t)seq));
	} else {
		printf("backup written to '%s'\n", pos[0]);
	}
	return CTL_OK;
}

/*
 * Take LMDB's own exclusive lock for a restore: a write lock on byte 0 of
 * lock.mdb (created when missing), as an opener that finds the environment
 * unused does (mdb_env_excl_lock() in liblmdb's mdb.c). It fails while any
 * process has the environment open (each holds a read lock there), and while
 * it is held a process that opens the environment waits in LMDB's F_SETLKW
 * before it opens data.mdb, so it never sees the file the restore replaces.
 * The lock belongs to this process: store_open() here gets LMDB's exclusive
 * open (and so re-initialises lock.mdb for the new data file) and store_close()
 * releases it. *fd_out is the open lock file; 0, SOUK_EBUSY or -errno.
 */
static int env_lock_exclusive(const char *dir, int *fd_out)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	int rc;
	while ((rc = fcntl(fd, F_SETLK, &fl)) != 0 && errno == EINTR)
		;
	if (rc != 0) {
		rc = errno == EAGAIN || errno == EACCES ? SOUK_EBUSY : -errno;
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	char buf[1 << 16];
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				rc = -errno;
				goto out;
			}
			off += w;
		}
	}
	if (fsync(out) != 0)
		rc = -errno;
out:
	if (out >= 0 && close(out) != 0 && rc == 0)
		rc = -errno;
	close(in);
	return rc;
}

static int cmd_restore(ctl_ctx_t *c, int argc, char **argv)
{
	char src[4200], dst[4200], tmp[4200], lock[4200];
	store_t *s = NULL;
	struct stat st;
	uint64_t bad = 0;
	int rc, lfd = -1;
	OPTS("f", 1, 1);
	/* the backup must be sound before it replaces anything */
	store_opts_t ro = { .read_only = true };
	if ((rc = store_open(pos[0], &ro, &s)) != 0) {
		fprintf(stderr, "soukctl, cannot open backup '%s' (%s)\n", pos[0], souk_strerror(rc));
		return CTL_FAIL;
	}
	uint64_t seq = 0;
	rc = store_audit_verify(s, &bad);
	if (rc == 0)
		rc = store_last_seq(s, &seq);
	store_close(&s);
	if (rc) {
		fprintf(stderr, "soukctl, backup '%s' fails verification (%s)\n", pos[0], souk_strerror(rc));
		return CTL_FAIL;
	}
	snprintf(src, sizeof(src), "%s/data.mdb", pos[0]);
	snprintf(dst, sizeof(dst), "%s/data.mdb", c->data_dir);
	snprintf(tmp, sizeof(tmp), "%s/data.mdb.restore", c->data_dir);
	snprintf(lock, sizeof(lock), "%s/lock.mdb", c->data_dir);
	if (mkdir(c->data_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "soukctl, cannot create '%s' (%s)\n", c->data_dir, strerror(errno));
		return CTL_FAIL;
	}
	/* held from the check to the first open of the restored file */
	if ((rc = env_lock_exclusive(c->data_dir, &lfd)) != 0) {
		if (rc == SOUK_EBUSY)
			fprintf(stderr, "soukctl, store '%s' is in use by another process (stop it "
					"first)\n",
				c->data_dir);
		else
			fprintf(stderr, "soukctl, cannot lock '%s' (%s)\n", lock, souk_strerror(rc));
		return CTL_FAIL;
	}
	if (stat(dst, &st) == 0 && st.st_size > 0 && !o.force) {
		fprintf(stderr, "soukctl, '%s' already holds a store (use --force to replace it)\n",
			c->data_dir);
		goto fail;
	}
	if ((rc = copy_file(src, tmp)) != 0) {
		fprintf(stderr, "soukctl, copying '%s' failed (%s)\n", src, souk_strerror(rc));
		unlink(tmp);
		goto fail;
	}
	if (rename(tmp, dst) != 0) {
		fprintf(stderr, "soukctl, replacing '%s' failed (%s)\n", dst, strerror(errno));
		unlink(tmp);
		goto fail;
	}
	int dfd = open(c->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	/* LMDB's exclusive open (our lock) resets lock.mdb for the new file;
	 * waiting openers go on once it shares the lock */
	if (open_store(c, false, &s))
		goto fail;
	rc = store_audit_verify(s, &bad);
	store_close(&s); /* releases the lock (all of this process's on lock.mdb) */
	close(lfd);
	lfd = -1;
	if (rc) {
		fprintf(stderr, "soukctl, restored store fails verification (%s)\n", souk_strerror(rc));
		return CTL_FAIL;
	}
	if (c->json) {
		json_object_set_new(c->out, "restored_from", json_string(pos[0]));
		json_object_set_new(c->out, "last_seq", json_integer((json_int_t)seq));
	} else {
		printf("restored '%s' from '%s' (last sequence %llu, audit verified)\n", c->data_dir,
		       pos[0], (unsigned long long)seq);
	}
	return CTL_OK;
fail:
	if (lfd >= 0)
		close(lfd);
	return CTL_FAIL;
}

static int cmd_audit_verify(ctl_ctx_t *c, int argc, char **argv)
{
	store_t *s = NULL;
	uint64_t bad = UINT64_MAX, size = 0;
	uint8_t root[32];
	char rh[65];
	int rc, result = CTL_OK;
	OPTS("Ck", 0, 0);
	if (!o.key)
		o.key = c->audit_key; /* audit.signing_key_file */
	if (o.checkpoint && !o.key) {
		fprintf(stderr, "soukctl, --checkpoint needs --key (public or private PEM key; "
				"default audit.signing_key_file)\n");
		return CTL_USAGE;
	}
	if (open_store(c, true, &s))
		return CTL_FAIL;
	rc = store_audit_verify(s, &bad);
	if (rc == SOUK_ECORRUPT) {
		fprintf(stderr, "soukctl, audit log damaged: first bad entry is sequence %llu (index %llu)\n",
			(unsigned long long)bad + 1, (unsigned long long)bad);
		result = CTL_FAIL;
	} else if (rc) {
		fprintf(stderr, "soukctl, verification failed (%s)\n", souk_strerror(rc));
		store_close(&s);
		return CTL_FAIL;
	}
	if (c->json) {
		json_object_set_new(c->out, "log_ok", json_boolean(rc == 0));
		if (rc)
			json_object_set_new(c->out, "first_bad_seq", json_integer((json_int_t)bad + 1));
	}
	if (rc == 0 && store_audit_root(s, &size, root) == 0) {
		hex32(root, rh);
		if (c->json) {
			json_object_set_new(c->out, "size", json_integer((json_int_t)size));
			json_object_set_new(c->out, "root", json_string(rh));
		} else {
			printf("audit log ok: %llu entries, root %s\n", (unsigned long long)size, rh);
		}
	}
	if (o.checkpoint) {
		char *text = NULL;
		size_t len = 0;
		store_checkpoint_t cp;
		int crc = souk_read_file(o.checkpoint, STORE_CHECKPOINT_TEXT_MAX, &text, &len);
		if (crc == 0)
			crc = store_checkpoint_parse(text, len, &cp);
		free(text);
		if (crc) {
			fprintf(stderr, "soukctl, cannot read checkpoint '%s' (%s)\n", o.checkpoint,
				souk_strerror(crc));
			store_close(&s);
			return CTL_FAIL;
		}
		const char *what = NULL;
		if ((crc = store_checkpoint_verify_sig(&cp, o.key)) != 0)
			what = "signature does not verify";
		else if ((crc = store_audit_check_checkpoint(s, &cp)) != 0)
			what = "the log is not an extension of the checkpointed log";
		if (what) {
			fprintf(stderr, "soukctl, checkpoint '%s' (size %llu): %s\n", o.checkpoint,
				(unsigned long long)cp.size, what);
			result = CTL_FAIL;
		} else if (!c->json) {
			printf("consistent with checkpoint of size %llu\n", (unsigned long long)cp.size);
		}
		if (c->json)
			json_object_set_new(c->out, "checkpoint_ok", json_boolean(what == NULL));
	}
	store_close(&s);
	return result;
}

static int cmd_audit_keygen(ctl_ctx_t *c, int argc, char **argv)
{
	char pub[4200];
	OPTS("", 1, 1);
	snprintf(pub, sizeof(pub), "%s.pub", pos[0]);
	int rc = store_audit_keygen(pos[0], pub);
	if (rc) {
		fprintf(stderr, "soukctl, key generation into '%s' failed (%s)\n", pos[0], souk_strerror(rc));
		return CTL_FAIL;
	}
	if (c->json) {
		json_object_set_new(c->out, "private_key", json_string(pos[0]));
		json_object_set_new(c->out, "public_key", json_string(pub));
	} else {
		printf("private key '%s' (mode 0600), public key '%s'\n", pos[0], pub);
	}
	return CTL_OK;
}

static int cmd_audit_checkpoint(ctl_ctx_t *c, int argc, char **argv)
{
	store_t *s = NULL;
	store_checkpoint_t cp;
	char text[STORE_CHECKPOINT_TEXT_MAX];
	OPTS("ko", 0, 0);
	if (!o.key)
		o.key = c->audit_key; /* audit.signing_key_file */
	if (!o.key) {
		fprintf(stderr, "soukctl, audit checkpoint needs --key FILE (private key; default "
				"audit.signing_key_file)\n");
		return CTL_USAGE;
	}
	if (open_store(c, false, &s))
		return CTL_FAIL;
	int rc = store_audit_checkpoint(s, o.key, &cp, text);
	store_close(&s);
	if (rc) {
		fprintf(stderr, "soukctl, checkpoint failed (%s)\n", souk_strerror(rc));
		return CTL_FAIL;
	}
	if (o.out) {
		FILE *f = fopen(o.out, "we");
		if (!f || fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
			fprintf(stderr, "soukctl, cannot write '%s' (%s)\n", o.out, strerror(errno));
			if (f)
				fclose(f);
			return CTL_FAIL;
		}
		fclose(f);
	}
	if (c->json) {
		char rh[65];
		hex32(cp.root, rh);
		json_object_set_new(c->out, "size", json_integer((json_int_t)cp.size));
		json_object_set_new(c->out, "root", json_string(rh));
		json_object_set_new(c->out, "time_ms", json_integer((json_int_t)cp.time_ms));
		json_object_set_new(c->out, "checkpoint", json_string(text));
	} else {
		fputs(text, stdout);
	}
	return CTL_OK;
}

static int cmd_idem_expire(ctl_ctx_t *c, int argc, char **argv)
{
	store_t *s = NULL;
	uint64_t removed = 0;
	OPTS("t", 0, 0);
	if (o.older_than_s == 0) {
		fprintf(stderr, "soukctl, idem expire needs --older-than SECONDS (> 0)\n");
		return CTL_USAGE;
	}
	if (open_store(c, false, &s))
		return CTL_FAIL;
	int rc = store_idem_expire(s, o.older_than_s * 1000, &removed);
	store_close(&s);
	if (rc) {
		fprintf(stderr, "soukctl, expiry failed (%s)\n", souk_strerror(rc));
		return CTL_FAIL;
	}
	if (c->json)
		json_object_set_new(c->out, "removed", json_integer((json_int_t)removed));
	else
		printf("removed %llu idempotency keys\n", (unsigned long long)removed);
	return CTL_OK;
}

const ctl_cmd_t ctl_store_commands[] = {
	{ "info", cmd_info, "info", "store facts: schema, map size, readers, sequence, audit root" },
	{ "backup", cmd_backup, "backup DIR",
	  "consistent compacted copy into DIR (new or empty) while writes go on" },
	{ "restore", cmd_restore, "restore [--force] DIR",
	  "replace the store with the backup in DIR (offline; refuses a store in use, and a non-empty one without --force)" },
	{ "audit verify", cmd_audit_verify, "audit verify [--checkpoint FILE [--key KEY]]",
	  "recompute the audit log from history; with a checkpoint, prove the log extends it" },
	{ "audit keygen", cmd_audit_keygen, "audit keygen FILE",
	  "new Ed25519 key: FILE (private, mode 0600) and FILE.pub" },
	{ "audit checkpoint", cmd_audit_checkpoint, "audit checkpoint [--key FILE] [--out FILE]",
	  "sign the current tree head, store and print it" },
	{ "idem expire", cmd_idem_expire, "idem expire --older-than SECONDS",
	  "forget idempotency keys older than SECONDS" },
};
const size_t ctl_store_ncommands = SOUK_ARRAY_LEN(ctl_store_commands);
