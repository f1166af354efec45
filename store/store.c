/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/store.c - LMDB environment, schema, records, history, change log.
 *
 * Sub-databases (schema version 2; names carry the version so a migration
 * can build a new layout beside the old one in the same transaction):
 *   meta             "schema_version" -> u32, "last_seq" -> u64
 *   records.v1       kind \0 id[16]            -> record value
 *   history.v1       kind \0 id[16] version    -> record value (immutable)
 *   changes.v1       seq                       -> change value
 *   ukeys.v1         kind \0 unique-key bytes  -> id[16]
 *   idem.v1          kind \0 idempotency key   -> time, id, version, seq
 *                    (schema 1; only read and expired, see store/idem.c)
 *   idem.v2          kind \0 actor \0 key       -> time, id, version, seq,
 *                                                 request fingerprint
 *   idemtime.v2      time || idem.v2 key       -> (empty), for expiry
 *   audit.v1         level u8, index u64       -> SHA-256 of a complete subtree
 *   checkpoints.v1   tree size                 -> signed checkpoint text
 * Integers are big-endian so keys sort numerically.
 *
 * Record value: a fixed 40-byte header then actor, reason, keys, document:
 *   0 u8 format (1)   1 u8 op   2 u16 flags   4 u32 doc_len
 *   8 u64 version    16 u64 seq   24 u64 time_ms
 *  32 u16 actor_len  34 u16 reason_len   36 u32 keys_len
 * keys = repeated (u16 length, bytes): the unique keys this version holds.
 * flags: bit 0 archived, bit 1 the audit leaf is v2 (every version written
 * since leaf v2; older ones keep v1 leaves, see store_audit_leaf_data()).
 *
 * Documents are stored as the JSON text the caller gave, byte for byte: the
 * API speaks JSON, the publisher renders JSON, and history must return every
 * version exactly as it was written (and its SHA-256 is in the audit leaf),
 * so re-encoding into another form would only add a lossy conversion.
 */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "store/merkle.h"

#define READER_CHECK_EVERY 64
#define READER_CHECK_MS 1000
#define GROW_ATTEMPTS 40

/* ---- errors ---------------------------------------------------------------- */

int store_mdb_err(int rc)
{
	switch (rc) {
	case 0: return 0;
	case MDB_NOTFOUND: return SOUK_ENOENT;
	case MDB_KEYEXIST: return SOUK_EEXIST;
	case MDB_MAP_FULL: return SOUK_EMAPFULL;
	case MDB_READERS_FULL: return SOUK_EREADERS;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID: return SOUK_ECORRUPT;
	case MDB_VERSION_MISMATCH: return SOUK_EVERSION;
	case MDB_PANIC: return SOUK_EPANIC;
	default: return rc > 0 ? -rc : SOUK_ESTORE;
	}
}

int store_mdb_rc(store_t *s, int rc)
{
	rc = store_mdb_err(rc);
	bool was = false;
	if (rc == SOUK_EPANIC && atomic_compare_exchange_strong(&s->dead, &was, true))
		log_store_err("environment '%s' had a fatal error (%s); every later call fails until the process restarts",
			      s->dir, mdb_strerror(MDB_PANIC));
	return rc;
}

int store_commit_err(store_t *s, int rc)
{
	/* LMDB keeps the fatal flag to itself: a new txn is refused with
	 * MDB_PANIC once it is set (a failed fsync of the data is not fatal) */
	MDB_txn *probe;
	int prc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &probe);
	if (prc == 0)
		mdb_txn_abort(probe);
	return prc == MDB_PANIC ? store_mdb_rc(s, prc) : store_mdb_err(rc);
}

/* ---- one open per process ---------------------------------------------------- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	pid_t pid;
	dev_t dev;
	ino_t ino;
} registry[32];

static int registry_add(pid_t pid, dev_t dev, ino_t ino)
{
	int rc = SOUK_EBUSY, free_slot = -1;
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < SOUK_ARRAY_LEN(registry); i++) {
		if (registry[i].pid == pid && registry[i].dev == dev && registry[i].ino == ino)
			goto out;
		if (free_slot < 0 && registry[i].pid != pid)
			free_slot = (int)i; /* empty, or left by a parent before fork */
	}
	if (free_slot < 0) {
		rc = SOUK_ENOMEM;
		goto out;
	}
	registry[free_slot].pid = pid;
	registry[free_slot].dev = dev;
	registry[free_slot].ino = ino;
	rc = 0;
out:
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

static void registry_del(pid_t pid, dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < SOUK_ARRAY_LEN(registry); i++)
		if (registry[i].pid == pid && registry[i].dev == dev && registry[i].ino == ino)
			registry[i].pid = 0;
	pthread_mutex_unlock(&registry_lock);
}

/* ---- filesystem check ---------------------------------------------------------- */

const char *store_fs_refused(unsigned long f_type)
{
	static const struct {
		long type;
		const char *name;
	} bad[] = {
		{ 0x6969, "nfs" },          { 0x517B, "smb" },
		{ (long)0xFF534D42, "cifs" }, { (long)0xFE534D42, "smb2" },
		{ 0x65735546, "fuse" },     { 0x01021997, "9p" },
		{ 0x00c36400, "ceph" },     { 0x73757245, "coda" },
		{ 0x5346414F, "afs" },      { 0x6B414653, "afs" },
		{ 0x564c, "ncp" },          { 0x47504653, "gpfs" },
		{ 0x0BD00BD0, "lustre" },   { 0x013111A8, "ibrix" },
		{ 0x19830326, "fhgfs" },    { 0xaad7aaea, "panfs" },
	};
	for (size_t i = 0; i < SOUK_ARRAY_LEN(bad); i++)
		if ((uint32_t)f_type == (uint32_t)bad[i].type)
			return bad[i].name;
	return NULL;
}

static int check_fs(const char *dir)
{
	struct statfs st;
	const char *name;
	if (statfs(dir, &st) != 0)
		return -errno;
	if ((name = store_fs_refused((unsigned long)st.f_type)) != NULL) {
		log_store_err("data directory '%s' is on a %s filesystem (LMDB needs a local filesystem with working locks and mmap)",
			      dir, name);
		return SOUK_EFS;
	}
	return 0;
}

void store_reader_check_due(store_t *s, bool force)
{
	uint64_t now = souk_now_mono_ms(), last = atomic_load(&s->last_check_ms);
	if (!force && now - last < READER_CHECK_MS)
		return;
	if (!atomic_compare_exchange_strong(&s->last_check_ms, &last, now))
		return; /* another thread does it */
	int dead = 0;
	mdb_reader_check(s->env, &dead);
	if (dead)
		log_store_info("cleared %d stale reader slots", dead);
}

/* ---- transactions and map size ------------------------------------------------- */

int store_check_handle(store_t *s)
{
	if (!s || s->magic != STORE_MAGIC)
		return SOUK_EINVAL;
	if (getpid() != s->pid)
		return SOUK_ESTALE; /* LMDB handles do not survive fork() */
	if (atomic_load(&s->dead))
		return SOUK_EPANIC; /* only a new process can reopen it */
	return 0;
}

/* Adopt a map size grown by another process. Caller holds no txn. */
int store_adopt_map_size(store_t *s)
{
	pthread_rwlock_wrlock(&s->maplock);
	int rc = mdb_env_set_mapsize(s->env, 0);
	pthread_rwlock_unlock(&s->maplock);
	return store_mdb_err(rc);
}

int store_grow_map(store_t *s)
{
	MDB_envinfo info;
	int rc, dead = 0;
	mdb_reader_check(s->env, &dead);
	pthread_rwlock_wrlock(&s->maplock);
	mdb_env_info(s->env, &info);
	uint64_t cur = info.me_mapsize, next = cur < (1u << 20) ? cur * 4 : cur * 2;
	if (s->opts.map_max && next > s->opts.map_max)
		next = s->opts.map_max;
	if (next <= cur) {
		rc = SOUK_EMAPFULL;
		log_store_err("map full at %llu bytes (ceiling reached)", (unsigned long long)cur);
	} else {
		rc = store_mdb_err(mdb_env_set_mapsize(s->env, (size_t)next));
		if (rc == 0)
			log_store_info("map grown from %llu to %llu bytes",
				       (unsigned long long)cur, (unsigned long long)next);
	}
	pthread_rwlock_unlock(&s->maplock);
	return rc;
}

int store_rd_begin(store_t *s, MDB_txn **txn)
{
	int rc = store_check_handle(s);
	if (rc)
		return rc;
	store_reader_check_due(s, false);
	for (int i = 0; i < 8; i++) {
		pthread_rwlock_rdlock(&s->maplock);
		rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
		if (rc == 0)
			return 0;
		pthread_rwlock_unlock(&s->maplock);
		if (rc != MDB_MAP_RESIZED)
			return store_mdb_rc(s, rc);
		if ((rc = store_adopt_map_size(s)) != 0)
			return rc;
	}
	return SOUK_ESTORE;
}

