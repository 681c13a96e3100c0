/* SPDX-License-Identifier: Apache-2.0 */
/* Footage store: append-only encrypted segment files per camera plus a
 * SQLite index (DATA/index.db) of cameras, segments and fragments.
 * Everything lives under one data directory. Design and invariants:
 * docs/design/storage.md and docs/design/keys.md.
 *
 * Writing: each camera's loop thread owns one vg_recw. A fragment is
 * encrypted (XChaCha20-Poly1305 under the segment's content key, sealed to
 * the camera's footage public key) and write()n at once; a sync thread, once
 * a second for all cameras together, fsyncs the files written since the last
 * round and then commits their index rows in one transaction (durable before
 * visible). On open, segment tails not in the index are recovered or cut.
 *
 * Threads: vg_store_* calls are thread-safe; a vg_recw is used by one thread. */
#ifndef VG_STORE_H
#define VG_STORE_H

#include <stddef.h>
#include <stdint.h>

struct vg_buf;

typedef struct vg_store vg_store;
typedef struct vg_recw vg_recw;

typedef struct vg_store_opts {
    const char *dir;              /* data directory (created 0700 if missing) */
    unsigned segment_seconds;     /* 0 -> 120: start a new segment file at the first
                                     key fragment after this much media time */
    unsigned sync_interval_ms;    /* 0 -> 1000 */
    int64_t retain_seconds;       /* whole store, by age; 0 = keep */
    uint64_t retain_bytes;        /* whole store, by size; 0 = keep (disk-full still frees) */
} vg_store_opts;

/* Opens (creating if needed) the store, recovers unfinished segments, and
 * starts the sync/retention thread. */
int vg_store_open(const vg_store_opts *o, vg_store **out);
/* Ends every open run, final fsync + commit, stops the thread, frees. */
void vg_store_close(vg_store *st);

/* The camera named `name` (created if new; its footage public key updated if
 * given). Per-camera retention limits: 0 = none. */
int vg_store_camera(vg_store *st, const char *name, const uint8_t footage_pk[32],
                    int64_t retain_seconds, uint64_t retain_bytes, int64_t *camera_id);

/* Live state of a camera for `vigil status` (published by the sync thread).
 * state: "connecting", "recording", "offline"; detail: a reason or "". */
void vg_store_camera_state(vg_store *st, int64_t camera_id, const char *state, const char *detail);

int vg_recw_open(vg_store *st, int64_t camera_id, vg_recw **out);
/* A new run of continuous recording begins (first connect, reconnect, camera
 * timeline reset, or new parameter sets): init is the fMP4 init segment for
 * the fragments that follow. The first fragment after this must be a key one. */
int vg_recw_start_run(vg_recw *w, const uint8_t *init, size_t init_len);

enum { VG_FRAG_KEY = 1u << 0 };
/* Append one fMP4 fragment (moof+mdat) covering [start90k, start90k+dur90k).
 * frag points to `len` plaintext bytes preceded by at least VG_RECW_HEADROOM
 * writable bytes and followed by VG_RECW_TAILROOM writable bytes, so the
 * envelope is built and encrypted in place without another copy; the
 * plaintext is destroyed. On VG_ENOSPC the fragment is lost, the run is
 * ended (a gap in the index), and the writer stays usable (the caller starts
 * a new run when space returns; retention frees space meanwhile). */
#define VG_RECW_HEADROOM 128
#define VG_RECW_TAILROOM 64
int vg_recw_fragment(vg_recw *w, int64_t start90k, uint32_t dur90k, unsigned flags,
                     uint8_t *frag, size_t len);
/* The run ends (camera gone, stream reset); the segment is signed and closed. */
int vg_recw_end_run(vg_recw *w);
void vg_recw_free(vg_recw *w);

/* ---- reading (export, fsck, status), usable while a recorder runs ---- */
typedef struct vg_frag_info {
    int64_t segment_id;
    uint32_t seq;                 /* 0 = the segment's init segment */
    int64_t start90k;
    uint32_t dur90k;
    int key;
    int run_start;                /* first segment of a run (a gap before it) */
} vg_frag_info;
typedef int (*vg_store_read_cb)(void *arg, const vg_frag_info *fi, const uint8_t *plain,
                                size_t len);
/* For each segment of camera `name` overlapping [from, to): the segment's
 * init (seq 0), then its fragments overlapping the range, in time order,
 * decrypted with the footage secret key sk (pk is its public half). Each
 * segment's signature chain is verified first; a broken one is VG_ECRYPTO.
 * A non-zero return from cb stops the walk and is returned. */
int vg_store_read(const char *dir, const char *name, const uint8_t pk[32], const uint8_t sk[32],
                  int64_t from90k, int64_t to90k, vg_store_read_cb cb, void *arg);

/* JSON for `vigil status` (malloc'd; caller frees): see docs/cli.md. */
int vg_store_status_json(const char *dir, char **out);
/* Check index against files and every signature; repair=1 trims/cleans. */
int vg_store_fsck(const char *dir, int repair);

