/* The simulated hypervisor's registration protocol, shared by the daemon and simulated guests. */
#ifndef XS_PROTO_SIMHYP_H
#define XS_PROTO_SIMHYP_H

#include <stdint.h>

/*
 * A simulated guest makes its ring page (a 4 KiB memfd, created with
 * MFD_ALLOW_SEALING: the daemon seals it against shrinking) and two eventfds
 * (its event channel: one it signals, one it waits on), connects to the
 * daemon's simulated-hypervisor socket and sends one simhyp_msg REGISTER
 * carrying the three descriptors (SCM_RIGHTS, in that order). The daemon
 * answers with an int32 status (0 or an errno). From then on the domain
 * exists while that connection stays open: SHUTDOWN reports a shutdown,
 * closing the connection destroys the domain. Only the page and the two
 * eventfds are shared with the store; nothing else passes between them.
 */
#define SIMHYP_MAGIC 0x50594853u /* "SHYP" */
#define SIMHYP_VERSION 1u
#define SIMHYP_SOCKET_NAME "simhyp"  /* in the run directory */

enum simhyp_op {
	SIMHYP_REGISTER = 1,
	SIMHYP_SHUTDOWN = 2,
};

struct simhyp_msg {
	uint32_t magic;
	uint32_t version;
	uint32_t op;
	uint32_t domid;
};

/* Descriptor order in the REGISTER message. */
enum { SIMHYP_FD_RING = 0, SIMHYP_FD_TO_STORE = 1, SIMHYP_FD_TO_GUEST = 2, SIMHYP_NFDS = 3 };

#endif
