using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Uring.Bench;

/// <summary>
/// Queue depth <c>N</c> means N loops, each with its own aligned 4 KiB buffer, each awaiting one
/// random 4 KiB read at a time, until told to stop; every read is verified
/// (<see cref="DataFile.Verify"/>). <see cref="WarmUp"/> once, then any number of
/// <see cref="Pass"/>es, each reporting the process's CPU time over its timed part.
/// </summary>
internal abstract class DirectReadCase : IDisposable
{
    private volatile bool _stopping;

    protected DirectReadCase(int capacity) => Capacity = capacity;

    /// <summary>The most loops a pass may run (one buffer each).</summary>
    public int Capacity { get; }

    protected bool Stopping => _stopping;

    public static DirectReadCase Create(DirectCase kind, string path, int capacity) => kind switch
    {
        DirectCase.Facade => new FacadeDirectReads(path, capacity, sqPoll: false, registered: false),
        DirectCase.FacadeFixed => new FacadeDirectReads(path, capacity, sqPoll: false, registered: true),
        DirectCase.FacadeSqPoll => new FacadeDirectReads(path, capacity, sqPoll: true, registered: false),
        DirectCase.ThreadPool => new ThreadPoolDirectReads(path, capacity, minThreads: false),
        DirectCase.ThreadPoolMinThreads => new ThreadPoolDirectReads(path, capacity, minThreads: true),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not an in-process case"),
    };

    /// <summary>Calls into liburing that may enter the kernel so far (façade rings only).</summary>
    protected virtual long? KernelEnterCalls => null;

    /// <summary>One loop: reads until <see cref="Stopping"/>, returns how many reads it completed.</summary>
    protected abstract Task<long> Loop(int index);

    public abstract void Dispose();

    /// <summary>Runs <paramref name="queueDepth"/> loops for <paramref name="duration"/>; also says
    /// how many methods the JIT compiled while they ran (after the loops were started and before
    /// they were told to stop).</summary>
    private (long Reads, double Seconds, long Jitted) RunFor(int queueDepth, TimeSpan duration)
    {
        _stopping = false;
        var clock = Stopwatch.StartNew();
        var loops = new Task<long>[queueDepth];
        for (var i = 0; i < queueDepth; i++)
        {
            var index = i;
            loops[i] = Task.Run(() => Loop(index));
        }
        var jitted = System.Runtime.JitInfo.GetCompiledMethodCount();
        Thread.Sleep(duration);
        jitted = System.Runtime.JitInfo.GetCompiledMethodCount() - jitted;
        _stopping = true;
        Task.WaitAll(loops); // rethrows a loop's failure (a short or wrong read): no figure then
        var seconds = clock.Elapsed.TotalSeconds;
        long reads = 0;
        foreach (var loop in loops)
            reads += loop.Result;
        return (reads, seconds, jitted);
    }

    /// <summary>Warm-up in slices of a quarter second until at least <paramref name="minimum"/>
    /// has passed and the JIT compiled no method while a slice's loops ran (this path has reached
    /// its optimised tier), or 2 s have: by then the hot path is optimised, and what the JIT still
    /// compiles now and then is cold code of the thread pool and the harness. Returns the time it took.</summary>
    public double WarmUp(TimeSpan minimum)
    {
        var clock = Stopwatch.StartNew();
        bool stable;
        do
            stable = RunFor(Capacity, TimeSpan.FromMilliseconds(250)).Jitted == 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(2) && (clock.Elapsed < minimum || !stable));
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>One measured pass of <paramref name="queueDepth"/> loops: <paramref name="ramp"/> untimed (threads, the SQPOLL thread and
    /// the device back in their stride after the pause between passes), then
    /// <paramref name="duration"/> timed. Prints one line of key=value fields.</summary>
    public string Pass(int queueDepth, TimeSpan duration, TimeSpan ramp)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(queueDepth, Capacity);
        RunFor(queueDepth, ramp);
        var enters0 = KernelEnterCalls;
        var kernelThreads0 = KernelThreadSeconds();
        var allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        var (user0, system0) = LibC.CpuTime(LibC.RUSAGE_SELF);
        var (reads, seconds, jitted) = RunFor(queueDepth, duration);
        var (user1, system1) = LibC.CpuTime(LibC.RUSAGE_SELF);
        var allocated1 = GC.GetTotalAllocatedBytes(precise: true);
        var kernelThreads1 = KernelThreadSeconds();
        var enters = KernelEnterCalls - enters0;

        var c = CultureInfo.InvariantCulture;
        return string.Create(c, $"reads={reads} seconds={seconds:R} user={user1 - user0:R} system={system1 - system0:R} ") +
               string.Create(c, $"kthreads={kernelThreads1 - kernelThreads0:R} alloc={allocated1 - allocated0} ") +
               string.Create(c, $"enters={enters?.ToString(c) ?? "n/a"} jitted={jitted} threads={Process.GetCurrentProcess().Threads.Count}");
    }

    /// <summary>CPU time of this process's io_uring kernel threads (iou-sqp-*: the SQPOLL thread;
    /// iou-wrk-*: io-wq workers) that exist now, from /proc/self/task/*/schedstat (nanoseconds).
    /// getrusage(RUSAGE_SELF) already includes them; this says how much of it is theirs.</summary>
    private static double KernelThreadSeconds()
    {
        double total = 0;
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                if (!File.ReadAllText(Path.Combine(task, "comm")).StartsWith("iou-", StringComparison.Ordinal))
                    continue;
                var schedstat = File.ReadAllText(Path.Combine(task, "schedstat"));
                total += long.Parse(schedstat.AsSpan(0, schedstat.IndexOf(' ')), CultureInfo.InvariantCulture) / 1e9;
            }
            catch (IOException)
            {
                // the thread exited meanwhile
            }
        }
        return total;
    }
}

