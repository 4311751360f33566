//go:build cgo

// Package cabi reports the layout of the kernel's io_uring structs and the
// values of its constants as the C compiler sees them in
// <linux/io_uring.h>. It exists only so that ring's tests can check the Go
// mirror in ring/abi_linux.go against the header (Go forbids cgo in _test
// files). Nothing outside tests imports it.
package cabi

/*
#include <stddef.h>
#include <linux/io_uring.h>
#include <linux/fiemap.h>
#include <linux/fs.h>

#define FIELD(s, f) { #s "." #f, offsetof(struct s, f) }
#define SIZE(s) { #s, sizeof(struct s) }

struct layout { const char *name; size_t value; };

static const struct layout layouts[] = {
	SIZE(io_uring_sqe),
	FIELD(io_uring_sqe, opcode), FIELD(io_uring_sqe, flags), FIELD(io_uring_sqe, ioprio),
	FIELD(io_uring_sqe, fd), FIELD(io_uring_sqe, off), FIELD(io_uring_sqe, addr),
	FIELD(io_uring_sqe, len), FIELD(io_uring_sqe, rw_flags), FIELD(io_uring_sqe, user_data),
	FIELD(io_uring_sqe, buf_index), FIELD(io_uring_sqe, personality),
	FIELD(io_uring_sqe, file_index), FIELD(io_uring_sqe, addr3),
	SIZE(io_uring_cqe),
	FIELD(io_uring_cqe, user_data), FIELD(io_uring_cqe, res), FIELD(io_uring_cqe, flags),
	SIZE(io_sqring_offsets),
	FIELD(io_sqring_offsets, head), FIELD(io_sqring_offsets, tail), FIELD(io_sqring_offsets, ring_mask),
	FIELD(io_sqring_offsets, ring_entries), FIELD(io_sqring_offsets, flags), FIELD(io_sqring_offsets, dropped),
	FIELD(io_sqring_offsets, array), FIELD(io_sqring_offsets, resv1), FIELD(io_sqring_offsets, resv2),
	SIZE(io_cqring_offsets),
	FIELD(io_cqring_offsets, head), FIELD(io_cqring_offsets, tail), FIELD(io_cqring_offsets, ring_mask),
	FIELD(io_cqring_offsets, ring_entries), FIELD(io_cqring_offsets, overflow), FIELD(io_cqring_offsets, cqes),
	FIELD(io_cqring_offsets, flags), FIELD(io_cqring_offsets, resv1), FIELD(io_cqring_offsets, resv2),
	SIZE(io_uring_params),
	FIELD(io_uring_params, sq_entries), FIELD(io_uring_params, cq_entries), FIELD(io_uring_params, flags),
	FIELD(io_uring_params, sq_thread_cpu), FIELD(io_uring_params, sq_thread_idle), FIELD(io_uring_params, features),
	FIELD(io_uring_params, wq_fd), FIELD(io_uring_params, resv), FIELD(io_uring_params, sq_off), FIELD(io_uring_params, cq_off),
	SIZE(io_uring_probe_op),
	FIELD(io_uring_probe_op, op), FIELD(io_uring_probe_op, resv), FIELD(io_uring_probe_op, flags), FIELD(io_uring_probe_op, resv2),
	SIZE(io_uring_probe),
	FIELD(io_uring_probe, last_op), FIELD(io_uring_probe, ops_len), FIELD(io_uring_probe, resv),
	FIELD(io_uring_probe, resv2), FIELD(io_uring_probe, ops),
	SIZE(io_uring_rsrc_update),
	FIELD(io_uring_rsrc_update, offset), FIELD(io_uring_rsrc_update, resv), FIELD(io_uring_rsrc_update, data),
	SIZE(io_uring_getevents_arg),
	FIELD(io_uring_getevents_arg, sigmask), FIELD(io_uring_getevents_arg, sigmask_sz),
	FIELD(io_uring_getevents_arg, pad), FIELD(io_uring_getevents_arg, ts),
	SIZE(fiemap_extent),
	FIELD(fiemap_extent, fe_logical), FIELD(fiemap_extent, fe_physical), FIELD(fiemap_extent, fe_length),
	FIELD(fiemap_extent, fe_reserved64), FIELD(fiemap_extent, fe_flags), FIELD(fiemap_extent, fe_reserved),
	SIZE(fiemap),
	FIELD(fiemap, fm_start), FIELD(fiemap, fm_length), FIELD(fiemap, fm_flags),
	FIELD(fiemap, fm_mapped_extents), FIELD(fiemap, fm_extent_count), FIELD(fiemap, fm_reserved),
	FIELD(fiemap, fm_extents),
	SIZE(__kernel_timespec),
	FIELD(__kernel_timespec, tv_sec), FIELD(__kernel_timespec, tv_nsec),
};

#define CONST(c) { #c, (size_t)(c) }
static const struct layout constants[] = {
	CONST(IORING_OP_NOP), CONST(IORING_OP_READV), CONST(IORING_OP_WRITEV), CONST(IORING_OP_FSYNC),
	CONST(IORING_OP_READ_FIXED), CONST(IORING_OP_WRITE_FIXED), CONST(IORING_OP_POLL_ADD),
	CONST(IORING_OP_TIMEOUT), CONST(IORING_OP_ASYNC_CANCEL), CONST(IORING_OP_FALLOCATE),
	CONST(IORING_OP_READ), CONST(IORING_OP_WRITE),
	CONST(IOSQE_FIXED_FILE), CONST(IOSQE_IO_DRAIN), CONST(IOSQE_IO_LINK), CONST(IOSQE_IO_HARDLINK),
	CONST(IOSQE_ASYNC), CONST(IOSQE_BUFFER_SELECT), CONST(IOSQE_CQE_SKIP_SUCCESS),
	CONST(IORING_SETUP_IOPOLL), CONST(IORING_SETUP_SQPOLL), CONST(IORING_SETUP_SQ_AFF),
	CONST(IORING_SETUP_CQSIZE), CONST(IORING_SETUP_CLAMP), CONST(IORING_SETUP_ATTACH_WQ),
	CONST(IORING_SETUP_R_DISABLED), CONST(IORING_SETUP_SUBMIT_ALL), CONST(IORING_SETUP_COOP_TASKRUN),
	CONST(IORING_SETUP_TASKRUN_FLAG), CONST(IORING_SETUP_SQE128), CONST(IORING_SETUP_CQE32),
	CONST(IORING_SETUP_SINGLE_ISSUER), CONST(IORING_SETUP_DEFER_TASKRUN),
	CONST(IORING_FEAT_SINGLE_MMAP), CONST(IORING_FEAT_NODROP), CONST(IORING_FEAT_SUBMIT_STABLE),
	CONST(IORING_FEAT_RW_CUR_POS), CONST(IORING_FEAT_CUR_PERSONALITY), CONST(IORING_FEAT_FAST_POLL),
	CONST(IORING_FEAT_POLL_32BITS), CONST(IORING_FEAT_SQPOLL_NONFIXED), CONST(IORING_FEAT_EXT_ARG),
	CONST(IORING_FEAT_NATIVE_WORKERS), CONST(IORING_FEAT_RSRC_TAGS), CONST(IORING_FEAT_CQE_SKIP),
	CONST(IORING_FEAT_LINKED_FILE),
	CONST(IORING_SQ_NEED_WAKEUP), CONST(IORING_SQ_CQ_OVERFLOW), CONST(IORING_SQ_TASKRUN),
	CONST(IORING_ENTER_GETEVENTS), CONST(IORING_ENTER_SQ_WAKEUP), CONST(IORING_ENTER_SQ_WAIT),
	CONST(IORING_ENTER_EXT_ARG),
	CONST(IORING_REGISTER_BUFFERS), CONST(IORING_UNREGISTER_BUFFERS), CONST(IORING_REGISTER_FILES),
	CONST(IORING_UNREGISTER_FILES), CONST(IORING_REGISTER_FILES_UPDATE), CONST(IORING_REGISTER_PROBE),
	CONST(IORING_REGISTER_EVENTFD), CONST(IORING_UNREGISTER_EVENTFD), CONST(IORING_CQ_EVENTFD_DISABLED),
	CONST(IORING_OFF_SQ_RING), CONST(IORING_OFF_CQ_RING), CONST(IORING_OFF_SQES),
	CONST(IORING_FSYNC_DATASYNC), CONST(IORING_TIMEOUT_ABS), CONST(IORING_TIMEOUT_ETIME_SUCCESS),
	CONST(IORING_ASYNC_CANCEL_ALL), CONST(IORING_ASYNC_CANCEL_FD), CONST(IORING_ASYNC_CANCEL_ANY),
	CONST(IORING_POLL_ADD_MULTI), CONST(IORING_CQE_F_MORE), CONST(IO_URING_OP_SUPPORTED),
	CONST(FS_IOC_FIEMAP), CONST(FIEMAP_FLAG_SYNC), CONST(FIEMAP_EXTENT_LAST), CONST(FIEMAP_EXTENT_UNKNOWN),
	CONST(FIEMAP_EXTENT_DELALLOC), CONST(FIEMAP_EXTENT_ENCODED), CONST(FIEMAP_EXTENT_DATA_INLINE),
	CONST(FIEMAP_EXTENT_UNWRITTEN), CONST(FIEMAP_EXTENT_SHARED),
	CONST(RWF_HIPRI), CONST(RWF_DSYNC), CONST(RWF_SYNC), CONST(RWF_NOWAIT), CONST(RWF_APPEND),
};

static size_t n_layouts(void) { return sizeof(layouts) / sizeof(layouts[0]); }
static size_t n_constants(void) { return sizeof(constants) / sizeof(constants[0]); }
static const char *layout_name(size_t i) { return layouts[i].name; }
static size_t layout_value(size_t i) { return layouts[i].value; }
static const char *constant_name(size_t i) { return constants[i].name; }
static size_t constant_value(size_t i) { return constants[i].value; }
*/
import "C"

// Available is true when this package was built with cgo.
const Available = true

// Layouts maps "struct" to its size and "struct.field" to the field's
// offset, as C computes them.
func Layouts() map[string]uintptr {
	m := make(map[string]uintptr)
	for i := C.size_t(0); i < C.n_layouts(); i++ {
		m[C.GoString(C.layout_name(i))] = uintptr(C.layout_value(i))
	}
	return m
}

// Constants maps each C constant's name to its value.
func Constants() map[string]uint64 {
	m := make(map[string]uint64)
	for i := C.size_t(0); i < C.n_constants(); i++ {
		m[C.GoString(C.constant_name(i))] = uint64(C.constant_value(i))
	}
	return m
}
