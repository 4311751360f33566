// Command nouring runs a command where io_uring is refused, as a container
// runtime's seccomp profile refuses it, to test nowait's fallback on a
// machine where io_uring works:
//
//	go run ./cmd/nouring [-refuse=setup|enter|setup,enter,register] [-errno=EPERM|ENOSYS] -- go test ./...
//
// The default refuses io_uring_setup with EPERM, as Docker's default
// profile does. The filter holds for the command and everything it runs.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring/seccomp"
)

func main() {
	refuse := flag.String("refuse", "setup", "io_uring calls to refuse, comma-separated: setup, enter, register")
	errname := flag.String("errno", "EPERM", "the errno they fail with: EPERM, ENOSYS or EACCES")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: nouring [-refuse=setup|enter|...] [-errno=EPERM|ENOSYS] -- command [args...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*refuse, *errname, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "nouring:", err)
		os.Exit(2)
	}
}

func run(refuse, errname string, args []string) error {
	errnos := map[string]unix.Errno{"EPERM": unix.EPERM, "ENOSYS": unix.ENOSYS, "EACCES": unix.EACCES}
	errno, ok := errnos[strings.ToUpper(errname)]
	if !ok {
		return fmt.Errorf("unknown -errno %q: want EPERM, ENOSYS or EACCES", errname)
	}
	var calls []seccomp.Call
	for _, c := range strings.Split(refuse, ",") {
		switch strings.TrimSpace(c) {
		case "setup":
			calls = append(calls, seccomp.Setup)
		case "enter":
			calls = append(calls, seccomp.Enter)
		case "register":
			calls = append(calls, seccomp.Register)
		default:
			return fmt.Errorf("unknown call %q in -refuse: want setup, enter or register", c)
		}
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		return err
	}
	if err := seccomp.Refuse(calls, errno); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "nouring: %s refused with %s\n", refuse, errname)
	return syscall.Exec(path, args, os.Environ())
}
