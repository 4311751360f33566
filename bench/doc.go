// Package bench will hold the benchmark harness behind cmd/iobench (issue
// 5). Today it holds ring_vs_fio.sh, which compares the bare ring with
// fio's io_uring engine on the same file.
package bench
