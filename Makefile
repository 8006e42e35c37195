# xenstored and friends: one Makefile for the daemon, client tools, tests and benchmarks.
#   make              build daemon/xenstored and the client tools
#   make check        build and run every test
#   make check-asan   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make run          run the daemon in the foreground on ./run/socket, xs-simhyp beside it
#   make bench        benchmarks, side by side with the reference daemons
#   make fuzz         every fuzz harness under libFuzzer, FUZZ_SECONDS (60) each
#   make install      honours PREFIX (/usr/local), SYSCONFDIR (/etc) and DESTDIR; never
#                     overwrites a file a Debian package owns (make install-check lists them)
#
# O= puts objects and binaries in another tree (the sanitizer build uses build-asan).

O ?= .
PREFIX ?= /usr/local
DESTDIR ?=
# Configuration goes to /etc whatever the prefix; the unit where systemd looks for
# units under the prefix (/usr/local/lib/systemd/system is on its path too).
SYSCONFDIR ?= /etc
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/lib/xenstored
UNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/xenstored
SAN ?=

CC ?= cc
PKGS := libevent tdb xenevtchn xengnttab xencontrol
CPPFLAGS += -D_GNU_SOURCE -I.
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	  -fno-strict-aliasing $(shell pkg-config --cflags $(PKGS))
LDLIBS_DAEMON := $(shell pkg-config --libs $(PKGS))
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)

ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# The daemon's objects and proto's are optimised at link time, across files:
# one file per subsystem leaves its small calls (arena, hash map, quota, path
# checks) out of the compiler's reach otherwise. Their libraries are linked by
# programs of this tree alone, with $(CC) (the installed client library is built
# from its own position-independent copies); not in the sanitizer build.
# LTO= turns it off.
ifeq ($(SAN),1)
LTO ?=
else
LTO ?= -flto=auto
endif

PROTO_SRCS := proto/wire.c proto/path.c proto/perms.c proto/ring.c
DAEMON_SRCS := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
TESTLIB_SRCS := tests/lib/xst_file.c tests/lib/xst_daemon.c tests/lib/xst_fuzz.c tests/lib/xst_wire.c tests/lib/xst_conn.c

obj = $(patsubst %.c,$(O)/%.o,$(1))

LIBPROTO := $(O)/proto/libxsproto.a
LIBTEST := $(O)/tests/lib/libxst.a
# Everything of the daemon but main(): the daemon and the in-process tests link it.
LIBDAEMON := $(O)/daemon/libxsd.a
DAEMON := $(O)/daemon/xenstored
SIMGUEST := $(O)/client/xs-simguest

