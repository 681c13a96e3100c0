/* SPDX-License-Identifier: Apache-2.0 */
/* Footage cryptography: envelopes, content keys, key files, signatures. */
#include "core/buf.h"
#include "core/err.h"
#include "crypt/crypt.h"
#include "vg_test.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t org[VG_ORG_ID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static size_t make_env(uint8_t *buf, const uint8_t key[32], const char *msg, vg_env_hdr *h)
{
    size_t len = strlen(msg), env_len = 0;
    memcpy(buf + VG_ENV_HDR_LEN, msg, len);
    *h = (vg_env_hdr){.flags = VG_ENV_F_KEY, .seq = 7, .segment_id = 42, .start90k = 123456789,
                      .dur90k = 90000};
    memset(h->camera, 0xab, sizeof h->camera);
    CHECK_EQ(vg_env_seal(org, key, h, buf, len, &env_len), 0);
    CHECK_EQ(env_len, VG_ENV_HDR_LEN + len + VG_ENV_TAG_LEN);
    return env_len;
}

static void t_envelope_roundtrip(void)
{
    uint8_t key[32], buf[256];
    vg_env_hdr h, g;
    uint8_t *plain;
    size_t plain_len;
    vg_ckey_new(key);
    size_t n = make_env(buf, key, "fragment bytes", &h);
    CHECK(memcmp(buf + VG_ENV_HDR_LEN, "fragment", 8) != 0); /* encrypted in place */
    CHECK_EQ(vg_env_open(org, key, buf, n, &g, &plain, &plain_len), 0);
    CHECK_EQ(plain_len, 14);
    CHECK_MEM(plain, "fragment bytes", 14);
    CHECK_EQ(g.seq, 7);
    CHECK_EQ(g.segment_id, 42);
    CHECK_EQ(g.start90k, 123456789);
    CHECK_EQ(g.dur90k, 90000);
    CHECK_EQ(g.flags, VG_ENV_F_KEY);
    CHECK_MEM(g.nonce, h.nonce, 24);
}

static void t_envelope_tamper_every_byte(void)
{
    uint8_t key[32], orig[256], buf[256];
    vg_env_hdr h;
    uint8_t *plain;
    size_t plain_len;
    vg_ckey_new(key);
    size_t n = make_env(orig, key, "0123456789abcdef", &h);
    for (size_t i = 0; i < n; i++) {
        memcpy(buf, orig, n);
        buf[i] ^= 0x01;
        int rc = vg_env_open(org, key, buf, n, &h, &plain, &plain_len);
        /* magic, reserved bytes and length are structural (EINVAL); all else is the tag */
        int structural = i < 4 || (i >= 5 && i < 8) || (i >= 72 && i < 76) || i == 4;
        if (structural)
            CHECK(rc == VG_EINVAL || rc == VG_ECRYPTO);
        else
            CHECK_EQ(rc, VG_ECRYPTO);
    }
    /* flags bit 1 (init) is a valid structural flag: must fail on the tag */
    memcpy(buf, orig, n);
    buf[4] ^= VG_ENV_F_INIT;
    CHECK_EQ(vg_env_open(org, key, buf, n, &h, &plain, &plain_len), VG_ECRYPTO);
    /* AD: another organization */
    uint8_t org2[VG_ORG_ID_LEN];
    memcpy(org2, org, sizeof org2);
    org2[15] ^= 0x80;
    memcpy(buf, orig, n);
    CHECK_EQ(vg_env_open(org2, key, buf, n, &h, &plain, &plain_len), VG_ECRYPTO);
    /* wrong key */
    uint8_t key2[32];
    vg_ckey_new(key2);
    memcpy(buf, orig, n);
    CHECK_EQ(vg_env_open(org, key2, buf, n, &h, &plain, &plain_len), VG_ECRYPTO);
    /* truncated / extended */
    memcpy(buf, orig, n);
    CHECK_EQ(vg_env_open(org, key, buf, n - 1, &h, &plain, &plain_len), VG_EINVAL);
    CHECK_EQ(vg_env_open(org, key, buf, 10, &h, &plain, &plain_len), VG_EINVAL);
    /* the original still opens */
    memcpy(buf, orig, n);
    CHECK_EQ(vg_env_open(org, key, buf, n, &h, &plain, &plain_len), 0);
}

