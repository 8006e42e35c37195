# The simulated hypervisor (docs/SIMHYP.md): xs-simhyp, and the domain side's calls
# (simhyp_call.c), linked by the daemon and compiled into the client library.
SIMHYP := $(O)/simhyp/xs-simhyp
SIMHYP_CALL_SRCS := simhyp/simhyp_call.c
LIBSIMHYP := $(O)/simhyp/libsimhypcall.a

all: $(SIMHYP)

$(LIBSIMHYP): $(call obj,$(SIMHYP_CALL_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(SIMHYP): $(call obj,simhyp/xs-simhyp.c) $(LIBSIMHYP)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libevent)

install-simhyp: $(SIMHYP) install-check
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(SIMHYP) $(DESTDIR)$(SBINDIR)/xs-simhyp
	install -m 0644 docs/man/xs-simhyp.8 $(DESTDIR)$(MANDIR)/man8/xs-simhyp.8

install: install-simhyp

CLEAN_FILES += $(SIMHYP)
.PHONY: install-simhyp