all: $(DAEMON) $(SIMGUEST)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBPROTO): $(call obj,$(PROTO_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(call obj,$(DAEMON_SRCS) daemon/main.c $(PROTO_SRCS)): CFLAGS += $(LTO)

$(LIBDAEMON): $(call obj,$(DAEMON_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# Whatever uses the launcher needs the simulated hypervisor it starts beside our daemon.
$(LIBTEST): $(call obj,$(TESTLIB_SRCS)) | $(SIMHYP)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(call obj,$(TESTLIB_SRCS)): CPPFLAGS += -DXST_DAEMON_BIN='"$(abspath $(DAEMON))"' \
	-DXST_SIMHYP_BIN='"$(abspath $(O)/simhyp/xs-simhyp)"' \
	-DXST_REFD='"$(abspath $(REFD))"' -DXST_REF_SHIM='"$(abspath $(REFD_SHIM))"'

# The simulated hypervisor and its calls (the daemon and the client library use them).
include simhyp/rules.mk
# The client library: xs-simguest, the tests and the benchmarks link it.
include client/rules.mk

$(DAEMON): $(call obj,daemon/main.c) $(LIBDAEMON) $(LIBSIMHYP) $(LIBPROTO)
	$(CC) $(CFLAGS) $(LTO) $(LDFLAGS) -o $@ $^ $(LDLIBS_DAEMON)

# Linked as any program using the library would be (xenstore_client.h only).
$(SIMGUEST): $(call obj,client/xs-simguest.c) $(LIBXSL_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(XSL_LIBS)

# Fragments add their own programs and test steps to CHECK_STEPS, BENCH_STEPS and FUZZ_STEPS.
CHECK_STEPS :=
BENCH_STEPS :=
FUZZ_STEPS :=
include tests/refd/rules.mk
include tests/rules.mk
-include tests/script/rules.mk
-include tests/ring/rules.mk
include tests/compat/rules.mk
include tests/fuzz/rules.mk
include tests/ops/rules.mk
-include bench/rules.mk
# The client library's tests.
include tests/client/rules.mk
# Split drivers on the bus (the block device pair), their tests and benchmark.
include drivers/rules.mk

check: all $(CHECK_STEPS)
	@echo "all test steps passed ($(words $(CHECK_STEPS)) steps)"

check-asan:
	$(MAKE) O=build-asan SAN=1 check

bench: all $(BENCH_STEPS)

fuzz: $(FUZZ_STEPS)

RUNDIR ?= $(CURDIR)/run
# The simulated hypervisor beside it, for guests (xs-simguest), stopped with it.
run: all
	@mkdir -p $(RUNDIR)
	@echo "xenstored: socket $(RUNDIR)/socket  (export XENSTORED_PATH=$(RUNDIR)/socket)"
	$(SIMHYP) -s $(RUNDIR)/simhyp & hyp=$$!; trap 'kill $$hyp' EXIT INT TERM; \
	XENSTORED_RUNDIR=$(RUNDIR) $(DAEMON) -N -F $(RUNDIR)/pid

# The systemd unit with its paths: $(call unit_subst,SBINDIR,LIBEXECDIR,SYSCONFDIR) writes it to stdout.
unit_subst = sed -e 's|@SBINDIR@|$(1)|g' -e 's|@LIBEXECDIR@|$(2)|g' -e 's|@SYSCONFDIR@|$(3)|g' conf/xenstored.service.in

# Everything install writes, without DESTDIR (the client library's too, client/rules.mk).
INSTALL_FILES := $(SBINDIR)/xenstored $(SBINDIR)/xs-simhyp $(BINDIR)/xs-simguest $(LIBEXECDIR)/xenstored-prepare \
	$(SBINDIR)/xs-blkback $(SBINDIR)/xs-block $(BINDIR)/xs-blkfront \
	$(UNITDIR)/xenstored.service $(MANDIR)/man8/xenstored.8 $(MANDIR)/man8/xs-simhyp.8 $(MANDIR)/man5/xenstored.conf.5 \
	$(SYSCONFDIR)/xen/xenstored.conf $(SYSCONFDIR)/logrotate.d/xenstored \
	$(DOCDIR)/README.md $(DOCDIR)/ARCHITECTURE.md $(DOCDIR)/xenstored.conf \
	$(PREFIX)/include/xenstore_client.h $(PREFIX)/lib/pkgconfig/xenstore_client.pc \
	$(PREFIX)/lib/libxenstore_client.a $(PREFIX)/lib/libxenstore_client.so $(PREFIX)/share/man/man3/xenstore_client.3

# Installing onto the system itself (no DESTDIR): refuse to replace what dpkg owns,
# such as the /usr/sbin/xenstored link of Debian's xen-utils-common (PREFIX=/usr).
install-check:
	@[ -n "$(DESTDIR)" ] || ! command -v dpkg-query >/dev/null || { \
		owned=""; \
		for f in $(INSTALL_FILES); do \
			p=$$(dpkg-query -S "$$f" 2>/dev/null) && owned="$$owned $$f ($${p%%:*})"; \
		done; \
		[ -z "$$owned" ] || { echo "install: would overwrite files of Debian packages:$$owned"; \
			echo "install: use another PREFIX (default /usr/local); see xenstored(8), 'Taking over'"; \
			exit 1; }; }

# Nothing at all is installed over a file of a Debian package.
install-client: install-check

install: all install-check
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSCONFDIR)/xen $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d
	install -m 0755 $(DAEMON) $(DESTDIR)$(SBINDIR)/xenstored
	install -m 0755 $(SIMGUEST) $(DESTDIR)$(BINDIR)/xs-simguest
	install -m 0755 conf/xenstored-prepare $(DESTDIR)$(LIBEXECDIR)/xenstored-prepare
	$(call unit_subst,$(SBINDIR),$(LIBEXECDIR),$(SYSCONFDIR)) >$(DESTDIR)$(UNITDIR)/xenstored.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/xenstored.service
	install -m 0644 docs/man/xenstored.8 $(DESTDIR)$(MANDIR)/man8/xenstored.8
	install -m 0644 docs/man/xenstored.conf.5 $(DESTDIR)$(MANDIR)/man5/xenstored.conf.5
	install -m 0644 conf/xenstored.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/xenstored
	@# An administrator's configuration is kept.
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/xen/xenstored.conf ]; then \
		echo "kept $(DESTDIR)$(SYSCONFDIR)/xen/xenstored.conf; the sample is $(DOCDIR)/xenstored.conf"; \
	else \
		echo "install -m 0644 conf/xenstored.conf $(DESTDIR)$(SYSCONFDIR)/xen/xenstored.conf"; \
		install -m 0644 conf/xenstored.conf $(DESTDIR)$(SYSCONFDIR)/xen/xenstored.conf; \
	fi
	install -m 0644 README.md docs/ARCHITECTURE.md conf/xenstored.conf $(DESTDIR)$(DOCDIR)/

clean:
	rm -rf build-asan run
	find . -name '*.o' -o -name '*.d' -o -name '*.a' | grep -v '^./.git' | xargs rm -f
	rm -f $(DAEMON) $(SIMGUEST) $(CLEAN_FILES)

.PHONY: all check check-asan bench fuzz run install install-check clean $(CHECK_STEPS) $(BENCH_STEPS) $(FUZZ_STEPS)

# A recipe that fails leaves no half-written target to pass for a built one next time.
.DELETE_ON_ERROR:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
