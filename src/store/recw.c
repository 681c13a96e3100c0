/* SPDX-License-Identifier: Apache-2.0 */
/* Segment writer: one per camera, used from that camera's loop thread.
 * Encrypts each fragment in the caller's buffer and appends it with one
 * write(); queues the index rows for the sync thread.
 *
 * Invariants:
 *  1. The file always ends at a record boundary between calls: a failed or
 *     short write is cut back with ftruncate to the last complete record.
 *  2. w->chain is the hash chain over exactly the records in the file
 *     (w->nrec of them, ending at w->off); the trailer signs that.
 *  3. A segment starts with its init record (seq 0); its first media record
 *     is a key fragment.
 *  4. Per-writer memory is small and fixed: the run's init segment copy and a
 *     few keys/hashes; fragments are encrypted in place.
 *  5. The content key lives only in w->ckey while the segment is open and is
 *     wiped when it closes. */
#include "store/store_int.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INIT_MAX (1u << 20)
#define ENOSPC_LOG_MS 10000

struct vg_recw {
    vg_store *st;          /* NULL once detached by vg_store_close */
    int64_t cam;
    uint8_t uuid[VG_UUID_LEN];
    uint8_t *init;         /* owned: plaintext init segment of the run */
    size_t init_len;
    int in_run;
    int resume;            /* run ended by a write error: next key fragment restarts it */
    int64_t run_id;        /* 0 until the run's first segment exists */
    int fd;                /* open segment file or -1 */
    int64_t seg_id, seg_start90k;
    uint8_t ckey[VG_CKEY_LEN];
    uint8_t hdr_hash[VG_HASH_LEN], chain[VG_HASH_LEN];
    uint32_t nrec;
    uint64_t off;
    uint64_t log_ms;       /* last disk-full log line */
    /* live view (vg_recw_live_*) */
    uint8_t sealed_key[VG_SEALED_KEY_LEN];
    uint8_t *init_env;     /* owned: the open segment's init envelope as written */
    size_t init_env_len;
    uint64_t key_off;      /* offset of the open segment's last key fragment, 0 none */
    uint32_t live_seq;
    int cut;               /* start a new segment at the next key fragment */
};

/* Appends p; on failure cuts the file back to w->off (invariant 1). */
static int write_rec(vg_recw *w, const uint8_t *p, size_t len)
{
    size_t done = 0;
    int err = 0;
    while (done < len) {
        ssize_t n = write(w->fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : ENOSPC;
            break;
        }
        done += (size_t)n;
    }
    if (done == len)
        return 0;
    if (ftruncate(w->fd, (off_t)w->off) != 0 || lseek(w->fd, (off_t)w->off, SEEK_SET) < 0)
        vg_error("store", "segment %" PRId64 ": cannot cut a partial record (%s); recovery will",
                 w->seg_id, strerror(errno));
    errno = err;
    return err == ENOSPC || err == EFBIG || err == EDQUOT ? VG_ENOSPC : VG_EIO;
}

static int push_frag(vg_recw *w, const vg_env_hdr *h, size_t len)
{
    vg_op op = {.kind = VG_OP_FRAG, .segment_id = w->seg_id, .camera_id = w->cam};
    op.u.frag.seq = h->seq;
    op.u.frag.key = (h->flags & (VG_ENV_F_KEY | VG_ENV_F_INIT)) != 0;
    op.u.frag.start90k = h->start90k;
    op.u.frag.dur90k = h->dur90k;
    op.u.frag.offset = w->off;
    op.u.frag.length = len;
    return vg__store_push(w->st, &op);
}

/* Seals, writes and chains one record whose plaintext is at env + VG_ENV_HDR_LEN. */
static int append(vg_recw *w, uint8_t flags, int64_t start90k, uint32_t dur90k, uint8_t *env,
                  size_t plain_len)
{
    vg_env_hdr h = {.flags = flags, .seq = w->nrec, .segment_id = (uint64_t)w->seg_id,
                    .start90k = start90k, .dur90k = dur90k};
    memcpy(h.camera, w->uuid, VG_UUID_LEN);
    size_t env_len = 0;
    int rc = vg_env_seal(w->st->org, w->ckey, &h, env, plain_len, &env_len);
    if (rc == 0)
        rc = write_rec(w, env, env_len);
    if (rc)
        return rc;
    vg_chain_step(w->chain, env, env_len);
    push_frag(w, &h, env_len); /* ENOMEM: the row is lost to the index, recovery re-adds it */
    w->off += env_len;
    w->nrec++;
    return 0;
}

