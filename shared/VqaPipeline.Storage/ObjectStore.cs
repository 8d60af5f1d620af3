using System.Security.Cryptography;
using Minio;
using Minio.DataModel.Args;
using Minio.Exceptions;

namespace VqaPipeline.Storage;

/// <summary>What the store knows about one object.</summary>
/// <param name="Key">The object's key in the bucket.</param>
/// <param name="SizeBytes">Its size in bytes.</param>
/// <param name="ContentType">Its media type; <c>null</c> in listings, which do not carry it.</param>
/// <param name="LastModified">When it was last written, when the store says.</param>
public sealed record StoredObject(string Key, long SizeBytes, string? ContentType, DateTimeOffset? LastModified);

/// <summary>The outcome of a content-addressed <see cref="ObjectStore.PutAsync"/>.</summary>
/// <param name="Key">Where the content is: <c>{prefix}/{sha256}</c>.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the content.</param>
/// <param name="SizeBytes">Size of the content in bytes.</param>
/// <param name="AlreadyStored">True when the same content was there already and nothing was uploaded.</param>
public sealed record PutResult(string Key, string Sha256, long SizeBytes, bool AlreadyStored);

/// <summary>The pipeline's bucket in an S3-compatible store (MinIO in production), through the Minio SDK.</summary>
public sealed class ObjectStore : IDisposable
{
    /// <summary>The prefix originals are stored under.</summary>
    public const string OriginalsPrefix = "originals";

    private readonly IMinioClient _client;
    private readonly string _bucket;
    private readonly SignedS3Requests _signed;

    /// <summary>A store for <paramref name="options"/>; nothing is contacted until the first call.</summary>
    public ObjectStore(ObjectStoreOptions options)
    {
        _bucket = options.Bucket;
        _signed = new SignedS3Requests(options);
        _client = new MinioClient()
            .WithEndpoint(options.Endpoint.Host, options.Endpoint.Port)
            .WithCredentials(options.AccessKey, options.SecretKey)
            .WithSSL(options.Endpoint.Scheme == Uri.UriSchemeHttps)
            .Build();
    }

    /// <summary>The bucket this store reads and writes.</summary>
    public string Bucket => _bucket;

    internal IMinioClient Client => _client;

    /// <summary>Creates the bucket unless it exists.</summary>
    public Task EnsureBucketAsync(CancellationToken cancellationToken = default) => EnsureBucketAsync(_bucket, cancellationToken);

    /// <summary>Creates <paramref name="bucket"/> (any bucket, not only this store's) unless it exists.</summary>
    public async Task EnsureBucketAsync(string bucket, CancellationToken cancellationToken = default)
    {
        if (!await _client.BucketExistsAsync(new BucketExistsArgs().WithBucket(bucket), cancellationToken))
            await _client.MakeBucketAsync(new MakeBucketArgs().WithBucket(bucket), cancellationToken);
    }

    /// <summary>
    /// Writes <paramref name="content"/> (seekable, from its position to its end) at <paramref name="key"/> of
    /// <paramref name="bucket"/> as it is, replacing what was there: objects put in a bucket directly, as catalogs
    /// are before a bucket import.
    /// </summary>
    public async Task PutAtAsync(
        string bucket, string key, Stream content, string contentType, CancellationToken cancellationToken = default)
    {
        await _client.PutObjectAsync(
            new PutObjectArgs()
                .WithBucket(bucket)
                .WithObject(key)
                .WithStreamData(content)
                .WithObjectSize(content.Length - content.Position)
                .WithContentType(contentType),
            cancellationToken);
    }

    /// <summary>
    /// Stores <paramref name="content"/> under <c>{prefix}/{sha256 of the content}</c>, uploading it only when no
    /// object is at that key yet, so the same bytes are stored once however often they arrive. A stream that cannot
    /// seek is spooled to a temporary file first, since it must be read twice (hash, then upload).
    /// </summary>
    public async Task<PutResult> PutAsync(
        Stream content,
        string contentType,
        string prefix = OriginalsPrefix,
        CancellationToken cancellationToken = default)
    {
        if (!content.CanSeek)
        {
            await using var spooled = await SpoolAsync(content, cancellationToken);
            return await PutAsync(spooled, contentType, prefix, cancellationToken);
        }

        var start = content.Position;
        var sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(content, cancellationToken));
        var size = content.Position - start;
        var key = $"{prefix.TrimEnd('/')}/{sha256}";
        if (await StatAsync(key, cancellationToken) is not null)
            return new PutResult(key, sha256, size, AlreadyStored: true);

