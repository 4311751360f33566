package ring

import (
	"testing"
	"unsafe"

	"github.com/nowaitio/nowait/ring/internal/cabi"
)

// goLayouts is the Go side of every struct mirrored from io_uring.h, named
// as in C, so that the test can compare one with the other.
func goLayouts() map[string]uintptr {
	var sqe SQE
	var cqe CQE
	var so sqringOffsets
	var co cqringOffsets
	var p params
	var po probeOp
	var ph probeHeader
	var ru rsrcUpdate
	var ga getEventsArg
	var ts Timespec
	var fe FiemapExtent
	var fh fiemapHeader
	return map[string]uintptr{
		"fiemap_extent":               unsafe.Sizeof(fe),
		"fiemap_extent.fe_logical":    unsafe.Offsetof(fe.Logical),
		"fiemap_extent.fe_physical":   unsafe.Offsetof(fe.Physical),
		"fiemap_extent.fe_length":     unsafe.Offsetof(fe.Length),
		"fiemap_extent.fe_reserved64": unsafe.Offsetof(fe.reserved),
		"fiemap_extent.fe_flags":      unsafe.Offsetof(fe.Flags),
		"fiemap_extent.fe_reserved":   unsafe.Offsetof(fe.reserved2),
		"fiemap":                      unsafe.Sizeof(fh),
		"fiemap.fm_start":             unsafe.Offsetof(fh.Start),
		"fiemap.fm_length":            unsafe.Offsetof(fh.Length),
		"fiemap.fm_flags":             unsafe.Offsetof(fh.Flags),
		"fiemap.fm_mapped_extents":    unsafe.Offsetof(fh.MappedExtents),
		"fiemap.fm_extent_count":      unsafe.Offsetof(fh.ExtentCount),
		"fiemap.fm_reserved":          unsafe.Offsetof(fh.Reserved),
		"fiemap.fm_extents":           unsafe.Offsetof(fiemapBuf{}.extents),

		"io_uring_sqe":             unsafe.Sizeof(sqe),
		"io_uring_sqe.opcode":      unsafe.Offsetof(sqe.Opcode),
		"io_uring_sqe.flags":       unsafe.Offsetof(sqe.Flags),
		"io_uring_sqe.ioprio":      unsafe.Offsetof(sqe.IOPrio),
		"io_uring_sqe.fd":          unsafe.Offsetof(sqe.Fd),
		"io_uring_sqe.off":         unsafe.Offsetof(sqe.Off),
		"io_uring_sqe.addr":        unsafe.Offsetof(sqe.Addr),
		"io_uring_sqe.len":         unsafe.Offsetof(sqe.Len),
		"io_uring_sqe.rw_flags":    unsafe.Offsetof(sqe.OpFlags),
		"io_uring_sqe.user_data":   unsafe.Offsetof(sqe.UserData),
		"io_uring_sqe.buf_index":   unsafe.Offsetof(sqe.BufIndex),
		"io_uring_sqe.personality": unsafe.Offsetof(sqe.Personality),
		"io_uring_sqe.file_index":  unsafe.Offsetof(sqe.FileIndex),
		"io_uring_sqe.addr3":       unsafe.Offsetof(sqe.Addr3),

		"io_uring_cqe":           unsafe.Sizeof(cqe),
		"io_uring_cqe.user_data": unsafe.Offsetof(cqe.UserData),
		"io_uring_cqe.res":       unsafe.Offsetof(cqe.Res),
		"io_uring_cqe.flags":     unsafe.Offsetof(cqe.Flags),

		"io_sqring_offsets":              unsafe.Sizeof(so),
		"io_sqring_offsets.head":         unsafe.Offsetof(so.Head),
		"io_sqring_offsets.tail":         unsafe.Offsetof(so.Tail),
		"io_sqring_offsets.ring_mask":    unsafe.Offsetof(so.RingMask),
		"io_sqring_offsets.ring_entries": unsafe.Offsetof(so.RingEntries),
		"io_sqring_offsets.flags":        unsafe.Offsetof(so.Flags),
		"io_sqring_offsets.dropped":      unsafe.Offsetof(so.Dropped),
		"io_sqring_offsets.array":        unsafe.Offsetof(so.Array),
		"io_sqring_offsets.resv1":        unsafe.Offsetof(so.Resv1),
		"io_sqring_offsets.resv2":        unsafe.Offsetof(so.UserAddr),

		"io_cqring_offsets":              unsafe.Sizeof(co),
		"io_cqring_offsets.head":         unsafe.Offsetof(co.Head),
		"io_cqring_offsets.tail":         unsafe.Offsetof(co.Tail),
		"io_cqring_offsets.ring_mask":    unsafe.Offsetof(co.RingMask),
		"io_cqring_offsets.ring_entries": unsafe.Offsetof(co.RingEntries),
		"io_cqring_offsets.overflow":     unsafe.Offsetof(co.Overflow),
		"io_cqring_offsets.cqes":         unsafe.Offsetof(co.Cqes),
		"io_cqring_offsets.flags":        unsafe.Offsetof(co.Flags),
		"io_cqring_offsets.resv1":        unsafe.Offsetof(co.Resv1),
		"io_cqring_offsets.resv2":        unsafe.Offsetof(co.UserAddr),

		"io_uring_params":                unsafe.Sizeof(p),
		"io_uring_params.sq_entries":     unsafe.Offsetof(p.SqEntries),
		"io_uring_params.cq_entries":     unsafe.Offsetof(p.CqEntries),
		"io_uring_params.flags":          unsafe.Offsetof(p.Flags),
		"io_uring_params.sq_thread_cpu":  unsafe.Offsetof(p.SqThreadCPU),
		"io_uring_params.sq_thread_idle": unsafe.Offsetof(p.SqThreadIdle),
		"io_uring_params.features":       unsafe.Offsetof(p.Features),
		"io_uring_params.wq_fd":          unsafe.Offsetof(p.WqFd),
		"io_uring_params.resv":           unsafe.Offsetof(p.Resv),
		"io_uring_params.sq_off":         unsafe.Offsetof(p.SqOff),
		"io_uring_params.cq_off":         unsafe.Offsetof(p.CqOff),

		"io_uring_probe_op":       unsafe.Sizeof(po),
		"io_uring_probe_op.op":    unsafe.Offsetof(po.Op),
		"io_uring_probe_op.resv":  unsafe.Offsetof(po.Resv),
		"io_uring_probe_op.flags": unsafe.Offsetof(po.Flags),
		"io_uring_probe_op.resv2": unsafe.Offsetof(po.Resv2),

		"io_uring_probe":         unsafe.Sizeof(ph),
		"io_uring_probe.last_op": unsafe.Offsetof(ph.LastOp),
		"io_uring_probe.ops_len": unsafe.Offsetof(ph.OpsLen),
		"io_uring_probe.resv":    unsafe.Offsetof(ph.Resv),
		"io_uring_probe.resv2":   unsafe.Offsetof(ph.Resv2),
		"io_uring_probe.ops":     unsafe.Offsetof(probeBuf{}.ops),

		"io_uring_rsrc_update":        unsafe.Sizeof(ru),
		"io_uring_rsrc_update.offset": unsafe.Offsetof(ru.Offset),
		"io_uring_rsrc_update.resv":   unsafe.Offsetof(ru.Resv),
		"io_uring_rsrc_update.data":   unsafe.Offsetof(ru.Data),

		"io_uring_getevents_arg":            unsafe.Sizeof(ga),
		"io_uring_getevents_arg.sigmask":    unsafe.Offsetof(ga.Sigmask),
		"io_uring_getevents_arg.sigmask_sz": unsafe.Offsetof(ga.SigmaskSz),
		"io_uring_getevents_arg.pad":        unsafe.Offsetof(ga.Pad),
		"io_uring_getevents_arg.ts":         unsafe.Offsetof(ga.Ts),

		"__kernel_timespec":         unsafe.Sizeof(ts),
		"__kernel_timespec.tv_sec":  unsafe.Offsetof(ts.Sec),
		"__kernel_timespec.tv_nsec": unsafe.Offsetof(ts.Nsec),
	}
}

