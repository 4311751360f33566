package ring

// Kernel ABI of io_uring, mirrored from include/uapi/linux/io_uring.h.
// Only structs and constants live here; abi_test.go checks every size and
// field offset against the C header. Names follow the header closely (in Go
// case) so that a reader can grep one against the other.

// SQE is struct io_uring_sqe (64 bytes). Unions are represented by their
// first member; the Prep functions in sqe.go write the others through it.
type SQE struct {
	Opcode      uint8
	Flags       uint8
	IOPrio      uint16
	Fd          int32
	Off         uint64 // union: off, addr2, {cmd_op, __pad1}
	Addr        uint64 // union: addr, splice_off_in
	Len         uint32
	OpFlags     uint32 // union: rw_flags, fsync_flags, timeout_flags, cancel_flags, ...
	UserData    uint64
	BufIndex    uint16 // union: buf_index, buf_group
	Personality uint16
	FileIndex   uint32 // union: splice_fd_in, file_index, {addr_len, __pad3}
	Addr3       uint64
	pad2        uint64
}

// CQE is struct io_uring_cqe without the CQE32 extension (16 bytes).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// sqringOffsets is struct io_sqring_offsets.
type sqringOffsets struct {
	Head        uint32
	Tail        uint32
	RingMask    uint32
	RingEntries uint32
	Flags       uint32
	Dropped     uint32
	Array       uint32
	Resv1       uint32
	UserAddr    uint64 // resv2 in older headers
}

// cqringOffsets is struct io_cqring_offsets.
type cqringOffsets struct {
	Head        uint32
	Tail        uint32
	RingMask    uint32
	RingEntries uint32
	Overflow    uint32
	Cqes        uint32
	Flags       uint32
	Resv1       uint32
	UserAddr    uint64 // resv2 in older headers
}

// params is struct io_uring_params, passed to io_uring_setup and filled in
// by the kernel.
type params struct {
	SqEntries    uint32
	CqEntries    uint32
	Flags        uint32
	SqThreadCPU  uint32
	SqThreadIdle uint32
	Features     uint32
	WqFd         uint32
	Resv         [3]uint32
	SqOff        sqringOffsets
	CqOff        cqringOffsets
}

// probeOp is struct io_uring_probe_op.
type probeOp struct {
	Op    uint8
	Resv  uint8
	Flags uint16
	Resv2 uint32
}

// probeHeader is struct io_uring_probe without its flexible ops[] array.
type probeHeader struct {
	LastOp uint8
	OpsLen uint8
	Resv   uint16
	Resv2  [3]uint32
}

// rsrcUpdate is struct io_uring_rsrc_update (IORING_REGISTER_FILES_UPDATE).
type rsrcUpdate struct {
	Offset uint32
	Resv   uint32
	Data   uint64
}

// getEventsArg is struct io_uring_getevents_arg (IORING_ENTER_EXT_ARG).
type getEventsArg struct {
	Sigmask   uint64
	SigmaskSz uint32
	Pad       uint32
	Ts        uint64
}

// Timespec is struct __kernel_timespec.
type Timespec struct {
	Sec  int64
	Nsec int64
}

// Opcodes (enum io_uring_op). Only those this project prepares or probes.
const (
	OpNop         uint8 = 0
	OpReadv       uint8 = 1
	OpWritev      uint8 = 2
	OpFsync       uint8 = 3
	OpReadFixed   uint8 = 4
	OpWriteFixed  uint8 = 5
	OpPollAdd     uint8 = 6
	OpTimeout     uint8 = 11
	OpAsyncCancel uint8 = 14
	OpFallocate   uint8 = 17
	OpRead        uint8 = 22
	OpWrite       uint8 = 23
	OpMsgRing     uint8 = 40
)

// msgData is IORING_MSG_DATA, the MSG_RING command (in sqe->addr) that
// posts a CQE with user_data sqe->off and res sqe->len to the target ring.
const msgData = 0

// SQE flags (IOSQE_*).
const (
	SQEFixedFile      uint8 = 1 << 0
	SQEIODrain        uint8 = 1 << 1
	SQEIOLink         uint8 = 1 << 2
	SQEIOHardlink     uint8 = 1 << 3
	SQEAsync          uint8 = 1 << 4
	SQEBufferSelect   uint8 = 1 << 5
	SQECQESkipSuccess uint8 = 1 << 6
)

