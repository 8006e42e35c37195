/* Xen's own blkif protocol headers (libxen-dev), made includable from user space: the ring's barriers defined for this CPU. */
#ifndef XS_DRIVERS_BLKIF_XEN_H
#define XS_DRIVERS_BLKIF_XEN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * ring.h takes its barriers from the includer when the interface version is
 * the tools' (the latest): full barrier, read barrier, write barrier. These
 * are what Linux's virt_mb/virt_rmb/virt_wmb are on SMP: the C11 fences
 * give the same ordering between two processes sharing the page.
 */
#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1
#endif
#define xen_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>
#include <xen/io/xenbus.h>

#endif
