# Unit tests (Check) for proto/ and scenario tests that start the real daemon.
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BIN := $(O)/tests/unit/unit_tests

$(UNIT_BIN): $(call obj,$(UNIT_SRCS)) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS)

$(call obj,$(UNIT_SRCS)): CFLAGS += $(CHECK_CFLAGS)

check-unit: $(UNIT_BIN)
	CK_FORK=yes $(UNIT_BIN)

CHECK_STEPS += check-unit