void store_rd_end(store_t *s, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&s->maplock);
}

int store_write_txn(store_t *s, store_txn_fn fn, void *arg)
{
	MDB_txn *txn;
	unsigned flags = s->opts.read_only ? MDB_RDONLY : 0;
	int rc = SOUK_ESTORE;
	pthread_mutex_lock(&s->wlock);
	for (int attempt = 0; attempt < GROW_ATTEMPTS; attempt++) {
		pthread_rwlock_rdlock(&s->maplock);
		rc = mdb_txn_begin(s->env, NULL, flags, &txn);
		if (rc == MDB_MAP_RESIZED) {
			/* another process grew the map: adopt its size, begin again */
			pthread_rwlock_unlock(&s->maplock);
			if ((rc = store_adopt_map_size(s)) != 0)
				break;
			rc = SOUK_ESTORE;
			continue;
		}
		if (rc) {
			pthread_rwlock_unlock(&s->maplock);
			rc = store_mdb_rc(s, rc);
			break;
		}
		rc = fn(s, txn, arg);
		if (rc == 0) {
			rc = mdb_txn_commit(txn);
			if (rc == MDB_MAP_FULL)
				rc = SOUK_EMAPFULL;
			else if (rc)
				rc = store_commit_err(s, rc);
		} else {
			mdb_txn_abort(txn);
		}
		pthread_rwlock_unlock(&s->maplock);
		if (rc == STORE_TXN_AGAIN)
			continue;
		if (rc == SOUK_EMAPFULL && !(flags & MDB_RDONLY)) {
			if ((rc = store_grow_map(s)) != 0)
				break;
			rc = SOUK_EMAPFULL;
			continue;
		}
		break;
	}
	pthread_mutex_unlock(&s->wlock);
	return rc == STORE_TXN_AGAIN ? SOUK_ESTORE : rc;
}

int store_meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t *out)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc = mdb_get(txn, dbi, &k, &v);
	if (rc == MDB_NOTFOUND) {
		*out = 0;
		return 0;
	}
	if (rc)
		return store_mdb_err(rc);
	if (v.mv_size != 8)
		return SOUK_ECORRUPT;
	*out = store_get_u64(v.mv_data);
	return 0;
}

static int meta_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t val)
{
	uint8_t b[8];
	store_put_u64(b, val);
	MDB_val k = { strlen(name), (void *)name }, v = { 8, b };
	return mdb_put(txn, dbi, &k, &v, 0);
}

/* ---- schema and migrations ------------------------------------------------------ */

static const char *const DB_NAMES_V1[] = {
	"records.v1", "history.v1", "changes.v1", "ukeys.v1", "idem.v1", "audit.v1", "checkpoints.v1",
};

static int migrate_to_1(store_t *s, MDB_txn *txn)
{
	MDB_dbi dbi;
	for (size_t i = 0; i < SOUK_ARRAY_LEN(DB_NAMES_V1); i++) {
		int rc = mdb_dbi_open(txn, DB_NAMES_V1[i], MDB_CREATE, &dbi);
		if (rc)
			return rc;
	}
	return 0;
}

/* Migrations from version to-1 to `to`, all applied in one write txn. */
static const struct {
	uint32_t to;
	int (*fn)(store_t *s, MDB_txn *txn);
	const char *what;
} migrations[] = {
	{ 1, migrate_to_1, "records, history, change log, unique keys, idempotency keys, audit log, checkpoints" },
	{ 2, store_idem_migrate_to_2, "idempotency keys by principal with a fingerprint and a time index" },
	{ 3, store_consumer_migrate_to_3, "durable cursors of change-log consumers, secondary indexes" },
};

static int open_dbis(store_t *s, MDB_txn *txn)
{
	MDB_dbi *out[] = { &s->db_rec, &s->db_hist, &s->db_chg, &s->db_ukey,
			   &s->db_idem, &s->db_audit, &s->db_ckpt };
	for (size_t i = 0; i < SOUK_ARRAY_LEN(DB_NAMES_V1); i++) {
		int rc = mdb_dbi_open(txn, DB_NAMES_V1[i], 0, out[i]);
		if (rc)
			return rc;
	}
	int rc = store_idem_open(s, txn);
	return rc ? rc : store_consumer_open(s, txn);
}

static int read_schema_version(MDB_txn *txn, MDB_dbi meta, uint32_t *ver)
{
	MDB_val k = { 14, (void *)"schema_version" }, v;
	int rc = mdb_get(txn, meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		*ver = 0;
		return 0;
	}
	if (rc)
		return rc;
	if (v.mv_size != 4)
		return MDB_CORRUPTED;
	*ver = store_get_u32(v.mv_data);
	return 0;
}

/* Open (read-write: create or migrate) the schema in one txn. */
static int setup_schema_txn(store_t *s, MDB_txn *txn, void *arg)
{
	uint32_t ver = 0;
	bool ro = s->opts.read_only;
	int rc = mdb_dbi_open(txn, "meta", ro ? 0 : MDB_CREATE, &s->db_meta);
	if (rc == MDB_NOTFOUND && ro) {
		log_store_err("'%s' holds no souk data", s->dir);
		return SOUK_ENOENT;
	}
	if (rc == 0)
		rc = read_schema_version(txn, s->db_meta, &ver);
	if (rc)
		return store_mdb_err(rc);
	if (ver > STORE_SCHEMA_VERSION) {
		log_store_err("schema version %u is newer than this program (%u)", ver,
			      STORE_SCHEMA_VERSION);
		return SOUK_EVERSION;
	}
	if (ver < STORE_SCHEMA_VERSION) {
		if (ro) {
			log_store_err("schema version %u needs migration to %u (open read-write once)",
				      ver, STORE_SCHEMA_VERSION);
			return SOUK_EVERSION;
		}
		for (size_t i = 0; i < SOUK_ARRAY_LEN(migrations); i++) {
			if (migrations[i].to <= ver)
				continue;
			if ((rc = migrations[i].fn(s, txn)) != 0)
				return store_mdb_err(rc);
			log_store_info("migrated schema to version %u (%s)", migrations[i].to,
				       migrations[i].what);
		}
		uint8_t b[4];
		store_put_u32(b, STORE_SCHEMA_VERSION);
		MDB_val k = { 14, (void *)"schema_version" }, v = { 4, b };
		if ((rc = mdb_put(txn, s->db_meta, &k, &v, 0)) != 0)
			return store_mdb_err(rc);
	}
	return store_mdb_err(open_dbis(s, txn));
}

