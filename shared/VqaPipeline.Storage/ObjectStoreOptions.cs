namespace VqaPipeline.Storage;

/// <summary>Where the S3-compatible store is and which bucket holds the pipeline's objects.</summary>
/// <param name="Endpoint">The store's base URL, for example <c>http://127.0.0.1:9000</c>; https turns TLS on.</param>
/// <param name="AccessKey">The access key.</param>
/// <param name="SecretKey">The secret key.</param>
/// <param name="Bucket">The bucket every object lives in.</param>
public sealed record ObjectStoreOptions(Uri Endpoint, string AccessKey, string SecretKey, string Bucket = "vqa-images")
{
    /// <summary>
    /// Options from <c>VQA_S3_ENDPOINT</c>, <c>VQA_S3_ACCESS_KEY</c>, <c>VQA_S3_SECRET_KEY</c> and <c>VQA_S3_BUCKET</c>
    /// (the last defaults to <c>vqa-images</c>), as <c>infra/local/up.sh</c> prints them.
    /// </summary>
    public static ObjectStoreOptions FromEnvironment()
    {
        var endpoint = Required("VQA_S3_ENDPOINT");
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new InvalidOperationException(
                $"VQA_S3_ENDPOINT '{endpoint}' is not an http(s) URL: set it like http://127.0.0.1:9000");
        var bucket = Environment.GetEnvironmentVariable("VQA_S3_BUCKET") is { Length: > 0 } name ? name : "vqa-images";
        return new ObjectStoreOptions(uri, Required("VQA_S3_ACCESS_KEY"), Required("VQA_S3_SECRET_KEY"), bucket);
    }

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{name} is not set: eval \"$(infra/local/up.sh --infra-only)\" or set it to the object store's value");
}
