/* Baseline for the NOP benchmarks: liburing from C, IORING_OP_NOP submitted in batches of
 * BATCH with io_uring_submit_and_wait, all CQEs reaped before the next batch.
 * Usage: nop_bench BATCH TOTAL_OPS   Prints one line: "c-nop batch=B ops=N seconds=S". */
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned batch = argc > 1 ? (unsigned)atoi(argv[1]) : 32;
	unsigned long total = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000000UL;
	struct io_uring ring;
	int ret = io_uring_queue_init(256, &ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
	if (ret < 0) {
		fprintf(stderr, "io_uring_queue_init: %d\n", ret);
		return 1;
	}
	unsigned long done = 0;
	double start = 0;
	for (int pass = 0; pass < 2; pass++) { /* pass 0 warms up */
		unsigned long goal = pass == 0 ? total / 10 : total;
		if (pass == 1)
			start = now();
		for (done = 0; done < goal; done += batch) {
			for (unsigned i = 0; i < batch; i++) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
				io_uring_prep_nop(sqe);
				io_uring_sqe_set_data64(sqe, done + i);
			}
			ret = io_uring_submit_and_wait(&ring, batch);
			if (ret < 0) {
				fprintf(stderr, "submit_and_wait: %d\n", ret);
				return 1;
			}
			struct io_uring_cqe *cqe;
			unsigned head, seen = 0;
			io_uring_for_each_cqe(&ring, head, cqe) {
				if (cqe->res < 0) {
					fprintf(stderr, "nop failed: %d\n", cqe->res);
					return 1;
				}
				seen++;
			}
			io_uring_cq_advance(&ring, seen);
			if (seen != batch) {
				fprintf(stderr, "expected %u completions, got %u\n", batch, seen);
				return 1;
			}
		}
	}
	double seconds = now() - start;
	printf("c-nop batch=%u ops=%lu seconds=%.6f\n", batch, done, seconds);
	io_uring_queue_exit(&ring);
	return 0;
}