int store_open(const char *dir, const store_opts_t *opts, store_t **out)
{
	store_opts_t def = { 0 };
	store_t *s = NULL;
	struct stat st;
	int rc;
	bool registered = false;

	*out = NULL;
	if (!dir || !*dir || strlen(dir) >= sizeof(s->dir))
		return SOUK_EINVAL;
	if (!opts)
		opts = &def;
	if (!opts->read_only && mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	if (stat(dir, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if ((rc = check_fs(dir)) != 0)
		return rc;

	s = calloc(1, sizeof(*s));
	if (!s)
		return SOUK_ENOMEM;
	s->magic = STORE_MAGIC;
	s->opts = *opts;
	s->pid = getpid();
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	pthread_mutex_init(&s->wlock, NULL);
	pthread_rwlock_init(&s->maplock, NULL);
	if ((rc = registry_add(s->pid, s->dev, s->ino)) != 0) {
		if (rc == SOUK_EBUSY)
			log_store_err("'%s' is already open in this process", dir);
		goto fail;
	}
	registered = true;

	if ((rc = store_mdb_err(mdb_env_create(&s->env))) != 0)
		goto fail;
	uint64_t map = opts->map_size ? opts->map_size : (64ull << 20);
	if (opts->map_max && map > opts->map_max)
		map = opts->map_max;
	unsigned readers = opts->max_readers ? opts->max_readers : 126;
	if ((rc = store_mdb_err(mdb_env_set_maxreaders(s->env, readers))) != 0 ||
	    (rc = store_mdb_err(mdb_env_set_maxdbs(s->env, 16))) != 0 ||
	    (rc = store_mdb_err(mdb_env_set_mapsize(s->env, (size_t)map))) != 0)
		goto fail;
	/* No MDB_NOSYNC, MDB_NOMETASYNC, MDB_MAPASYNC or MDB_WRITEMAP: every
	 * commit is durable when mdb_txn_commit returns. MDB_NOTLS: read txns
	 * are not tied to threads (the workers are threaded). */
	unsigned flags = MDB_NOTLS | (opts->read_only ? MDB_RDONLY : 0);
	rc = mdb_env_open(s->env, dir, flags, 0600);
	if (rc) {
		log_store_err("cannot open environment '%s' (%s)", dir, mdb_strerror(rc));
		rc = store_mdb_err(rc);
		goto fail;
	}
	store_reader_check_due(s, true);
	/* a read-only store commits a read-only txn: that keeps its dbi handles */
	if ((rc = store_write_txn(s, setup_schema_txn, NULL)) != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	if (s->env)
		mdb_env_close(s->env);
	if (registered)
		registry_del(s->pid, s->dev, s->ino);
	pthread_mutex_destroy(&s->wlock);
	pthread_rwlock_destroy(&s->maplock);
	free(s);
	return rc;
}

void store_close(store_t **sp)
{
	store_t *s = sp ? *sp : NULL;
	if (!s)
		return;
	if (s->pid == getpid()) {
		mdb_env_close(s->env);
		registry_del(s->pid, s->dev, s->ino);
	}
	/* in a forked child the inherited handle is only freed, never used */
	pthread_mutex_destroy(&s->wlock);
	pthread_rwlock_destroy(&s->maplock);
	s->magic = 0;
	free(s);
	*sp = NULL;
}

int store_schema_version(store_t *s, uint32_t *out)
{
	MDB_txn *txn;
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	rc = store_mdb_err(read_schema_version(txn, s->db_meta, out));
	store_rd_end(s, txn);
	return rc;
}

int store_reader_check(store_t *s, int *cleared)
{
	int dead = 0, rc = store_check_handle(s);
	if (rc)
		return rc;
	rc = store_mdb_err(mdb_reader_check(s->env, &dead));
	if (dead)
		log_store_info("cleared %d stale reader slots", dead);
	if (cleared)
		*cleared = dead;
	return rc;
}

/* ---- ids ------------------------------------------------------------------------ */

int store_id_new(store_id_t *out)
{
	return souk_random(out->b, sizeof(out->b));
}

void store_id_hex(const store_id_t *id, char out[33])
{
	souk_hex(id->b, 16, out);
}

int store_id_parse(const char *hex, store_id_t *out)
{
	store_id_t tmp;
	if (!hex || souk_unhex(hex, 16, tmp.b) != 0)
		return SOUK_EINVAL;
	*out = tmp;
	return 0;
}

static bool id_is_zero(const store_id_t *id)
{
	static const store_id_t zero;
	return memcmp(id, &zero, sizeof(zero)) == 0;
}

/* ---- keys and values ------------------------------------------------------------- */

bool store_kind_ok(const char *kind)
{
	size_t n = kind ? strlen(kind) : 0;
	if (n == 0 || n > STORE_KIND_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = kind[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/* kind \0 id: returns the length */
size_t store_entity_key(uint8_t *buf, const char *kind, const store_id_t *id)
{
	size_t n = strlen(kind);
	memcpy(buf, kind, n);
	buf[n] = 0;
	memcpy(buf + n + 1, id->b, 16);
	return n + 17;
}


int store_rec_parse(const MDB_val *v, rec_view_t *r)
{
	const uint8_t *p = v->mv_data;
	if (v->mv_size < REC_HDR || p[0] != REC_FORMAT)
		return SOUK_ECORRUPT;
	r->op = p[1];
	r->flags = store_get_u16(p + 2);
	r->doc_len = store_get_u32(p + 4);
	r->version = store_get_u64(p + 8);
	r->seq = store_get_u64(p + 16);
	r->time_ms = store_get_u64(p + 24);
	r->actor_len = store_get_u16(p + 32);
	r->reason_len = store_get_u16(p + 34);
	r->keys_len = store_get_u32(p + 36);
	if ((uint64_t)REC_HDR + r->actor_len + r->reason_len + r->keys_len + r->doc_len != v->mv_size)
		return SOUK_ECORRUPT;
	r->actor = (const char *)p + REC_HDR;
	r->reason = r->actor + r->actor_len;
	r->keys = (const uint8_t *)r->reason + r->reason_len;
	r->doc = (const char *)r->keys + r->keys_len;
	r->raw = p;
	r->raw_len = v->mv_size;
	return 0;
}

/* Copy a record view into out; doc gets a NUL terminator. */
int store_rec_fill(const rec_view_t *r, const store_id_t *id, store_rec_t *out)
{
	char *doc = malloc(r->doc_len + 1);
	if (!doc)
		return SOUK_ENOMEM;
	memcpy(doc, r->doc, r->doc_len);
	doc[r->doc_len] = 0;
	memset(out, 0, sizeof(*out));
	out->id = *id;
	out->version = r->version;
	out->seq = r->seq;
	out->time_ms = r->time_ms;
	out->archived = r->flags & REC_ARCHIVED;
	out->doc = doc;
	out->doc_len = r->doc_len;
	size_t a = r->actor_len < sizeof(out->actor) - 1 ? r->actor_len : sizeof(out->actor) - 1;
	memcpy(out->actor, r->actor, a);
	size_t b = r->reason_len < sizeof(out->reason) - 1 ? r->reason_len : sizeof(out->reason) - 1;
	memcpy(out->reason, r->reason, b);
	return 0;
}

#define rec_fill store_rec_fill

void store_rec_deinit(store_rec_t *r)
{
	if (r)
		souk_free(&r->doc);
}

/* For callbacks: a reusable buffer so each record does not cost a malloc. */
typedef struct {
	char *buf;
	size_t cap;
} cbbuf_t;

static int rec_view_cb(cbbuf_t *b, const rec_view_t *r, const store_id_t *id, store_rec_t *out)
{
	if (r->doc_len + 1 > b->cap) {
		size_t cap = (r->doc_len + 1) * 2;
		char *nb = realloc(b->buf, cap);
		if (!nb)
			return SOUK_ENOMEM;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf, r->doc, r->doc_len);
	b->buf[r->doc_len] = 0;
	memset(out, 0, sizeof(*out));
	out->id = *id;
	out->version = r->version;
	out->seq = r->seq;
	out->time_ms = r->time_ms;
	out->archived = r->flags & REC_ARCHIVED;
	out->doc = b->buf;
	out->doc_len = r->doc_len;
	size_t a = r->actor_len < sizeof(out->actor) - 1 ? r->actor_len : sizeof(out->actor) - 1;
	memcpy(out->actor, r->actor, a);
	size_t c = r->reason_len < sizeof(out->reason) - 1 ? r->reason_len : sizeof(out->reason) - 1;
	memcpy(out->reason, r->reason, c);
	return 0;
}

/* Change value: u8 format, u8 op, u16 kind_len, id[16], u64 version, u64 time, kind. */

int store_chg_parse(const MDB_val *v, chg_view_t *c)
{
	const uint8_t *p = v->mv_data;
	if (v->mv_size < CHG_HDR || p[0] != 1)
		return SOUK_ECORRUPT;
	c->op = p[1];
	c->kind_len = store_get_u16(p + 2);
	memcpy(c->id.b, p + 4, 16);
	c->version = store_get_u64(p + 20);
	c->time_ms = store_get_u64(p + 28);
	if (CHG_HDR + c->kind_len != v->mv_size || c->kind_len == 0 || c->kind_len > STORE_KIND_MAX)
		return SOUK_ECORRUPT;
	c->kind = (const char *)p + CHG_HDR;
	return 0;
}

/* ---- audit leaf ------------------------------------------------------------------- */

/* Both leaf versions start with tag \0, u64 seq, u16 kind_len, kind,
 * id[16]: written at buf when the whole leaf (n bytes) fits cap; *end is
 * where the rest goes. */
static int leaf_head(uint8_t *buf, size_t cap, size_t n, const char *tag, uint64_t seq,
		     const char *kind, const store_id_t *id, uint8_t **end)
{
	size_t tl = strlen(tag) + 1, kl = strlen(kind);
	uint8_t *p = buf;
	if (kl > 0xffff)
		return SOUK_EINVAL;
	if (n > cap)
		return SOUK_ETOOBIG;
	memcpy(p, tag, tl);
	p += tl;
	store_put_u64(p, seq);
	p += 8;
	store_put_u16(p, (uint16_t)kl);
	p += 2;
	memcpy(p, kind, kl);
	p += kl;
	memcpy(p, id->b, 16);
	*end = p + 16;
	return 0;
}

#define LEAF_TAG_SIZE 13 /* "souk-leaf-vN" \0 */

int store_audit_leaf_data(uint64_t seq, const char *kind, const store_id_t *id,
			  uint64_t version, store_op_t op, const char *actor,
			  uint64_t time_ms, const uint8_t doc_sha256[32],
			  uint8_t *buf, size_t cap, size_t *len)
{
	/* "souk-leaf-v1" \0, u64 seq, u16 kind_len, kind, id[16], u64 version,
	 * u8 op, u16 actor_len, actor, u64 time_ms, sha256(doc) */
	size_t al = strlen(actor);
	size_t n = LEAF_TAG_SIZE + 8 + 2 + strlen(kind) + 16 + 8 + 1 + 2 + al + 8 + 32;
	uint8_t *p;
	if (al > 0xffff)
		return SOUK_EINVAL;
	int rc = leaf_head(buf, cap, n, "souk-leaf-v1", seq, kind, id, &p);
	if (rc)
		return rc;
	store_put_u64(p, version);
	p += 8;
	*p++ = (uint8_t)op;
	store_put_u16(p, (uint16_t)al);
	p += 2;
	memcpy(p, actor, al);
	p += al;
	store_put_u64(p, time_ms);
	p += 8;
	memcpy(p, doc_sha256, 32);
	*len = n;
	return 0;
}

int store_audit_leaf_data_v2(uint64_t seq, const char *kind, const store_id_t *id,
			     const uint8_t head_sha256[32], const uint8_t doc_sha256[32],
			     uint8_t *buf, size_t cap, size_t *len)
{
	/* "souk-leaf-v2" \0, u64 seq, u16 kind_len, kind, id[16],
	 * sha256(value without the document), sha256(doc) */
	size_t n = LEAF_TAG_SIZE + 8 + 2 + strlen(kind) + 16 + 32 + 32;
	uint8_t *p;
	int rc = leaf_head(buf, cap, n, "souk-leaf-v2", seq, kind, id, &p);
	if (rc)
		return rc;
	memcpy(p, head_sha256, 32);
	memcpy(p + 32, doc_sha256, 32);
	*len = n;
	return 0;
}

/* Leaf hash of a change from its history entry (v1 or v2 as its flags
 * say); md is a reusable hashing context (NULL: a fresh one per hash). */
int store_leaf_of(uint64_t seq, const char *kind, const store_id_t *id, const rec_view_t *r,
		  EVP_MD_CTX *md, uint8_t out[32])
{
	uint8_t dh[32], hh[32], buf[512];
	char actor[128];
	size_t len;
	int rc = merkle_sha256_ctx(md, r->doc, r->doc_len, dh);
	if (rc)
		return rc;
	if (r->flags & REC_LEAF_V2) {
		/* the value is header, actor, reason, keys, then the document */
		rc = merkle_sha256_ctx(md, r->raw, r->raw_len - r->doc_len, hh);
		if (rc == 0)
			rc = store_audit_leaf_data_v2(seq, kind, id, hh, dh, buf, sizeof(buf), &len);
	} else {
		if (r->actor_len >= sizeof(actor))
			return SOUK_ECORRUPT;
		memcpy(actor, r->actor, r->actor_len);
		actor[r->actor_len] = 0;
		rc = store_audit_leaf_data(seq, kind, id, r->version, (store_op_t)r->op, actor,
					   r->time_ms, dh, buf, sizeof(buf), &len);
	}
	return rc ? rc : merkle_leaf_hash_ctx(md, buf, len, out);
}

int store_audit_node(MDB_txn *txn, MDB_dbi dbi, unsigned level, uint64_t index, uint8_t out[32])
{
	uint8_t kb[9];
	kb[0] = (uint8_t)level;
	store_put_u64(kb + 1, index);
	MDB_val k = { 9, kb }, v;
	int rc = mdb_get(txn, dbi, &k, &v);
	if (rc == MDB_NOTFOUND)
		return SOUK_ECORRUPT; /* a node the size says exists is missing */
	if (rc)
		return store_mdb_err(rc);
	if (v.mv_size != 32)
		return SOUK_ECORRUPT;
	memcpy(out, v.mv_data, 32);
	return 0;
}

/* The last node written at each level in the current batch: appends are
 * sequential, so the left sibling a new node is hashed with is usually the
 * one written just before at that level, and need not be read back. Only
 * used in a batch txn without nested txns (an aborted nested txn would
 * leave nodes here that are not in the tree). */
typedef struct {
	uint64_t valid;           /* bit l: level l holds a node */
	uint64_t index[64];
	uint8_t hash[64][32];
} audit_cache_t;

/* Append leaf `index` and every complete subtree it closes: O(log n). */
static int audit_append(MDB_txn *txn, MDB_dbi dbi, uint64_t index, const uint8_t leaf[32],
			EVP_MD_CTX *md, audit_cache_t *ac)
{
	uint8_t kb[9], h[32], left[32];
	int rc;
	memcpy(h, leaf, 32);
	for (unsigned level = 0; level < 64; level++) {
		kb[0] = (uint8_t)level;
		store_put_u64(kb + 1, index);
		MDB_val k = { 9, kb }, v = { 32, h };
		if ((rc = mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE)) != 0)
			return store_mdb_err(rc);
		bool have_left = false;
		if (ac) {
			if ((index & 1) && (ac->valid >> level & 1) && ac->index[level] == index - 1) {
				memcpy(left, ac->hash[level], 32);
				have_left = true;
			}
			ac->valid |= 1ull << level;
			ac->index[level] = index;
			memcpy(ac->hash[level], h, 32);
		}
		if (!(index & 1))
			return 0;
		if (!have_left) {
			kb[0] = (uint8_t)level;
			store_put_u64(kb + 1, index - 1);
			MDB_val lk = { 9, kb }, lv;
			if ((rc = mdb_get(txn, dbi, &lk, &lv)) != 0)
				return rc == MDB_NOTFOUND ? SOUK_ECORRUPT : store_mdb_err(rc);
			if (lv.mv_size != 32)
				return SOUK_ECORRUPT;
			memcpy(left, lv.mv_data, 32);
		}
		if ((rc = merkle_node_hash_ctx(md, left, h, h)) != 0)
			return rc;
		index >>= 1;
	}
	return SOUK_ECORRUPT;
}

/* ---- apply ------------------------------------------------------------------------- */

/* Mutation-level failures: the nested txn is aborted and the batch goes on. */
static bool mut_level_error(int rc)
{
	return rc == SOUK_EINVAL || rc == SOUK_ENOENT || rc == SOUK_EEXIST ||
	       rc == SOUK_ECONFLICT || rc == SOUK_ETOOBIG || rc == SOUK_ECORRUPT ||
	       rc == SOUK_EREUSED;
}

#define LMDB(x)                                                                            \
	do {                                                                               \
		int lrc_ = (x);                                                            \
		if (lrc_) {                                                                \
			rc = store_mdb_err(lrc_);                                          \
			goto fail;                                                         \
		}                                                                          \
	} while (0)

static int validate_mut(const store_mut_t *m)
{
	if (m->op < STORE_OP_CREATE || m->op > STORE_OP_REVERT || !store_kind_ok(m->kind))
		return SOUK_EINVAL;
	if (!m->actor || !*m->actor || strlen(m->actor) > 63)
		return SOUK_EINVAL;
	if (m->reason && strlen(m->reason) > 255)
		return SOUK_EINVAL;
	if (m->idem_key && (m->idem_key_len == 0 || m->idem_key_len > STORE_IDEM_MAX))
		return SOUK_EINVAL;
	if (m->op == STORE_OP_CREATE || m->op == STORE_OP_UPDATE) {
		if (!m->doc)
			return SOUK_EINVAL;
		if (m->doc_len > STORE_DOC_MAX)
			return SOUK_ETOOBIG;
		if (m->nkeys > 64 || (m->nkeys && (!m->keys || !m->key_lens)))
			return SOUK_EINVAL;
		for (size_t i = 0; i < m->nkeys; i++)
			if (m->key_lens[i] == 0 || m->key_lens[i] > STORE_KEY_MAX)
				return SOUK_EINVAL;
		if (!m->doc_is_json_object) {
			/* not vouched for by the caller: jansson decides */
			json_error_t err;
			json_t *j = json_loadb(m->doc, m->doc_len, JSON_REJECT_DUPLICATES, &err);
			bool obj = j && json_is_object(j);
			json_decref(j);
			if (!obj)
				return SOUK_EINVAL;
		}
	}
	return 0;
}

/* ---- batch state ------------------------------------------------------------------ */

/* One store_apply() call, under wlock. Mutations are checked with reads
 * first and written only when they will succeed, straight into the batch
 * txn: a nested txn per mutation (which copies every page it touches) is
 * needed only when a write fails with a mutation-level error after others
 * of the same mutation went in, which only a damaged environment causes;
 * then the whole batch runs again with a nested txn per mutation. */
typedef struct {
	store_t *s;
	MDB_txn *txn;             /* where the mutation reads and writes */
	uint64_t now;
	uint64_t seq;             /* last change-log sequence in the batch */
	EVP_MD_CTX *md;           /* reused for every hash of the batch */
	audit_cache_t *ac;        /* NULL with nested txns */
	uint8_t *val;             /* encoded record value */
	size_t val_cap;
	uint8_t *keys;            /* new keys blob, then the current version's keys */
	size_t keys_cap;
	uint8_t *ids;             /* fresh ids for creates, drawn once per batch */
	size_t nids, ids_used;
} batch_t;

static int reserve(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 1024;
	while (c < need)
		c *= 2;
	uint8_t *p = realloc(*buf, c);
	if (!p)
		return SOUK_ENOMEM;
	*buf = p;
	*cap = c;
	return 0;
}

static int batch_id_new(batch_t *b, store_id_t *id)
{
	int rc = 0;
	if (b->ids_used < b->nids)
		memcpy(id->b, b->ids + 16 * b->ids_used++, 16);
	else
		rc = store_id_new(id);
	if (rc == 0 && b->s->opts.ordered_ids) {
		uint64_t p = b->now << 16;
		if (p <= b->s->last_id_prefix)
			p = b->s->last_id_prefix + 1;
		b->s->last_id_prefix = p;
		store_put_u64(id->b, p);
		if (id_is_zero(id))
			id->b[15] = 1; /* zero means "make one" */
	}
	return rc;
}

/* Keys blob of the mutation (repeated u16 length, bytes) at b->keys. */
static int keys_encode(batch_t *b, const store_mut_t *m, size_t *len)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nkeys; i++)
		n += 2 + m->key_lens[i];
	int rc = reserve(&b->keys, &b->keys_cap, n);
	if (rc)
		return rc;
	uint8_t *q = b->keys;
	for (size_t i = 0; i < m->nkeys; i++) {
		store_put_u16(q, (uint16_t)m->key_lens[i]);
		memcpy(q + 2, m->keys[i], m->key_lens[i]);
		q += 2 + m->key_lens[i];
	}
	*len = n;
	return 0;
}

/* Walk a keys blob; fn returns 0 to go on. */
static int keys_each(const uint8_t *keys, size_t len,
		     int (*fn)(void *arg, const uint8_t *k, size_t klen), void *arg)
{
	size_t off = 0;
	while (off < len) {
		if (len - off < 2)
			return SOUK_ECORRUPT;
		size_t kl = store_get_u16(keys + off);
		if (kl == 0 || len - off - 2 < kl)
			return SOUK_ECORRUPT;
		int rc = fn(arg, keys + off + 2, kl);
		if (rc)
			return rc;
		off += 2 + kl;
	}
	return 0;
}

typedef struct {
	store_t *s;
	MDB_txn *txn;
	const char *kind;
	const store_id_t *id;
} ukey_ctx_t;

static size_t ukey_key(uint8_t *buf, const char *kind, const uint8_t *k, size_t kl)
{
	size_t n = strlen(kind);
	memcpy(buf, kind, n);
	buf[n] = 0;
	memcpy(buf + n + 1, k, kl);
	return n + 1 + kl;
}

static int ukey_len_ok(void *arg, const uint8_t *k, size_t kl)
{
	return kl > STORE_KEY_MAX ? SOUK_ECORRUPT : 0;
}

enum { UKEY_FREE, UKEY_OURS, UKEY_TAKEN };

/* Who holds unique key k, its LMDB key built into buf and key: UKEY_FREE,
 * UKEY_OURS (c's entity), UKEY_TAKEN (another entity), or a store error (< 0). */
static int ukey_holder(ukey_ctx_t *c, const uint8_t *k, size_t kl, uint8_t *buf, MDB_val *key)
{
	MDB_val v;
	key->mv_size = ukey_key(buf, c->kind, k, kl);
	key->mv_data = buf;
	int rc = mdb_get(c->txn, c->s->db_ukey, key, &v);
	if (rc == MDB_NOTFOUND)
		return UKEY_FREE;
	if (rc)
		return store_mdb_err(rc);
	return v.mv_size == 16 && memcmp(v.mv_data, c->id->b, 16) == 0 ? UKEY_OURS : UKEY_TAKEN;
}

/* Claiming k would fail: another entity holds it. */
static int ukey_check(void *arg, const uint8_t *k, size_t kl)
{
	uint8_t buf[STORE_KIND_MAX + 1 + STORE_KEY_MAX];
	MDB_val key;
	int rc = ukey_holder(arg, k, kl, buf, &key);
	if (rc < 0)
		return rc;
	return rc == UKEY_TAKEN ? SOUK_EEXIST : 0;
}

static int ukey_release(void *arg, const uint8_t *k, size_t kl)
{
	ukey_ctx_t *c = arg;
	uint8_t buf[STORE_KIND_MAX + 1 + STORE_KEY_MAX];
	MDB_val key;
	int rc = ukey_holder(c, k, kl, buf, &key);
	if (rc != UKEY_OURS)
		return rc < 0 ? rc : 0;
	return store_mdb_err(mdb_del(c->txn, c->s->db_ukey, &key, NULL));
}

static int ukey_claim(void *arg, const uint8_t *k, size_t kl)
{
	ukey_ctx_t *c = arg;
	uint8_t buf[STORE_KIND_MAX + 1 + STORE_KEY_MAX];
	MDB_val key = { ukey_key(buf, c->kind, k, kl), buf }, v = { 16, (void *)c->id->b };
	int rc = mdb_put(c->txn, c->s->db_ukey, &key, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return v.mv_size == 16 && memcmp(v.mv_data, c->id->b, 16) == 0 ? 0 : SOUK_EEXIST;
	return store_mdb_err(rc);
}

/* Encode r at b->val: returns the length, 0 when out of memory. */
static size_t rec_encode(batch_t *b, const rec_view_t *r)
{
	size_t n = REC_HDR + r->actor_len + r->reason_len + r->keys_len + r->doc_len;
	if (reserve(&b->val, &b->val_cap, n) != 0)
		return 0;
	uint8_t *p = b->val;
	p[0] = REC_FORMAT;
	p[1] = r->op;
	store_put_u16(p + 2, r->flags);
	store_put_u32(p + 4, (uint32_t)r->doc_len);
	store_put_u64(p + 8, r->version);
	store_put_u64(p + 16, r->seq);
	store_put_u64(p + 24, r->time_ms);
	store_put_u16(p + 32, (uint16_t)r->actor_len);
	store_put_u16(p + 34, (uint16_t)r->reason_len);
	store_put_u32(p + 36, (uint32_t)r->keys_len);
	uint8_t *q = p + REC_HDR;
	memcpy(q, r->actor, r->actor_len);
	q += r->actor_len;
	if (r->reason_len)
		memcpy(q, r->reason, r->reason_len);
	q += r->reason_len;
	if (r->keys_len)
		memcpy(q, r->keys, r->keys_len);
	q += r->keys_len;
	if (r->doc_len)
		memcpy(q, r->doc, r->doc_len);
	return n;
}

/*
 * One mutation in b->txn. First every check, with reads only: a failure
 * there returns the mutation's error with nothing written. Then the writes;
 * *wrote tells the caller that they began, so an error from then on leaves
 * partial writes (the caller aborts the txn they are in).
 */
static int apply_one(batch_t *b, store_mut_t *m, bool *wrote)
{
	store_t *s = b->s;
	MDB_txn *t = b->txn;
	uint8_t ek[EK_MAX + 8], ik[STORE_IDEM_SCOPE_MAX], leaf[32];
	size_t ekl, ikl = 0, vlen, new_keys_len = 0, cur_keys_len = 0;
	rec_view_t cur = { 0 }, nr = { 0 }, old = { 0 };
	bool have_cur = false;
	MDB_val k, v;
	int rc;

	*wrote = false;
	if ((rc = validate_mut(m)) != 0 || (rc = store_index_validate(m)) != 0)
		return rc;
	if (m->idem_key && (rc = store_idem_check(s, t, m, ik, &ikl)) != 0)
		return rc == 1 ? 0 : rc;

	if (m->op == STORE_OP_CREATE && id_is_zero(&m->id))
		if ((rc = batch_id_new(b, &m->id)) != 0)
			return rc;
	ekl = store_entity_key(ek, m->kind, &m->id);
	k = (MDB_val){ ekl, ek };
	rc = mdb_get(t, s->db_rec, &k, &v);
	if (rc == 0) {
		if ((rc = store_rec_parse(&v, &cur)) != 0)
			return rc;
		have_cur = true;
	} else if (rc != MDB_NOTFOUND) {
		return store_mdb_err(rc);
	}

	nr.op = (uint8_t)m->op;
	nr.actor = m->actor;
	nr.actor_len = strlen(m->actor);
	nr.reason = m->reason ? m->reason : "";
	nr.reason_len = m->reason ? strlen(m->reason) : 0;
	nr.time_ms = b->now;
	switch (m->op) {
	case STORE_OP_CREATE:
		if (have_cur)
			return SOUK_EEXIST;
		nr.version = 1;
		break;
	default:
		if (!have_cur)
			return SOUK_ENOENT;
		if (m->expect_version && m->expect_version != cur.version)
			return SOUK_ECONFLICT;
		if (m->op != STORE_OP_REVERT && (cur.flags & REC_ARCHIVED))
			return SOUK_ENOENT;
		nr.version = cur.version + 1;
		break;
	}
	switch (m->op) {
	case STORE_OP_CREATE:
	case STORE_OP_UPDATE:
		nr.doc = m->doc;
		nr.doc_len = m->doc_len;
		if ((rc = keys_encode(b, m, &new_keys_len)) != 0)
			return rc;
		break;
	case STORE_OP_DELETE:
		nr.doc = cur.doc;
		nr.doc_len = cur.doc_len;
		nr.flags = REC_ARCHIVED;
		break;
	case STORE_OP_REVERT:
		if (m->revert_to == 0 || m->revert_to > cur.version)
			return SOUK_ENOENT;
		store_put_u64(ek + ekl, m->revert_to);
		k = (MDB_val){ ekl + 8, ek };
		if ((rc = mdb_get(t, s->db_hist, &k, &v)) != 0)
			return rc == MDB_NOTFOUND ? SOUK_ECORRUPT : store_mdb_err(rc);
		if ((rc = store_rec_parse(&v, &old)) != 0)
			return rc;
		nr.doc = old.doc;
		nr.doc_len = old.doc_len;
		nr.flags = old.flags & REC_ARCHIVED;
		if ((rc = reserve(&b->keys, &b->keys_cap, old.keys_len)) != 0)
			return rc;
		if (old.keys_len)
			memcpy(b->keys, old.keys, old.keys_len);
		new_keys_len = old.keys_len;
		break;
	}
	/* the keys the current version holds, copied beside the new ones */
	if (have_cur) {
		if ((rc = reserve(&b->keys, &b->keys_cap, new_keys_len + cur.keys_len)) != 0)
			return rc;
		if (cur.keys_len)
			memcpy(b->keys + new_keys_len, cur.keys, cur.keys_len);
		cur_keys_len = cur.keys_len;
	}
	uint64_t cur_version = cur.version;
	bool cur_archived = cur.flags & REC_ARCHIVED;
	const uint8_t *new_keys = b->keys, *cur_keys = b->keys + new_keys_len;
	nr.keys = new_keys;
	nr.keys_len = new_keys_len;
	ukey_ctx_t uc = { s, t, m->kind, &m->id };
	if ((rc = keys_each(cur_keys, cur_keys_len, ukey_len_ok, NULL)) != 0 ||
	    (rc = keys_each(new_keys, new_keys_len, ukey_len_ok, NULL)) != 0 ||
	    (rc = keys_each(new_keys, new_keys_len, ukey_check, &uc)) != 0)
		return rc;

	/* the encoded copy is made before any write: the views read above
	 * point into pages the puts below may change */
	uint64_t seq = b->seq + 1;
	nr.seq = seq;
	nr.flags |= REC_LEAF_V2;
	if (!(vlen = rec_encode(b, &nr)))
		return SOUK_ENOMEM;
	rec_view_t enc;
	MDB_val ev = { vlen, b->val };
	store_rec_parse(&ev, &enc);
	if ((rc = store_leaf_of(seq, m->kind, &m->id, &enc, b->md, leaf)) != 0)
		return rc;

	/* writes */
	*wrote = true;
	if (cur_keys_len && (rc = keys_each(cur_keys, cur_keys_len, ukey_release, &uc)) != 0)
		goto fail;
	if ((rc = keys_each(new_keys, new_keys_len, ukey_claim, &uc)) != 0)
		goto fail;

	k = (MDB_val){ ekl, ek };
	LMDB(mdb_put(t, s->db_rec, &k, &ev, 0));
	store_put_u64(ek + ekl, nr.version);
	k = (MDB_val){ ekl + 8, ek };
	LMDB(mdb_put(t, s->db_hist, &k, &ev, MDB_NOOVERWRITE));

	uint8_t cb[CHG_HDR + STORE_KIND_MAX], sk[8];
	size_t kl = strlen(m->kind);
	cb[0] = 1;
	cb[1] = (uint8_t)m->op;
	store_put_u16(cb + 2, (uint16_t)kl);
	memcpy(cb + 4, m->id.b, 16);
	store_put_u64(cb + 20, nr.version);
	store_put_u64(cb + 28, b->now);
	memcpy(cb + CHG_HDR, m->kind, kl);
	store_put_u64(sk, seq);
	k = (MDB_val){ 8, sk };
	v = (MDB_val){ CHG_HDR + kl, cb };
	LMDB(mdb_put(t, s->db_chg, &k, &v, MDB_NOOVERWRITE | MDB_APPEND));

	if ((rc = audit_append(t, s->db_audit, seq - 1, leaf, b->md, b->ac)) != 0)
		goto fail;
	if ((rc = store_index_apply(s, t, m, have_cur ? cur_version : 0, cur_archived, nr.version,
				    nr.flags & REC_ARCHIVED)) != 0)
		goto fail;

	m->version = nr.version;
	m->seq = seq;
	m->time_ms = nr.time_ms;
	if (m->idem_key)
		LMDB(store_idem_put(s, t, m, ik, ikl, b->now));
	rc = 0;
fail:
	return rc;
}

static void mut_reset(store_mut_t *m, int result)
{
	m->result = result;
	m->version = 0;
	m->seq = 0;
	m->time_ms = 0;
	m->replayed = false;
}

/* A unit's mutation: apply_one in the unit's nested txn. A failure after
 * the first write breaks the unit (its txn holds partial writes); a
 * batch-level error fails the batch. */
int store_batch_put(store_txn_t *t, store_mut_t *m)
{
	batch_t *b = t->batch;
	bool wrote;
	if (t->fatal || t->broken) {
		mut_reset(m, t->fatal ? t->fatal : t->broken);
		return m->result;
	}
	mut_reset(m, 0);
	MDB_txn *saved = b->txn;
	b->txn = t->txn;
	int r = apply_one(b, m, &wrote);
	b->txn = saved;
	if (r == 0) {
		if (wrote)
			b->seq = m->seq;
		return 0;
	}
	if (!mut_level_error(r))
		t->fatal = r;
	else if (wrote)
		t->broken = r;
	mut_reset(m, r);
	return r;
}

/* One unit in a nested txn of txn. A dropped unit leaves the batch's
 * sequence and audit cache as they were before it (the nodes it appended
 * go with its txn). Returns 0 or a batch-level error. */
static int run_unit(batch_t *b, MDB_txn *txn, store_work_t *w)
{
	audit_cache_t snap;
	uint64_t seq0 = b->seq;
	MDB_txn *child;
	if (b->ac)
		snap = *b->ac;
	w->result = 0;
	w->seq = 0;
	int rc = mdb_txn_begin(b->s->env, txn, 0, &child);
	if (rc)
		return store_mdb_err(rc);
	store_txn_t t = { .s = b->s, .txn = child, .batch = b, .actor = w->actor };
	int r = w->fn(&t, w->arg);
	if (t.fatal) {
		mdb_txn_abort(child);
		return t.fatal;
	}
	if (r == 0 && t.broken)
		r = t.broken;
	if (r == 0) {
		if ((rc = mdb_txn_commit(child)) != 0)
			return store_mdb_err(rc);
		w->seq = b->seq != seq0 ? b->seq : 0;
		return 0;
	}
	mdb_txn_abort(child);
	b->seq = seq0;
	if (b->ac)
		*b->ac = snap;
	w->result = r < 0 ? r : SOUK_EINVAL;
	return 0;
}

/* Every entry of the batch in txn: muts[i], or works[i] (a mutation or a
 * unit) when works is set. Returns 0 or a batch-level error
 * (SOUK_EMAPFULL: grow and run again); *redo asks for the batch again with
 * nested txns. */
static int apply_batch(batch_t *b, MDB_txn *txn, store_mut_t *muts, store_work_t *works,
		       size_t n, bool nested, bool *redo)
{
	audit_cache_t ac;
	uint64_t seq0;
	int rc;
	*redo = false;
	if ((rc = store_meta_u64(txn, b->s->db_meta, "last_seq", &seq0)) != 0)
		return rc;
	b->seq = seq0;
	ac.valid = 0;
	b->ac = nested ? NULL : &ac;
	for (size_t i = 0; i < n; i++) {
		if (works && works[i].fn) {
			if ((rc = run_unit(b, txn, &works[i])) != 0)
				return rc;
			continue;
		}
		store_mut_t *m = works ? works[i].mut : &muts[i];
		MDB_txn *child = NULL;
		bool wrote;
		mut_reset(m, 0);
		if (nested) {
			rc = mdb_txn_begin(b->s->env, txn, 0, &child);
			if (rc)
				return store_mdb_err(rc);
		}
		b->txn = nested ? child : txn;
		int r = apply_one(b, m, &wrote);
		b->txn = txn;
		if (r == 0 && child) {
			rc = mdb_txn_commit(child);
			if (rc)
				return store_mdb_err(rc);
		} else if (child) {
			mdb_txn_abort(child);
		}
		if (r == 0) {
			if (wrote)
				b->seq = m->seq;
			continue;
		}
		if (!mut_level_error(r))
			return r;
		if (wrote && !nested) {
			/* partial writes of a failed mutation are in the batch txn */
			*redo = true;
			return 0;
		}
		mut_reset(m, r);
	}
	if (b->seq != seq0 && (rc = meta_put_u64(txn, b->s->db_meta, "last_seq", b->seq)) != 0)
		return store_mdb_err(rc);
	return 0;
}

typedef struct {
	batch_t *b;
	store_mut_t *muts;
	store_work_t *works;
	size_t n;
	bool nested;
} apply_ctx_t;

static int apply_txn(store_t *s, MDB_txn *txn, void *arg)
{
	apply_ctx_t *a = arg;
	bool redo = false;
	a->b->now = souk_now_real_ms();
	int rc = apply_batch(a->b, txn, a->muts, a->works, a->n, a->nested, &redo);
	if (rc == 0 && redo) {
		log_store_info("a mutation failed after its first write; the batch of %zu runs again with a nested txn per mutation",
			       a->n);
		a->nested = true;
		return STORE_TXN_AGAIN;
	}
	return rc;
}

static store_mut_t *entry_mut(store_mut_t *muts, store_work_t *works, size_t i)
{
	return works ? works[i].mut : &muts[i];
}

/* store_apply and store_apply_work: muts, or works when set. */
static int apply_entries(store_t *s, store_mut_t *muts, store_work_t *works, size_t n)
{
	batch_t b = { .s = s };
	int rc = store_check_handle(s);
	if (rc)
		return rc;
	if (n == 0)
		return 0;
	if (!muts && !works)
		return SOUK_EINVAL;
	for (size_t i = 0; works && i < n; i++)
		if (!works[i].mut == !works[i].fn)
			return SOUK_EINVAL; /* exactly one of the two */
	if (s->opts.read_only) {
		rc = -EROFS;
		goto done;
	}
	/* fresh ids and the hashing context, outside the write lock */
	for (size_t i = 0; i < n; i++) {
		store_mut_t *m = entry_mut(muts, works, i);
		b.nids += m && m->op == STORE_OP_CREATE && id_is_zero(&m->id);
	}
	if (b.nids && (!(b.ids = malloc(16 * b.nids)) || souk_random(b.ids, 16 * b.nids) != 0))
		b.nids = 0; /* store_id_new() per create then */
	if (!(b.md = EVP_MD_CTX_new()) || reserve(&b.val, &b.val_cap, 2048) != 0 ||
	    reserve(&b.keys, &b.keys_cap, 512) != 0) {
		rc = SOUK_ENOMEM;
		goto done;
	}
	apply_ctx_t ac = { &b, muts, works, n, false };
	if ((rc = store_write_txn(s, apply_txn, &ac)) == 0) {
		bool force = atomic_fetch_add(&s->applies_since_check, 1) + 1 >= READER_CHECK_EVERY;
		if (force)
			atomic_store(&s->applies_since_check, 0);
		store_reader_check_due(s, force);
	}
done:

	EVP_MD_CTX_free(b.md);
	free(b.ids);
	free(b.val);
	free(b.keys);
	if (rc) {
		static log_ratelimit_t rl = LOG_RATELIMIT_INIT(10, 5);
		uint32_t sup = 0;
		pthread_mutex_lock(&registry_lock);
		if (log_ratelimit_ok(&rl, &sup))
			log_store_err("commit of %zu mutations failed (%s)", n, souk_strerror(rc));
		pthread_mutex_unlock(&registry_lock);
		for (size_t i = 0; i < n; i++) {
			store_mut_t *m = entry_mut(muts, works, i);
			if (m)
				mut_reset(m, rc);
			else
				works[i].result = rc, works[i].seq = 0;
		}
	}
	return rc;
}

int store_apply(store_t *s, store_mut_t *muts, size_t n)
{
	return apply_entries(s, muts, NULL, n);
}

int store_apply_work(store_t *s, store_work_t *w, size_t n)
{
	return apply_entries(s, NULL, w, n);
}

/* ---- reads -------------------------------------------------------------------------- */

/* The end of a record read: unless rc is already an error, the record in v
 * into out; the read transaction ends either way. */
static int rec_read_end(store_t *s, MDB_txn *txn, int rc, const MDB_val *v, const store_id_t *id,
			store_rec_t *out)
{
	rec_view_t r;
	if (rc == 0)
		rc = store_rec_parse(v, &r);
	if (rc == 0)
		rc = rec_fill(&r, id, out);
	store_rd_end(s, txn);
	return rc;
}

int store_get_in(store_t *s, MDB_txn *txn, const char *kind, const store_id_t *id,
		 store_rec_t *out)
{
	uint8_t ek[EK_MAX];
	MDB_val k, v;
	rec_view_t r;
	if (!store_kind_ok(kind) || !id || !out)
		return SOUK_EINVAL;
	k = (MDB_val){ store_entity_key(ek, kind, id), ek };
	int rc = store_mdb_err(mdb_get(txn, s->db_rec, &k, &v));
	if (rc == 0)
		rc = store_rec_parse(&v, &r);
	return rc ? rc : rec_fill(&r, id, out);
}

int store_get(store_t *s, const char *kind, const store_id_t *id, store_rec_t *out)
{
	MDB_txn *txn;
	if (!store_kind_ok(kind) || !id || !out)
		return SOUK_EINVAL;
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	rc = store_get_in(s, txn, kind, id, out);
	store_rd_end(s, txn);
	return rc;
}

int store_get_by_key(store_t *s, const char *kind, const char *key, size_t key_len,
		     store_rec_t *out)
{
	uint8_t kb[STORE_KIND_MAX + 1 + STORE_KEY_MAX], ek[EK_MAX];
	MDB_txn *txn;
	store_id_t id;
	MDB_val k, v;
	if (!store_kind_ok(kind) || !key || key_len == 0 || key_len > STORE_KEY_MAX || !out)
		return SOUK_EINVAL;
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	k = (MDB_val){ ukey_key(kb, kind, (const uint8_t *)key, key_len), kb };
	rc = store_mdb_err(mdb_get(txn, s->db_ukey, &k, &v));
	if (rc == 0 && v.mv_size != 16)
		rc = SOUK_ECORRUPT;
	if (rc == 0) {
		memcpy(id.b, v.mv_data, 16);
		k = (MDB_val){ store_entity_key(ek, kind, &id), ek };
		rc = store_mdb_err(mdb_get(txn, s->db_rec, &k, &v));
		if (rc == SOUK_ENOENT)
			rc = SOUK_ECORRUPT;
	}
	return rec_read_end(s, txn, rc, &v, &id, out);
}

int store_get_version(store_t *s, const char *kind, const store_id_t *id, uint64_t version,
		      store_rec_t *out)
{
	uint8_t ek[EK_MAX + 8];
	MDB_txn *txn;
	MDB_val k, v;
	if (!store_kind_ok(kind) || !id || !out)
		return SOUK_EINVAL;
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	size_t n = store_entity_key(ek, kind, id);
	store_put_u64(ek + n, version);
	k = (MDB_val){ n + 8, ek };
	rc = store_mdb_err(mdb_get(txn, s->db_hist, &k, &v));
	return rec_read_end(s, txn, rc, &v, id, out);
}

/* Walk one entity's history in a read txn; fn gets each version in order. */
static int hist_walk(store_t *s, MDB_txn *txn, const char *kind, const store_id_t *id,
		     int (*fn)(void *arg, const rec_view_t *r), void *arg)
{
	uint8_t ek[EK_MAX + 8];
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = store_entity_key(ek, kind, id);
	store_put_u64(ek + n, 0);
	int rc = mdb_cursor_open(txn, s->db_hist, &cur);
	if (rc)
		return store_mdb_err(rc);
	k = (MDB_val){ n + 8, ek };
	bool any = false;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		rec_view_t r;
		if (k.mv_size != n + 8 || memcmp(k.mv_data, ek, n) != 0)
			break;
		any = true;
		if ((rc = store_rec_parse(&v, &r)) != 0 || (rc = fn(arg, &r)) != 0)
			goto out;
	}
	rc = (rc == 0 || rc == MDB_NOTFOUND) ? (any ? 0 : SOUK_ENOENT) : store_mdb_err(rc);
out:
	mdb_cursor_close(cur);
	return rc;
}

typedef struct {
	uint64_t seq;
	const store_id_t *id;
	store_rec_t *out;
	bool found;
	int rc;
} asof_t;

static int asof_fn(void *arg, const rec_view_t *r)
{
	asof_t *a = arg;
	if (r->seq > a->seq)
		return 1;
	if (a->found)
		store_rec_deinit(a->out);
	a->rc = rec_fill(r, a->id, a->out);
	a->found = a->rc == 0;
	return a->rc;
}

int store_get_as_of(store_t *s, const char *kind, const store_id_t *id, uint64_t seq,
		    store_rec_t *out)
{
	MDB_txn *txn;
	asof_t a = { seq, id, out, false, 0 };
	if (!store_kind_ok(kind) || !id || !out)
		return SOUK_EINVAL;
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	rc = hist_walk(s, txn, kind, id, asof_fn, &a);
	store_rd_end(s, txn);
	if (rc == 1)
		rc = 0;
	if (rc == 0 && !a.found)
		rc = SOUK_ENOENT;
	if (rc && a.found)
		store_rec_deinit(out);
	return rc;
}

typedef struct {
	store_rec_cb cb;
	void *arg;
	const store_id_t *id;
	cbbuf_t buf;
} histcb_t;

static int hist_fn(void *arg, const rec_view_t *r)
{
	histcb_t *h = arg;
	store_rec_t rec;
	int rc = rec_view_cb(&h->buf, r, h->id, &rec);
	return rc ? rc : h->cb(&rec, h->arg);
}

int store_history_in(store_t *s, MDB_txn *txn, const char *kind, const store_id_t *id,
		     store_rec_cb cb, void *arg)
{
	histcb_t h = { cb, arg, id, { NULL, 0 } };
	if (!store_kind_ok(kind) || !id || !cb)
		return SOUK_EINVAL;
	int rc = hist_walk(s, txn, kind, id, hist_fn, &h);
	free(h.buf.buf);
	return rc;
}

int store_history(store_t *s, const char *kind, const store_id_t *id, store_rec_cb cb, void *arg)
{
	MDB_txn *txn;
	if (!store_kind_ok(kind) || !id || !cb)
		return SOUK_EINVAL;
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	rc = store_history_in(s, txn, kind, id, cb, arg);
	store_rd_end(s, txn);
	return rc;
}

int store_scan_in(store_t *s, MDB_txn *txn, const char *kind, const store_id_t *after,
		  store_rec_cb cb, void *arg)
{
	uint8_t pk[STORE_KIND_MAX + 1 + 16];
	MDB_cursor *cur = NULL;
	cbbuf_t buf = { NULL, 0 };
	MDB_val k, v;
	int rc;
	if (!store_kind_ok(kind) || !cb)
		return SOUK_EINVAL;
	size_t n = strlen(kind);
	memcpy(pk, kind, n);
	pk[n] = 0;
	if ((rc = mdb_cursor_open(txn, s->db_rec, &cur)) != 0)
		return store_mdb_err(rc);
	/* from the kind's first record, or from after (itself skipped) */
	if (after)
		memcpy(pk + n + 1, after->b, 16);
	k = (MDB_val){ n + 1 + (after ? 16 : 0), pk };
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		rec_view_t r;
		store_rec_t rec;
		store_id_t id;
		if (k.mv_size != n + 17 || memcmp(k.mv_data, pk, n + 1) != 0)
			break;
		memcpy(id.b, (const uint8_t *)k.mv_data + n + 1, 16);
		if (after && memcmp(id.b, after->b, 16) == 0)
			continue;
		if ((rc = store_rec_parse(&v, &r)) != 0 || (rc = rec_view_cb(&buf, &r, &id, &rec)) != 0 ||
		    (rc = cb(&rec, arg)) != 0)
			goto out;
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : store_mdb_err(rc);
out:
	mdb_cursor_close(cur);
	free(buf.buf);
	return rc;
}

int store_scan_after(store_t *s, const char *kind, const store_id_t *after, store_rec_cb cb,
		     void *arg)
{
	MDB_txn *txn;
	if (!store_kind_ok(kind) || !cb)
		return SOUK_EINVAL;
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	rc = store_scan_in(s, txn, kind, after, cb, arg);
	store_rd_end(s, txn);
	return rc;
}

int store_scan(store_t *s, const char *kind, store_rec_cb cb, void *arg)
{
	return store_scan_after(s, kind, NULL, cb, arg);
}

int store_changes(store_t *s, uint64_t after, store_change_cb cb, void *arg)
{
	MDB_txn *txn;
	if (!cb)
		return SOUK_EINVAL;
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	rc = store_changes_in(s, txn, after, cb, arg);
	store_rd_end(s, txn);
	return rc;
}

int store_changes_in(store_t *s, MDB_txn *txn, uint64_t after, store_change_cb cb, void *arg)
{
	MDB_cursor *cur = NULL;
	uint8_t sk[8];
	MDB_val k, v;
	int rc;
	if (!cb)
		return SOUK_EINVAL;
	if ((rc = mdb_cursor_open(txn, s->db_chg, &cur)) != 0) {
		rc = store_mdb_err(rc);
		goto out;
	}
	if (after == UINT64_MAX)
		goto out;
	store_put_u64(sk, after + 1);
	k = (MDB_val){ 8, sk };
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		chg_view_t c;
		char kind[STORE_KIND_MAX + 1];
		if (k.mv_size != 8 || (rc = store_chg_parse(&v, &c)) != 0) {
			rc = SOUK_ECORRUPT;
			goto out;
		}
		memcpy(kind, c.kind, c.kind_len);
		kind[c.kind_len] = 0;
		store_change_t ch = { store_get_u64(k.mv_data), kind, c.id, c.version,
				      (store_op_t)c.op, c.time_ms };
		if ((rc = cb(&ch, arg)) != 0)
			goto out;
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : store_mdb_err(rc);
out:
	if (cur)
		mdb_cursor_close(cur);
	return rc;
}

int store_last_seq(store_t *s, uint64_t *out)
{
	MDB_txn *txn;
	uint64_t seq;
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	rc = store_meta_u64(txn, s->db_meta, "last_seq", &seq);
	store_rd_end(s, txn);
	if (rc == 0)
		*out = seq;
	return rc;
}

/* ---- info and backup --------------------------------------------------------------------- */

static int count_reader(const char *msg, void *ctx)
{
	(*(uint32_t *)ctx)++;
	return 0;
}

int store_info(store_t *s, store_info_t *out)
{
	MDB_envinfo info;
	MDB_stat st;
	uint64_t seq;
	/* a read txn of its own: a dead environment is reported, not hidden */
	int rc = store_last_seq(s, &seq);
	if (rc)
		return rc;
	pthread_rwlock_rdlock(&s->maplock);
	mdb_env_info(s->env, &info);
	mdb_env_stat(s->env, &st);
	uint32_t lines = 0;
	mdb_reader_list(s->env, count_reader, &lines);
	pthread_rwlock_unlock(&s->maplock);
	memset(out, 0, sizeof(*out));
	out->map_size = info.me_mapsize;
	out->used_bytes = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
	out->readers_used = lines > 0 ? lines - 1 : 0; /* first line is a header */
	out->max_readers = info.me_maxreaders;
	out->last_seq = seq;
	return 0;
}

int store_status(store_t *s)
{
	return store_check_handle(s);
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

int store_backup(store_t *s, const char *dir)
{
	char path[4200];
	int rc = store_check_handle(s);
	if (rc)
		return rc;
	if (!dir || !*dir || strlen(dir) > 4000)
		return SOUK_EINVAL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (access(path, F_OK) == 0) {
		log_store_err("backup target '%s' already holds data.mdb", dir);
		return SOUK_EEXIST;
	}
	for (int i = 0; i < 8; i++) {
		pthread_rwlock_rdlock(&s->maplock);
		rc = mdb_env_copy2(s->env, dir, MDB_CP_COMPACT);
		pthread_rwlock_unlock(&s->maplock);
		if (rc != MDB_MAP_RESIZED)
			break;
		unlink(path);
		store_adopt_map_size(s);
	}
	if (rc) {
		log_store_err("backup to '%s' failed (%s)", dir, mdb_strerror(rc));
		unlink(path);
		return store_mdb_err(rc);
	}
	if ((rc = fsync_path(path, O_RDONLY)) == 0)
		rc = fsync_path(dir, O_RDONLY | O_DIRECTORY);
	return rc;
}