/* Writes the trailer and queues the close; the segment is then done. */
static void seg_close(vg_recw *w)
{
    if (w->fd < 0)
        return;
    uint8_t sig[VG_SIG_LEN], tr[VG_TRAILER_LEN];
    vg_seg_sign(w->st->rec_sk, w->hdr_hash, w->nrec, w->chain, sig);
    vg__trailer_put(tr, w->nrec, w->chain, sig);
    vg_op op = {.kind = VG_OP_SEG_CLOSE, .segment_id = w->seg_id, .camera_id = w->cam};
    if (w->nrec > 0 && write_rec(w, tr, sizeof tr) == 0) {
        op.u.close.signed_ = 1;
        op.u.close.bytes = w->off + sizeof tr;
    } else {
        vg_warn("store", "segment %" PRId64 " left unsigned (%s); the next start seals it",
                w->seg_id, w->nrec ? "trailer write failed" : "empty");
    }
    vg__store_push(w->st, &op);
    close(w->fd);
    w->fd = -1;
    sodium_memzero(w->ckey, sizeof w->ckey);
    free(w->init_env);
    w->init_env = NULL;
    w->init_env_len = 0;
    w->key_off = 0;
}

/* Creates the file with O_EXCL and writes its header. */
static int seg_file(vg_recw *w, const vg_seghdr *h, uint8_t hb[VG_SEGHDR_LEN])
{
    char path[4096];
    if (vg__seg_path(w->st->dir, w->cam, w->seg_id, path, sizeof path) != 0)
        return VG_EINVAL;
    w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (w->fd < 0) {
        vg_error("store", "cannot create %s: %s", path, strerror(errno));
        return errno == ENOSPC || errno == EDQUOT ? VG_ENOSPC : VG_EIO;
    }
    vg__seghdr_put(hb, h);
    w->off = 0;
    int rc = write_rec(w, hb, VG_SEGHDR_LEN);
    if (rc) {
        close(w->fd);
        w->fd = -1;
        unlink(path); /* never indexed: nothing to keep */
    }
    return rc;
}

/* Opens a new segment of the current run starting at start90k. */
static int seg_create(vg_recw *w, int64_t start90k)
{
    vg_seghdr h = {.start90k = start90k};
    uint8_t hb[VG_SEGHDR_LEN];
    int has_pk = 0;
    pthread_mutex_lock(&w->st->mu);
    for (size_t i = 0; i < w->st->ncams; i++)
        if (w->st->cams[i].id == w->cam && w->st->cams[i].has_pk) {
            memcpy(h.footage_pk, w->st->cams[i].footage_pk, VG_PK_LEN);
            has_pk = 1;
        }
    pthread_mutex_unlock(&w->st->mu);
    if (!has_pk)
        return VG_EINVAL;
    w->seg_id = vg__store_next_segment_id(w->st);
    if (!w->run_id)
        w->run_id = w->seg_id;
    h.segment_id = (uint64_t)w->seg_id;
    h.run_id = (uint64_t)w->run_id;
    h.flags = w->run_id == w->seg_id ? VG_SEG_F_RUN_START : 0;
    memcpy(h.camera, w->uuid, VG_UUID_LEN);
    memcpy(h.org, w->st->org, VG_ORG_ID_LEN);
    memcpy(h.recorder_pk, w->st->rec_pk, VG_SIGN_PK_LEN);
    vg_ckey_new(w->ckey);
    int rc = vg_ckey_seal(w->ckey, h.footage_pk, h.sealed_key);
    if (rc == 0)
        rc = seg_file(w, &h, hb);
    if (rc) {
        sodium_memzero(w->ckey, sizeof w->ckey);
        return rc;
    }
    w->off = VG_SEGHDR_LEN;
    w->nrec = 0;
    w->seg_start90k = start90k;
    vg_chain_init(w->chain, hb, sizeof hb);
    memcpy(w->hdr_hash, w->chain, VG_HASH_LEN);

    vg_op op = {.kind = VG_OP_SEG_OPEN, .segment_id = w->seg_id, .camera_id = w->cam};
    op.u.open.fd = dup(w->fd); /* the sync thread fsyncs through its own fd */
    op.u.open.run_id = w->run_id;
    op.u.open.run_start = (h.flags & VG_SEG_F_RUN_START) != 0;
    op.u.open.start90k = start90k;
    memcpy(op.u.open.sealed_key, h.sealed_key, VG_SEALED_KEY_LEN);
    memcpy(op.u.open.footage_pk, h.footage_pk, VG_PK_LEN);
    if (op.u.open.fd < 0 || vg__store_push(w->st, &op) != 0) {
        if (op.u.open.fd >= 0)
            close(op.u.open.fd);
        vg_error("store", "segment %" PRId64 ": cannot queue its index row; the next start"
                 " indexes it", w->seg_id);
    }

    vg__grant_seal(w->st, w->cam, w->seg_id, start90k, w->ckey);

    /* seq 0: the init segment, sealed like any fragment. */
    uint8_t *buf = malloc(VG_ENV_HDR_LEN + w->init_len + VG_ENV_TAG_LEN);
    if (!buf)
        return VG_ENOMEM; /* caller ends the run: seg_close leaves it unsigned, empty */
    memcpy(buf + VG_ENV_HDR_LEN, w->init, w->init_len);
    uint64_t at = w->off;
    rc = append(w, VG_ENV_F_INIT | VG_ENV_F_KEY, start90k, 0, buf, w->init_len);
    memcpy(w->sealed_key, h.sealed_key, VG_SEALED_KEY_LEN);
    free(w->init_env);
    w->init_env = NULL;
    w->init_env_len = 0;
    if (rc == 0) {
        w->init_env = buf; /* now ciphertext: kept for live viewers' SEGMENT record */
        w->init_env_len = (size_t)(w->off - at);
        w->live_seq = 0;
    } else {
        free(buf);
    }
    return rc;
}

