using System.Buffers;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace VqaPipeline.Ml.Checkpoints;

/// <summary>
/// A read-only memory mapping of a whole file, handing out <see cref="ReadOnlyMemory{T}"/> slices of it so tensors can
/// be read without copying the file into the managed heap. Slices refuse access once the mapping is disposed.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _pointer;

    public MappedFile(string path, long length)
    {
        Path = path;
        Length = length;
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _pointer);
        _pointer += _view.PointerOffset;
    }

    public string Path { get; }

    public long Length { get; }

    public bool IsDisposed => _pointer == null;

    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + length, Length);
        return new ReadOnlySpan<byte>(_pointer + offset, length);
    }

    public ReadOnlyMemory<byte> Memory(long offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + length, Length);
        return new Slice(this, offset, length).Memory;
    }

    /// <summary>
    /// Drops the pages under <paramref name="memory"/> from this process's resident set when it is a slice of a
    /// mapping (Linux <c>madvise(MADV_DONTNEED)</c>; the file stays in the page cache and is read again if touched).
    /// Loading a model tensor by tensor then holds one copy of the weights, not the weights plus the mapped file.
    /// </summary>
    public static void ReleasePages(ReadOnlyMemory<byte> memory)
    {
        if (!OperatingSystem.IsLinux() || !MemoryMarshal.TryGetMemoryManager(memory, out Slice? slice, out var start, out var length))
            return;
        if (slice.Owner.IsDisposed) return;
        var pageSize = Environment.SystemPageSize;
        var first = (long)slice.Owner._pointer + slice.Offset + start;
        var alignedStart = first / pageSize * pageSize;
        var end = first + length;
        // Pages shared with a neighbouring tensor are dropped too; they are read back from the file if needed.
        _ = madvise((nint)alignedStart, (nuint)(end - alignedStart), MadviseDontNeed);
    }

    private const int MadviseDontNeed = 4;

    [DllImport("libc", SetLastError = true)]
    private static extern int madvise(nint address, nuint length, int advice);

    public void Dispose()
    {
        if (IsDisposed)
            return;
        _pointer = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }

    private sealed class Slice(MappedFile owner, long offset, int length) : MemoryManager<byte>
    {
        public MappedFile Owner => owner;

        public long Offset => offset;

        public override Span<byte> GetSpan()
        {
            ObjectDisposedException.ThrowIf(owner.IsDisposed, owner);
            return new Span<byte>(owner._pointer + offset, length);
        }

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            ObjectDisposedException.ThrowIf(owner.IsDisposed, owner);
            return new MemoryHandle(owner._pointer + offset + elementIndex);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
