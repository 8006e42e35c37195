# The simulated hypervisor (xs-simhyp) and the library's hypervisor API over it, between processes.
SIMHYP_TEST_BIN := $(O)/tests/simhyp/simhyp_tests

$(call obj,tests/simhyp/simhyp_tests.c): CFLAGS += $(CHECK_CFLAGS)
$(call obj,tests/simhyp/simhyp_tests.c): CPPFLAGS += -DXST_SIMHYP_BIN='"$(abspath $(SIMHYP))"'

$(SIMHYP_TEST_BIN): $(call obj,tests/simhyp/simhyp_tests.c) $(LIBXSL_INTERNAL) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(XSL_LIBS)

check-simhyp: $(SIMHYP_TEST_BIN) $(SIMHYP)
	CK_FORK=yes $(SIMHYP_TEST_BIN)

CHECK_STEPS += check-simhyp
CLEAN_FILES += $(SIMHYP_TEST_BIN)
