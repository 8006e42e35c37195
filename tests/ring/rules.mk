# Ring and domain tests: simulated guests (forked processes) over shared rings against the real daemon.
RING_SRCS := $(wildcard tests/ring/*.c)
RING_BIN := $(O)/tests/ring/ring_tests

$(call obj,$(RING_SRCS)): CFLAGS += $(CHECK_CFLAGS)
$(call obj,$(RING_SRCS)): CPPFLAGS += -DXST_DAEMON_BIN='"$(abspath $(DAEMON))"'

$(RING_BIN): $(call obj,$(RING_SRCS)) $(LIBTEST) $(LIBXSL_INTERNAL) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(XSL_LIBS)

check-ring: $(RING_BIN) $(DAEMON)
	CK_FORK=yes $(RING_BIN)

CHECK_STEPS += check-ring
CLEAN_FILES += $(RING_BIN)
