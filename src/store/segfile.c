/* SPDX-License-Identifier: Apache-2.0 */
/* Segment file format: header encode/parse and the structural scanner used
 * by recovery, fsck, reads and the fuzzer (docs/design/storage.md).
 *
 * Invariants:
 *  1. The scanner trusts no length: every record is bounded by VG_ENV_MAX_CT
 *     and read through a vg_buf with that maximum.
 *  2. Record i is complete only if all of its bytes are present and its
 *     header says seq == i, this segment id, this camera, and the init flag
 *     exactly when i == 0. The chain covers complete records only.
 *  3. A trailer counts only if its record count and chain head equal what the
 *     scan computed; the caller checks the signature. */
#include "store/store_int.h"
#include "core/err.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static const uint8_t seg_magic[8] = {'V', 'I', 'G', 'I', 'L', 'S', 'E', 'G'};
static const uint8_t trl_magic[4] = {'V', 'G', 'T', 1};

void vg__seghdr_put(uint8_t p[VG_SEGHDR_LEN], const vg_seghdr *h)
{
    memcpy(p, seg_magic, 8);
    vg_wr16(p + 8, 1);
    vg_wr16(p + 10, VG_SEGHDR_LEN);
    vg_wr32(p + 12, h->flags);
    vg_wr64(p + 16, h->segment_id);
    vg_wr64(p + 24, h->run_id);
    memcpy(p + 32, h->camera, VG_UUID_LEN);
    memcpy(p + 48, h->org, VG_ORG_ID_LEN);
    memcpy(p + 64, h->recorder_pk, VG_SIGN_PK_LEN);
    vg_wr64(p + 96, (uint64_t)h->start90k);
    memcpy(p + 104, h->sealed_key, VG_SEALED_KEY_LEN);
    memcpy(p + 184, h->footage_pk, VG_PK_LEN);
}

int vg__seghdr_parse(const uint8_t *p, size_t n, vg_seghdr *h)
{
    if (n < VG_SEGHDR_LEN || memcmp(p, seg_magic, 8) != 0 || vg_rd16(p + 8) != 1 ||
        vg_rd16(p + 10) != VG_SEGHDR_LEN)
        return VG_EINVAL;
    h->flags = vg_rd32(p + 12);
    if (h->flags & ~VG_SEG_F_RUN_START)
        return VG_EINVAL;
    h->segment_id = vg_rd64(p + 16);
    h->run_id = vg_rd64(p + 24);
    if (h->segment_id == 0 || h->segment_id > INT64_MAX || h->run_id == 0 || h->run_id > INT64_MAX)
        return VG_EINVAL;
    memcpy(h->camera, p + 32, VG_UUID_LEN);
    memcpy(h->org, p + 48, VG_ORG_ID_LEN);
    memcpy(h->recorder_pk, p + 64, VG_SIGN_PK_LEN);
    h->start90k = (int64_t)vg_rd64(p + 96);
    memcpy(h->sealed_key, p + 104, VG_SEALED_KEY_LEN);
    memcpy(h->footage_pk, p + 184, VG_PK_LEN);
    return 0;
}

void vg__trailer_put(uint8_t p[VG_TRAILER_LEN], uint32_t nrec, const uint8_t head[VG_HASH_LEN],
                     const uint8_t sig[VG_SIG_LEN])
{
    memcpy(p, trl_magic, 4);
    vg_wr32(p + 4, nrec);
    memcpy(p + 8, head, VG_HASH_LEN);
    memcpy(p + 40, sig, VG_SIG_LEN);
}

