using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace VqaPipeline.Storage;

/// <summary>One page of a bucket listing, in key order.</summary>
/// <param name="Objects">The objects of this page (folders' marker objects, keys ending in '/', left out).</param>
/// <param name="NextStartAfter">The key the next page starts after, or <c>null</c> when this page is the last.</param>
public sealed record ObjectListPage(IReadOnlyList<StoredObject> Objects, string? NextStartAfter);

/// <summary>A bucket that cannot be read: it does not exist, or the store's credentials may not list it.</summary>
public sealed class BucketUnavailableException(string message) : Exception(message);

/// <summary>An object the store refuses to give (access denied to it, say): the store answered, and will answer the same.</summary>
public sealed class ObjectUnreadableException(string message) : Exception(message);

/// <summary>
/// The S3 requests the Minio SDK does not make as bucket imports and the hot paths need them, signed with AWS Signature
/// Version 4 on the store's credentials, against any bucket. Reads and stats: one GET or HEAD each, with no bucket check
/// before it. Listing: <c>ListObjects</c>, one bounded page per request, each starting
/// after a key (<c>marker</c>). The Minio SDK lists a whole prefix in one enumeration and cannot start after a key, which a
/// listing that must survive a restart needs. Paging by key rather than by <c>ListObjectsV2</c> continuation token:
/// a key is the resume point anyway, every S3-compatible store serves it, and the local S3 server (s3rver) cannot
/// make V2 tokens on Node.js 17 and later (it ciphers them with DES, which OpenSSL 3 no longer offers: every truncated
/// V2 page is a 500).
/// </summary>
internal sealed partial class SignedS3Requests(ObjectStoreOptions options) : IDisposable
{
    private const string Region = "us-east-1";
    private const string Service = "s3";
    private static readonly string EmptyPayloadSha256 = Convert.ToHexStringLower(SHA256.HashData([]));
    private static readonly XNamespace S3 = "http://s3.amazonaws.com/doc/2006-03-01/";

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromMinutes(2) };

    /// <summary>Whether <paramref name="bucket"/> follows S3's naming rules (3–63 of a-z 0-9 . -, a letter or digit at each end).</summary>
    public static bool IsValidBucketName(string? bucket) => bucket is not null && BucketName().IsMatch(bucket);

    public async Task<ObjectListPage> ListPageAsync(
        string bucket, string prefix, string? startAfter, int maxKeys, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxKeys, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxKeys, 1000);
        if (!IsValidBucketName(bucket))
            throw new BucketUnavailableException($"'{bucket}' is not a valid bucket name");

        var query = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["max-keys"] = maxKeys.ToString(CultureInfo.InvariantCulture),
            ["prefix"] = prefix,
        };
        if (startAfter is not null)
            query["marker"] = startAfter;

        using var request = Signed(HttpMethod.Get, $"/{bucket}", query, DateTimeOffset.UtcNow);
        using var response = await _http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if ((int)response.StatusCode >= 500)
            throw new HttpRequestException($"listing bucket '{bucket}' failed: {Failure(response.StatusCode, ErrorOf(body))}", null, response.StatusCode);
        if (!response.IsSuccessStatusCode)
            throw Unavailable(bucket, response.StatusCode, body);

        var result = XDocument.Parse(body).Root!;
        var listed = result.Elements(S3 + "Contents")
            .Select(item => new StoredObject(
                item.Element(S3 + "Key")!.Value,
                long.Parse(item.Element(S3 + "Size")?.Value ?? "0", CultureInfo.InvariantCulture),
                null,
                item.Element(S3 + "LastModified") is { } modified
                    ? DateTimeOffset.Parse(modified.Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
                    : null))
            .ToList();
        var truncated = string.Equals(result.Element(S3 + "IsTruncated")?.Value, "true", StringComparison.OrdinalIgnoreCase);
        return new ObjectListPage(
            listed.Where(item => !item.Key.EndsWith('/')).ToList(), truncated && listed.Count > 0 ? listed[^1].Key : null);
    }

    /// <summary>
    /// The whole object, read into memory, in one GET (the Minio SDK asks whether the bucket exists before every
    /// read, and the local S3 server answers that by listing the whole bucket). A missing object is a
    /// <see cref="FileNotFoundException"/>, any other refusal an <see cref="ObjectUnreadableException"/>; a server
    /// error (5xx) is an <see cref="HttpRequestException"/>, worth trying again.
    /// </summary>
    public async Task<Stream> GetObjectAsync(string bucket, string key, CancellationToken cancellationToken)
    {
        using var request = Signed(HttpMethod.Get, ObjectPath(bucket, key), new SortedDictionary<string, string>(), DateTimeOffset.UtcNow);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            var buffer = new MemoryStream();
            await response.Content.CopyToAsync(buffer, cancellationToken);
            buffer.Position = 0;
            return buffer;
        }
        var (code, message) = ErrorOf(await response.Content.ReadAsStringAsync(cancellationToken));
        var failure = Failure(response.StatusCode, (code, message));
        if ((int)response.StatusCode >= 500)
            throw new HttpRequestException($"reading '{key}' of bucket '{bucket}' failed: {failure}", null, response.StatusCode);
        if (code == "NoSuchKey" || (code is null && response.StatusCode == HttpStatusCode.NotFound))
            throw new FileNotFoundException($"object '{key}' does not exist in bucket '{bucket}'", key);
        throw new ObjectUnreadableException(failure);
    }

    /// <summary>
    /// What the store knows about an object (a HEAD request), or <c>null</c> when there is no such object (for the
    /// same reason as <see cref="GetObjectAsync"/>: no bucket check before it). A server error (5xx) is an
    /// <see cref="HttpRequestException"/>, any other refusal an <see cref="ObjectUnreadableException"/>.
    /// </summary>
    public async Task<StoredObject?> HeadObjectAsync(string bucket, string key, CancellationToken cancellationToken)
    {
        using var request = Signed(HttpMethod.Head, ObjectPath(bucket, key), new SortedDictionary<string, string>(), DateTimeOffset.UtcNow);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            var headers = response.Content.Headers;
            return new StoredObject(key, headers.ContentLength ?? 0, headers.ContentType?.ToString(), headers.LastModified?.ToUniversalTime());
        }
        if (response.StatusCode == HttpStatusCode.NotFound)
            return null;
        // A HEAD response has no body: the status is all there is to say.
        var failure = Failure(response.StatusCode, (null, null));
        if ((int)response.StatusCode >= 500)
            throw new HttpRequestException($"asking for '{key}' of bucket '{bucket}' failed: {failure}", null, response.StatusCode);
        throw new ObjectUnreadableException(failure);
    }

    public void Dispose() => _http.Dispose();

    private static string ObjectPath(string bucket, string key) =>
        $"/{bucket}/{string.Join('/', key.Split('/').Select(Uri.EscapeDataString))}";

    private static (string? Code, string? Message) ErrorOf(string body)
    {
        try
        {
            var error = XDocument.Parse(body).Root;
            return (error?.Element("Code")?.Value, error?.Element("Message")?.Value);
        }
        catch (System.Xml.XmlException)
        {
            // Not an S3 error document (a proxy's page, or nothing): the status says enough.
            return (null, null);
        }
    }

    private static string Failure(HttpStatusCode status, (string? Code, string? Message) error) =>
        $"{(int)status} {error.Code ?? status.ToString()}{(error.Message is null ? "" : $": {error.Message}")}";

    private static BucketUnavailableException Unavailable(string bucket, HttpStatusCode status, string body)
    {
        var error = ErrorOf(body);
        return error.Code switch
        {
            "NoSuchBucket" => new BucketUnavailableException($"bucket '{bucket}' does not exist"),
            "AccessDenied" => new BucketUnavailableException($"access to bucket '{bucket}' is denied to the store's credentials"),
            _ => new BucketUnavailableException($"listing bucket '{bucket}' failed: {Failure(status, error)}"),
        };
    }

    /// <summary>A request with Signature Version 4 headers (path-style address, empty payload).</summary>
    private HttpRequestMessage Signed(HttpMethod method, string path, SortedDictionary<string, string> query, DateTimeOffset now)
    {
        var amzDate = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var day = amzDate[..8];
        var canonicalQuery = string.Join('&', query.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
        var host = options.Endpoint.IsDefaultPort ? options.Endpoint.Host : $"{options.Endpoint.Host}:{options.Endpoint.Port}";
        const string signedHeaders = "host;x-amz-content-sha256;x-amz-date";
        var canonicalRequest = string.Join('\n',
            method.Method, path, canonicalQuery,
            $"host:{host}", $"x-amz-content-sha256:{EmptyPayloadSha256}", $"x-amz-date:{amzDate}", "",
            signedHeaders, EmptyPayloadSha256);
        var scope = $"{day}/{Region}/{Service}/aws4_request";
        var stringToSign = string.Join('\n',
            "AWS4-HMAC-SHA256", amzDate, scope, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest))));
        var key = Encoding.UTF8.GetBytes($"AWS4{options.SecretKey}");
        foreach (var part in new[] { day, Region, Service, "aws4_request" })
            key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(part));
        var signature = Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));

        var request = new HttpRequestMessage(method, new Uri(options.Endpoint, canonicalQuery.Length == 0 ? path : $"{path}?{canonicalQuery}"));
        request.Headers.Host = host;
        request.Headers.Add("x-amz-date", amzDate);
        request.Headers.Add("x-amz-content-sha256", EmptyPayloadSha256);
        request.Headers.TryAddWithoutValidation("Authorization",
            $"AWS4-HMAC-SHA256 Credential={options.AccessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}");
        return request;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketName();
}
