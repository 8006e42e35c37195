# The client library's tests (Check): codec, multiplexer, scripted server, conformance against the daemon over every transport.
CLIENT_TEST_SRCS := $(wildcard tests/client/*.c)
CLIENT_TEST_BIN := $(O)/tests/client/client_tests

$(call obj,$(CLIENT_TEST_SRCS)): CFLAGS += $(CHECK_CFLAGS) $(shell pkg-config --cflags libevent)
$(call obj,$(CLIENT_TEST_SRCS)): CPPFLAGS += -DXST_DAEMON_BIN='"$(abspath $(DAEMON))"'

$(CLIENT_TEST_BIN): $(call obj,$(CLIENT_TEST_SRCS)) $(LIBXSL_INTERNAL) $(LIBTEST) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(shell pkg-config --libs libevent) $(XSL_LIBS)

check-client: $(CLIENT_TEST_BIN) $(DAEMON) $(REFD_SHIM)
	CK_FORK=yes $(CLIENT_TEST_BIN)

CHECK_STEPS += check-client
CLEAN_FILES += $(CLIENT_TEST_BIN)

# The installed form: exports, man page, pkg-config, a program linked static and shared.
check-client-abi: $(LIBXSL_A) $(LIBXSL_SO) $(DAEMON)
	CC="$(CC)" CFLAGS="$(filter-out -Werror,$(CFLAGS))" LDFLAGS="$(LDFLAGS)" MAKE="$(MAKE)" \
		sh tests/client/abi.sh $(O) $(abspath $(DAEMON))

CHECK_STEPS += check-client-abi
