/* SPDX-License-Identifier: Apache-2.0 */
/* Footage store internals: segment file format, structural scanner, the
 * writer->sync-thread queue and the index helpers (docs/design/storage.md). */
#ifndef VG_STORE_INT_H
#define VG_STORE_INT_H

#include "core/buf.h"
#include "crypt/crypt.h"
#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

/* ---- segment file: header, then records (envelopes), then a trailer ----
 * Header, big-endian, VG_SEGHDR_LEN bytes:
 *    0 magic "VIGILSEG"   8 version u16 (1)   10 header length u16 (216)
 *   12 flags u32 (bit 0: first segment of a run)  16 segment id u64
 *   24 run id u64         32 camera uuid[16]  48 org id[16]
 *   64 recorder Ed25519 pk[32]                96 start90k i64
 *  104 sealed content key[80]                184 camera footage pk[32]
 * Trailer record, VG_TRAILER_LEN bytes:
 *    0 magic "VGT" 1   4 record count u32   8 chain head[32]   40 signature[64] */
#define VG_SEGHDR_LEN 216
#define VG_TRAILER_LEN 104
#define VG_SEG_F_RUN_START 1u
_Static_assert(VG_ENV_HDR_LEN <= VG_RECW_HEADROOM, "envelope header fits the headroom");
_Static_assert(VG_ENV_TAG_LEN <= VG_RECW_TAILROOM, "tag fits the tailroom");

typedef struct vg_seghdr {
    uint32_t flags;
    uint64_t segment_id;
    uint64_t run_id;
    uint8_t camera[VG_UUID_LEN];
    uint8_t org[VG_ORG_ID_LEN];
    uint8_t recorder_pk[VG_SIGN_PK_LEN];
    int64_t start90k;
    uint8_t sealed_key[VG_SEALED_KEY_LEN];
    uint8_t footage_pk[VG_PK_LEN];
} vg_seghdr;

void vg__seghdr_put(uint8_t p[VG_SEGHDR_LEN], const vg_seghdr *h);
int vg__seghdr_parse(const uint8_t *p, size_t n, vg_seghdr *h);
void vg__trailer_put(uint8_t p[VG_TRAILER_LEN], uint32_t nrec, const uint8_t head[VG_HASH_LEN],
                     const uint8_t sig[VG_SIG_LEN]);

/* Structural scan of a segment file (no content key needed). */
typedef int (*vg_seg_read_fn)(void *ctx, uint64_t off, uint8_t *p, size_t n); /* bytes read or <0 */
typedef int (*vg_seg_rec_fn)(void *arg, const vg_env_hdr *h, uint64_t off, size_t len);

enum vg_scan_end {
    VG_SCAN_EOF = 0,     /* the file ends right after the last complete record */
    VG_SCAN_TRAILER,     /* a trailer with matching count and chain head ends it */
    VG_SCAN_TORN,        /* an incomplete record at the end */
    VG_SCAN_BAD,         /* a record that is not a valid next record */
};

typedef struct vg_segscan {
    vg_seghdr hdr;
    uint8_t hdr_hash[VG_HASH_LEN];
    uint8_t chain[VG_HASH_LEN];  /* chain head over the complete records */
    uint32_t nrec;               /* complete envelope records (init = seq 0) */
    uint64_t good_end;           /* offset after the last complete envelope */
    uint64_t file_end;           /* bytes the reader could see */
    int end;                     /* enum vg_scan_end */
    uint8_t sig[VG_SIG_LEN];     /* valid when end == VG_SCAN_TRAILER */
    int64_t end90k;              /* max start+dur over media records */
    uint32_t key_frags;
} vg_segscan;

/* Scans from the header; calls rec (may be NULL) for each complete record.
 * VG_EINVAL if the header is missing or malformed; otherwise 0 with s->end
 * saying how it stopped. A negative return of rec stops and is returned. */
int vg__seg_scan(vg_seg_read_fn rd, void *ctx, vg_seg_rec_fn rec, void *arg, vg_segscan *s);
/* pread-backed reader for vg__seg_scan; ctx is a pointer to the int fd. */
int vg__seg_read_fd(void *ctx, uint64_t off, uint8_t *p, size_t n);

/* ---- the writer -> sync thread queue ---- */
enum vg_op_kind { VG_OP_SEG_OPEN = 1, VG_OP_FRAG, VG_OP_SEG_CLOSE, VG_OP_GRANT_KEY, VG_OP_GRANT_DROP };
typedef struct vg_op {
    int kind;
    int64_t segment_id;
    int64_t camera_id;
    union {
        struct {
            int fd;               /* dup owned by the sync thread from now on */
            int64_t run_id;
            int run_start;
            int64_t start90k;
            uint8_t sealed_key[VG_SEALED_KEY_LEN];
            uint8_t footage_pk[VG_PK_LEN];
        } open;
        struct {
            uint32_t seq;
            int key;
            int64_t start90k;
            uint32_t dur90k;
            uint64_t offset, length;
        } frag;
        struct {
            int signed_;          /* trailer written: status closed */
            uint64_t bytes;
        } close;
        struct {                  /* grantkeys.c */
            int64_t grant_id;
            uint8_t sealed_key[VG_SEALED_KEY_LEN];
        } grant;
    } u;
} vg_op;

