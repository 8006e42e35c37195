# The Xen hypervisor port, run under the reference daemons' LD_PRELOAD shim (no Xen needed).
XENPORT_TEST := $(O)/tests/compat/xenport
XENPORT_SHIM := $(O)/tests/compat/xsshim.so

$(call obj,tests/compat/xenport.c): CFLAGS += $(CHECK_CFLAGS)
$(call obj,tests/compat/xenport.c): CPPFLAGS += -DXST_DAEMON_BIN='"$(abspath $(DAEMON))"'

$(XENPORT_TEST): $(call obj,tests/compat/xenport.c) $(LIBTEST) $(LIBCLIENT) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS)

# The shim is built without sanitizers: it is preloaded into our daemon only.
$(XENPORT_SHIM): ../shared/reference/xsshim.c
	@mkdir -p $(dir $@)
	gcc -O2 -shared -fPIC -o $@ $< -ldl

check-xenport: $(XENPORT_TEST) $(XENPORT_SHIM) $(DAEMON)
	CK_FORK=yes $(XENPORT_TEST) $(abspath $(XENPORT_SHIM))

CHECK_STEPS += check-xenport
CLEAN_FILES += $(XENPORT_TEST) $(XENPORT_SHIM)
