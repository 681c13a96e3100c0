/* SPDX-License-Identifier: Apache-2.0 */
/* Responses: JSON bodies and the security headers every response carries. */
#include "web/web_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 'wasm-unsafe-eval' lets libsodium.js compile its WebAssembly (CSP Level 3);
 * it does not allow eval() of JavaScript. No inline script or style. */
#define CSP "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " \
            "img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; " \
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

void vg_web_headers(struct MHD_Response *resp, int html)
{
    (void)html;
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(resp, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
}

int64_t vg_web_now(void) { return (int64_t)time(NULL); }

enum MHD_Result vg_reply_json_cookie(struct MHD_Connection *c, unsigned status, json_t *obj,
                                     const char *set_cookie)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!text) return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) { free(text); return MHD_NO; }
    vg_web_headers(resp, 0);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (set_cookie) MHD_add_response_header(resp, "Set-Cookie", set_cookie);
    enum MHD_Result r = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return r;
}

enum MHD_Result vg_reply_json(struct MHD_Connection *c, unsigned status, json_t *obj)
{
    return vg_reply_json_cookie(c, status, obj, NULL);
}

enum MHD_Result vg_reply_error(struct MHD_Connection *c, unsigned status, const char *code)
{
    return vg_reply_json(c, status, json_pack("{s:s}", "error", code));
}

enum MHD_Result vg_reply_retry(struct MHD_Connection *c, int retry_after)
{
    json_t *o = json_pack("{s:s,s:i}", "error", "throttled", "retry_after", retry_after);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) { free(text); return MHD_NO; }
    char ra[24];
    snprintf(ra, sizeof ra, "%d", retry_after);
    vg_web_headers(resp, 0);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "Retry-After", ra);
    enum MHD_Result r = MHD_queue_response(c, 429, resp);
    MHD_destroy_response(resp);
    return r;
}