static void end_run(vg_recw *w)
{
    seg_close(w);
    w->in_run = 0;
    w->run_id = 0;
}

/* A write failed: end the run; on a full disk ask for space; log rarely.
 * Only ENOSPC/EDQUOT free footage: EFBIG (a file size limit) is not helped
 * by deleting other files. */
static int write_failed(vg_recw *w, int rc)
{
    int err = errno;
    int full = rc == VG_ENOSPC && (err == ENOSPC || err == EDQUOT);
    end_run(w);
    w->resume = 1;
    uint64_t now = vg_mono_ms();
    if (now - w->log_ms >= ENOSPC_LOG_MS || w->log_ms == 0) {
        w->log_ms = now ? now : 1;
        vg_error("store", "camera %" PRId64 ": %s: fragment dropped, run ended; %s", w->cam,
                 rc != VG_ENOSPC ? vg_strerror(rc) : full ? "disk full" : "file size limit",
                 full ? "deleting the oldest footage to make room" : "resuming at the next key fragment");
    }
    if (full)
        vg__store_wake(w->st, 1);
    return rc;
}

int vg_recw_open(vg_store *st, int64_t camera_id, vg_recw **out)
{
    *out = NULL;
    vg_recw *w = calloc(1, sizeof *w);
    if (!w)
        return VG_ENOMEM;
    w->st = st;
    w->cam = camera_id;
    w->fd = -1;
    int rc = VG_ENOTFOUND;
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->ncams; i++)
        if (st->cams[i].id == camera_id) {
            memcpy(w->uuid, st->cams[i].uuid, VG_UUID_LEN);
            rc = 0;
        }
    if (rc == 0) {
        vg_recw **p = realloc(st->writers, (st->nwriters + 1) * sizeof *p);
        if (p) {
            st->writers = p;
            st->writers[st->nwriters++] = w;
        } else {
            rc = VG_ENOMEM;
        }
    }
    pthread_mutex_unlock(&st->mu);
    if (rc) {
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

int vg_recw_start_run(vg_recw *w, const uint8_t *init, size_t init_len)
{
    if (!w || !w->st || !init || init_len == 0)
        return VG_EINVAL;
    if (init_len > INIT_MAX)
        return VG_ETOOBIG;
    uint8_t *copy = malloc(init_len);
    if (!copy)
        return VG_ENOMEM;
    memcpy(copy, init, init_len);
    end_run(w);
    free(w->init);
    w->init = copy;
    w->init_len = init_len;
    w->in_run = 1;
    w->resume = 0;
    return 0;
}

int vg_recw_fragment(vg_recw *w, int64_t start90k, uint32_t dur90k, unsigned flags, uint8_t *frag,
                     size_t len)
{
    int key = (flags & VG_FRAG_KEY) != 0;
    if (!w || !w->st || !frag || len == 0)
        return VG_EINVAL;
    if (!w->in_run && w->resume && key && w->init) {
        w->in_run = 1; /* space may be back: a new run after the gap */
        w->resume = 0;
    }
    if (!w->in_run)
        return w->resume ? VG_ENOSPC : VG_EINVAL;
    int64_t seg_len = (int64_t)w->st->o.segment_seconds * VG_HZ;
    if (w->fd >= 0 && key && (start90k - w->seg_start90k >= seg_len || w->cut))
        seg_close(w);
    if (key)
        w->cut = 0;
    if (w->fd < 0) {
        if (!key)
            return VG_EINVAL; /* a segment (and a run) starts with a key fragment */
        int rc = seg_create(w, start90k);
        if (rc == VG_EINVAL) {
            vg_error("store", "camera %" PRId64 " has no footage public key: not recording", w->cam);
            return rc; /* never write footage nobody can decrypt, nor plaintext */
        }
        if (rc)
            return write_failed(w, rc);
    }
    uint64_t at = w->off;
    int rc = append(w, key ? VG_ENV_F_KEY : 0, start90k, dur90k, frag - VG_ENV_HDR_LEN, len);
    if (rc == 0 && key)
        w->key_off = at;
    if (rc == VG_ETOOBIG)
        return rc; /* nothing written; the run goes on */
    if (rc)
        return write_failed(w, rc);
    return 0;
}

int vg_recw_end_run(vg_recw *w)
{
    if (!w || !w->st)
        return VG_EINVAL;
    end_run(w);
    w->resume = 0;
    return 0;
}

/* ---- live view ---- */

int vg_recw_live_segment(vg_recw *w, vg_recw_live_info *out)
{
    if (!w || !w->st || w->fd < 0 || !w->init_env)
        return VG_ENOTFOUND;
    out->segment_id = (uint64_t)w->seg_id;
    memcpy(out->sealed_key, w->sealed_key, VG_SEALED_KEY_LEN);
    out->init_env = w->init_env;
    out->init_env_len = w->init_env_len;
    return 0;
}

int vg_recw_live_seal(vg_recw *w, int64_t start90k, uint32_t dur90k, int key, uint8_t *plain,
                      size_t len, uint8_t **env, size_t *env_len, uint64_t *segment_id)
{
    if (!w || !w->st || w->fd < 0 || !w->init_env)
        return VG_ENOTFOUND;
    /* Own seq space, flag VG_ENV_LIVE in the AD: a live chunk can never pass
     * for a stored fragment (keys.md invariant 3). */
    vg_env_hdr h = {.flags = (uint8_t)(VG_ENV_LIVE | (key ? VG_ENV_F_KEY : 0)),
                    .seq = ++w->live_seq, .segment_id = (uint64_t)w->seg_id,
                    .start90k = start90k, .dur90k = dur90k};
    memcpy(h.camera, w->uuid, VG_UUID_LEN);
    uint8_t *e = plain - VG_ENV_HDR_LEN;
    int rc = vg_env_seal(w->st->org, w->ckey, &h, e, len, env_len);
    if (rc)
        return rc;
    *env = e;
    *segment_id = (uint64_t)w->seg_id;
    return 0;
}

int vg_recw_live_gop(vg_recw *w, vg_buf *out)
{
    if (!w || !w->st || w->fd < 0 || !w->key_off || w->key_off >= w->off)
        return 0;
    char path[4096];
    if (vg__seg_path(w->st->dir, w->cam, w->seg_id, path, sizeof path) != 0)
        return VG_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return VG_EIO;
    size_t n = (size_t)(w->off - w->key_off);
    int rc = vg_buf_reserve(out, n);
    if (rc == 0) {
        ssize_t got = pread(fd, out->data + out->len, n, (off_t)w->key_off);
        if (got == (ssize_t)n)
            out->len += n;
        else
            rc = VG_EIO;
    }
    close(fd);
    return rc;
}

void vg_recw_cut(vg_recw *w)
{
    if (w)
        w->cut = 1;
}

void vg__recw_detach(vg_recw *w)
{
    vg_store *st = w->st;
    if (!st)
        return;
    end_run(w);
    w->resume = 0;
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->nwriters; i++)
        if (st->writers[i] == w) {
            st->writers[i] = st->writers[--st->nwriters];
            break;
        }
    pthread_mutex_unlock(&st->mu);
    w->st = NULL;
}

void vg_recw_free(vg_recw *w)
{
    if (!w)
        return;
    vg__recw_detach(w);
    if (w->init) {
        sodium_memzero(w->init, w->init_len);
        free(w->init);
    }
    sodium_memzero(w, sizeof *w);
    free(w);
}
