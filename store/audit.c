/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/audit.c - the audit log: RFC 6962 tree over the change log, proofs,
 * the verifier, and Ed25519-signed checkpoints.
 *
 * Leaf i (0-based) is change-log sequence i+1. Its data is the canonical
 * serialization store_audit_leaf_data_v2() of (seq, kind, id, SHA-256 of the
 * history value without its document, SHA-256 of the document), which covers
 * the whole version: op, flags (archived), version, time, actor, reason,
 * unique keys and document. Versions written before leaf v2 (no
 * REC_LEAF_V2 flag) keep v1 leaves, store_audit_leaf_data(): (seq, kind, id,
 * version, op, actor, time, SHA-256 of the document). The verifier
 * recomputes each from history and the change log; clearing or setting the
 * flag changes the leaf, so it cannot pass a v2 version off as v1. The audit db keeps every complete subtree hash
 * (level, index), written when a leaf closes it, so appends cost O(log n)
 * puts and a root or proof costs O(log n) (proofs O(log^2 n)) lookups.
 */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "store/merkle.h"

typedef struct {
	MDB_txn *txn;
	MDB_dbi dbi;
} node_ctx_t;

static int node_fn(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
	node_ctx_t *c = ctx;
	return store_audit_node(c->txn, c->dbi, level, index, out);
}

/* A read transaction and the size of the audit log in it (the last change
 * sequence); on failure no transaction is left open. */
static int audit_rd_begin(store_t *s, MDB_txn **txn, uint64_t *n)
{
	int rc = store_rd_begin(s, txn);
	if (rc)
		return rc;
	if ((rc = store_meta_u64(*txn, s->db_meta, "last_seq", n)) != 0)
		store_rd_end(s, *txn);
	return rc;
}

int store_audit_root(store_t *s, uint64_t *size, uint8_t root[32])
{
	MDB_txn *txn;
	uint64_t n;
	int rc = audit_rd_begin(s, &txn, &n);
	if (rc)
		return rc;
	node_ctx_t c = { txn, s->db_audit };
	rc = merkle_root(node_fn, &c, n, root);
	store_rd_end(s, txn);
	if (rc == 0)
		*size = n;
	return rc;
}

int store_audit_root_at(store_t *s, uint64_t size, uint8_t root[32])
{
	MDB_txn *txn;
	uint64_t n;
	int rc = audit_rd_begin(s, &txn, &n);
	if (rc)
		return rc;
	node_ctx_t c = { txn, s->db_audit };
	rc = size > n ? SOUK_EINVAL : merkle_root(node_fn, &c, size, root);
	store_rd_end(s, txn);
	return rc;
}

int store_audit_leaf(store_t *s, uint64_t index, uint8_t out[32])
{
	MDB_txn *txn;
	uint64_t n;
	int rc = audit_rd_begin(s, &txn, &n);
	if (rc)
		return rc;
	rc = index >= n ? SOUK_ENOENT : store_audit_node(txn, s->db_audit, 0, index, out);
	store_rd_end(s, txn);
	return rc;
}

int store_audit_inclusion_proof(store_t *s, uint64_t index, uint64_t size,
				uint8_t proof[][32], size_t *nproof)
{
	MDB_txn *txn;
	uint64_t n;
	*nproof = 0;
	int rc = audit_rd_begin(s, &txn, &n);
	if (rc)
		return rc;
	node_ctx_t c = { txn, s->db_audit };
	rc = size > n ? SOUK_EINVAL : merkle_inclusion_proof(node_fn, &c, index, size, proof, nproof);
	store_rd_end(s, txn);
	return rc;
}

int store_audit_consistency_proof(store_t *s, uint64_t old_size, uint64_t new_size,
				  uint8_t proof[][32], size_t *nproof)
{
	MDB_txn *txn;
	uint64_t n;
	*nproof = 0;
	int rc = audit_rd_begin(s, &txn, &n);
	if (rc)
		return rc;
	node_ctx_t c = { txn, s->db_audit };
	rc = new_size > n ? SOUK_EINVAL
			  : merkle_consistency_proof(node_fn, &c, old_size, new_size, proof, nproof);
	store_rd_end(s, txn);
	return rc;
}

/* ---- verifier ----------------------------------------------------------------- */

