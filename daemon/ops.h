/* Handlers of the message types, one per type; dispatch.c's table names them. */
#ifndef XSD_OPS_H
#define XSD_OPS_H

#include "req.h"

/* ops_node.c: the tree. */
enum xs_err op_read(struct req *r);
enum xs_err op_write(struct req *r);
enum xs_err op_mkdir(struct req *r);
enum xs_err op_rm(struct req *r);
enum xs_err op_directory(struct req *r);
enum xs_err op_directory_part(struct req *r);
enum xs_err op_get_perms(struct req *r);
enum xs_err op_set_perms(struct req *r);

/* ops_watch.c: watches. */
enum xs_err op_watch(struct req *r);
enum xs_err op_unwatch(struct req *r);
enum xs_err op_reset_watches(struct req *r);

/* ops_session.c: transactions, domains, control. */
enum xs_err op_transaction_start(struct req *r);
enum xs_err op_transaction_end(struct req *r);
enum xs_err op_get_domain_path(struct req *r);
enum xs_err op_is_domain_introduced(struct req *r);
enum xs_err op_introduce(struct req *r);
enum xs_err op_release(struct req *r);
enum xs_err op_resume(struct req *r);
enum xs_err op_set_target(struct req *r);
enum xs_err op_control(struct req *r);

/*
 * What CONTROL stats reports of the requests: dispatch.c counts each one
 * as it is answered, by its type (XS_TYPE_COUNT: a type with no number of
 * its own), and those answered with an error.
 */
struct op_counts {
	uint64_t requests[XS_TYPE_COUNT + 1];
	uint64_t errors[XS_TYPE_COUNT + 1];
};
extern struct op_counts op_counts;
/* The counters handed to the next binary at a live update (liveupdate.h's lu_keeper). */
struct pack;
struct unpack;
void op_counts_pack(struct pack *b);
bool op_counts_unpack(struct unpack *r);

/* ops_quota.c: quotas and features, and CONTROL's quota commands (ops_session.c's table names them). */
enum xs_err op_get_feature(struct req *r);
enum xs_err op_set_feature(struct req *r);
enum xs_err op_get_quota(struct req *r);
enum xs_err op_set_quota(struct req *r);
enum xs_err ctl_quota(struct req *r, unsigned argc, const char *const *argv);
enum xs_err ctl_quota_soft(struct req *r, unsigned argc, const char *const *argv);

#endif
