# Tests through Debian's libxenstore (pkg-config xenstore): watches and transactions against our daemon.
LIBXS_BIN := $(O)/tests/libxs/libxs_tests
LIBXS_OK := $(shell pkg-config --exists xenstore 2>/dev/null && echo yes)

ifeq ($(LIBXS_OK),yes)
$(call obj,tests/libxs/libxs_tests.c): CFLAGS += $(shell pkg-config --cflags xenstore)

$(LIBXS_BIN): $(call obj,tests/libxs/libxs_tests.c) $(LIBTEST)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs xenstore)

check-libxs: $(LIBXS_BIN) $(DAEMON)
	XST_DAEMON=$(abspath $(DAEMON)) $(LIBXS_BIN)

# The same expectations against the reference C xenstored (not part of make check).
check-libxs-ref: $(LIBXS_BIN) $(REFD_SHIM)
	XST_REF_SHIM=$(abspath $(REFD_SHIM)) $(LIBXS_BIN) --ref
else
check-libxs:
	@if [ "$${XS_SKIP_REFERENCE:-}" = 1 ]; then \
		echo "check-libxs: libxenstore (pkg-config xenstore) not installed; skipped (XS_SKIP_REFERENCE=1)"; \
	else \
		echo "check-libxs: libxenstore missing (apt-get install libxen-dev, or set XS_SKIP_REFERENCE=1)"; \
		exit 1; \
	fi
endif

CHECK_STEPS += check-libxs
CLEAN_FILES += $(LIBXS_BIN)

.PHONY: check-libxs-ref
