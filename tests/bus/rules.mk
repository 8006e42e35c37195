# The bus tests (Check): XenbusState helpers and the bus's scenarios, both ends of a device against the real daemon.
BUS_TEST_SRCS := $(wildcard tests/bus/*.c)
BUS_TEST_BIN := $(O)/tests/bus/bus_tests

$(call obj,$(BUS_TEST_SRCS)): CFLAGS += $(CHECK_CFLAGS)
$(call obj,$(BUS_TEST_SRCS)): CPPFLAGS += -DXST_DAEMON_BIN='"$(abspath $(DAEMON))"'

$(BUS_TEST_BIN): $(call obj,$(BUS_TEST_SRCS)) $(LIBXSL_INTERNAL) $(LIBTEST) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(XSL_LIBS)

check-bus: $(BUS_TEST_BIN) $(DAEMON)
	CK_FORK=yes $(BUS_TEST_BIN)

CHECK_STEPS += check-bus
CLEAN_FILES += $(BUS_TEST_BIN)
