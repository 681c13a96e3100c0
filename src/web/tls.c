/* SPDX-License-Identifier: Apache-2.0 */
/* TLS material for the web server: a configured certificate, or a
 * self-signed one made at first start in DATA/tls/ (ECDSA P-256, SAN
 * localhost, 127.0.0.1, ::1 and the listen address). The key file is created
 * 0600 with O_EXCL and never overwritten. */
#include "web/web_int.h"
#include "core/err.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PEM_MAX (64 * 1024)

static int read_text(const char *path, char **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? VG_ENOTFOUND : VG_EIO;
    char *p = calloc(1, PEM_MAX + 1);
    size_t n = 0;
    ssize_t r;
    int rc = 0;
    if (!p) { close(fd); return VG_ENOMEM; }
    while ((r = read(fd, p + n, PEM_MAX - n)) > 0) n += (size_t)r;
    if (r < 0 || n == 0 || n == PEM_MAX) rc = r < 0 ? VG_EIO : VG_EINVAL;
    close(fd);
    if (rc) { free(p); return rc; }
    *out = p;
    return 0;
}

static int write_new(const char *path, const gnutls_datum_t *d, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return VG_EIO;
    int rc = write(fd, d->data, d->size) == (ssize_t)d->size && fsync(fd) == 0 ? 0 : VG_EIO;
    close(fd);
    return rc;
}

static void add_ip_san(gnutls_x509_crt_t crt, const char *host)
{
    uint8_t a[16];
    if (inet_pton(AF_INET, host, a) == 1)
        gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, a, 4, GNUTLS_FSAN_APPEND);
    else if (inet_pton(AF_INET6, host, a) == 1)
        gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, a, 16, GNUTLS_FSAN_APPEND);
}

static int make_cert(gnutls_x509_privkey_t key, gnutls_x509_crt_t crt, const char *listen_host)
{
    uint8_t serial[16];
    time_t now = time(NULL);
    gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
    serial[0] &= 0x7f;
    if (gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
        gnutls_x509_crt_set_version(crt, 3) < 0 ||
        gnutls_x509_crt_set_serial(crt, serial, sizeof serial) < 0 ||
        gnutls_x509_crt_set_activation_time(crt, now - 3600) < 0 ||
        /* 397 days: the longest lifetime browsers accept for server certs. */
        gnutls_x509_crt_set_expiration_time(crt, now + 397 * 86400) < 0 ||
        gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "vigil", 5) < 0 ||
        gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9, GNUTLS_FSAN_APPEND) < 0 ||
        gnutls_x509_crt_set_key(crt, key) < 0 ||
        gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
        gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
        gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0) < 0)
        return VG_EIO;
    add_ip_san(crt, "127.0.0.1");
    add_ip_san(crt, "::1");
    if (listen_host && *listen_host && strcmp(listen_host, "127.0.0.1") && strcmp(listen_host, "::1"))
        add_ip_san(crt, listen_host);
    return gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0 ? VG_EIO : 0;
}

static int generate(const char *dir, const char *listen_host)
{
    char kp[1100], cp[1100];
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t kd = {0}, cd = {0};
    int rc = VG_EIO;
    snprintf(kp, sizeof kp, "%s/key.pem", dir);
    snprintf(cp, sizeof cp, "%s/cert.pem", dir);
    if (gnutls_x509_privkey_init(&key) < 0 || gnutls_x509_crt_init(&crt) < 0) goto out;
    if ((rc = make_cert(key, crt, listen_host))) goto out;
    rc = VG_EIO;
    if (gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kd) < 0 ||
        gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cd) < 0)
        goto out;
    if ((rc = write_new(kp, &kd, 0600)) || (rc = write_new(cp, &cd, 0644))) goto out;
    vg_info("web", "made a self-signed certificate in %s", dir);
out:
    if (kd.data) { gnutls_memset(kd.data, 0, kd.size); gnutls_free(kd.data); }
    if (cd.data) gnutls_free(cd.data);
    if (crt) gnutls_x509_crt_deinit(crt);
    if (key) gnutls_x509_privkey_deinit(key);
    return rc;
}

int vg_tls_load(const vg_web_opts *o, const char *listen_host, char **cert_pem, char **key_pem)
{
    char dir[1024], kp[1100], cp[1100];
    const char *kf = o->key_file, *cf = o->cert_file;
    int rc;
    *cert_pem = *key_pem = NULL;
    if (!kf != !cf) { vg_error("web", "give both --cert and --key, or neither"); return VG_EINVAL; }
    if (!kf) {
        snprintf(dir, sizeof dir, "%s/tls", o->data_dir);
        if (mkdir(dir, 0700) && errno != EEXIST) return VG_EIO;
        snprintf(kp, sizeof kp, "%s/key.pem", dir);
        snprintf(cp, sizeof cp, "%s/cert.pem", dir);
        if (access(kp, F_OK) != 0 && (rc = generate(dir, listen_host))) {
            vg_error("web", "cannot make a certificate in %s", dir);
            return rc;
        }
        kf = kp;
        cf = cp;
    }
    if ((rc = read_text(cf, cert_pem)) || (rc = read_text(kf, key_pem))) {
        vg_error("web", "cannot read %s / %s: %s", cf, kf, vg_strerror(rc));
        free(*cert_pem);
        *cert_pem = NULL;
        return rc;
    }
    return 0;
}