typedef struct {
	uint64_t bad; /* first bad leaf index, UINT64_MAX = none */
} vstate_t;

static void note_bad(vstate_t *v, uint64_t index, const char *what)
{
	if (index < v->bad) {
		v->bad = index;
		log_store_err("audit verification failed at sequence %llu (%s)",
			      (unsigned long long)index + 1, what);
	}
}

/* Pass 1: the change log is 1..N without gaps, each entry matches its history
 * version, its recomputed leaf matches the stored leaf, and each stored
 * parent hash matches its stored children. */
static int verify_changes(store_t *s, MDB_txn *txn, uint64_t n, vstate_t *vs)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t expect = 1;
	int rc = mdb_cursor_open(txn, s->db_chg, &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), expect++) {
		chg_view_t c;
		rec_view_t r;
		uint8_t ek[EK_MAX + 8], leaf[32], stored[32];
		char kind[STORE_KIND_MAX + 1];
		uint64_t i = expect - 1;
		if (k.mv_size != 8 || store_get_u64(k.mv_data) != expect) {
			note_bad(vs, i, "change log has a gap or is out of order");
			break;
		}
		if (expect > n) {
			note_bad(vs, n, "change log goes past the recorded last sequence");
			break;
		}
		if (store_chg_parse(&v, &c) != 0) {
			note_bad(vs, i, "change entry malformed");
			break;
		}
		memcpy(kind, c.kind, c.kind_len);
		kind[c.kind_len] = 0;
		if (!store_kind_ok(kind)) {
			note_bad(vs, i, "change entry names a bad kind");
			break;
		}
		size_t ekl = store_entity_key(ek, kind, &c.id);
		store_put_u64(ek + ekl, c.version);
		MDB_val hk = { ekl + 8, ek }, hv;
		if (mdb_get(txn, s->db_hist, &hk, &hv) != 0 || store_rec_parse(&hv, &r) != 0) {
			note_bad(vs, i, "history version of the change missing or malformed");
			break;
		}
		if (r.seq != expect || r.op != c.op || r.time_ms != c.time_ms || r.version != c.version) {
			note_bad(vs, i, "change entry disagrees with its history version");
			break;
		}
		int lrc = store_leaf_of(expect, kind, &c.id, &r, NULL, leaf);
		if (lrc == SOUK_ECRYPTO) {
			mdb_cursor_close(cur);
			return lrc; /* not damage: the check could not be made */
		}
		if (lrc != 0 || store_audit_node(txn, s->db_audit, 0, i, stored) != 0 ||
		    CRYPTO_memcmp(leaf, stored, 32) != 0) {
			note_bad(vs, i, "audit leaf does not match history and change log");
			break;
		}
		/* parents closed by this leaf */
		bool ok = true;
		for (unsigned l = 0; l < 64 && ((i >> l) & 1); l++) {
			uint8_t a[32], b[32], p[32], h[32];
			uint64_t idx = i >> (l + 1);
			if (store_audit_node(txn, s->db_audit, l, idx * 2, a) != 0 ||
			    store_audit_node(txn, s->db_audit, l, idx * 2 + 1, b) != 0 ||
			    store_audit_node(txn, s->db_audit, l + 1, idx, p) != 0) {
				ok = false;
			} else if (merkle_node_hash(a, b, h) != 0) {
				mdb_cursor_close(cur);
				return SOUK_ECRYPTO;
			} else {
				ok = CRYPTO_memcmp(h, p, 32) == 0;
			}
			if (!ok) {
				note_bad(vs, idx << (l + 1), "audit tree node does not match its children");
				break;
			}
		}
		if (!ok)
			break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_cursor_close(cur);
		return store_mdb_err(rc);
	}
	if (vs->bad == UINT64_MAX && expect - 1 != n)
		note_bad(vs, expect - 1, "change log is shorter than the recorded last sequence");
	/* no leaf beyond the end */
	uint8_t extra[32];
	if (store_audit_node(txn, s->db_audit, 0, n, extra) == 0)
		note_bad(vs, n, "audit log is longer than the change log");
	mdb_cursor_close(cur);
	return 0;
}

