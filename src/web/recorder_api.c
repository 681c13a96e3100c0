/* SPDX-License-Identifier: Apache-2.0 */
/* The recorder's signing identity for browsers (docs/design/keys.md
 * "Browser verification"): GET /api/recorder gives the Ed25519 public key
 * that signs every closed segment, with its fingerprint. The browser pins
 * it per organization on first sight and checks segment signatures with the
 * pinned key, so this answer is only trusted the first time; a change is
 * shown to the member, never silently accepted.
 *
 * Invariants:
 *  1. Only public material: the key the store pinned in its index
 *     (meta.recorder_pk), never the key file.
 *  2. 503 `no_recorder` when no recorder runs in this process. */
#include "web/web_int.h"
#include "crypt/crypt.h"
#include "store/store.h"

#include <sodium.h>

static enum MHD_Result h_recorder(vg_web *w, vg_req *r, json_t *b, struct MHD_Connection *c)
{
    uint8_t pk[VG_SIGN_PK_LEN];
    char b64[sodium_base64_ENCODED_LEN(VG_SIGN_PK_LEN, sodium_base64_VARIANT_URLSAFE_NO_PADDING)], fp[48];
    if (!w->store) return vg_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no_recorder");
    vg_store_recorder_pk(w->store, pk);
    sodium_bin2base64(b64, sizeof b64, pk, sizeof pk, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    /* Same BLAKE2b-128 grouping as every other key a person compares. */
    vg_key_fingerprint(pk, fp, sizeof fp);
    return vg_reply_json(c, MHD_HTTP_OK, json_pack("{s:s,s:s}", "recorder_pk", b64, "fingerprint", fp));
}

static const vg_web_route routes[] = {
    {"GET", "/api/recorder", 0, VG_SESSION, VG_ROLE_VIEWER, h_recorder, NULL},
};

const vg_web_route *vg_recorder_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