/* ---- live view and web reads (docs/design/live.md) ---- */

/* The store's organization id (envelope AD) and recorder public key. */
void vg_store_org_id(const vg_store *st, uint8_t org[16]);
void vg_store_recorder_pk(const vg_store *st, uint8_t pk[32]);

/* Writer side of the live view; all on the writer's thread. The content key
 * never leaves the store: the caller gets sealed envelopes only. */
enum { VG_ENV_LIVE = 1u << 2 };    /* envelope flag of a live chunk (never stored) */
typedef struct vg_recw_live_info {
    uint64_t segment_id;
    uint8_t sealed_key[80];       /* content key sealed to the segment's footage pk */
    const uint8_t *init_env;      /* the segment's stored init envelope (seq 0); valid
                                     until the next writer call */
    size_t init_env_len;
} vg_recw_live_info;
/* VG_ENOTFOUND when no segment is open. */
int vg_recw_live_segment(vg_recw *w, vg_recw_live_info *out);
/* Seals `len` plaintext bytes at `plain` (VG_RECW_HEADROOM writable bytes
 * before, VG_RECW_TAILROOM after) in place into a live envelope (flags
 * VG_ENV_LIVE | key) under the open segment's content key, with the writer's
 * own live seq counter. *env points at the envelope, *env_len its length.
 * VG_ENOTFOUND when no segment is open. */
int vg_recw_live_seal(vg_recw *w, int64_t start90k, uint32_t dur90k, int key, uint8_t *plain,
                      size_t len, uint8_t **env, size_t *env_len, uint64_t *segment_id);
/* Appends to out the stored envelopes of the open segment from its last key
 * fragment to its end (the current GOP so far); 0 bytes if none. */
int vg_recw_live_gop(vg_recw *w, struct vg_buf *out);
/* The next key fragment starts a new segment (e.g. the footage key changed). */
void vg_recw_cut(vg_recw *w);

/* Recordings of one camera (by store name) overlapping [from, to): JSON text
 * {"runs":[{"start90k","end90k"}],"segments":[{"id","start90k","end90k","bytes"}]}. */
int vg_store_recordings_json(const char *dir, const char *name, int64_t from90k, int64_t to90k,
                             char **out);
/* Segment metadata; *cam_name (caller's buffer, 64 bytes) names its camera.
 * JSON: {"id","start90k","sealed_key","footage_pk","recorder_pk","fragments":[...]}
 * (base64url binary). VG_ENOTFOUND for an unknown or garbage segment. */
int vg_store_segment_json(const char *dir, int64_t segment_id, char cam_name[64], char **out);
/* Opens a segment file by id for reading: *fd (caller closes), *size the
 * bytes readers may see (the committed records, plus the trailer if closed). */
int vg_store_segment_open(const char *dir, int64_t segment_id, char cam_name[64], int *fd,
                          uint64_t *size);

/* Key periods (docs/design/keys.md "Rotation and crypto-shredding"): *in_use
 * = 1 if any segment of camera `name` in the index is sealed to footage key
 * pk (garbage segments excepted), 0 if none. On error *in_use stays 1. */
int vg_store_pk_in_use(const char *dir, const char *name, const uint8_t pk[32], int *in_use);
/* ---- grants (docs/design/grants.md; grantkeys.c) ---- */

/* Pins the owner signing key (Ed25519) of organization `org` (its 16-byte
 * uid) once; VG_EAUTH if another key is already pinned (never replaced). */
int vg_store_trust_pin(vg_store *st, const uint8_t org[16], const uint8_t pk[32]);
/* The pinned key, or VG_ENOTFOUND. */
int vg_store_trust_get(vg_store *st, const uint8_t org[16], uint8_t pk[32]);
/* Adds (or replaces) a verified live grant: the content key of each new
 * segment of the named cameras that starts in [from90k, to90k) is also sealed
 * to grantee_pk (the index's grant_keys), until `expires` (Unix seconds, this
 * machine's clock). */
int vg_store_grant_set(vg_store *st, int64_t grant_id, const char *const *cams, size_t ncams,
                       const uint8_t grantee_pk[32], int64_t from90k, int64_t to90k, int64_t expires);
/* Stops sealing to the grant and deletes its sealed keys from the index. */
void vg_store_grant_drop(vg_store *st, int64_t grant_id);
/* Readers (web): the content key of a segment sealed to a grant (80 bytes),
 * the number of such keys, and a segment's camera name and time span. */
int vg_store_grant_key(const char *dir, int64_t grant_id, int64_t segment_id, uint8_t sealed[80]);
int vg_store_grant_key_count(const char *dir, int64_t grant_id, int64_t *n);
int vg_store_segment_span(const char *dir, int64_t segment_id, char cam_name[64], int64_t *start90k,
                          int64_t *end90k);

#endif
