using System.IO.Compression;
using System.Text;

namespace VqaPipeline.Ml.Checkpoints;

/// <summary>
/// Reads <c>torch.save</c> files in the zip format (torch ≥ 1.6): <c>&lt;root&gt;/data.pkl</c> describes the state
/// dict, <c>&lt;root&gt;/data/&lt;key&gt;</c> holds each storage's bytes. The pickle runs in
/// <see cref="RestrictedUnpickler"/>, so a file asking for any code is refused before a single storage is read.
/// </summary>
internal static class TorchCheckpoint
{
    private static readonly byte[] ZipMagic = "PK\x03\x04"u8.ToArray();

    public static StateDict Read(string path)
    {
        using var stream = File.OpenRead(path);
        var magic = new byte[ZipMagic.Length];
        if (stream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false) < magic.Length || !magic.AsSpan().SequenceEqual(ZipMagic))
            throw new CheckpointFormatException(
                $"'{path}' is not a zip-format torch checkpoint (the legacy pre-1.6 torch.save format and raw pickles are not supported; re-save it with torch >= 1.6 or as safetensors)");
        stream.Position = 0;

        try
        {
            using var archive = new ZipArchive(stream, ZipArchiveMode.Read);
            return ReadArchive(path, archive);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointFormatException($"'{path}' is a corrupt zip archive: {e.Message}", e);
        }
    }

    private static StateDict ReadArchive(string path, ZipArchive archive)
    {
        var pickleEntry = archive.Entries.FirstOrDefault(entry => IsRootRecord(entry.FullName, "data.pkl"))
                          ?? throw new CheckpointFormatException($"'{path}' is a zip archive without a <root>/data.pkl record; it is not a torch checkpoint");
        var root = pickleEntry.FullName[..^"data.pkl".Length];

        var byteOrder = archive.GetEntry(root + "byteorder");
        if (byteOrder is not null && Encoding.ASCII.GetString(ReadEntry(path, byteOrder, 16)).Trim() != "little")
            throw new CheckpointFormatException($"'{path}' stores big-endian tensors, which are not supported");

        var result = RestrictedUnpickler.Load(path, ReadEntry(path, pickleEntry, int.MaxValue));
        if (result is not OrderedDictionary<object, object?> dictionary)
            throw new CheckpointFormatException($"'{path}' does not hold a state dict (a dict of tensors)");

        var storages = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var tensors = new List<CheckpointTensor>();
        foreach (var (key, value) in dictionary)
        {
            if (key is not string name || value is not RestrictedUnpickler.TensorView view)
                throw new CheckpointFormatException($"'{path}': state dict entry '{key}' is not a named tensor");
            if (!storages.TryGetValue(view.Storage.Key, out var storage))
                storages[view.Storage.Key] = storage = ReadStorage(path, archive, root, view.Storage);
            tensors.Add(new CheckpointTensor(name, view.Storage.DType, view.Shape, Contiguous(path, name, view, storage)));
        }
        return new StateDict(tensors);
    }

    private static bool IsRootRecord(string entryName, string record)
    {
        var slash = entryName.IndexOf('/');
        return slash > 0 && entryName[(slash + 1)..] == record;
    }

    private static byte[] ReadStorage(string path, ZipArchive archive, string root, RestrictedUnpickler.StorageReference storage)
    {
        var entry = archive.GetEntry($"{root}data/{storage.Key}")
                    ?? throw new CheckpointFormatException($"'{path}' has no data record for storage '{storage.Key}'");
        var expected = CheckpointTensor.ByteCountOf(storage.DType, [storage.ElementCount]);
        if (expected is null || expected > int.MaxValue)
            throw new CheckpointFormatException($"'{path}': storage '{storage.Key}' is too large to read");
        if (entry.Length != expected)
            throw new CheckpointFormatException(
                $"'{path}': storage '{storage.Key}' should hold {expected} bytes but its record has {entry.Length}");
        return ReadEntry(path, entry, (int)expected);
    }

    private static byte[] ReadEntry(string path, ZipArchiveEntry entry, int maxLength)
    {
        if (entry.Length > maxLength)
            throw new CheckpointFormatException($"'{path}': record '{entry.FullName}' is {entry.Length} bytes, more than {maxLength}");
        var bytes = new byte[entry.Length];
        using var stream = entry.Open();
        if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) != bytes.Length)
            throw new CheckpointFormatException($"'{path}': record '{entry.FullName}' is shorter than its header says");
        return bytes;
    }

    /// <summary>
    /// The view's elements in row-major order: a slice of the storage when already contiguous (so tensors sharing a
    /// storage share its bytes), otherwise a copy gathered run by run.
    /// </summary>
    private static ReadOnlyMemory<byte> Contiguous(string path, string name, RestrictedUnpickler.TensorView view, byte[] storage)
    {
        var shape = view.Shape;
        var strides = view.Strides;
        var elementSize = view.Storage.DType.ElementSize();
        if (shape.Length != strides.Length || view.Offset < 0 || shape.Any(size => size < 0) || strides.Any(stride => stride < 0))
            throw new CheckpointFormatException($"'{path}': tensor '{name}' has an invalid size, stride or offset");

        var byteCount = CheckpointTensor.ByteCountOf(view.Storage.DType, shape)
                        ?? throw new CheckpointFormatException($"'{path}': tensor '{name}' is too large");
        if (byteCount == 0)
            return ReadOnlyMemory<byte>.Empty;

        long lastElement = view.Offset;
        for (var d = 0; d < shape.Length; d++)
            lastElement += (shape[d] - 1) * strides[d];
        if (lastElement >= view.Storage.ElementCount)
            throw new CheckpointFormatException(
                $"'{path}': tensor '{name}' reaches element {lastElement} of storage '{view.Storage.Key}', which has {view.Storage.ElementCount}");

        if (IsRowMajor(shape, strides))
            return storage.AsMemory((int)(view.Offset * elementSize), (int)byteCount);

        var gathered = new byte[byteCount];
        var innerRun = shape.Length > 0 && strides[^1] == 1 ? (int)shape[^1] : 1;
        var outerShape = innerRun > 1 ? shape[..^1] : shape;
        var index = new long[outerShape.Length];
        var runBytes = innerRun * elementSize;
        for (var written = 0; written < byteCount; written += runBytes)
        {
            long source = view.Offset;
            for (var d = 0; d < index.Length; d++)
                source += index[d] * strides[d];
            storage.AsSpan((int)(source * elementSize), runBytes).CopyTo(gathered.AsSpan(written));
            for (var d = index.Length - 1; d >= 0 && ++index[d] == outerShape[d]; d--)
                index[d] = 0;
        }
        return gathered;
    }

    private static bool IsRowMajor(long[] shape, long[] strides)
    {
        long expected = 1;
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] != 1 && strides[d] != expected)
                return false;
            expected *= shape[d];
        }
        return true;
    }
}