// Setup flags (IORING_SETUP_*).
const (
	SetupIOPoll       uint32 = 1 << 0
	SetupSQPoll       uint32 = 1 << 1
	SetupSQAff        uint32 = 1 << 2
	SetupCQSize       uint32 = 1 << 3
	SetupClamp        uint32 = 1 << 4
	SetupAttachWQ     uint32 = 1 << 5
	SetupRDisabled    uint32 = 1 << 6
	SetupSubmitAll    uint32 = 1 << 7
	SetupCoopTaskrun  uint32 = 1 << 8
	SetupTaskrunFlag  uint32 = 1 << 9
	SetupSQE128       uint32 = 1 << 10
	SetupCQE32        uint32 = 1 << 11
	SetupSingleIssuer uint32 = 1 << 12
	SetupDeferTaskrun uint32 = 1 << 13
)

// Features reported by the kernel (IORING_FEAT_*).
const (
	FeatSingleMmap     uint32 = 1 << 0
	FeatNoDrop         uint32 = 1 << 1
	FeatSubmitStable   uint32 = 1 << 2
	FeatRWCurPos       uint32 = 1 << 3
	FeatCurPersonality uint32 = 1 << 4
	FeatFastPoll       uint32 = 1 << 5
	FeatPoll32Bits     uint32 = 1 << 6
	FeatSQPollNonfixed uint32 = 1 << 7
	FeatExtArg         uint32 = 1 << 8
	FeatNativeWorkers  uint32 = 1 << 9
	FeatRsrcTags       uint32 = 1 << 10
	FeatCQESkip        uint32 = 1 << 11
	FeatLinkedFile     uint32 = 1 << 12
)

// sq_ring->flags, written by the kernel.
const (
	sqNeedWakeup uint32 = 1 << 0
	sqCQOverflow uint32 = 1 << 1
	sqTaskrun    uint32 = 1 << 2
)

// io_uring_enter flags.
const (
	enterGetEvents uint32 = 1 << 0
	enterSQWakeup  uint32 = 1 << 1
	enterSQWait    uint32 = 1 << 2
	enterExtArg    uint32 = 1 << 3
)

// io_uring_register opcodes.
const (
	registerBuffers     = 0
	unregisterBuffers   = 1
	registerFiles       = 2
	unregisterFiles     = 3
	registerEventfd     = 4
	unregisterEventfd   = 5
	registerFilesUpdate = 6
	registerProbe       = 8
	registerSendMsgRing = 31 // IORING_REGISTER_SEND_MSG_RING (6.13): MSG_RING without a source ring
)

// cq_ring->flags, written by the application.
const (
	cqEventfdDisabled uint32 = 1 << 0
)

// mmap offsets of the rings.
const (
	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000
)

// Per-opcode flags.
const (
	FsyncDatasync uint32 = 1 << 0 // IORING_FSYNC_DATASYNC

	TimeoutAbs          uint32 = 1 << 0 // IORING_TIMEOUT_ABS
	TimeoutETimeSuccess uint32 = 1 << 5 // IORING_TIMEOUT_ETIME_SUCCESS

	CancelAll uint32 = 1 << 0 // IORING_ASYNC_CANCEL_ALL
	CancelFd  uint32 = 1 << 1 // IORING_ASYNC_CANCEL_FD
	CancelAny uint32 = 1 << 2 // IORING_ASYNC_CANCEL_ANY

	PollAddMulti uint32 = 1 << 0 // IORING_POLL_ADD_MULTI (in sqe->len)

	CQEFMore uint32 = 1 << 1 // IORING_CQE_F_MORE

	probeOpSupported uint16 = 1 << 0 // IO_URING_OP_SUPPORTED
)

// Per-I/O flags for read and write SQEs (RWF_*, include/uapi/linux/fs.h).
const (
	RWFHiPri  uint32 = 0x01
	RWFDSync  uint32 = 0x02
	RWFSync   uint32 = 0x04
	RWFNoWait uint32 = 0x08
	RWFAppend uint32 = 0x10
	// RWFAtomic (kernel 6.11) is newer than Debian 12's header, so the test
	// cannot check it against C; its value is from the kernel's fs.h.
	RWFAtomic uint32 = 0x40
)