        content.Position = start;
        await _client.PutObjectAsync(
            new PutObjectArgs()
                .WithBucket(_bucket)
                .WithObject(key)
                .WithStreamData(content)
                .WithObjectSize(size)
                .WithContentType(contentType),
            cancellationToken);
        return new PutResult(key, sha256, size, AlreadyStored: false);
    }

    /// <summary>
    /// The whole object at <paramref name="key"/>, read into memory in one GET (a ranged GET would fail in Minio SDK
    /// 7.0.0 on a correct 206 response, and the SDK asks whether the bucket exists before every read, which the local
    /// S3 server answers by listing the bucket). Throws <see cref="FileNotFoundException"/> when there is no such object.
    /// </summary>
    public Task<Stream> GetAsync(string key, CancellationToken cancellationToken = default) =>
        _signed.GetObjectAsync(_bucket, key, cancellationToken);

    /// <summary>
    /// What the store knows about <paramref name="key"/>, or <c>null</c> when there is no such object: one HEAD request
    /// (the Minio SDK's stat asks whether the bucket exists first, as its reads do).
    /// </summary>
    public Task<StoredObject?> StatAsync(string key, CancellationToken cancellationToken = default) =>
        _signed.HeadObjectAsync(_bucket, key, cancellationToken);

    /// <summary>Every object whose key starts with <paramref name="prefix"/>, at any depth, in key order.</summary>
    public async Task<IReadOnlyList<StoredObject>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var objects = new List<StoredObject>();
        var args = new ListObjectsArgs().WithBucket(_bucket).WithPrefix(prefix).WithRecursive(true);
        await foreach (var item in _client.ListObjectsEnumAsync(args, cancellationToken))
        {
            if (!item.IsDir)
                objects.Add(new StoredObject(item.Key, (long)item.Size, null, AsUtc(item.LastModifiedDateTime)));
        }
        return objects.OrderBy(o => o.Key, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// One page of at most <paramref name="maxKeys"/> (1–1000) objects of <paramref name="bucket"/> (any bucket the
    /// store's credentials can list) under <paramref name="prefix"/>, in key order, after the key
    /// <paramref name="startAfter"/> (none: from the first). Throws <see cref="BucketUnavailableException"/> when the
    /// bucket does not exist or may not be listed, <see cref="HttpRequestException"/> on a server error (worth trying
    /// again).
    /// </summary>
    public Task<ObjectListPage> ListPageAsync(
        string bucket, string prefix, string? startAfter, int maxKeys = 1000, CancellationToken cancellationToken = default) =>
        _signed.ListPageAsync(bucket, prefix, startAfter, maxKeys, cancellationToken);

    /// <summary>
    /// The whole object at <paramref name="key"/> of <paramref name="bucket"/> (any bucket the store's credentials can
    /// read), read into memory in one request: <see cref="FileNotFoundException"/> when there is no such object,
    /// <see cref="ObjectUnreadableException"/> when the store refuses it, <see cref="HttpRequestException"/> on a
    /// server error.
    /// </summary>
    public Task<Stream> ReadAsync(string bucket, string key, CancellationToken cancellationToken = default) =>
        _signed.GetObjectAsync(bucket, key, cancellationToken);

    /// <summary>Whether <paramref name="bucket"/> follows S3's naming rules (3–63 of a-z 0-9 . -, a letter or digit at each end).</summary>
    public static bool IsValidBucketName(string? bucket) => SignedS3Requests.IsValidBucketName(bucket);

    /// <summary>Removes the object at <paramref name="key"/>; removing a missing object is not an error.</summary>
    public Task DeleteAsync(string key, CancellationToken cancellationToken = default) =>
        _client.RemoveObjectAsync(new RemoveObjectArgs().WithBucket(_bucket).WithObject(key), cancellationToken);

    /// <summary>
    /// A URL anyone can GET the object at <paramref name="key"/> from, without credentials, for
    /// <paramref name="expiry"/> (one second to seven days, S3's limits).
    /// </summary>
    public async Task<Uri> PresignedGetUrlAsync(string key, TimeSpan expiry)
    {
        if (expiry < TimeSpan.FromSeconds(1) || expiry > TimeSpan.FromDays(7))
            throw new ArgumentOutOfRangeException(nameof(expiry), expiry, "a presigned URL lasts 1 s to 7 days");
        var url = await _client.PresignedGetObjectAsync(
            new PresignedGetObjectArgs().WithBucket(_bucket).WithObject(key).WithExpiry((int)expiry.TotalSeconds));
        return new Uri(url);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _client.Dispose();
        _signed.Dispose();
    }

    private static async Task<FileStream> SpoolAsync(Stream content, CancellationToken cancellationToken)
    {
        var file = new FileStream(
            Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 81920,
            FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        await content.CopyToAsync(file, cancellationToken);
        file.Position = 0;
        return file;
    }

    private static DateTimeOffset? AsUtc(DateTime? time) =>
        time switch
        {
            null => null,
            { Kind: DateTimeKind.Local } local => new DateTimeOffset(local.ToUniversalTime()),
            // The SDK parses the server's GMT timestamps without marking them as UTC.
            { } utc => new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)),
        };
}
