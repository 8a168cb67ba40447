# custos — one GNU Makefile: make, make test, make check, make run, make bench,
# make fuzz, make clean. Missing Debian packages are installed on first use.

PKGS	:= libevent libevent_openssl libevent_pthreads libssl libcrypto \
	   libsodium yaml-0.1 libpcre2-8 zlib
TPKGS	:= cmocka jansson

ifeq ($(filter clean,$(MAKECMDGOALS)),)
ifneq ($(shell pkg-config --exists $(PKGS) $(TPKGS) 2>/dev/null && \
	command -v curl >/dev/null && command -v openssl >/dev/null && echo ok),ok)
$(info custos: some build dependencies are missing; installing them)
$(shell sh tests/scripts/install-deps.sh >&2)
endif
endif

CC	?= cc
BUILD	?= build
OPT	?= -O2
WARN	:= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wpointer-arith -Wcast-qual -Wformat=2
CFLAGS	+= -std=gnu11 -D_GNU_SOURCE -g $(OPT) -pthread $(WARN) -I. \
	   $(shell pkg-config --cflags $(PKGS))
LDLIBS	+= $(shell pkg-config --libs $(PKGS)) -pthread -lm
TLIBS	:= $(shell pkg-config --libs $(TPKGS))

ifeq ($(SANITIZE),1)
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
endif

MODULES	:= proxy classifiers policies keys audit
LIBSRC	:= $(filter-out proxy/main.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
LIBOBJ	:= $(LIBSRC:%.c=$(BUILD)/obj/%.o)
LIB	:= $(BUILD)/libcustos.a
BIN	:= $(BUILD)/custos

UNITSRC	:= $(wildcard tests/unit/test_*.c)
UNITS	:= $(UNITSRC:tests/unit/%.c=$(BUILD)/tests/%)
FIXSRC	:= $(wildcard tests/fixtures/*.c)
FIXTURES:= $(FIXSRC:tests/fixtures/%.c=$(BUILD)/fixtures/%)
BENCHSRC:= $(wildcard tests/bench/*.c)
BENCHES	:= $(BENCHSRC:tests/bench/%.c=$(BUILD)/bench/%)
FUZZSRC	:= $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all test unit integration check valgrind bench fuzz soak run clean
.SECONDARY:
all: $(BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIBOBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(BUILD)/obj/proxy/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TLIBS)

$(BUILD)/fixtures/%: $(BUILD)/obj/tests/fixtures/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TLIBS)

# The test command of the README: unit tests, then integration tests against
# the real binary, then one summary line.
test: $(BIN) $(UNITS) $(FIXTURES)
	@BUILD=$(BUILD) sh tests/scripts/run-tests.sh

unit: $(UNITS)
	@BUILD=$(BUILD) sh tests/scripts/run-tests.sh unit

integration: $(BIN) $(FIXTURES)
	@BUILD=$(BUILD) sh tests/scripts/run-tests.sh integration

# ASan + UBSan build of every test (unit and integration), a check that the
# sanitizer runtime is really linked, and a short fuzz smoke run.
check:
	$(MAKE) BUILD=build/asan SANITIZE=1 OPT=-O1 $(BIN:build/%=build/asan/%) \
		$(UNITS:build/%=build/asan/%) $(FIXTURES:build/%=build/asan/%)
	@for t in build/asan/custos build/asan/tests/*; do \
		nm $$t | grep -q __asan_init || { echo "$$t: ASan not linked"; exit 1; }; \
		nm $$t | grep -q __ubsan_handle || { echo "$$t: UBSan not linked"; exit 1; }; \
	done; echo "check: sanitizers linked"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		CUSTOS_SANITIZED=1 BUILD=build/asan sh tests/scripts/run-tests.sh
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-30} $(MAKE) --no-print-directory fuzz

# Every unit test under valgrind: no invalid access, no definite leak.
valgrind: $(UNITS)
	@command -v valgrind >/dev/null || sh tests/scripts/install-deps.sh
	@rc=0; for t in $(UNITS); do \
		vg="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9"; \
		if $$vg $$t >$$t.valgrind.log 2>&1; then \
			echo "valgrind: $$t clean"; \
		elif grep -q "==[0-9]*==" $$t.valgrind.log; then \
			cat $$t.valgrind.log; echo "valgrind: $$t FAILED"; rc=1; \
		elif $$vg $$t >$$t.valgrind.log 2>&1; then \
			echo "valgrind: $$t clean (a test timed out once under valgrind's slowdown)"; \
		else tail -30 $$t.valgrind.log; echo "valgrind: $$t FAILED"; rc=1; fi; \
	done; exit $$rc

FUZZ_SECONDS ?= 60
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/scripts/run-fuzz.sh $(FUZZSRC)

bench: $(BIN) $(BENCHES) $(FIXTURES)
	@sh tests/scripts/install-deps.sh bench
	@BUILD=$(BUILD) sh tests/bench/run.sh

# Not part of make test: SOAK_SECONDS (600) of wrk with the full policy.
soak: $(BIN) $(FIXTURES)
	@sh tests/scripts/install-deps.sh bench
	@BUILD=$(BUILD) bash tests/bench/soak.sh

run: $(BIN) $(FIXTURES)
	@BUILD=$(BUILD) bash tests/scripts/demo.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
