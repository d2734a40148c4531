/* Echo load generator, independent of every server under test.
 * Opens CONNS TCP connections to 127.0.0.1:PORT; each one sends a MSG-byte message, waits for
 * all MSG bytes to come back (checked), and sends the next: one request in flight per
 * connection. Runs WARMUP seconds, then counts completed round trips for SECONDS.
 * Usage: echo_load PORT CONNS MSG SECONDS [WARMUP]
 * Prints: "echo-load conns=C msg=M requests=N seconds=S errors=E". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	size_t sent, received;
	unsigned char seq;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_one(int port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("connect");
		exit(1);
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s PORT CONNS MSG SECONDS [WARMUP]\n", argv[0]);
		return 2;
	}
	int port = atoi(argv[1]), nconns = atoi(argv[2]);
	size_t msg = (size_t)atol(argv[3]);
	double seconds = atof(argv[4]), warmup = argc > 5 ? atof(argv[5]) : 1.0;
	unsigned char *out = malloc(msg), *in = malloc(msg);
	struct conn *conns = calloc(nconns, sizeof(*conns));
	int ep = epoll_create1(0);

	for (int i = 0; i < nconns; i++) {
		conns[i].fd = connect_one(port);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &conns[i] };
		epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
	}
	/* Each message is filled with its connection's sequence byte, so a reply that mixes
	 * messages or connections is detected. */
	for (int i = 0; i < nconns; i++) {
		memset(out, conns[i].seq, msg);
		if (write(conns[i].fd, out, msg) != (ssize_t)msg) {
			perror("write");
			return 1;
		}
	}

	long requests = 0, errors = 0;
	double start = now(), measure_from = start + warmup, end = measure_from + seconds;
	struct epoll_event events[256];
	int measuring = 0;
	for (;;) {
		double t = now();
		if (!measuring && t >= measure_from) {
			measuring = 1;
			requests = 0;
		}
		if (t >= end)
			break;
		int n = epoll_wait(ep, events, 256, 100);
		for (int e = 0; e < n; e++) {
			struct conn *c = events[e].data.ptr;
			ssize_t got = read(c->fd, in, msg - c->received);
			if (got <= 0) {
				if (got < 0 && errno == EINTR)
					continue;
				fprintf(stderr, "connection closed by server (%zd, errno %d)\n", got, errno);
				return 1;
			}
			for (ssize_t k = 0; k < got; k++)
				if (in[k] != c->seq)
					errors++;
			c->received += (size_t)got;
			if (c->received < msg)
				continue;
			c->received = 0;
			c->seq++;
			requests++;
			memset(out, c->seq, msg);
			size_t off = 0;
			while (off < msg) {
				ssize_t w = write(c->fd, out + off, msg - off);
				if (w < 0) {
					if (errno == EINTR || errno == EAGAIN)
						continue;
					perror("write");
					return 1;
				}
				off += (size_t)w;
			}
		}
	}
	double elapsed = now() - measure_from;
	printf("echo-load conns=%d msg=%zu requests=%ld seconds=%.3f errors=%ld\n", nconns, msg, requests, elapsed, errors);
	for (int i = 0; i < nconns; i++)
		close(conns[i].fd);
	return errors ? 1 : 0;
}