int vg__seg_read_fd(void *ctx, uint64_t off, uint8_t *p, size_t n)
{
    int fd = *(int *)ctx;
    size_t got = 0;
    if (n > INT32_MAX)
        return VG_EINVAL;
    while (got < n) {
        ssize_t r = pread(fd, p + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return VG_EIO;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (int)got;
}

/* Is the record header h a valid next record of the scan? */
static int rec_fits(const vg_segscan *s, const vg_env_hdr *h)
{
    int init = (h->flags & VG_ENV_F_INIT) != 0;
    return h->seq == s->nrec && h->segment_id == s->hdr.segment_id &&
           memcmp(h->camera, s->hdr.camera, VG_UUID_LEN) == 0 && init == (s->nrec == 0);
}

/* Handles a trailer candidate at off (small holds n >= 4 bytes). */
static void scan_trailer(vg_seg_read_fn rd, void *ctx, vg_segscan *s, uint64_t off,
                         const uint8_t *small, int n)
{
    uint8_t extra;
    if (n < VG_TRAILER_LEN) {
        s->end = VG_SCAN_TORN;
        return;
    }
    if (vg_rd32(small + 4) != s->nrec || memcmp(small + 8, s->chain, VG_HASH_LEN) != 0) {
        s->end = VG_SCAN_BAD;
        return;
    }
    memcpy(s->sig, small + 40, VG_SIG_LEN);
    s->end = VG_SCAN_TRAILER;
    s->file_end = off + VG_TRAILER_LEN;
    if (rd(ctx, s->file_end, &extra, 1) == 1)
        s->file_end++; /* bytes after the trailer: fsck reports, repair trims */
}

/* Reads the record at off; returns 1 to continue, 0 when the scan ended, <0 on error. */
static int scan_one(vg_seg_read_fn rd, void *ctx, vg_seg_rec_fn rec, void *arg, vg_segscan *s,
                    vg_buf *b)
{
    uint8_t small[VG_TRAILER_LEN];
    uint64_t off = s->good_end;
    int n = rd(ctx, off, small, sizeof small);
    if (n < 0)
        return n;
    s->file_end = off + (uint64_t)n;
    if (n == 0) {
        s->end = VG_SCAN_EOF;
        return 0;
    }
    if (n >= 4 && memcmp(small, trl_magic, 4) == 0) {
        scan_trailer(rd, ctx, s, off, small, n);
        return 0;
    }
    vg_env_hdr h;
    size_t len = 0;
    int rc = vg_env_parse(small, (size_t)n, &h, &len);
    if (rc == VG_EAGAIN || (rc == 0 && !rec_fits(s, &h)) || rc) {
        s->end = rc == VG_EAGAIN ? VG_SCAN_TORN : VG_SCAN_BAD;
        return 0;
    }
    vg_buf_reset(b);
    if (vg_buf_reserve(b, len) != 0)
        return VG_ENOMEM;
    n = rd(ctx, off, b->data, len);
    if (n < 0)
        return n;
    if ((size_t)n < len) {
        s->file_end = off + (uint64_t)n;
        s->end = VG_SCAN_TORN;
        return 0;
    }
    vg_chain_step(s->chain, b->data, len);
    if (rec && (rc = rec(arg, &h, off, len)) != 0)
        return rc;
    if (h.seq > 0) {
        int64_t e = h.start90k + (int64_t)h.dur90k;
        if (s->nrec == 1 || e > s->end90k)
            s->end90k = e;
        s->key_frags += (h.flags & VG_ENV_F_KEY) ? 1 : 0;
    }
    s->nrec++;
    s->good_end = off + len;
    s->file_end = s->good_end;
    return s->nrec == UINT32_MAX ? 0 : 1;
}

int vg__seg_scan(vg_seg_read_fn rd, void *ctx, vg_seg_rec_fn rec, void *arg, vg_segscan *s)
{
    uint8_t hb[VG_SEGHDR_LEN];
    memset(s, 0, sizeof *s);
    int n = rd(ctx, 0, hb, sizeof hb);
    if (n < 0)
        return n;
    if (vg__seghdr_parse(hb, (size_t)n, &s->hdr) != 0)
        return VG_EINVAL;
    vg_chain_init(s->chain, hb, sizeof hb);
    memcpy(s->hdr_hash, s->chain, VG_HASH_LEN);
    s->good_end = s->file_end = VG_SEGHDR_LEN;
    s->end90k = s->hdr.start90k;
    vg_buf b;
    vg_buf_init(&b, VG_ENV_HDR_LEN + (size_t)VG_ENV_MAX_CT);
    int rc;
    while ((rc = scan_one(rd, ctx, rec, arg, s, &b)) == 1)
        ;
    vg_buf_free(&b);
    return rc < 0 ? rc : 0;
}
