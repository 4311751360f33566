#!/usr/bin/env bash
# headline.sh: the headline comparison of docs/benchmarks.md. Runs each
# headline job on aio, psync, the bare ring and fio's io_uring engine,
# interleaved, REPEAT times (median reported): random reads at depth 1,
# 32 (also with every engine submitting and reaping 32 at a time, fio's
# iodepth_batch options) and 64, random overwrites, appends, a WAL commit (a 4 KiB append and
# an fdatasync, one at a time), 512-byte writes into fallocate'd space;
# plus the mixed submit-latency job on aio and the bare ring;
# and prints the tables, or writes them to the file named. With
# --update-docs (or UPDATE_DOCS=1) it also writes them between the
# headline markers of docs/benchmarks.md (the project's own record; a
# user's run leaves the checkout alone).
#
#   bench/headline.sh                    # REPEAT=3 RUNTIME=5s, about 18 minutes
#   bench/headline.sh table.md           # the tables into table.md
#   REPEAT=1 RUNTIME=2s bench/headline.sh
#   bench/headline.sh --update-docs      # and record it in docs/benchmarks.md
#
# Installs fio (Debian package) when it is missing. Files go to
# ${TMPDIR:-/tmp} (it must not be tmpfs before Linux 6.6) and are removed.
set -euo pipefail
dest=""
for arg in "$@"; do
  case "$arg" in
  --update-docs) UPDATE_DOCS=1 ;;
  -*) echo "headline.sh: unknown option $arg (--update-docs, or a file name)" >&2; exit 2 ;;
  *) dest=$(realpath -m "$arg") ;;
  esac
done
cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-3}
RUNTIME=${RUNTIME:-5s}
if ! command -v fio >/dev/null; then
  echo "fio not found: installing the Debian package" >&2
  apt-get update -qq && apt-get install -y -qq fio >/dev/null
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/nowait-headline.XXXXXX")
trap 'rm -rf "$work"' EXIT
go build -o "$work/iobench" ./cmd/iobench
out=$work/table.md
run() { # name, iobench flags...
  echo "running $1" >&2
  "$work/iobench" --output-format=markdown --repeat="$REPEAT" --runtime="$RUNTIME" \
    --compare=aio,psync,ring,fio "${@:2}" | sed 1,2d >>"$out"
}
{
  echo "Command: \`bench/headline.sh\` (REPEAT=$REPEAT, RUNTIME=$RUNTIME)."
  echo "Date $(date -u +%Y-%m-%d), kernel $(uname -r), $(nproc) cores, $(fio --version), $(go version | cut -d' ' -f3)."
  echo
  echo "| job | engine | IOPS | vs aio | lat p50 us | p99.99 us | slat p99.99 us | slat max us | CPU/IO us | machine stalls (max us) |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} >"$out"
run randread-4k-qd1 --rw=randread --bs=4k --iodepth=1 --size=1g --filename="$work/read.dat"
run randread-4k-qd32 --rw=randread --bs=4k --iodepth=32 --size=1g --filename="$work/read.dat"
run randread-4k-qd32-batched --name=randread-4k-qd32-batched --rw=randread --bs=4k --iodepth=32 --iodepth_batch_submit=32 --iodepth_batch_complete_max=32 --size=1g --filename="$work/read.dat"
run randread-4k-qd64 --rw=randread --bs=4k --iodepth=64 --size=1g --filename="$work/read.dat"
run randwrite-4k-qd32 --rw=randwrite --bs=4k --iodepth=32 --size=1g --filename="$work/read.dat"
run append-4k-qd16 --rw=append --bs=4k --iodepth=16 --size=16g --filename="$work/append.dat"
run wal-4k-append-fdatasync-qd1 --name=wal-4k-append-fdatasync-qd1 --rw=append --bs=4k --iodepth=1 --fdatasync=1 --size=1g --filename="$work/wal.dat"
run randwrite-512-qd16-prealloc --rw=randwrite --bs=512 --iodepth=16 --size=256m --prealloc --filename="$work/prealloc.dat"
{
  echo
  echo "Mixed job (queue depth 64: 4 KiB appends, 512-byte writes into a fallocate'd file, 4 KiB random reads, an fdatasync every 1000 writes; 1,000,000 timed submissions of one I/O each, as fio submits):"
  echo
  echo "| job | engine | IOPS | vs aio | lat p50 us | p99.99 us | slat p99.99 us | slat max us | CPU/IO us | machine stalls (max us) |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} >>"$out"
echo "running mixed" >&2
"$work/iobench" --output-format=markdown --rw=mixed --compare=aio,ring --filename="$work/mixed" | sed 1,2d >>"$out"
if [ -n "$dest" ]; then
  cp "$out" "$dest"
  echo "the tables are in $dest" >&2
else
  cat "$out"
fi
if [ "${UPDATE_DOCS:-0}" != 1 ]; then
  exit 0
fi
# Replace what lies between the markers in docs/benchmarks.md.
awk -v table="$out" '
  /<!-- headline:start -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
  /<!-- headline:end -->/ { skip = 0 }
  !skip { print }
' docs/benchmarks.md >"$work/benchmarks.md"
cp "$work/benchmarks.md" docs/benchmarks.md
echo "docs/benchmarks.md updated" >&2