/* A verified live grant (grantkeys.c, docs/design/grants.md). */
#define VG_GRANT_MAX_CAMS 16
#define VG_STORE_MAX_GRANTS 64
typedef struct vg_sgrant {
    int64_t grant_id;
    int64_t expires;          /* Unix seconds, checked against this machine's clock */
    int64_t from90k, to90k;   /* segments starting in [from, to) are sealed */
    int64_t cams[VG_GRANT_MAX_CAMS];
    size_t ncams;
    uint8_t pk[32];           /* the grantee's X25519 public key */
} vg_sgrant;

typedef struct vg_cam {
    int64_t id;
    uint8_t uuid[VG_UUID_LEN];
    uint8_t footage_pk[VG_PK_LEN];
    int has_pk;
    int64_t retain_seconds;
    uint64_t retain_bytes;
    char state[16];
    char detail[128];
    int state_dirty;
} vg_cam;

/* Sync thread's table of open segment files (dups of the writers' fds). */
typedef struct vg_syncfd {
    int64_t segment_id;
    int64_t camera_id;
    int fd;
    int dirty;        /* written since the last fsync */
    int new_file;     /* directory entry not yet fsynced */
    int failed;       /* fsync failed: rows dropped; recovery re-indexes at next open */
    int closing;
} vg_syncfd;

struct vg_store {
    char *dir;
    vg_store_opts o;
    int lock_fd;
    uint8_t org[VG_ORG_ID_LEN];
    uint8_t rec_pk[VG_SIGN_PK_LEN];
    uint8_t rec_sk[VG_SIGN_SK_LEN];

    pthread_mutex_t dbmu;     /* guards db (sync thread, vg_store_camera) */
    sqlite3 *db;

    pthread_mutex_t mu;       /* guards everything below */
    pthread_cond_t cv;
    vg_op *ops;
    size_t nops, capops;
    vg_cam *cams;
    size_t ncams;
    vg_recw **writers;
    size_t nwriters;
    int64_t next_segment_id;
    vg_sgrant grants[VG_STORE_MAX_GRANTS];   /* live grants (grantkeys.c) */
    size_t ngrants;
    int stop;
    int emergency;            /* a writer hit ENOSPC: free space now */
    int reserve;              /* the index's reserve file exists (store.c; sync thread) */
    int kick;                 /* run a round now (vg__store_flush) */
    uint64_t rounds_started, rounds_done;
    pthread_cond_t donecv;    /* signalled after each round */
    int have_thread;
    pthread_t thread;

    /* sync thread only */
    vg_syncfd *sfds;
    size_t nsfds;
    uint64_t last_touch_ms;
};

/* store.c */
int vg__store_push(vg_store *st, const vg_op *op);
int64_t vg__store_next_segment_id(vg_store *st);
void vg__store_wake(vg_store *st, int emergency);
/* Waits until a sync round that started after this call has finished: every
 * row queued before the call is then committed (tests, fsck, shutdown). */
void vg__store_flush(vg_store *st);
int vg__cam_dir(const char *dir, int64_t camera_id, char *out, size_t outsz);
int vg__seg_path(const char *dir, int64_t camera_id, int64_t segment_id, char *out, size_t outsz);
int vg__fsync_dir(const char *path);
/* recw.c: called by vg_store_close with st->mu NOT held. */
void vg__recw_detach(vg_recw *w);

/* grantkeys.c: seals a new segment's content key to every live grant
 * covering the camera (queues VG_OP_GRANT_KEY rows); drops expired grants. */
void vg__grant_seal(vg_store *st, int64_t camera_id, int64_t segment_id, int64_t start90k, const uint8_t ckey[32]);

/* index.c */
int vg__db_open(const char *dir, int readonly, sqlite3 **out);
int vg__db_schema(sqlite3 *db);
int vg__db_exec(sqlite3 *db, const char *sql);
int vg__db_meta(sqlite3 *db, uint8_t org[VG_ORG_ID_LEN], uint8_t rec_pk[VG_SIGN_PK_LEN]);
int vg__db_apply_op(sqlite3 *db, const vg_op *op);
int vg__db_cam_uuid(sqlite3 *db, int64_t cam, uint8_t uuid[VG_UUID_LEN]);

/* recover.c: shared by vg_store_open and vg_store_fsck --repair. */
typedef struct vg_recover_ctx {
    const char *dir;
    sqlite3 *db;
    const uint8_t *org;
    const uint8_t *rec_pk;
    const uint8_t *rec_sk;
    int64_t max_segment_id;   /* out: largest segment id seen on disk or in the index */
    int problems;             /* out: things that could not be fixed */
} vg_recover_ctx;
int vg__recover(vg_recover_ctx *c);
/* read.c: shared with fsck.c */
typedef struct frag_row {
    uint32_t seq;
    int64_t start90k;
    uint32_t dur90k;
    uint64_t offset, length;
    int key;
} frag_row;
typedef struct seg_check {
    const uint8_t *org, *rec_pk, *cam_uuid;
    int64_t seg_id;
    int closed;     /* require a valid trailer and signature */
} seg_check;
int vg__load_rows(sqlite3 *db, int64_t seg, frag_row **rows, size_t *n);
/* Scans fd, checks header, chain, signature (if closed) and that every row
 * names a scanned record. 0, VG_ECRYPTO (logged), or another error. */
int vg__verify_segment(int fd, const seg_check *k, const frag_row *rows, size_t nrows,
                       vg_segscan *sc, const char *what);

int vg__delete_segment(const char *dir, sqlite3 *db, int64_t camera_id, int64_t segment_id);

#endif