/* Pass 2: every history version is the one its change entry names. */
static int verify_history(store_t *s, MDB_txn *txn, uint64_t n, vstate_t *vs)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, s->db_hist, &cur);
	if (rc)
		return store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		rec_view_t r;
		chg_view_t c;
		uint8_t sk[8];
		if (store_rec_parse(&v, &r) != 0 || r.seq == 0 || r.seq > n || k.mv_size < 26) {
			note_bad(vs, (r.seq && r.seq <= n) ? r.seq - 1 : n, "history entry malformed or beyond the log");
			continue;
		}
		store_put_u64(sk, r.seq);
		MDB_val ck = { 8, sk }, cv;
		const uint8_t *kp = k.mv_data;
		size_t kl = k.mv_size - 25;
		if (mdb_get(txn, s->db_chg, &ck, &cv) != 0 || store_chg_parse(&cv, &c) != 0 ||
		    c.kind_len != kl || memcmp(c.kind, kp, kl) != 0 ||
		    memcmp(c.id.b, kp + kl + 1, 16) != 0 || c.version != r.version ||
		    store_get_u64(kp + kl + 17) != r.version)
			note_bad(vs, r.seq - 1, "history entry not named by its change entry");
	}
	mdb_cursor_close(cur);
	return (rc == 0 || rc == MDB_NOTFOUND) ? 0 : store_mdb_err(rc);
}

/* Pass 3: every current record equals the newest version in its history. */
static int verify_records(store_t *s, MDB_txn *txn, uint64_t n, vstate_t *vs)
{
	MDB_cursor *cur, *hc;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, s->db_rec, &cur);
	if (rc)
		return store_mdb_err(rc);
	if ((rc = mdb_cursor_open(txn, s->db_hist, &hc)) != 0) {
		mdb_cursor_close(cur);
		return store_mdb_err(rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		rec_view_t r;
		uint8_t hkb[EK_MAX + 8];
		if (store_rec_parse(&v, &r) != 0 || k.mv_size > EK_MAX || r.seq == 0 || r.seq > n) {
			note_bad(vs, n ? n - 1 : 0, "record malformed");
			continue;
		}
		memcpy(hkb, k.mv_data, k.mv_size);
		store_put_u64(hkb + k.mv_size, r.version);
		MDB_val hk = { k.mv_size + 8, hkb }, hv;
		if (mdb_cursor_get(hc, &hk, &hv, MDB_SET_KEY) != 0 || hv.mv_size != v.mv_size ||
		    memcmp(hv.mv_data, v.mv_data, v.mv_size) != 0) {
			note_bad(vs, r.seq - 1, "record differs from its history version");
			continue;
		}
		if (mdb_cursor_get(hc, &hk, &hv, MDB_NEXT) == 0 && hk.mv_size == k.mv_size + 8 &&
		    memcmp(hk.mv_data, k.mv_data, k.mv_size) == 0)
			note_bad(vs, r.seq - 1, "record is older than its history");
	}
	mdb_cursor_close(hc);
	mdb_cursor_close(cur);
	return (rc == 0 || rc == MDB_NOTFOUND) ? 0 : store_mdb_err(rc);
}

int store_audit_verify(store_t *s, uint64_t *bad_index)
{
	MDB_txn *txn;
	uint64_t n;
	vstate_t vs = { UINT64_MAX };
	int rc = audit_rd_begin(s, &txn, &n);
	if (rc == 0) {
		if ((rc = verify_changes(s, txn, n, &vs)) == 0 &&
		    (rc = verify_history(s, txn, n, &vs)) == 0)
			rc = verify_records(s, txn, n, &vs);
		store_rd_end(s, txn);
	}
	if (rc == 0 && vs.bad != UINT64_MAX)
		rc = SOUK_ECORRUPT;
	if (bad_index)
		*bad_index = vs.bad;
	return rc;
}

/* ---- checkpoints ---------------------------------------------------------------- */

static int ossl_fail(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "unknown";
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	log_store_err("%s failed (%s)", what, buf);
	return SOUK_ECRYPTO;
}

