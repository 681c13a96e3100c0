/* SPDX-License-Identifier: Apache-2.0 */
/* vigil error shape: 0 is success, negative values are the codes below. */
#ifndef VG_ERR_H
#define VG_ERR_H

enum {
    VG_OK = 0,
    VG_EINVAL = -1,      /* bad argument or malformed input */
    VG_ENOMEM = -2,
    VG_EIO = -3,         /* system call failed; see errno / the log line */
    VG_EPROTO = -4,      /* peer violated its protocol */
    VG_EAGAIN = -5,      /* not ready; try again when the loop says so */
    VG_ETIMEDOUT = -6,
    VG_EAUTH = -7,       /* credentials refused */
    VG_ENOSPC = -8,      /* disk full */
    VG_ECRYPTO = -9,     /* authentication tag / signature failed */
    VG_ENOTFOUND = -10,
    VG_EUNSUPPORTED = -11,
    VG_ECLOSED = -12,    /* peer closed */
    VG_ETOOBIG = -13,    /* input exceeds a configured maximum */
};

const char *vg_strerror(int rc);

#endif
