/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the validators that see request input before anything else
 * (email, base64url keys and tokens, names, TOTP codes). */
#include "auth/auth.h"
#include "auth/totp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[20] = "12345678901234567890";
    uint8_t out[72];
    int64_t used;
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    (void)vg_b64_decode(s, out, 16);
    (void)vg_b64_decode(s, out, 32);
    (void)vg_b64_decode(s, out, 72);
    (void)vg_name_ok(s, 100);
    (void)vg_totp_verify(key, sizeof key, 1111111111, s, 0, &used);
    (void)vg_role_parse(s);
    (void)vg_email_normalize(s);
    free(s);
    return 0;
}
