using System.Security.Cryptography;
using VqaPipeline.Integration.Tests.Support;
using VqaPipeline.Storage;

namespace VqaPipeline.Integration.Tests;

/// <summary>
/// The object store against the S3 server that VQA_S3_* names (s3rver locally, MinIO under docker compose). Each test
/// writes under a prefix of its own, so reruns and other helpers' objects never meet.
/// </summary>
public sealed class ObjectStoreTests : IDisposable
{
    private readonly string _prefix = $"it-{Guid.NewGuid():N}";
    private readonly Lazy<ObjectStore> _store = new(() => new ObjectStore(ObjectStoreOptions.FromEnvironment()));

    private ObjectStore Store => _store.Value;

    [StackFact]
    public async Task Put_content_is_stored_under_its_sha256_and_reads_back()
    {
        await Store.EnsureBucketAsync();
        var bytes = RandomBytes(70_000);

        var put = await Store.PutAsync(new MemoryStream(bytes), "image/jpeg", _prefix);

        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.Equal(new PutResult($"{_prefix}/{sha256}", sha256, bytes.Length, AlreadyStored: false), put);
        var stat = await Store.StatAsync(put.Key);
        Assert.NotNull(stat);
        Assert.Equal(bytes.Length, stat.SizeBytes);
        Assert.Equal("image/jpeg", stat.ContentType);
        Assert.NotNull(stat.LastModified);
        Assert.InRange(stat.LastModified.Value, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
        await using var read = await Store.GetAsync(put.Key);
        Assert.Equal(bytes, ReadAll(read));
    }

    [StackFact]
    public async Task The_same_content_is_stored_once()
    {
        var bytes = RandomBytes(1_000);

        var first = await Store.PutAsync(new MemoryStream(bytes), "image/png", _prefix);
        var firstModified = (await Store.StatAsync(first.Key))!.LastModified;
        var second = await Store.PutAsync(new NonSeekableStream(bytes), "image/png", _prefix);

        Assert.False(first.AlreadyStored);
        Assert.True(second.AlreadyStored);
        Assert.Equal(first with { AlreadyStored = true }, second);
        Assert.Equal(firstModified, (await Store.StatAsync(first.Key))!.LastModified);
        Assert.Equal([first.Key], (await Store.ListAsync(_prefix)).Select(o => o.Key));
    }

    [StackFact]
    public async Task A_stream_that_cannot_seek_is_hashed_and_uploaded_whole()
    {
        var bytes = RandomBytes(200_000);

        var put = await Store.PutAsync(new NonSeekableStream(bytes), "application/octet-stream", _prefix);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), put.Sha256);
        Assert.Equal(bytes.Length, put.SizeBytes);
        await using var read = await Store.GetAsync(put.Key);
        Assert.Equal(bytes, ReadAll(read));
    }

    [StackFact]
    public async Task List_returns_every_object_under_the_prefix_at_any_depth_in_key_order()
    {
        var keys = new List<string>();
        foreach (var prefix in new[] { $"{_prefix}/b", $"{_prefix}/a/deeper", $"{_prefix}/a" })
            keys.Add((await Store.PutAsync(new MemoryStream(RandomBytes(10)), "text/plain", prefix)).Key);
        await Store.PutAsync(new MemoryStream(RandomBytes(10)), "text/plain", $"{_prefix}-sibling");

        var listed = await Store.ListAsync($"{_prefix}/");

        Assert.Equal(keys.Order(StringComparer.Ordinal), listed.Select(o => o.Key));
        Assert.All(listed, o => Assert.Equal(10, o.SizeBytes));
        Assert.Single(await Store.ListAsync($"{_prefix}/a/deeper"));
        await Store.DeleteAsync((await Store.ListAsync($"{_prefix}-sibling")).Single().Key);
    }

    [StackFact]
    public async Task A_deleted_object_is_gone_and_a_missing_one_says_so()
    {
        var put = await Store.PutAsync(new MemoryStream(RandomBytes(100)), "image/jpeg", _prefix);

        await Store.DeleteAsync(put.Key);
        await Store.DeleteAsync(put.Key);

        Assert.Null(await Store.StatAsync(put.Key));
        Assert.Empty(await Store.ListAsync(_prefix));
        var missing = await Assert.ThrowsAsync<FileNotFoundException>(() => Store.GetAsync(put.Key));
        Assert.Contains(put.Key, missing.Message);
    }

    [StackFact]
    public async Task A_presigned_url_serves_the_object_to_a_plain_http_client()
    {
        var bytes = RandomBytes(5_000);
        var put = await Store.PutAsync(new MemoryStream(bytes), "image/jpeg", _prefix);

        var url = await Store.PresignedGetUrlAsync(put.Key, TimeSpan.FromMinutes(5));

        Assert.Contains("X-Amz-Signature=", url.Query);
        using var http = new HttpClient();
        using var response = await http.GetAsync(url);
        response.EnsureSuccessStatusCode();
        Assert.Equal("image/jpeg", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_presigned_url_longer_than_seven_days_is_refused()
    {
        using var store = new ObjectStore(new ObjectStoreOptions(new Uri("http://127.0.0.1:9"), "key", "secret"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            () => store.PresignedGetUrlAsync("originals/x", TimeSpan.FromDays(8)));
    }

    public void Dispose()
    {
        if (!_store.IsValueCreated)
            return;
        foreach (var stored in Store.ListAsync(_prefix).GetAwaiter().GetResult())
            Store.DeleteAsync(stored.Key).GetAwaiter().GetResult();
        Store.Dispose();
    }

    private static byte[] RandomBytes(int length) => RandomNumberGenerator.GetBytes(length);

    private static byte[] ReadAll(Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>An upload body as a web request gives it: readable once, front to back.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
