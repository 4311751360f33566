#!/usr/bin/env bash
# Runs the aio suite, TestFSX included, on loop-mounted filesystems beyond
# the root's ext4: XFS with 4 KiB and 1 KiB blocks, XFS mounted largeio,
# btrfs, ext4 with 1 KiB blocks and ext4 with bigalloc (64 KiB clusters),
# on both backends, with TMPDIR on each. Needs root, loop devices,
# xfsprogs and btrfs-progs (.ci/run installs them). Whatever happens, the
# filesystems are unmounted and the loop devices detached on exit.
#
#   scripts/filesystems.sh                  # the suite, TestFSX's short mode
#   FSX_OPS=50000 RUN=TestFSX scripts/filesystems.sh   # the long fsx only
#   ONLY=xfs-1k scripts/filesystems.sh      # one filesystem
set -euo pipefail
cd "$(dirname "$0")/.."

fsx_ops=${FSX_OPS:-1500}
run=${RUN:-.}
work=$(mktemp -d /tmp/nowait-fs.XXXXXX)
mounts=()
loops=()
cleanup() {
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  for l in "${loops[@]}"; do losetup -d "$l" || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# mount_fs NAME OPTIONS MKFS...: a 4 GiB sparse image on a loop device,
# made with MKFS and mounted with OPTIONS ("" for none); prints the mount.
mount_fs() {
  local name=$1 opts=$2
  shift 2
  local img=$work/$name.img mnt=$work/$name dev
  truncate -s 4G "$img"
  dev=$(losetup --find --show "$img")
  loops+=("$dev")
  "$@" "$dev" >/dev/null
  mkdir "$mnt"
  mount ${opts:+-o "$opts"} "$dev" "$mnt"
  mounts+=("$mnt")
}

filesystems=(
  "xfs||mkfs.xfs -q -f"
  "xfs-1k||mkfs.xfs -q -f -b size=1024"
  "xfs-largeio|largeio,allocsize=64k|mkfs.xfs -q -f"
  "btrfs||mkfs.btrfs -q -f"
  "ext4-1k||mkfs.ext4 -q -F -b 1024"
  "ext4-bigalloc||mkfs.ext4 -q -F -O bigalloc -C 65536"
)

go test -c -o "$work/aio.test" ./aio
go test -c -o "$work/iomap.test" ./iomap
for spec in "${filesystems[@]}"; do
  IFS='|' read -r name opts mkfs <<<"$spec"
  if [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ]; then continue; fi
  # shellcheck disable=SC2086 # mkfs is a command and its words
  mount_fs "$name" "$opts" $mkfs
  mnt=$work/$name
  echo "== iomap on $name (the NOWAIT agreement table)"
  # iomap's other tests pin the root ext4's layout; this one measures.
  (cd iomap && TMPDIR=$mnt "$work/iomap.test" -test.count=1 -test.run TestNoWaitAgreesWithKernel -test.v) |
    grep -E '^\s*\||^(--- FAIL|FAIL|ok)|agreement_test' || true
  for backend in auto syscall; do
    echo "== aio on $name, backend $backend (fsx: $fsx_ops operations)"
    start=$(date +%s)
    (cd aio && TMPDIR=$mnt NOWAIT_BACKEND=${backend/auto/} "$work/aio.test" \
      -test.count=1 -test.run "$run" -fsx.ops="$fsx_ops")
    echo "   $name/$backend: $(( $(date +%s) - start )) s"
  done
done
