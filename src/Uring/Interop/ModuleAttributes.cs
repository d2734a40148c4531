using System.Runtime.CompilerServices;

// No zero-initialisation of locals and stackalloc buffers: every one is written before it is
// read. Besides saving the stores, this keeps the JIT from zeroing frames with 256-bit AVX
// registers right before calls into liburing, whose SSE code then paid the AVX-to-SSE
// transition penalty on every io_uring_get_sqe (measured: ~170 -> see docs/facade.md).
[module: SkipLocalsInit]