int store_audit_keygen(const char *priv_path, const char *pub_path)
{
	EVP_PKEY *key = NULL;
	FILE *f = NULL;
	int fd = -1, rc;
	if (!priv_path || !*priv_path)
		return SOUK_EINVAL;
	if (!(key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")))
		return ossl_fail("ed25519 key generation");
	fd = open(priv_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	if (!(f = fdopen(fd, "w"))) {
		rc = -errno;
		close(fd);
		unlink(priv_path);
		goto fail;
	}
	if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1) {
		rc = ossl_fail("writing the private key");
		fclose(f);
		unlink(priv_path);
		goto fail;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		rc = -errno;
		fclose(f);
		unlink(priv_path);
		goto fail;
	}
	fclose(f);
	if (pub_path) {
		if (!(f = fopen(pub_path, "wx"))) {
			rc = -errno;
			goto fail;
		}
		if (PEM_write_PUBKEY(f, key) != 1) {
			rc = ossl_fail("writing the public key");
			fclose(f);
			goto fail;
		}
		fclose(f);
	}
	rc = 0;
fail:
	EVP_PKEY_free(key);
	return rc;
}

/* Load a private key (want_private) or a public one from a PEM file that
 * holds either; a private key file readable by others is refused. */
static int load_key(const char *path, bool want_private, EVP_PKEY **out)
{
	struct stat st;
	EVP_PKEY *key = NULL;
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) != 0) {
		fclose(f);
		return -errno;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (key && (st.st_mode & 077)) {
		log_store_err("key file '%s' is accessible by group or others (use mode 0600)", path);
		EVP_PKEY_free(key);
		fclose(f);
		return SOUK_EPERM;
	}
	if (!key && !want_private) {
		ERR_clear_error();
		rewind(f);
		key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	}
	fclose(f);
	if (!key)
		return ossl_fail("reading the key file");
	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(key);
		log_store_err("key file '%s' does not hold an ed25519 key", path);
		return SOUK_EINVAL;
	}
	*out = key;
	return 0;
}

/* The signed part: the first four lines. */
static int signed_text(const store_checkpoint_t *cp, char *buf, size_t cap)
{
	char root[65];
	souk_hex(cp->root, 32, root);
	int n = snprintf(buf, cap, "souk-checkpoint v1\nsize %llu\nroot %s\ntime %llu\n",
			 (unsigned long long)cp->size, root, (unsigned long long)cp->time_ms);
	return (n < 0 || (size_t)n >= cap) ? SOUK_ETOOBIG : n;
}

int store_checkpoint_format(const store_checkpoint_t *cp, char *text, size_t cap)
{
	char sig[129];
	int n = signed_text(cp, text, cap);
	if (n < 0)
		return n;
	souk_hex(cp->sig, 64, sig);
	int m = snprintf(text + n, cap - (size_t)n, "sig %s\n", sig);
	return (m < 0 || (size_t)m >= cap - (size_t)n) ? SOUK_ETOOBIG : 0;
}

static const char *parse_line(const char *p, const char *end, const char *name, char *val,
			      size_t cap)
{
	size_t nl = strlen(name);
	if ((size_t)(end - p) < nl + 1 || memcmp(p, name, nl) != 0 || p[nl] != ' ')
		return NULL;
	p += nl + 1;
	const char *e = memchr(p, '\n', (size_t)(end - p));
	if (!e || (size_t)(e - p) >= cap || e == p)
		return NULL;
	memcpy(val, p, (size_t)(e - p));
	val[e - p] = 0;
	return e + 1;
}

int store_checkpoint_parse(const char *text, size_t len, store_checkpoint_t *out)
{
	static const char head[] = "souk-checkpoint v1\n";
	store_checkpoint_t cp;
	char val[160];
	const char *p = text, *end = text + len;
	if (!text || len > STORE_CHECKPOINT_TEXT_MAX || len < sizeof(head) - 1 ||
	    memcmp(p, head, sizeof(head) - 1) != 0)
		return SOUK_EINVAL;
	p += sizeof(head) - 1;
	if (!(p = parse_line(p, end, "size", val, sizeof(val))) ||
	    souk_parse_u64(val, 0, UINT64_MAX, &cp.size) != 0)
		return SOUK_EINVAL;
	if (!(p = parse_line(p, end, "root", val, sizeof(val))) || souk_unhex(val, 32, cp.root) != 0)
		return SOUK_EINVAL;
	if (!(p = parse_line(p, end, "time", val, sizeof(val))) ||
	    souk_parse_u64(val, 0, UINT64_MAX, &cp.time_ms) != 0)
		return SOUK_EINVAL;
	if (!(p = parse_line(p, end, "sig", val, sizeof(val))) || souk_unhex(val, 64, cp.sig) != 0)
		return SOUK_EINVAL;
	if (p != end)
		return SOUK_EINVAL;
	*out = cp;
	return 0;
}

