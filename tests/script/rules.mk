# Script-driven wire tests (check mode, differential against the reference) and the Debian client compat test.
XSSCRIPT := $(O)/tests/script/xsscript
XSSCRIPT_CASES := $(sort $(wildcard tests/script/cases/*.xst))

$(XSSCRIPT): $(call obj,tests/script/xsscript.c) $(LIBTEST) $(LIBXSL_INTERNAL) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(XSL_LIBS)

XSSCRIPT_ENV = XST_DAEMON=$(abspath $(DAEMON))

# Check mode: every expectation of every case against a fresh copy of our daemon.
check-script: $(XSSCRIPT) $(DAEMON)
	$(XSSCRIPT_ENV) $(XSSCRIPT) $(XSSCRIPT_CASES)

# Differential: ours and the reference C xenstored (tests/refd) must answer byte for byte
# alike, except on steps annotated !differs. Without the reference it skips, saying so.
check-diff: $(XSSCRIPT) $(DAEMON) $(REFD_SHIM)
	@$(call refd_need,c,check-diff) \
	echo "check-diff: $(words $(XSSCRIPT_CASES)) scripts on ours and on the reference C xenstored"; \
	$(XSSCRIPT_ENV) $(XSSCRIPT) --diff $(XSSCRIPT_CASES)

# The expectations themselves, checked against the reference (not part of make check).
check-script-ref: $(XSSCRIPT) $(REFD_SHIM)
	@$(call refd_need,c,check-script-ref) $(XSSCRIPT_ENV) $(XSSCRIPT) --daemon c $(XSSCRIPT_CASES)

# Debian's xenstore-* clients and test-xenstore against our daemon.
check-compat: $(DAEMON)
	sh tests/compat/compat.sh $(abspath $(DAEMON))

CHECK_STEPS += check-script check-diff check-compat
CLEAN_FILES += $(XSSCRIPT)

.PHONY: check-script-ref
