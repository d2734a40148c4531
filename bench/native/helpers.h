/* Declarations for liburing's examples/helpers.c, which the liburing-dev package ships
 * without its header. Written here from the functions helpers.c defines; used only to
 * compile examples/echo-server.c at bench time. */
#ifndef URING_BENCH_EXAMPLE_HELPERS_H
#define URING_BENCH_EXAMPLE_HELPERS_H
#include <stddef.h>

int setup_listening_socket(int port, int ipv6);
void *t_aligned_alloc(size_t alignment, size_t size);
void t_error(int status, int errnum, const char *format, ...);

#endif
