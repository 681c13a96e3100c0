/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the grant statement parser (docs/design/grants.md), which reads
 * text the server passes on from a browser before any signature is checked. */
#include "rec/grant.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vg_grant_stmt g;
    static const uint8_t owner[32];
    uint8_t sig[64] = {0};
    if (vg_grant_parse((const char *)data, size, &g) == 0) {
        /* A parsed statement round-trips through the verifier without crashing. */
        vg_grant_proof p = {(const char *)data, size, sig, owner, 1, NULL};
        (void)vg_grant_verify(owner, &p, &g);
    }
    return 0;
}
