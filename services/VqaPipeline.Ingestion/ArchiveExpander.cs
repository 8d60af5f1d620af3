using System.IO.Compression;

namespace VqaPipeline.Ingestion;

/// <summary>
/// Hands each regular file of a zip archive, read into memory one entry at a time, to an ingest callback. Nothing is
/// ever written to disk under an entry's name; an entry whose path would escape the archive's root, or that is too
/// large, is refused with a reason; directories, links and other non-files are skipped; folders are flattened away.
/// </summary>
internal sealed class ArchiveExpander(IngestionOptions limits)
{
    private const int UnixFileTypeMask = 0xF000;
    private const int UnixRegularFile = 0x8000;

    /// <summary>
    /// Why <paramref name="archive"/> (a zip, positioned at its start, left there) is refused as a whole before any
    /// entry is inflated — more entries than <see cref="IngestionOptions.MaxArchiveEntries"/>, or declared sizes adding
    /// up past <see cref="IngestionOptions.MaxArchiveBytes"/> — or <c>null</c>. Only the central directory is read. An
    /// archive that does not open is left to <see cref="ExpandAsync"/>, which reports it; sizes that lie are caught
    /// there, by bounded reads.
    /// </summary>
    public string? RefusalReason(Stream archive, string archiveName)
    {
        var start = archive.Position;
        try
        {
            using var zip = new ZipArchive(archive, ZipArchiveMode.Read, leaveOpen: true);
            var entries = zip.Entries;
            if (entries.Count > limits.MaxArchiveEntries)
                return $"{archiveName} has {entries.Count} entries, more than the {limits.MaxArchiveEntries} an archive may have";
            var declared = entries.Sum(entry => entry.Length);
            return declared > limits.MaxArchiveBytes
                ? $"{archiveName} expands to {declared} bytes, more than the {limits.MaxArchiveBytes} bytes an archive may hold"
                : null;
        }
        catch (InvalidDataException)
        {
            return null;
        }
        finally
        {
            archive.Position = start;
        }
    }

    public async Task ExpandAsync(
        Stream archive, string archiveName, IngestReport report, Func<string, Stream, Task> ingest,
        CancellationToken cancellationToken)
    {
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(archive, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException exception)
        {
            report.Refuse(archiveName, $"not a readable zip archive: {exception.Message}");
            return;
        }

        using (zip)
        {
            long expanded = 0;
            foreach (var entry in zip.Entries)
            {
                if (!IsRegularFile(entry))
                    continue;
                if (UnsafePathReason(entry.FullName) is { } unsafeReason)
                {
                    report.Refuse(entry.FullName, $"refused entry of {archiveName}: {unsafeReason}");
                    continue;
                }
                var fileName = FlattenedName(entry.FullName);
                if (fileName is null)
                    continue;
                if (entry.Length > limits.MaxImageBytes)
                {
                    report.Refuse(entry.FullName,
                        $"entry of {archiveName} is {entry.Length} bytes, over the {limits.MaxImageBytes}-byte limit per image");
                    continue;
                }
                if (expanded + entry.Length > limits.MaxArchiveBytes)
                {
                    report.Refuse(entry.FullName,
                        $"{archiveName} expands beyond the {limits.MaxArchiveBytes}-byte limit per archive at this entry");
                    continue;
                }

                // What is inflated stays within both limits whatever the entries declare.
                var room = Math.Min(limits.MaxImageBytes, limits.MaxArchiveBytes - expanded);
                using var content = await ReadBoundedAsync(entry, room, cancellationToken);
                if (content is null)
                {
                    // The declared size lied (a zip bomb's trick): the bounded read stopped at the limit.
                    report.Refuse(entry.FullName, room < limits.MaxImageBytes
                        ? $"{archiveName} expands beyond the {limits.MaxArchiveBytes}-byte limit per archive at this entry"
                        : $"entry of {archiveName} expands beyond the {limits.MaxImageBytes}-byte limit per image");
                    continue;
                }
                expanded += content.Length;
                await ingest(fileName, content);
            }
        }
    }

    /// <summary>Why <paramref name="entryPath"/> could land outside the extraction root, or <c>null</c> when it cannot.</summary>
    internal static string? UnsafePathReason(string entryPath)
    {
        var path = entryPath.Replace('\\', '/');
        if (path.StartsWith('/') || (path.Length >= 2 && path[1] == ':'))
            return "absolute path";
        var depth = 0;
        foreach (var segment in path.Split('/'))
        {
            if (segment == "..")
            {
                if (--depth < 0)
                    return "path escapes the archive root ('..')";
            }
            else if (segment is not ("" or "."))
            {
                depth++;
            }
        }
        return null;
    }

    /// <summary>The last path segment of a safe entry path, or <c>null</c> when the entry names a folder.</summary>
    internal static string? FlattenedName(string entryPath)
    {
        var name = entryPath.Replace('\\', '/').Split('/')[^1];
        return name is "" or "." or ".." ? null : name;
    }

    private static bool IsRegularFile(ZipArchiveEntry entry)
    {
        if (entry.FullName.EndsWith('/') || entry.FullName.EndsWith('\\'))
            return false;
        // Archives made on Unix keep the file mode in the high 16 bits; others leave them zero.
        var unixFileType = (entry.ExternalAttributes >> 16) & UnixFileTypeMask;
        return unixFileType is 0 or UnixRegularFile;
    }

    private static async Task<MemoryStream?> ReadBoundedAsync(ZipArchiveEntry entry, long maxBytes, CancellationToken cancellationToken)
    {
        await using var source = entry.Open();
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                await buffer.DisposeAsync();
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        buffer.Position = 0;
        return buffer;
    }
}