func goConstants() map[string]uint64 {
	return map[string]uint64{
		"IORING_OP_NOP": uint64(OpNop), "IORING_OP_READV": uint64(OpReadv), "IORING_OP_WRITEV": uint64(OpWritev),
		"IORING_OP_FSYNC": uint64(OpFsync), "IORING_OP_READ_FIXED": uint64(OpReadFixed),
		"IORING_OP_WRITE_FIXED": uint64(OpWriteFixed), "IORING_OP_POLL_ADD": uint64(OpPollAdd),
		"IORING_OP_TIMEOUT": uint64(OpTimeout), "IORING_OP_ASYNC_CANCEL": uint64(OpAsyncCancel),
		"IORING_OP_FALLOCATE": uint64(OpFallocate), "IORING_OP_READ": uint64(OpRead), "IORING_OP_WRITE": uint64(OpWrite),

		"IOSQE_FIXED_FILE": uint64(SQEFixedFile), "IOSQE_IO_DRAIN": uint64(SQEIODrain), "IOSQE_IO_LINK": uint64(SQEIOLink),
		"IOSQE_IO_HARDLINK": uint64(SQEIOHardlink), "IOSQE_ASYNC": uint64(SQEAsync),
		"IOSQE_BUFFER_SELECT": uint64(SQEBufferSelect), "IOSQE_CQE_SKIP_SUCCESS": uint64(SQECQESkipSuccess),

		"IORING_SETUP_IOPOLL": uint64(SetupIOPoll), "IORING_SETUP_SQPOLL": uint64(SetupSQPoll),
		"IORING_SETUP_SQ_AFF": uint64(SetupSQAff), "IORING_SETUP_CQSIZE": uint64(SetupCQSize),
		"IORING_SETUP_CLAMP": uint64(SetupClamp), "IORING_SETUP_ATTACH_WQ": uint64(SetupAttachWQ),
		"IORING_SETUP_R_DISABLED": uint64(SetupRDisabled), "IORING_SETUP_SUBMIT_ALL": uint64(SetupSubmitAll),
		"IORING_SETUP_COOP_TASKRUN": uint64(SetupCoopTaskrun), "IORING_SETUP_TASKRUN_FLAG": uint64(SetupTaskrunFlag),
		"IORING_SETUP_SQE128": uint64(SetupSQE128), "IORING_SETUP_CQE32": uint64(SetupCQE32),
		"IORING_SETUP_SINGLE_ISSUER": uint64(SetupSingleIssuer), "IORING_SETUP_DEFER_TASKRUN": uint64(SetupDeferTaskrun),

		"IORING_FEAT_SINGLE_MMAP": uint64(FeatSingleMmap), "IORING_FEAT_NODROP": uint64(FeatNoDrop),
		"IORING_FEAT_SUBMIT_STABLE": uint64(FeatSubmitStable), "IORING_FEAT_RW_CUR_POS": uint64(FeatRWCurPos),
		"IORING_FEAT_CUR_PERSONALITY": uint64(FeatCurPersonality), "IORING_FEAT_FAST_POLL": uint64(FeatFastPoll),
		"IORING_FEAT_POLL_32BITS": uint64(FeatPoll32Bits), "IORING_FEAT_SQPOLL_NONFIXED": uint64(FeatSQPollNonfixed),
		"IORING_FEAT_EXT_ARG": uint64(FeatExtArg), "IORING_FEAT_NATIVE_WORKERS": uint64(FeatNativeWorkers),
		"IORING_FEAT_RSRC_TAGS": uint64(FeatRsrcTags), "IORING_FEAT_CQE_SKIP": uint64(FeatCQESkip),
		"IORING_FEAT_LINKED_FILE": uint64(FeatLinkedFile),

		"IORING_SQ_NEED_WAKEUP": uint64(sqNeedWakeup), "IORING_SQ_CQ_OVERFLOW": uint64(sqCQOverflow),
		"IORING_SQ_TASKRUN": uint64(sqTaskrun), "IORING_CQ_EVENTFD_DISABLED": uint64(cqEventfdDisabled),
		"IORING_ENTER_GETEVENTS": uint64(enterGetEvents), "IORING_ENTER_SQ_WAKEUP": uint64(enterSQWakeup),
		"IORING_ENTER_SQ_WAIT": uint64(enterSQWait), "IORING_ENTER_EXT_ARG": uint64(enterExtArg),

		"IORING_REGISTER_BUFFERS": registerBuffers, "IORING_UNREGISTER_BUFFERS": unregisterBuffers,
		"IORING_REGISTER_FILES": registerFiles, "IORING_UNREGISTER_FILES": unregisterFiles,
		"IORING_REGISTER_FILES_UPDATE": registerFilesUpdate, "IORING_REGISTER_PROBE": registerProbe,
		"IORING_REGISTER_EVENTFD": registerEventfd, "IORING_UNREGISTER_EVENTFD": unregisterEventfd,
		"IORING_OFF_SQ_RING": offSQRing, "IORING_OFF_CQ_RING": offCQRing, "IORING_OFF_SQES": offSQEs,

		"IORING_FSYNC_DATASYNC": uint64(FsyncDatasync), "IORING_TIMEOUT_ABS": uint64(TimeoutAbs),
		"IORING_TIMEOUT_ETIME_SUCCESS": uint64(TimeoutETimeSuccess),
		"IORING_ASYNC_CANCEL_ALL":      uint64(CancelAll), "IORING_ASYNC_CANCEL_FD": uint64(CancelFd),
		"IORING_ASYNC_CANCEL_ANY": uint64(CancelAny), "IORING_POLL_ADD_MULTI": uint64(PollAddMulti),
		"IORING_CQE_F_MORE": uint64(CQEFMore), "IO_URING_OP_SUPPORTED": uint64(probeOpSupported),

		"FS_IOC_FIEMAP": fsIocFiemap, "FIEMAP_FLAG_SYNC": uint64(FiemapFlagSync),
		"FIEMAP_EXTENT_LAST": uint64(FiemapExtentLast), "FIEMAP_EXTENT_UNKNOWN": uint64(FiemapExtentUnknown),
		"FIEMAP_EXTENT_DELALLOC": uint64(FiemapExtentDelalloc), "FIEMAP_EXTENT_ENCODED": uint64(FiemapExtentEncoded),
		"FIEMAP_EXTENT_DATA_INLINE": uint64(FiemapExtentInline), "FIEMAP_EXTENT_UNWRITTEN": uint64(FiemapExtentUnwritten),
		"FIEMAP_EXTENT_SHARED": uint64(FiemapExtentShared),
		"RWF_HIPRI":            uint64(RWFHiPri), "RWF_DSYNC": uint64(RWFDSync), "RWF_SYNC": uint64(RWFSync),
		"RWF_NOWAIT": uint64(RWFNoWait), "RWF_APPEND": uint64(RWFAppend),
	}
}