static void t_envelope_parse_bounds(void)
{
    uint8_t b[VG_ENV_HDR_LEN] = {'V', 'G', 'E', 1};
    vg_env_hdr h;
    size_t rl;
    CHECK_EQ(vg_env_parse(b, 10, &h, &rl), VG_EAGAIN);
    vg_wr32(b + 72, 15); /* shorter than a tag */
    CHECK_EQ(vg_env_parse(b, sizeof b, &h, &rl), VG_EINVAL);
    vg_wr32(b + 72, VG_ENV_MAX_CT + 1);
    CHECK_EQ(vg_env_parse(b, sizeof b, &h, &rl), VG_EINVAL);
    vg_wr32(b + 72, 16);
    CHECK_EQ(vg_env_parse(b, sizeof b, &h, &rl), 0);
    CHECK_EQ(rl, VG_ENV_HDR_LEN + 16);
    b[4] = 0x80; /* unknown flag */
    CHECK_EQ(vg_env_parse(b, sizeof b, &h, &rl), VG_EINVAL);
    uint8_t key[32], big[8];
    size_t el;
    vg_ckey_new(key);
    vg_env_hdr hh = {0};
    CHECK_EQ(vg_env_seal(org, key, &hh, big, (size_t)VG_ENV_MAX_CT, &el), VG_ETOOBIG);
}

static void t_content_key_seal(void)
{
    uint8_t pk[32], sk[32], pk2[32], sk2[32], k[32], sealed[VG_SEALED_KEY_LEN], out[32];
    CHECK_EQ(vg_footage_keypair(pk, sk), 0);
    CHECK_EQ(vg_footage_keypair(pk2, sk2), 0);
    vg_ckey_new(k);
    CHECK_EQ(vg_ckey_seal(k, pk, sealed), 0);
    CHECK_EQ(vg_ckey_open(sealed, pk, sk, out), 0);
    CHECK_MEM(out, k, 32);
    CHECK_EQ(vg_ckey_open(sealed, pk2, sk2, out), VG_ECRYPTO);
    sealed[50] ^= 1;
    CHECK_EQ(vg_ckey_open(sealed, pk, sk, out), VG_ECRYPTO);
}

static char tmpdir[64];

static void path_in(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static void write_file(const char *p, const char *content, mode_t mode)
{
    unlink(p);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, mode);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, content, strlen(content)), (long long)strlen(content));
    close(fd);
    chmod(p, mode);
}

static void t_key_files(void)
{
    uint8_t pk[32], sk[32], pk2[32], sk2[32];
    char p[128], pp[128];
    struct stat sb;
    path_in(p, sizeof p, "cam.key");
    path_in(pp, sizeof pp, "cam.key.pub");
    CHECK_EQ(vg_footage_keypair(pk, sk), 0);
    CHECK_EQ(vg_key_write_secret(p, pk, sk), 0);
    CHECK_EQ(stat(p, &sb), 0);
    CHECK_EQ(sb.st_mode & 0777, 0600);
    CHECK_EQ(vg_key_write_public(pp, pk), 0);
    CHECK_EQ(vg_key_read_secret(p, pk2, sk2), 0);
    CHECK_MEM(pk2, pk, 32);
    CHECK_MEM(sk2, sk, 32);
    memset(pk2, 0, 32);
    CHECK_EQ(vg_key_read_public(pp, pk2), 0);
    CHECK_MEM(pk2, pk, 32);
    /* O_EXCL: never overwritten */
    uint8_t opk[32], osk[32];
    CHECK_EQ(vg_footage_keypair(opk, osk), 0);
    CHECK(vg_key_write_secret(p, opk, osk) != 0);
    CHECK_EQ(vg_key_read_secret(p, pk2, sk2), 0);
    CHECK_MEM(sk2, sk, 32);
    /* secret readable by others: refused */
    chmod(p, 0644);
    CHECK_EQ(vg_key_read_secret(p, pk2, sk2), VG_EINVAL);
    chmod(p, 0600);
    /* public key file is not a secret key file and vice versa */
    CHECK_EQ(vg_key_read_secret(pp, pk2, sk2), VG_EINVAL);
    CHECK_EQ(vg_key_read_public(p, pk2), VG_EINVAL);
    CHECK_EQ(vg_key_read_public("/nonexistent/x.pub", pk2), VG_ENOTFOUND);
}

