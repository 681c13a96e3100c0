/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the WebAuthn parsers that see a browser's bytes before any
 * signature is checked: CBOR walking, authenticatorData, COSE keys,
 * clientDataJSON, and both ceremonies end to end. The first input byte picks
 * how the rest is split between the fields. */
#include "auth/webauthn.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t chal[VG_WA_CHALLENGE_LEN];
    static const char *origins[] = {"https://localhost:8443"};
    const vg_wa_expect e = {chal, origins, 1, 0};
    vg_wa_authdata ad;
    vg_wa_cred cred;
    size_t len;
    int alg;
    char rp[64];
    uint32_t count;
    int uv;
    /* A clientDataJSON that passes, so the attestation object and the
     * authenticatorData behind it are reached with the fuzzer's bytes. */
    static const char cdj_create[] = "{\"type\":\"webauthn.create\",\"challenge\":"
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"origin\":\"https://localhost:8443\"}";
    static const char cdj_get[] = "{\"type\":\"webauthn.get\",\"challenge\":"
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"origin\":\"https://localhost:8443\"}";
    /* an Ed25519 COSE key (x = 32 zero bytes would not verify anything) */
    static const uint8_t cose[] = {0xa4, 0x01, 0x01, 0x03, 0x27, 0x20, 0x06, 0x21, 0x58, 0x20,
        0x3b, 0x6a, 0x27, 0xbc, 0xce, 0xb6, 0xa4, 0x2d, 0x62, 0xa3, 0xa8, 0xd0, 0x2a, 0x6f, 0x0d, 0x73,
        0x65, 0x32, 0x15, 0x77, 0x1d, 0xe2, 0x43, 0xa6, 0x3a, 0xc0, 0x48, 0xa1, 0x8b, 0x59, 0xda, 0x29};
    (void)vg_wa_register(data, size, (const uint8_t *)cdj_create, sizeof cdj_create - 1, &e, &cred);
    (void)vg_wa_assert(data, size, (const uint8_t *)cdj_get, sizeof cdj_get - 1, data, size < 64 ? size : 64, cose,
                       sizeof cose, &e, &count, &uv);
    (void)vg_wa_cbor_item_len(data, size, &len);
    (void)vg_wa_authdata_parse(data, size, &ad);
    (void)vg_wa_cose_parse(data, size, &alg);
    (void)vg_wa_client_data_check(data, size, "webauthn.get", &e, rp, sizeof rp);
    if (size < 2) return 0;
    size_t cut = (size_t)data[0] * (size - 1) / 255, cut2 = cut + (size - 1 - cut) / 2;
    const uint8_t *a = data + 1, *b = data + 1 + cut, *c = data + 1 + cut2;
    (void)vg_wa_register(a, cut, b, size - 1 - cut, &e, &cred);
    (void)vg_wa_assert(a, cut, b, cut2 - cut, c, size - 1 - cut2, c, size - 1 - cut2, &e, &count, &uv);
    (void)vg_wa_verify_sig(a, cut, b, cut2 - cut, c, size - 1 - cut2);
    return 0;
}