int store_checkpoint_verify_sig(const store_checkpoint_t *cp, const char *key_path)
{
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *ctx = NULL;
	char msg[STORE_CHECKPOINT_TEXT_MAX];
	int n = signed_text(cp, msg, sizeof(msg)), rc;
	if (n < 0)
		return n;
	if ((rc = load_key(key_path, false, &key)) != 0)
		return rc;
	if (!(ctx = EVP_MD_CTX_new()) || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1) {
		rc = ossl_fail("signature verification setup");
		goto out;
	}
	rc = EVP_DigestVerify(ctx, cp->sig, 64, (const unsigned char *)msg, (size_t)n) == 1
		     ? 0
		     : SOUK_ECORRUPT;
	ERR_clear_error();
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return rc;
}

typedef struct {
	MDB_val k, v;
} ckpt_put_t;

static int ckpt_put(store_t *s, MDB_txn *txn, void *arg)
{
	ckpt_put_t *p = arg;
	return store_mdb_err(mdb_put(txn, s->db_ckpt, &p->k, &p->v, 0));
}

int store_audit_checkpoint(store_t *s, const char *priv_path, store_checkpoint_t *out, char *text)
{
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *ctx = NULL;
	store_checkpoint_t cp = { 0 };
	char msg[STORE_CHECKPOINT_TEXT_MAX];
	size_t siglen = 64;
	int rc = store_check_handle(s);
	if (rc)
		return rc;
	if ((rc = load_key(priv_path, true, &key)) != 0)
		return rc;
	if ((rc = store_audit_root(s, &cp.size, cp.root)) != 0)
		goto out;
	cp.time_ms = souk_now_real_ms();
	int n = signed_text(&cp, msg, sizeof(msg));
	if (n < 0) {
		rc = n;
		goto out;
	}
	if (!(ctx = EVP_MD_CTX_new()) || EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, cp.sig, &siglen, (const unsigned char *)msg, (size_t)n) != 1 ||
	    siglen != 64) {
		rc = ossl_fail("checkpoint signing");
		goto out;
	}
	if ((rc = store_checkpoint_format(&cp, text, STORE_CHECKPOINT_TEXT_MAX)) != 0)
		goto out;
	if (!s->opts.read_only) {
		/* keep a copy in the environment (an aid, not a trust anchor: the
		 * operator keeps checkpoints elsewhere too) */
		uint8_t kb[8];
		store_put_u64(kb, cp.size);
		ckpt_put_t put = { { 8, kb }, { strlen(text), text } };
		rc = store_write_txn(s, ckpt_put, &put);
		if (rc)
			goto out;
	}
	if (out)
		*out = cp;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return rc;
}

int store_audit_check_checkpoint(store_t *s, const store_checkpoint_t *cp)
{
	uint8_t proof[STORE_PROOF_MAX][32], root[32];
	size_t np = 0;
	uint64_t size;
	MDB_txn *txn;
	int rc = store_rd_begin(s, &txn);
	if (rc)
		return rc;
	node_ctx_t c = { txn, s->db_audit };
	if ((rc = store_meta_u64(txn, s->db_meta, "last_seq", &size)) != 0)
		goto out;
	if (cp->size > size) {
		log_store_err("log has %llu entries, fewer than the checkpoint's %llu (truncated)",
			      (unsigned long long)size, (unsigned long long)cp->size);
		rc = SOUK_ECORRUPT;
		goto out;
	}
	if ((rc = merkle_root(node_fn, &c, size, root)) != 0 ||
	    (rc = merkle_consistency_proof(node_fn, &c, cp->size, size, proof, &np)) != 0)
		goto out;
	rc = merkle_verify_consistency(cp->size, cp->root, size, root, (const uint8_t(*)[32])proof, np);
	if (rc)
		log_store_err("log is not consistent with the checkpoint of size %llu",
			      (unsigned long long)cp->size);
out:
	store_rd_end(s, txn);
	return rc;
}