static void t_key_files_malformed(void)
{
    uint8_t pk[32], sk[32], opk[32], osk[32];
    char p[128], good[256], bad[300], b1[64], b2[64], b3[64];
    path_in(p, sizeof p, "m.key");
    CHECK_EQ(vg_footage_keypair(pk, sk), 0);
    CHECK_EQ(vg_footage_keypair(opk, osk), 0);
    sodium_bin2base64(b1, sizeof b1, sk, 32, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(b2, sizeof b2, pk, 32, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(b3, sizeof b3, opk, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(good, sizeof good, "vigil-footage-secret-v1 %s %s\n", b1, b2);
    write_file(p, good, 0600);
    CHECK_EQ(vg_key_read_secret(p, pk, sk), 0);
    const char *pre[] = {"vigil-footage-secret-v1 ", "vigil-footage-secret-v1 ",
                         "vigil-footage-secret-v2 ", "vigil-footage-secret-v1  ",
                         "vigil-footage-secret-v1 ", " vigil-footage-secret-v1 ",
                         "vigil-footage-secret-v1 "};
    const char *mid[] = {" ", " ", " ", " ", "\t", " ", " "};
    const char *end[] = {"", "\n\n", "\n", "\n", "\n", "\n", " \n"};
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
        snprintf(bad, sizeof bad, "%s%s%s%s%s", pre[i], b1, mid[i], b2, end[i]);
        write_file(p, bad, 0600);
        CHECK_EQ(vg_key_read_secret(p, pk, sk), VG_EINVAL);
    }
    snprintf(bad, sizeof bad, "vigil-footage-secret-v1 %s %s\n", b1, b3); /* halves mismatch */
    write_file(p, bad, 0600);
    CHECK_EQ(vg_key_read_secret(p, pk, sk), VG_EINVAL);
    snprintf(bad, sizeof bad, "vigil-footage-secret-v1 %s %s\n", b1, b2);
    bad[30] = '*'; /* not base64 */
    write_file(p, bad, 0600);
    CHECK_EQ(vg_key_read_secret(p, pk, sk), VG_EINVAL);
    write_file(p, "", 0600);
    CHECK_EQ(vg_key_read_secret(p, pk, sk), VG_EINVAL);
    char huge[600];
    memset(huge, 'A', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    write_file(p, huge, 0600);
    CHECK_EQ(vg_key_read_secret(p, pk, sk), VG_EINVAL);
    snprintf(bad, sizeof bad, "vigil-footage-public-v1 %s\n", b2);
    bad[strlen(bad) - 2] = 'B'; /* non-canonical padding bits */
    write_file(p, bad, 0644);
    CHECK_EQ(vg_key_read_public(p, pk), VG_EINVAL);
}

static void t_fingerprint(void)
{
    uint8_t pk[32] = {0}, pk2[32] = {1};
    char a[64], b[64], c[64];
    vg_key_fingerprint(pk, a, sizeof a);
    vg_key_fingerprint(pk, b, sizeof b);
    vg_key_fingerprint(pk2, c, sizeof c);
    CHECK(strlen(a) >= 32);
    CHECK(strcmp(a, b) == 0);
    CHECK(strcmp(a, c) != 0);
}

static void t_signkey_and_chain(void)
{
    char p[128];
    uint8_t pk[32], sk[64], pk2[32], sk2[64], hh[32], head[32], sig[64];
    path_in(p, sizeof p, "recorder.key");
    CHECK_EQ(vg_signkey_load(p, 0, pk, sk), VG_ENOTFOUND);
    CHECK_EQ(vg_signkey_load(p, 1, pk, sk), 0);
    CHECK_EQ(vg_signkey_load(p, 0, pk2, sk2), 0);
    CHECK_MEM(pk, pk2, 32);
    CHECK_MEM(sk, sk2, 64);
    struct stat sb;
    CHECK_EQ(stat(p, &sb), 0);
    CHECK_EQ(sb.st_mode & 0777, 0600);
    vg_chain_init(hh, (const uint8_t *)"header", 6);
    memcpy(head, hh, 32);
    vg_chain_step(head, (const uint8_t *)"rec1", 4);
    vg_seg_sign(sk, hh, 1, head, sig);
    CHECK_EQ(vg_seg_verify(pk, hh, 1, head, sig), 0);
    CHECK_EQ(vg_seg_verify(pk, hh, 2, head, sig), VG_ECRYPTO);
    head[0] ^= 1;
    CHECK_EQ(vg_seg_verify(pk, hh, 1, head, sig), VG_ECRYPTO);
    head[0] ^= 1;
    sig[10] ^= 1;
    CHECK_EQ(vg_seg_verify(pk, hh, 1, head, sig), VG_ECRYPTO);
    /* chain order matters */
    uint8_t a[32], b[32];
    memcpy(a, hh, 32);
    memcpy(b, hh, 32);
    vg_chain_step(a, (const uint8_t *)"x", 1);
    vg_chain_step(a, (const uint8_t *)"y", 1);
    vg_chain_step(b, (const uint8_t *)"y", 1);
    vg_chain_step(b, (const uint8_t *)"x", 1);
    CHECK(memcmp(a, b, 32) != 0);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vg_crypt_XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    RUN(t_envelope_roundtrip);
    RUN(t_envelope_tamper_every_byte);
    RUN(t_envelope_parse_bounds);
    RUN(t_content_key_seal);
    RUN(t_key_files);
    RUN(t_key_files_malformed);
    RUN(t_fingerprint);
    RUN(t_signkey_and_chain);
    char cmd[128];
    const char *names[] = {"cam.key", "cam.key.pub", "m.key", "recorder.key"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(cmd, sizeof cmd, "%s/%s", tmpdir, names[i]);
        unlink(cmd);
    }
    rmdir(tmpdir);
    return vg_test_done();
}
