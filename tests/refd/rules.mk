# tests/refd/rules.mk: builds the reference daemons' shim and says which steps need it and skip without the reference.
REFD := tests/refd/refd.sh
REFD_SHIM := $(O)/tests/refd/refshim.so

# Without the sanitizers (it is preloaded into daemons built without them) and
# against Xen's headers, so that each replaced call has the library's prototype.
$(REFD_SHIM): tests/refd/refshim.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -g -std=gnu11 -D_GNU_SOURCE -U_FORTIFY_SOURCE \
		-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
		$(shell pkg-config --cflags xencontrol xenevtchn xengnttab) -o $@ $< -ldl

# $(call refd_need,KIND,STEP): a recipe's first words. When the reference KIND (c or ox)
# is not installed, STEP passes saying what is missing and how to get it, or fails
# under XS_REQUIRE_REFERENCE=1 (a CI that must not lose the differential tests).
refd_need = why=$$(sh $(REFD) check $(1)) || { echo "$(2): skipped: $$why"; \
	[ "$${XS_REQUIRE_REFERENCE:-}" != 1 ]; exit; };

# The benchmarks start the reference daemons through tests/lib/xst_daemon.c too.
bench-core: $(REFD_SHIM)
CLEAN_FILES += $(REFD_SHIM)
