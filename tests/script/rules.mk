# Script-driven wire tests (check mode, differential against the reference) and the Debian client compat test.
XSSCRIPT := $(O)/tests/script/xsscript
XSSCRIPT_CASES := $(sort $(wildcard tests/script/cases/*.xst))

XSSCRIPT_SHIM := $(O)/tests/script/xsshim.so
XSSHIM_SRC := ../shared/reference/xsshim.c

$(XSSCRIPT): $(call obj,tests/script/xsscript.c) $(LIBCLIENT) $(LIBTEST) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^

# The reference's LD_PRELOAD shim, built once instead of once per started daemon
# (refd.sh honours SHIM=); no shim source, no reference: the runner then decides.
$(XSSCRIPT_SHIM): $(wildcard $(XSSHIM_SRC))
	@mkdir -p $(dir $@)
	$(if $(wildcard $(XSSHIM_SRC)),gcc -O2 -shared -fPIC -o $@ $(XSSHIM_SRC) -ldl,touch $@)
XSSCRIPT_ENV = XST_DAEMON=$(abspath $(DAEMON)) $(if $(wildcard $(XSSHIM_SRC)),SHIM=$(abspath $(XSSCRIPT_SHIM)))

# Check mode: every expectation of every case against a fresh copy of our daemon.
check-script: $(XSSCRIPT) $(DAEMON)
	$(XSSCRIPT_ENV) $(XSSCRIPT) $(XSSCRIPT_CASES)

# Differential: ours and the reference C xenstored must answer byte for byte alike,
# except on steps annotated !differs. Fails without the reference unless XS_SKIP_REFERENCE=1.
check-diff: $(XSSCRIPT) $(DAEMON) $(XSSCRIPT_SHIM)
	$(XSSCRIPT_ENV) $(XSSCRIPT) --diff $(XSSCRIPT_CASES)

# The expectations themselves, checked against the reference (not part of make check).
check-script-ref: $(XSSCRIPT) $(XSSCRIPT_SHIM)
	$(XSSCRIPT_ENV) $(XSSCRIPT) --daemon c $(XSSCRIPT_CASES)

# Debian's xenstore-* clients and test-xenstore against our daemon.
check-compat: $(DAEMON)
	sh tests/compat/compat.sh $(abspath $(DAEMON))

CHECK_STEPS += check-script check-diff check-compat
CLEAN_FILES += $(XSSCRIPT) $(XSSCRIPT_SHIM)

.PHONY: check-script-ref
