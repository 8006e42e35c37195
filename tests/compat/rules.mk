# The Xen hypervisor port, run under the reference daemons' LD_PRELOAD shim (tests/refd; no Xen needed).
XENPORT_TEST := $(O)/tests/compat/xenport

$(call obj,tests/compat/xenport.c): CFLAGS += $(CHECK_CFLAGS)
$(call obj,tests/compat/xenport.c): CPPFLAGS += -DXST_DAEMON_BIN='"$(abspath $(DAEMON))"'

$(XENPORT_TEST): $(call obj,tests/compat/xenport.c) $(LIBTEST) $(LIBXSL_INTERNAL) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(XSL_LIBS)

check-xenport: $(XENPORT_TEST) $(REFD_SHIM) $(DAEMON)
	CK_FORK=yes $(XENPORT_TEST) $(abspath $(REFD_SHIM))

CHECK_STEPS += check-xenport
CLEAN_FILES += $(XENPORT_TEST)