internal sealed class FacadeDirectReads : DirectReadCase
{
    private readonly Ring _ring;
    private readonly int _fd;
    private readonly OwnershipMemory[] _buffers;
    private readonly RegisteredBufferTable? _bufferTable;
    private readonly RegisteredFileTable? _fileTable;
    private readonly RegisteredBuffer[] _registeredBuffers = [];
    private readonly RegisteredFile _file;

    public FacadeDirectReads(string path, int capacity, bool sqPoll, bool registered) : base(capacity)
    {
        _ring = new Ring(new RingOptions { Entries = (uint)Math.Max(256, capacity * 2), SqPoll = sqPoll });
        _fd = _ring.OpenAt(Ring.CurrentDirectory, path, OpenFlags.ReadOnly | OpenFlags.Direct).Result;
        if (registered)
        {
            _bufferTable = _ring.RegisterBuffers(capacity);
            _fileTable = _ring.RegisterFiles(1);
            _file = _fileTable.Register(_fd);
            _registeredBuffers = new RegisteredBuffer[capacity];
            for (var i = 0; i < capacity; i++)
                _registeredBuffers[i] = _bufferTable.Allocate(DataFile.BlockSize);
            _buffers = [.. _registeredBuffers.Select(b => b.Memory)];
        }
        else
        {
            _buffers = new OwnershipMemory[capacity];
            for (var i = 0; i < capacity; i++)
                _buffers[i] = OwnershipMemory.Allocate(DataFile.BlockSize, alignment: 4096);
        }
    }

    protected override long? KernelEnterCalls => _ring.KernelEnterCalls;

    protected override Task<long> Loop(int index) =>
        _fileTable is null ? ReadLoop(_buffers[index]) : ReadFixedLoop(_registeredBuffers[index]);

    private async Task<long> ReadLoop(OwnershipMemory buffer)
    {
        var random = new Random();
        long count = 0;
        while (!Stopping)
        {
            var block = random.NextInt64(DataFile.Blocks);
            var (read, _) = await _ring.Read(_fd, buffer, block * DataFile.BlockSize).ConfigureAwait(false);
            DataFile.Verify(read, buffer.Span, block, count);
            count++;
        }
        return count;
    }

    private async Task<long> ReadFixedLoop(RegisteredBuffer buffer)
    {
        var random = new Random();
        long count = 0;
        while (!Stopping)
        {
            var block = random.NextInt64(DataFile.Blocks);
            var (read, _) = await _ring.ReadFixed(_file, buffer, block * DataFile.BlockSize).ConfigureAwait(false);
            DataFile.Verify(read, buffer.Memory.Span, block, count);
            count++;
        }
        return count;
    }

    public override void Dispose()
    {
        if (_fileTable is not null)
        {
            _fileTable.Release(_file);
            _fileTable.Dispose();
        }
        foreach (var buffer in _buffers)
            buffer.Dispose();
        _bufferTable?.Dispose();
        _ring.Close(_fd).Wait();
        _ring.Dispose();
    }
}

internal sealed class ThreadPoolDirectReads : DirectReadCase
{
    private readonly SafeFileHandle _handle;
    private readonly Memory<byte>[] _buffers;

    public ThreadPoolDirectReads(string path, int queueDepth, bool minThreads) : base(queueDepth)
    {
        if (minThreads)
        {
            ThreadPool.GetMinThreads(out _, out var completionThreads);
            if (!ThreadPool.SetMinThreads(queueDepth, completionThreads))
                throw new InvalidOperationException($"ThreadPool.SetMinThreads({queueDepth}) refused");
        }
        // .NET has no O_DIRECT in FileOptions: open(2) it and hand the fd to a SafeFileHandle.
        var fd = LibC.Open(path, LibC.O_RDONLY | LibC.O_DIRECT | LibC.O_CLOEXEC);
        if (fd < 0)
            throw new IOException($"open({path}, O_DIRECT) failed: errno {Marshal.GetLastPInvokeError()}");
        _handle = new SafeFileHandle(fd, ownsHandle: true);
        _buffers = new Memory<byte>[queueDepth];
        for (var i = 0; i < queueDepth; i++)
            _buffers[i] = AlignedBlock();
    }

    /// <summary>A 4 KiB block at a 4 KiB-aligned address (O_DIRECT needs it) inside a pinned array.</summary>
    private static unsafe Memory<byte> AlignedBlock()
    {
        var array = GC.AllocateUninitializedArray<byte>(2 * DataFile.BlockSize, pinned: true);
        var address = (nuint)Unsafe.AsPointer(ref array[0]);
        var skip = (int)((DataFile.BlockSize - address % DataFile.BlockSize) % DataFile.BlockSize);
        return array.AsMemory(skip, DataFile.BlockSize);
    }

    protected override async Task<long> Loop(int index)
    {
        var buffer = _buffers[index];
        var random = new Random();
        long count = 0;
        while (!Stopping)
        {
            var block = random.NextInt64(DataFile.Blocks);
            var read = await RandomAccess.ReadAsync(_handle, buffer, block * DataFile.BlockSize).ConfigureAwait(false);
            DataFile.Verify(read, buffer.Span, block, count);
            count++;
        }
        return count;
    }

    public override void Dispose() => _handle.Dispose();
}
