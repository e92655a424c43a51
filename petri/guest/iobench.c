/*
 * iobench: random 4 KiB O_DIRECT reads (or writes) against a block device with
 * Linux native AIO at a fixed queue depth, for a fixed time. Prints one line:
 *   iobench: mode=read qd=32 seconds=10.00 ios=12345 iops=1234
 * A small static stand-in for fio in the test guest (fio needs ~63 libraries).
 * Usage: iobench DEVICE SECONDS [QD] [read|write]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BS 4096
#define MAX_QD 256

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: iobench DEVICE SECONDS [QD] [read|write]\n");
		return 2;
	}
	double seconds = atof(argv[2]);
	int qd = argc > 3 ? atoi(argv[3]) : 32;
	int writing = argc > 4 && strcmp(argv[4], "write") == 0;
	if (qd < 1 || qd > MAX_QD || seconds <= 0) {
		fprintf(stderr, "iobench: bad arguments\n");
		return 2;
	}
	int fd = open(argv[1], (writing ? O_RDWR : O_RDONLY) | O_DIRECT);
	if (fd < 0) {
		perror("iobench: open");
		return 1;
	}
	uint64_t size = 0;
	if (ioctl(fd, BLKGETSIZE64, &size) != 0) {
		off_t end = lseek(fd, 0, SEEK_END);
		size = end > 0 ? (uint64_t)end : 0;
	}
	if (size < BS) {
		fprintf(stderr, "iobench: cannot size %s\n", argv[1]);
		return 1;
	}
	uint64_t blocks = size / BS;
	aio_context_t ctx = 0;
	if (syscall(SYS_io_setup, qd, &ctx) != 0) {
		perror("iobench: io_setup");
		return 1;
	}
	static struct iocb cbs[MAX_QD];
	struct iocb *ptrs[1];
	char *buf;
	if (posix_memalign((void **)&buf, BS, (size_t)BS * qd) != 0)
		return 1;
	memset(buf, 0x5a, (size_t)BS * qd);
	for (int i = 0; i < qd; i++) {
		memset(&cbs[i], 0, sizeof(cbs[i]));
		cbs[i].aio_fildes = fd;
		cbs[i].aio_lio_opcode = writing ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
		cbs[i].aio_buf = (uint64_t)(uintptr_t)(buf + (size_t)i * BS);
		cbs[i].aio_nbytes = BS;
		cbs[i].aio_data = i;
	}
	double start = now(), end = start + seconds;
	long ios = 0;
	for (int i = 0; i < qd; i++) {
		cbs[i].aio_offset = (next_rand() % blocks) * BS;
		ptrs[0] = &cbs[i];
		if (syscall(SYS_io_submit, ctx, 1, ptrs) != 1) {
			perror("iobench: io_submit");
			return 1;
		}
	}
	struct io_event events[MAX_QD];
	int inflight = qd;
	while (inflight > 0) {
		long n = syscall(SYS_io_getevents, ctx, 1, qd, events, NULL);
		if (n < 0) {
			perror("iobench: io_getevents");
			return 1;
		}
		int stop = now() >= end;
		for (long e = 0; e < n; e++) {
			if (events[e].res != BS) {
				fprintf(stderr, "iobench: I/O failed: %lld\n", (long long)events[e].res);
				return 1;
			}
			ios++;
			inflight--;
			if (!stop) {
				struct iocb *cb = &cbs[events[e].data];
				cb->aio_offset = (next_rand() % blocks) * BS;
				ptrs[0] = cb;
				if (syscall(SYS_io_submit, ctx, 1, ptrs) != 1) {
					perror("iobench: io_submit");
					return 1;
				}
				inflight++;
			}
		}
	}
	double took = now() - start;
	printf("iobench: mode=%s qd=%d seconds=%.2f ios=%ld iops=%.0f\n", writing ? "write" : "read", qd,
	       took, ios, ios / took);
	return 0;
}
