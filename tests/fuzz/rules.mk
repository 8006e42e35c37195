# Fuzz harnesses tests/fuzz/fuzz_<name>.c: make check replays and mutates them (gcc and driver.c), make fuzz runs libFuzzer.
#
# Every tests/fuzz/fuzz_*.c is picked up. A harness names what it links in
# comment lines of its own, so that adding one touches no other file:
#   /* fuzz-sources: proto/wire.c */    sources besides the harness
#   /* fuzz-libs: -ltdb */              libraries, if any
# and keeps its corpus in tests/fuzz/corpus/<name>/: hand-named seeds, plus
# what make fuzz found that adds coverage (files named by their SHA-1).
#
#   make check-fuzz               every corpus, then FUZZ_CHECK_RUNS mutants each (XST_FUZZ_SEED)
#   make fuzz [FUZZ_SECONDS=60]   libFuzzer on each in turn; crashes go to tests/fuzz/crashes/
#   make fuzz-<name>              the same for one harness

FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CHECK_RUNS ?= 20000
FUZZ_SECONDS ?= 60
# Past a whole message (4096 + 16) and a path buffer, with room for a second message.
FUZZ_MAX_LEN ?= 8448
FUZZ_CC ?= clang-14
FUZZ_DEPS_HINT := install clang-14 and libclang-rt-14-dev (scripts/deps.sh --fuzz), or set FUZZ_CC

fuzz_tag = $(shell sed -n 's|^/\* fuzz-$(2): \(.*\) \*/$$|\1|p' tests/fuzz/fuzz_$(1).c)
fuzz_bin = $(O)/tests/fuzz/bin/fuzz_$(1)
fuzz_lf_bin = $(O)/tests/fuzz/libfuzzer/fuzz_$(1)

# libxst for the driver's seeded generator (tests/lib/xst_fuzz.c), whose raw wire needs the library.
define fuzz_harness
$(call fuzz_bin,$(1)): $(call obj,tests/fuzz/fuzz_$(1).c tests/fuzz/driver.c $(call fuzz_tag,$(1),sources)) \
		$(LIBTEST) $(LIBXSL_INTERNAL) $(LIBPROTO)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $(call fuzz_tag,$(1),libs) $(XSL_LIBS)

$(call fuzz_lf_bin,$(1)): tests/fuzz/fuzz_$(1).c $(call fuzz_tag,$(1),sources) | fuzz-toolchain
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(CPPFLAGS) $$(CFLAGS) -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $$@ $$^ $(call fuzz_tag,$(1),libs)

fuzz-$(1): $(call fuzz_lf_bin,$(1))
	sh tests/fuzz/run.sh $$< tests/fuzz/corpus/$(1) $$(FUZZ_SECONDS) $$(FUZZ_MAX_LEN) tests/fuzz/crashes
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call fuzz_harness,$(n))))

check-fuzz: $(foreach n,$(FUZZ_NAMES),$(call fuzz_bin,$(n)))
	@set -e; $(foreach n,$(FUZZ_NAMES),$(call fuzz_bin,$(n)) -runs=$(FUZZ_CHECK_RUNS) \
		-max_len=$(FUZZ_MAX_LEN) $(wildcard tests/fuzz/corpus/$(n));)

# Say what to install rather than fail in the middle of a link.
fuzz-toolchain:
	@command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz: $(FUZZ_CC) not found: $(FUZZ_DEPS_HINT)" >&2; exit 1; }
	@mkdir -p $(O)/tests/fuzz/libfuzzer
	@echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n ? 0 : 0; }' | \
		$(FUZZ_CC) -fsanitize=fuzzer -x c -o $(O)/tests/fuzz/libfuzzer/probe - 2>/dev/null || \
		{ echo "make fuzz: $(FUZZ_CC) cannot link libFuzzer: $(FUZZ_DEPS_HINT)" >&2; exit 1; }
	@rm -f $(O)/tests/fuzz/libfuzzer/probe

CHECK_STEPS += check-fuzz
FUZZ_STEPS += $(addprefix fuzz-,$(FUZZ_NAMES))
CLEAN_FILES += $(foreach n,$(FUZZ_NAMES),$(call fuzz_bin,$(n)) $(call fuzz_bin,$(n)).failed $(call fuzz_lf_bin,$(n)))

.PHONY: fuzz-toolchain