// TestABIAgainstCHeader compares every mirrored struct layout and constant
// with what the C compiler computes from <linux/io_uring.h>.
func TestABIAgainstCHeader(t *testing.T) {
	if !cabi.Available {
		t.Skip("built without cgo, so the C header cannot be read; TestABIKnownLayout still checks the layout")
	}
	compare(t, "layout", cabi.Layouts(), goLayouts())
	compare(t, "constant", cabi.Constants(), goConstants())
}

func compare[V comparable](t *testing.T, what string, c, g map[string]V) {
	t.Helper()
	for name, cv := range c {
		gv, ok := g[name]
		if !ok {
			t.Errorf("%s %s is in the C check but has no Go mirror", what, name)
			continue
		}
		if gv != cv {
			t.Errorf("%s %s: Go %v, C %v", what, name, gv, cv)
		}
	}
	for name := range g {
		if _, ok := c[name]; !ok {
			t.Errorf("%s %s has a Go mirror that the C check does not cover", what, name)
		}
	}
}

// TestABIKnownLayout checks the sizes the kernel ABI fixes forever, so that
// a build without cgo still catches a broken mirror. The values were read
// once from the header with the C compiler (TestABIAgainstCHeader).
func TestABIKnownLayout(t *testing.T) {
	want := map[string]uintptr{
		"io_uring_sqe": 64, "io_uring_sqe.user_data": 32, "io_uring_sqe.buf_index": 40, "io_uring_sqe.addr3": 48,
		"io_uring_cqe": 16, "io_uring_params": 120, "io_uring_params.sq_off": 40, "io_uring_params.cq_off": 80,
		"io_sqring_offsets": 40, "io_cqring_offsets": 40, "io_uring_probe": 16, "io_uring_probe_op": 8,
		"io_uring_rsrc_update": 16, "io_uring_getevents_arg": 24, "__kernel_timespec": 16,
		"fiemap_extent": 56, "fiemap_extent.fe_flags": 40, "fiemap": 32,
	}
	got := goLayouts()
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: Go %d, want %d", name, got[name], w)
		}
	}
}
