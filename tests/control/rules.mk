# xenstore-control's commands (Debian's tool) against ours and the reference C xenstored, the
# trace file beside the reference's, the watch event timeout, stats, the log's notable lines.
CONTROL_TESTS := $(O)/tests/control/control_tests

$(call obj,tests/control/control_tests.c): CFLAGS += $(CHECK_CFLAGS)
$(call obj,tests/control/control_tests.c): CPPFLAGS += -DXST_DAEMON_BIN='"$(abspath $(DAEMON))"'

$(CONTROL_TESTS): $(call obj,tests/control/control_tests.c) $(LIBTEST) $(LIBXSL_INTERNAL) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(XSL_LIBS)

# Without xen-utils-4.17 the tests that need xenstore-control or the reference say so and
# pass, unless XS_REQUIRE_REFERENCE=1.
check-control: $(CONTROL_TESTS) $(DAEMON) $(REFD_SHIM)
	CK_FORK=yes XST_DAEMON=$(abspath $(DAEMON)) $(CONTROL_TESTS)

CHECK_STEPS += check-control
CLEAN_FILES += $(CONTROL_TESTS)
