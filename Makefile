# SPDX-License-Identifier: Apache-2.0
# vigil build: plain make + pkg-config (see docs/design/build.md for why).
#
#   make            release build, hardened        -> build/release/vigil
#   make asan       ASan+UBSan build               -> build/asan/vigil
#   make unit       build and run C unit tests (asan)
#   make fuzz       libFuzzer targets (clang)      -> build/fuzz/fuzz_*
#   make check      unit + integration tests (what .ci/run runs, via scripts/test.sh)

PKGS      := libsodium sqlite3 jansson libmicrohttpd gnutls libcrypto libcbor libssl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

CC        ?= cc
WARN      := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
             -Wmissing-prototypes -Wvla -Wformat=2 -Wno-unused-parameter
BASE      := -std=c17 -D_GNU_SOURCE -Isrc -g $(WARN) $(PKG_CFLAGS)
HARDEN    := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE -fstack-clash-protection
LDHARDEN  := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack

REL_CFLAGS  := $(BASE) -O2 $(HARDEN)
ASAN_CFLAGS := $(BASE) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined -fPIE -DVG_TESTING=1
LIBS        := $(PKG_LIBS) -lpthread -lm

# Every module's .c under src/ except the entry point; main.c only wires.
LIB_SRC   := $(sort $(filter-out src/main.c,$(wildcard src/*/*.c)))
MAIN_SRC  := src/main.c
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))

REL_OBJ   := $(LIB_SRC:%.c=build/release/%.o)
ASAN_OBJ  := $(LIB_SRC:%.c=build/asan/%.o)
FUZZ_OBJ  := $(LIB_SRC:%.c=build/fuzz/%.o)

# Object files are never "intermediate" (make would delete them between runs).
.SECONDARY:

# Quiet by default (one line per file); V=1 shows the full commands.
Q := $(if $(V),,@)

.PHONY: all release asan unit fuzz clean check
all: release
release: build/release/vigil
asan: build/asan/vigil

build/release/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(REL_CFLAGS) -MMD -MP -c $< -o $@
build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC/asan $<")
	$(Q)$(CC) $(ASAN_CFLAGS) -MMD -MP -c $< -o $@

build/release/vigil: $(REL_OBJ) build/release/src/main.o
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(REL_CFLAGS) $(LDHARDEN) $^ -o $@ $(LIBS)
build/asan/vigil: $(ASAN_OBJ) build/asan/src/main.o
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ASAN_CFLAGS) -pie $^ -o $@ $(LIBS)

# Unit tests: one binary per tests/unit/test_*.c, linked against the asan objects.
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)
build/asan/tests/%: tests/unit/%.c $(ASAN_OBJ) tests/unit/vg_test.h tests/unit/auth_fixture.h
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ASAN_CFLAGS) -Itests/unit $< $(ASAN_OBJ) -o $@ $(LIBS)
unit: $(UNIT_BIN)
	@pass=0; fail=0; for t in $(UNIT_BIN); do \
	  if (cd tests/unit && timeout 120 ../../$$t); then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAIL $$t"; fi; \
	done; echo "unit: $$pass passed, $$fail failed"; test $$fail -eq 0

# Fuzz targets need clang's libFuzzer.
FUZZ_CC     := clang
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -Isrc -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
               -DVG_TESTING=1 -DVG_FUZZING=1 $(PKG_CFLAGS)
build/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC/fuzz $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) -o $@ $(LIBS)
fuzz: $(FUZZ_BIN)

clean:
	rm -rf build

-include $(REL_OBJ:.o=.d) $(ASAN_OBJ:.o=.d) $(FUZZ_OBJ:.o=.d)
